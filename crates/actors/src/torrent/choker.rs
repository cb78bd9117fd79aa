//! Who gets an upload slot (BEP 3 choking).
//!
//! Every re-evaluation, the regular slots go to the interested peers that
//! upload fastest to us (tit-for-tat) while we download, or that we upload to
//! fastest while we seed. One more, optimistic, slot rotates among the other
//! interested peers; newly connected peers are three times as likely to get it,
//! so they can earn their way in.

use std::time::{Duration, Instant};

use rand::Rng;

use super::messages::PeerKey;

/// What the choker needs to know about a peer.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    /// The peer.
    pub key: PeerKey,
    /// It wants data from us.
    pub interested: bool,
    /// Payload rate from it to us, bytes/s.
    pub download_rate: f64,
    /// Payload rate from us to it, bytes/s.
    pub upload_rate: f64,
    /// When the connection completed.
    pub connected_at: Instant,
}

/// How long a peer counts as new for the optimistic unchoke.
const NEW_PEER: Duration = Duration::from_secs(60);

/// Chooses the set of unchoked peers. `optimistic` is the current optimistic
/// peer, replaced when `rotate` is true or when it is no longer a candidate.
/// Returns the peers to unchoke and the (new) optimistic peer.
pub fn choose(
    candidates: &[Candidate],
    slots: usize,
    seeding: bool,
    optimistic: Option<PeerKey>,
    rotate: bool,
    now: Instant,
) -> (Vec<PeerKey>, Option<PeerKey>) {
    let mut interested: Vec<&Candidate> = candidates.iter().filter(|c| c.interested).collect();
    let rate = |c: &Candidate| {
        if seeding {
            c.upload_rate
        } else {
            c.download_rate
        }
    };
    interested.sort_by(|a, b| rate(b).total_cmp(&rate(a)));
    let mut unchoked: Vec<PeerKey> = interested.iter().take(slots).map(|c| c.key).collect();
    let rest: Vec<&Candidate> = interested.iter().skip(slots).copied().collect();
    let keep = optimistic.filter(|k| !rotate && rest.iter().any(|c| c.key == *k));
    let optimistic = keep.or_else(|| {
        let weights: Vec<u32> = rest
            .iter()
            .map(|c| {
                if now.duration_since(c.connected_at) < NEW_PEER {
                    3
                } else {
                    1
                }
            })
            .collect();
        let total: u32 = weights.iter().sum();
        if total == 0 {
            return None;
        }
        let mut ticket = rand::thread_rng().gen_range(0..total);
        for (c, w) in rest.iter().zip(weights) {
            if ticket < w {
                return Some(c.key);
            }
            ticket -= w;
        }
        None
    });
    if let Some(k) = optimistic {
        unchoked.push(k);
    }
    (unchoked, optimistic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(key: PeerKey, interested: bool, down: f64, up: f64, age: u64, now: Instant) -> Candidate {
        Candidate {
            key,
            interested,
            download_rate: down,
            upload_rate: up,
            connected_at: now - Duration::from_secs(age),
        }
    }

    #[test]
    fn tit_for_tat_when_downloading_upload_rate_when_seeding() {
        let now = Instant::now();
        let peers = [
            c(1, true, 100.0, 1.0, 600, now),
            c(2, true, 300.0, 2.0, 600, now),
            c(3, true, 200.0, 9.0, 600, now),
            c(4, false, 999.0, 9.0, 600, now),
        ];
        let (set, opt) = choose(&peers, 2, false, None, true, now);
        assert_eq!(&set[..2], &[2, 3]);
        assert_eq!(opt, Some(1));
        let (set, _) = choose(&peers, 2, true, None, true, now);
        assert_eq!(&set[..2], &[3, 2]);
        assert!(!set.contains(&4), "uninterested peers are never unchoked");
    }

    #[test]
    fn optimistic_slot_is_kept_until_rotation_and_favours_new_peers() {
        let now = Instant::now();
        let peers = [
            c(1, true, 9.0, 0.0, 600, now),
            c(2, true, 0.0, 0.0, 600, now),
            c(3, true, 0.0, 0.0, 5, now),
        ];
        let (_, opt) = choose(&peers, 1, false, Some(2), false, now);
        assert_eq!(opt, Some(2));
        let mut new_wins = 0;
        for _ in 0..400 {
            let (_, opt) = choose(&peers, 1, false, Some(2), true, now);
            if opt == Some(3) {
                new_wins += 1;
            }
        }
        // Expected 300 of 400 (weight 3 against 1).
        assert!(
            (240..=360).contains(&new_wins),
            "new peer won {new_wins} of 400"
        );
    }
}
