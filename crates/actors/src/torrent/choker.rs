//! Who gets an upload slot (BEP 3 choking).
//!
//! While downloading, the regular slots go to the interested peers that upload
//! fastest to us (tit-for-tat), and one more, optimistic, slot rotates among
//! the others; newly connected peers are three times as likely to get it, so
//! they can earn their way in.
//!
//! While seeding, nobody can pay us back, so ranking by rate would only starve
//! the slower peers. Slots go round-robin instead (as libtorrent's
//! `round_robin` seed choker does): a peer keeps its slot until it has received
//! its quota of bytes and someone is waiting, then the peer that has waited
//! longest takes over.

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
    /// When the connection completed.
    pub connected_at: Instant,
    /// Whether it holds a slot now.
    pub unchoked: bool,
    /// When it last got or lost a slot (its connection time if never).
    pub slot_changed_at: Instant,
    /// Bytes sent to it since it got its slot.
    pub sent_since_unchoke: u64,
}

/// How long a peer counts as new for the optimistic unchoke.
const NEW_PEER: Duration = Duration::from_secs(60);

/// Tit-for-tat for a downloading torrent. `optimistic` is the current
/// optimistic peer, replaced when `rotate` is true or when it is no longer a
/// candidate. Returns the peers to unchoke and the (new) optimistic peer.
pub fn choose_downloading(
    candidates: &[Candidate],
    slots: usize,
    optimistic: Option<PeerKey>,
    rotate: bool,
    now: Instant,
) -> (Vec<PeerKey>, Option<PeerKey>) {
    let mut interested: Vec<&Candidate> = candidates.iter().filter(|c| c.interested).collect();
    interested.sort_by(|a, b| b.download_rate.total_cmp(&a.download_rate));
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

/// Round-robin for a seeding torrent: `slots` peers are unchoked; one that has
/// received `quota` bytes since it got its slot gives it up if an interested
/// peer is waiting, to the one that has waited longest.
pub fn choose_seeding(candidates: &[Candidate], slots: usize, quota: u64) -> Vec<PeerKey> {
    let waiting = candidates
        .iter()
        .filter(|c| c.interested && !c.unchoked)
        .count();
    let mut keep: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.interested && c.unchoked)
        .collect();
    // Those over quota go first when someone waits; the most served first.
    keep.sort_by_key(|c| (c.sent_since_unchoke >= quota, c.slot_changed_at));
    let over_quota = keep
        .iter()
        .filter(|c| c.sent_since_unchoke >= quota)
        .count();
    let release = over_quota.min(waiting);
    keep.truncate((keep.len() - release).min(slots));
    let mut next: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.interested && !c.unchoked)
        .collect();
    next.sort_by_key(|c| c.slot_changed_at);
    let free = slots.saturating_sub(keep.len());
    keep.iter()
        .map(|c| c.key)
        .chain(next.iter().take(free).map(|c| c.key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(key: PeerKey, interested: bool, down: f64, age: u64, now: Instant) -> Candidate {
        Candidate {
            key,
            interested,
            download_rate: down,
            connected_at: now - Duration::from_secs(age),
            unchoked: false,
            slot_changed_at: now - Duration::from_secs(age),
            sent_since_unchoke: 0,
        }
    }

    #[test]
    fn tit_for_tat_while_downloading() {
        let now = Instant::now();
        let peers = [
            c(1, true, 100.0, 600, now),
            c(2, true, 300.0, 600, now),
            c(3, true, 200.0, 600, now),
            c(4, false, 999.0, 600, now),
        ];
        let (set, opt) = choose_downloading(&peers, 2, None, true, now);
        assert_eq!(&set[..2], &[2, 3]);
        assert_eq!(opt, Some(1));
        assert!(!set.contains(&4), "uninterested peers are never unchoked");
    }

    #[test]
    fn optimistic_slot_is_kept_until_rotation_and_favours_new_peers() {
        let now = Instant::now();
        let peers = [
            c(1, true, 9.0, 600, now),
            c(2, true, 0.0, 600, now),
            c(3, true, 0.0, 5, now),
        ];
        let (_, opt) = choose_downloading(&peers, 1, Some(2), false, now);
        assert_eq!(opt, Some(2));
        let mut new_wins = 0;
        for _ in 0..400 {
            let (_, opt) = choose_downloading(&peers, 1, Some(2), true, now);
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

    #[test]
    fn seeding_rotates_slots_round_robin_by_quota() {
        let now = Instant::now();
        let mut peers: Vec<Candidate> = (0..5).map(|k| c(k, true, 0.0, 100 - k, now)).collect();
        // Two slots; nobody served yet: the two that waited longest get them.
        let set = choose_seeding(&peers, 2, 1000);
        assert_eq!(set, vec![0, 1]);
        for p in peers.iter_mut().filter(|p| set.contains(&p.key)) {
            p.unchoked = true;
            p.slot_changed_at = now;
        }
        // Under quota: they keep their slots.
        assert_eq!(choose_seeding(&peers, 2, 1000), vec![0, 1]);
        // Peer 0 used its quota: it yields to the longest waiter (2).
        peers[0].sent_since_unchoke = 1000;
        assert_eq!(choose_seeding(&peers, 2, 1000), vec![1, 2]);
        // Over quota but nobody waits: keep serving.
        let alone: Vec<Candidate> = peers[..2].to_vec();
        assert_eq!(choose_seeding(&alone, 2, 1000), vec![1, 0]);
        // Uninterested peers never hold a slot.
        peers[1].interested = false;
        assert!(!choose_seeding(&peers, 2, 1000).contains(&1));
    }

    #[test]
    fn every_waiting_peer_gets_served_in_turn() {
        let now = Instant::now();
        let mut peers: Vec<Candidate> = (0..10).map(|k| c(k, true, 0.0, 100 - k, now)).collect();
        let mut served = std::collections::HashSet::new();
        for round in 0..10u64 {
            let set = choose_seeding(&peers, 3, 10);
            for p in peers.iter_mut() {
                let now_unchoked = set.contains(&p.key);
                if now_unchoked != p.unchoked {
                    p.unchoked = now_unchoked;
                    p.slot_changed_at = now + Duration::from_secs(round + 1);
                    p.sent_since_unchoke = 0;
                }
                if p.unchoked {
                    served.insert(p.key);
                    p.sent_since_unchoke += 10;
                }
            }
        }
        assert_eq!(served.len(), 10, "some peers never got a slot: {served:?}");
    }
}
