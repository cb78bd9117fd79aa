//! The `Tracker` actor: announces one torrent to its trackers and forwards
//! the peers they return.
//!
//! One actor per torrent. It speaks HTTP(S) (BEP 3, 23) and UDP (BEP 15)
//! through [`torrix_proto::tracker`] for the formats and does the I/O itself.
//!
//! # Multi-tracker behaviour (BEP 12)
//! Trackers come in tiers. Within each tier the order is shuffled once at
//! start; the tier announces to one tracker at a time, the first one that is
//! not backing off, and a tracker that answers moves to the front of its
//! tier. A tracker that fails (network error, timeout, `failure reason`)
//! backs off exponentially ([`TrackerConfig::backoff_base`] × 2ⁿ, capped at
//! [`TrackerConfig::backoff_max`]) and the tier moves straight on to its next
//! tracker. Tiers are served in order at start and then run side by side,
//! each with its own working tracker (libtorrent's "announce to all tiers"):
//! a dead first tier therefore never delays the second, and the torrent gets
//! peers from every tier that works.
//!
//! # Events
//! Each tracker gets `started` the first time the actor announces to it,
//! `completed` once after [`Completed`] (only if it had seen us start while
//! incomplete), and `stopped` on [`Stop`] if it had been announced to.
//!
//! # Bounds
//! HTTP bodies are limited to [`TrackerConfig::max_response_size`] before
//! they are buffered, peer lists to [`TrackerConfig::max_peers`], re-announce
//! intervals are clamped between [`TrackerConfig::min_reannounce`] (and the
//! tracker's `min interval`) and [`torrix_proto::tracker::MAX_INTERVAL`].

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use rand::seq::SliceRandom;
use slog::{debug, o, warn, Logger};
use torrix_proto::tracker::{AnnounceRequest, AnnounceResponse, Event, MAX_PEERS};
use torrix_proto::{InfoHash, PeerId};

mod transport;

use transport::{ConnectionId, Kind};

pub use torrix_proto::tracker::ScrapeStats;

/// Timing and size knobs of the [`Tracker`] actor. [`Default`] gives values
/// for real use; tests shorten the timers.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// Whole-request deadline for one HTTP announce or scrape.
    pub announce_timeout: Duration,
    /// BEP 15 retransmission base: after the n-th send, wait `base × 2ⁿ`
    /// (BEP 15 uses 15 s).
    pub udp_retransmit_base: Duration,
    /// Resends after the first UDP send before giving up. BEP 15 allows up to
    /// 8 (over two hours of waiting with a 15 s base); the default of 3 gives
    /// up after 15+30+60+120 s so a dead tracker does not stall its tier.
    pub udp_max_retries: u32,
    /// Peers asked for in each announce.
    pub numwant: u32,
    /// Re-announce interval when a tracker gives none.
    pub default_interval: Duration,
    /// Floor for re-announce intervals, whatever the tracker says.
    pub min_reannounce: Duration,
    /// How long a UDP connection id is reused (BEP 15: one minute).
    pub connection_id_lifetime: Duration,
    /// How long [`Stop`] waits for the `stopped` announces.
    pub stop_timeout: Duration,
    /// First back-off delay of a failing tracker; doubles per failure.
    pub backoff_base: Duration,
    /// Longest back-off delay.
    pub backoff_max: Duration,
    /// Most peers taken from one response.
    pub max_peers: usize,
    /// Largest HTTP response body read.
    pub max_response_size: usize,
    /// Address announces are sent from (the engine's listen address when it
    /// is a specific one), since trackers record the packet's source address
    /// as the peer's. `None`: whatever the OS picks.
    pub local_ip: Option<std::net::IpAddr>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            announce_timeout: Duration::from_secs(30),
            udp_retransmit_base: Duration::from_secs(15),
            udp_max_retries: 3,
            numwant: 50,
            default_interval: Duration::from_secs(30 * 60),
            min_reannounce: Duration::from_secs(60),
            connection_id_lifetime: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(2),
            backoff_base: Duration::from_secs(15),
            backoff_max: Duration::from_secs(30 * 60),
            max_peers: MAX_PEERS,
            max_response_size: 1 << 20,
            local_ip: None,
        }
    }
}

/// Why a tracker exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// The tracker answered, but refused or sent something unusable.
    #[error(transparent)]
    Protocol(#[from] torrix_proto::tracker::TrackerError),
    /// The HTTP request failed (connect, TLS, protocol, body too large).
    #[error("HTTP request failed: {0}")]
    Http(String),
    /// The HTTP response had a non-success status and no `failure reason`.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The tracker's host name did not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// A socket error (e.g. ICMP port unreachable on UDP).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No answer within the deadline or retransmission schedule.
    #[error("timed out")]
    Timeout,
    /// The URL's scheme is neither http(s) nor udp.
    #[error("unsupported tracker URL")]
    UnsupportedUrl,
    /// The torrent has no tracker that could be asked.
    #[error("no usable tracker")]
    NoTrackers,
}

/// Peers learned from one announce, deduplicated within the batch. Sent by
/// the actor to the `peers_to` recipient given at construction.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct TrackerPeers {
    /// Peer addresses.
    pub peers: Vec<SocketAddr>,
}

/// The torrent's current transfer totals, sent about once a second; the next
/// announces report them.
#[derive(Message, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct UpdateStats {
    /// Bytes uploaded this session.
    pub uploaded: u64,
    /// Bytes downloaded this session.
    pub downloaded: u64,
    /// Bytes still missing.
    pub left: u64,
}

/// The download has just finished: announce `event=completed` (once).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Completed;

/// Leave the swarm: send `event=stopped` to every tracker that was announced
/// to, wait for them or [`TrackerConfig::stop_timeout`], then stop the actor.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Stop;

/// Scrape the torrent: counts from the first tracker (tier order) that answers.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<ScrapeStats, TrackerError>")]
pub struct Scrape;

/// Ask for every tracker's state, for display.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<TrackerStatus>")]
pub struct GetStatus;

/// One tracker's state, as returned by [`GetStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerStatus {
    /// The announce URL.
    pub url: String,
    /// Index of its tier.
    pub tier: usize,
    /// An announce to it is under way.
    pub announcing: bool,
    /// It accepted a `started` announce (and was not stopped since).
    pub announced: bool,
    /// The last error, cleared by the next success.
    pub last_error: Option<String>,
    /// Consecutive failures.
    pub failures: u32,
    /// When it will next be announced to, if it is scheduled.
    pub next_announce: Option<Instant>,
    /// Peers in its last successful response.
    pub last_peers: usize,
    /// Seeders it last reported.
    pub seeders: Option<u32>,
    /// Leechers it last reported.
    pub leechers: Option<u32>,
}

/// One tracker URL and what we know about it.
struct Entry {
    url: String,
    kind: Kind,
    log: Logger,
    started_sent: bool,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    last_peers: usize,
    seeders: Option<u32>,
    leechers: Option<u32>,
    tracker_id: Option<String>,
    connection_id: Option<ConnectionId>,
}

/// One tier: its trackers in preference order and its announce schedule.
#[derive(Default)]
struct Tier {
    trackers: Vec<Entry>,
    /// Index of the tracker being announced to.
    in_flight: Option<usize>,
    timer: Option<SpawnHandle>,
    next_at: Option<Instant>,
    completed_pending: bool,
}

/// A boxed announce in progress, with the UDP connection id to cache.
type AnnounceFuture =
    Pin<Box<dyn Future<Output = (Result<AnnounceResponse, TrackerError>, Option<ConnectionId>)>>>;

/// Announces one torrent to its trackers; see the [module docs](self).
pub struct Tracker {
    config: Arc<TrackerConfig>,
    tiers: Vec<Tier>,
    info_hash: InfoHash,
    peer_id: PeerId,
    listen_port: u16,
    key: u32,
    stats: UpdateStats,
    peers_to: Recipient<TrackerPeers>,
    log: Logger,
    http: Option<awc::Client>,
    stopping: bool,
}

impl Tracker {
    /// A tracker actor for the torrent `info_hash`, announcing `peer_id` and
    /// `listen_port` to the tiers of `tiers` (the metainfo's `announce-list`,
    /// or `[[announce]]`). Empty tiers and duplicate URLs are dropped; each
    /// tier is shuffled (BEP 12). Peers go to `peers_to`.
    pub fn new(
        config: TrackerConfig,
        tiers: Vec<Vec<String>>,
        info_hash: InfoHash,
        peer_id: PeerId,
        listen_port: u16,
        peers_to: Recipient<TrackerPeers>,
        logger: Logger,
    ) -> Self {
        let log = logger.new(o!("info_hash" => info_hash.to_hex()));
        let mut seen = HashSet::new();
        let mut rng = rand::thread_rng();
        let tiers = tiers
            .into_iter()
            .filter_map(|urls| {
                let mut trackers: Vec<Entry> = urls
                    .into_iter()
                    .map(|u| u.trim().to_owned())
                    .filter(|u| !u.is_empty() && seen.insert(u.clone()))
                    .map(|url| {
                        let kind = Kind::of(&url);
                        Entry {
                            log: log.new(o!("tracker" => url.clone())),
                            last_error: (kind == Kind::Unsupported)
                                .then(|| TrackerError::UnsupportedUrl.to_string()),
                            kind,
                            url,
                            started_sent: false,
                            failures: 0,
                            retry_at: None,
                            last_peers: 0,
                            seeders: None,
                            leechers: None,
                            tracker_id: None,
                            connection_id: None,
                        }
                    })
                    .collect();
                trackers.shuffle(&mut rng);
                (!trackers.is_empty()).then(|| Tier {
                    trackers,
                    ..Tier::default()
                })
            })
            .collect();
        Tracker {
            config: Arc::new(config),
            tiers,
            info_hash,
            peer_id,
            listen_port,
            key: rand::random(),
            stats: UpdateStats::default(),
            peers_to,
            log,
            http: None,
            stopping: false,
        }
    }

    /// Sets the transfer totals the first (`started`) announce reports; give
    /// the real `left` here, since the actor announces as soon as it starts,
    /// before any [`UpdateStats`] can arrive.
    pub fn with_stats(mut self, stats: UpdateStats) -> Self {
        self.stats = stats;
        self
    }

    /// Back-off after `failures` consecutive failures: base × 2^(n-1), capped.
    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32
            .checked_pow(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.config
            .backoff_base
            .saturating_mul(factor)
            .min(self.config.backoff_max)
    }

    /// Index of the tracker tier `t` would announce to now, if any.
    fn candidate(&self, t: usize, now: Instant) -> Option<usize> {
        self.tiers[t]
            .trackers
            .iter()
            .position(|e| e.kind != Kind::Unsupported && e.retry_at.is_none_or(|r| r <= now))
    }

    /// Runs tier `t`'s next announce after `delay`, replacing any timer.
    fn schedule(&mut self, t: usize, delay: Duration, ctx: &mut Context<Self>) {
        let tier = &mut self.tiers[t];
        if let Some(handle) = tier.timer.take() {
            ctx.cancel_future(handle);
        }
        tier.next_at = Instant::now().checked_add(delay);
        tier.timer = Some(ctx.run_later(delay, move |act, ctx| {
            act.tiers[t].timer = None;
            act.announce_tier(t, ctx);
        }));
    }

    /// Announces tier `t` to its preferred available tracker now, or
    /// schedules the tier for when one comes out of back-off.
    fn announce_tier(&mut self, t: usize, ctx: &mut Context<Self>) {
        if self.stopping || self.tiers[t].in_flight.is_some() {
            return;
        }
        let now = Instant::now();
        let Some(i) = self.candidate(t, now) else {
            let earliest = self.tiers[t]
                .trackers
                .iter()
                .filter_map(|e| e.retry_at)
                .min();
            match earliest {
                Some(at) => self.schedule(t, at.saturating_duration_since(now), ctx),
                None => self.tiers[t].next_at = None,
            }
            return;
        };
        let tier = &mut self.tiers[t];
        if let Some(handle) = tier.timer.take() {
            ctx.cancel_future(handle);
        }
        tier.next_at = None;
        tier.in_flight = Some(i);
        let entry = &tier.trackers[i];
        let event = if !entry.started_sent {
            Some(Event::Started)
        } else if tier.completed_pending {
            Some(Event::Completed)
        } else {
            None
        };
        debug!(entry.log, "announcing"; "event" => ?event, "left" => self.stats.left);
        let left = self.stats.left;
        let fut = self.announce_future(t, i, event);
        ctx.spawn(fut.into_actor(self).map(move |(result, conn), act, ctx| {
            act.on_announced(t, i, event, left, result, conn, ctx);
        }));
    }

    /// The announce of `event` to tracker `i` of tier `t`, as a future that
    /// borrows nothing from the actor.
    fn announce_future(&self, t: usize, i: usize, event: Option<Event>) -> AnnounceFuture {
        let entry = &self.tiers[t].trackers[i];
        let req = AnnounceRequest {
            info_hash: self.info_hash,
            peer_id: self.peer_id,
            port: self.listen_port,
            uploaded: self.stats.uploaded,
            downloaded: self.stats.downloaded,
            left: self.stats.left,
            event,
            numwant: Some(if event == Some(Event::Stopped) {
                0
            } else {
                self.config.numwant
            }),
            key: self.key,
            compact: true,
            tracker_id: entry.tracker_id.clone(),
            ip: None,
        };
        let config = Arc::clone(&self.config);
        match (&entry.kind, &self.http) {
            (Kind::Http, Some(client)) => {
                let fut = transport::http_announce(client.clone(), entry.url.clone(), req, config);
                Box::pin(async move { (fut.await, None) })
            }
            (Kind::Udp(authority), _) => Box::pin(transport::udp_announce(
                authority.clone(),
                entry.connection_id,
                req,
                config,
                entry.log.clone(),
            )),
            (Kind::Http, None) | (Kind::Unsupported, _) => {
                Box::pin(async { (Err(TrackerError::UnsupportedUrl), None) })
            }
        }
    }

    /// Folds an announce result into tracker `i` of tier `t` and schedules
    /// what comes next.
    #[allow(clippy::too_many_arguments)]
    fn on_announced(
        &mut self,
        t: usize,
        i: usize,
        event: Option<Event>,
        left: u64,
        result: Result<AnnounceResponse, TrackerError>,
        conn: Option<ConnectionId>,
        ctx: &mut Context<Self>,
    ) {
        self.tiers[t].in_flight = None;
        let backoff_if_failed = match &result {
            Err(_) => Some(self.backoff(self.tiers[t].trackers[i].failures.saturating_add(1))),
            Ok(_) => None,
        };
        let tier = &mut self.tiers[t];
        let entry = &mut tier.trackers[i];
        entry.connection_id = conn;
        match result {
            Ok(resp) => {
                entry.failures = 0;
                entry.retry_at = None;
                entry.last_error = None;
                entry.started_sent = true;
                entry.last_peers = resp.peers.len();
                entry.seeders = resp.seeders.or(entry.seeders);
                entry.leechers = resp.leechers.or(entry.leechers);
                if resp.tracker_id.is_some() {
                    entry.tracker_id = resp.tracker_id.clone();
                }
                if let Some(warning) = &resp.warning {
                    warn!(entry.log, "tracker warning"; "message" => warning);
                }
                debug!(entry.log, "announce ok"; "peers" => resp.peers.len(),
                    "interval" => ?resp.interval, "seeders" => ?resp.seeders,
                    "leechers" => ?resp.leechers);
                if event == Some(Event::Completed) || (event == Some(Event::Started) && left == 0) {
                    tier.completed_pending = false;
                }
                // BEP 12: a tracker that answers moves to the front of its tier.
                let answered = tier.trackers.remove(i);
                tier.trackers.insert(0, answered);
                let floor = resp
                    .min_interval
                    .unwrap_or_default()
                    .max(self.config.min_reannounce);
                let interval = resp
                    .interval
                    .unwrap_or(self.config.default_interval)
                    .max(floor);
                let next = if tier.completed_pending {
                    Duration::ZERO
                } else {
                    interval
                };
                self.send_peers(resp.peers);
                if !self.stopping {
                    self.schedule(t, next, ctx);
                }
            }
            Err(e) => {
                entry.failures = entry.failures.saturating_add(1);
                let delay = backoff_if_failed.unwrap_or(self.config.backoff_base);
                entry.retry_at = Instant::now().checked_add(delay);
                warn!(entry.log, "announce failed"; "error" => %e,
                    "failures" => entry.failures, "retry_in" => ?delay);
                entry.last_error = Some(e.to_string());
                // On to the next tracker of the tier (or wait for a back-off).
                self.announce_tier(t, ctx);
            }
        }
    }

    /// Sends `peers`, deduplicated and in order, unless empty.
    fn send_peers(&self, peers: Vec<SocketAddr>) {
        let mut seen = HashSet::with_capacity(peers.len());
        let peers: Vec<SocketAddr> = peers.into_iter().filter(|p| seen.insert(*p)).collect();
        if !peers.is_empty() {
            self.peers_to.do_send(TrackerPeers { peers });
        }
    }
}

impl Actor for Tracker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.http = Some(transport::http_client(&self.config, &self.log));
        if self.tiers.is_empty() {
            warn!(self.log, "torrent has no trackers");
        }
        for t in 0..self.tiers.len() {
            self.announce_tier(t, ctx);
        }
    }
}

impl Handler<UpdateStats> for Tracker {
    type Result = ();

    fn handle(&mut self, msg: UpdateStats, _: &mut Self::Context) {
        self.stats = msg;
    }
}

impl Handler<Completed> for Tracker {
    type Result = ();

    fn handle(&mut self, _: Completed, ctx: &mut Self::Context) {
        for t in 0..self.tiers.len() {
            let tier = &mut self.tiers[t];
            // A tracker that never saw us start will get `started` with
            // left=0, which says the same; `completed` is only for those that
            // saw us as a leecher.
            if tier.in_flight.is_some() || tier.trackers.iter().any(|e| e.started_sent) {
                tier.completed_pending = true;
                self.announce_tier(t, ctx);
            }
        }
    }
}

impl Handler<Stop> for Tracker {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) -> Self::Result {
        self.stopping = true;
        let mut targets = Vec::new();
        for (t, tier) in self.tiers.iter_mut().enumerate() {
            if let Some(handle) = tier.timer.take() {
                ctx.cancel_future(handle);
            }
            for (i, entry) in tier.trackers.iter().enumerate() {
                if entry.started_sent || tier.in_flight == Some(i) {
                    targets.push((t, i));
                }
            }
        }
        let stops: Vec<AnnounceFuture> = targets
            .into_iter()
            .map(|(t, i)| self.announce_future(t, i, Some(Event::Stopped)))
            .collect();
        debug!(self.log, "stopping"; "trackers" => stops.len());
        let deadline = self.config.stop_timeout;
        let log = self.log.clone();
        let all = async move {
            let results =
                tokio::time::timeout(deadline, futures_util::future::join_all(stops)).await;
            match results {
                Ok(results) => {
                    for (result, _) in results {
                        if let Err(e) = result {
                            warn!(log, "stopped announce failed"; "error" => %e);
                        }
                    }
                }
                Err(_) => warn!(log, "stopped announces timed out"),
            }
        };
        Box::pin(all.into_actor(self).map(|(), act, ctx| {
            for tier in &mut act.tiers {
                for entry in &mut tier.trackers {
                    entry.started_sent = false;
                }
            }
            ctx.stop();
        }))
    }
}

impl Handler<Scrape> for Tracker {
    type Result = ResponseFuture<Result<ScrapeStats, TrackerError>>;

    fn handle(&mut self, _: Scrape, _: &mut Self::Context) -> Self::Result {
        let jobs: Vec<(Kind, String, Option<ConnectionId>, Logger)> = self
            .tiers
            .iter()
            .flat_map(|tier| &tier.trackers)
            .filter(|e| e.kind != Kind::Unsupported)
            .map(|e| {
                (
                    e.kind.clone(),
                    e.url.clone(),
                    e.connection_id,
                    e.log.clone(),
                )
            })
            .collect();
        let client = self.http.clone();
        let config = Arc::clone(&self.config);
        let info_hash = self.info_hash;
        Box::pin(async move {
            let mut last = TrackerError::NoTrackers;
            for (kind, url, conn, log) in jobs {
                let result = match (kind, &client) {
                    (Kind::Http, Some(client)) => {
                        transport::http_scrape(client.clone(), url, info_hash, config.clone()).await
                    }
                    (Kind::Udp(authority), _) => {
                        transport::udp_scrape(
                            authority,
                            conn,
                            info_hash,
                            config.clone(),
                            log.clone(),
                        )
                        .await
                    }
                    _ => continue,
                };
                match result {
                    Ok(stats) => return Ok(stats),
                    Err(e) => {
                        debug!(log, "scrape failed"; "error" => %e);
                        last = e;
                    }
                }
            }
            Err(last)
        })
    }
}

impl Handler<GetStatus> for Tracker {
    type Result = Vec<TrackerStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Self::Context) -> Self::Result {
        let now = Instant::now();
        let mut out = Vec::new();
        for (t, tier) in self.tiers.iter().enumerate() {
            let candidate = self.candidate(t, now);
            for (i, e) in tier.trackers.iter().enumerate() {
                let announcing = tier.in_flight == Some(i);
                let next_announce = if announcing {
                    None
                } else if let Some(retry) = e.retry_at.filter(|&r| r > now) {
                    Some(retry)
                } else if candidate == Some(i) {
                    tier.next_at
                } else {
                    None
                };
                out.push(TrackerStatus {
                    url: e.url.clone(),
                    tier: t,
                    announcing,
                    announced: e.started_sent,
                    last_error: e.last_error.clone(),
                    failures: e.failures,
                    next_announce,
                    last_peers: e.last_peers,
                    seeders: e.seeders,
                    leechers: e.leechers,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sink;
    impl Actor for Sink {
        type Context = Context<Self>;
    }
    impl Handler<TrackerPeers> for Sink {
        type Result = ();
        fn handle(&mut self, _: TrackerPeers, _: &mut Self::Context) {}
    }

    #[actix_rt::test]
    async fn construction_drops_empty_tiers_duplicates_and_flags_unsupported() {
        let sink = Sink.start().recipient();
        let config = TrackerConfig {
            backoff_base: Duration::from_secs(15),
            backoff_max: Duration::from_secs(100),
            ..TrackerConfig::default()
        };
        let tracker = Tracker::new(
            config,
            vec![
                vec![],
                vec!["wss://a/announce".into(), " ".into()],
                vec!["wss://a/announce".into(), "gopher://b".into()],
            ],
            InfoHash([1; 20]),
            PeerId([2; 20]),
            1,
            sink,
            Logger::root(slog::Discard, o!()),
        );
        assert_eq!(tracker.tiers.len(), 2);
        assert_eq!(tracker.tiers[1].trackers.len(), 1);
        assert_eq!(tracker.tiers[1].trackers[0].url, "gopher://b");
        assert!(tracker.tiers[1].trackers[0].last_error.is_some());
        assert_eq!(tracker.candidate(0, Instant::now()), None);
        assert_eq!(tracker.backoff(1), Duration::from_secs(15));
        assert_eq!(tracker.backoff(2), Duration::from_secs(30));
        assert_eq!(tracker.backoff(4), Duration::from_secs(100));
        assert_eq!(tracker.backoff(u32::MAX), Duration::from_secs(100));
    }
}
