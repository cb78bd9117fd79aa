//! How many block requests to keep in flight to one peer.
//!
//! The target is the bandwidth-delay product: the peer's measured rate times
//! the configured request window, in 16 KiB blocks. A new connection starts in
//! slow start (the depth grows by one per block received, doubling every round
//! trip) until a one-second tick shows the rate no longer grows; after that the
//! depth follows the measured rate.

use std::time::Duration;

use torrix_proto::BLOCK_LEN;

/// Requests to keep in flight when nothing is known yet.
const INITIAL_DEPTH: u32 = 8;
/// Never fewer than this in flight: enough to hide one round trip on a slow link.
const MIN_DEPTH: u32 = 4;

/// The request queue depth of one peer connection.
#[derive(Clone, Debug)]
pub struct Pipeline {
    depth: u32,
    max: u32,
    slow_start: bool,
    last_rate: f64,
}

impl Pipeline {
    /// A pipeline that never exceeds `max` requests.
    pub fn new(max: u32) -> Self {
        Pipeline {
            depth: INITIAL_DEPTH.min(max.max(1)),
            max: max.max(1),
            slow_start: true,
            last_rate: 0.0,
        }
    }

    /// Requests that should be in flight now.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Whether the connection is still in slow start.
    pub fn in_slow_start(&self) -> bool {
        self.slow_start
    }

    /// A requested block arrived.
    pub fn on_block(&mut self) {
        if self.slow_start {
            self.depth = (self.depth + 1).min(self.max);
        }
    }

    /// Once a second: `rate` is the payload bytes per second just measured.
    pub fn on_tick(&mut self, rate: f64, window: Duration) {
        if self.slow_start && self.last_rate > 0.0 && rate <= self.last_rate * 1.1 {
            self.slow_start = false;
        }
        if self.depth >= self.max {
            self.slow_start = false;
        }
        if !self.slow_start {
            let bdp = (rate * window.as_secs_f64() / f64::from(BLOCK_LEN)).ceil();
            self.depth = (bdp as u32).clamp(MIN_DEPTH.min(self.max), self.max);
        }
        self.last_rate = rate;
    }

    /// The peer queues at most `max` requests (its BEP 10 `reqq`): never
    /// keep more in flight than that.
    pub fn limit(&mut self, max: u32) {
        self.max = self.max.min(max.max(1));
        self.depth = self.depth.min(self.max);
    }

    /// Requests timed out or the peer choked us: leave slow start, halve.
    pub fn on_congestion(&mut self) {
        self.slow_start = false;
        self.depth = (self.depth / 2).max(MIN_DEPTH.min(self.max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_doubles_per_round_then_follows_rate() {
        let mut p = Pipeline::new(500);
        assert_eq!(p.depth(), 8);
        for _ in 0..8 {
            p.on_block();
        }
        assert_eq!(p.depth(), 16);
        p.on_tick(10e6, Duration::from_millis(500));
        assert!(p.in_slow_start());
        p.on_tick(10.5e6, Duration::from_millis(500)); // grew < 10%: leave slow start
        assert!(!p.in_slow_start());
        // 10.5 MB/s * 0.5 s / 16 KiB = 321 blocks
        assert_eq!(p.depth(), 321);
        p.on_block();
        assert_eq!(p.depth(), 321);
        p.on_tick(1e9, Duration::from_millis(500));
        assert_eq!(p.depth(), 500);
        p.on_congestion();
        assert_eq!(p.depth(), 250);
        p.on_tick(0.0, Duration::from_millis(500));
        assert_eq!(p.depth(), MIN_DEPTH);
    }

    #[test]
    fn the_peers_request_queue_caps_the_depth() {
        let mut p = Pipeline::new(1000);
        p.on_tick(1e9, Duration::from_millis(500));
        p.on_tick(1e9, Duration::from_millis(500));
        assert_eq!(p.depth(), 1000);
        p.limit(250);
        assert_eq!(p.depth(), 250);
        p.on_tick(1e9, Duration::from_millis(500));
        assert_eq!(p.depth(), 250);
    }

    #[test]
    fn slow_start_is_capped() {
        let mut p = Pipeline::new(20);
        for _ in 0..100 {
            p.on_block();
        }
        assert_eq!(p.depth(), 20);
        p.on_tick(1e6, Duration::from_millis(500));
        assert!(!p.in_slow_start());
    }
}
