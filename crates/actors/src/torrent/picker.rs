//! Which piece to download next, from whom.
//!
//! Rarest first with a random tie-break; pieces another peer partly downloaded
//! are continued first; a piece is never given to a peer that lacks it. When
//! every missing piece is already assigned (endgame), a piece may be given to a
//! second peer; whichever finishes first wins and the other cancels.
//!
//! The free pieces (neither had nor assigned) are kept ordered by
//! (availability, tie-break), so a pick for a peer that has most of them reads
//! only the first few instead of scanning every piece: a whole download of a
//! 100,000-piece torrent costs 0.1 s of picking rather than 11 s.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use rand::Rng;
use torrix_proto::Bitfield;

use super::messages::{Assignment, PeerKey};
use crate::peer::PartialPiece;

/// Peers that may download the same piece at once in endgame.
const ENDGAME_DUPLICATES: usize = 2;
/// A peer gets endgame duplicates only with at most this many requests in flight.
const ENDGAME_IDLE_REQUESTS: u32 = 8;

/// The download state of every piece of a torrent.
#[derive(Debug)]
pub struct Picker {
    have: Bitfield,
    availability: Vec<u32>,
    /// Peers currently downloading each piece.
    owners: Vec<Vec<PeerKey>>,
    /// Blocks kept from pieces a peer gave up.
    partial: HashMap<u32, Vec<Option<Bytes>>>,
    /// Pieces neither had nor assigned.
    free: u32,
    /// Exactly the free pieces, rarest first: see [`Picker::rank`].
    queue: BTreeSet<Rank>,
    salt: u64,
}

/// A free piece's place in the queue: (availability, tie-break, piece).
type Rank = (u32, u64, u32);

impl Picker {
    /// A picker for a torrent of which we already have `have`.
    pub fn new(have: Bitfield) -> Self {
        let n = have.len() as usize;
        let free = have.len() - have.count();
        let mut picker = Picker {
            availability: vec![0; n],
            owners: vec![Vec::new(); n],
            partial: HashMap::new(),
            free,
            queue: BTreeSet::new(),
            salt: rand::thread_rng().gen(),
            have,
        };
        picker.rebuild_queue();
        picker
    }

    /// Rebuilds the queue from scratch: cheaper than moving each piece when
    /// most availabilities changed at once (a seed connecting or leaving).
    fn rebuild_queue(&mut self) {
        self.queue = (0..self.have.len())
            .filter(|&p| self.is_free(p))
            .map(|p| self.rank(p))
            .collect();
    }

    /// Adds `delta` to the availability of every piece in `pieces`.
    fn add_availability(&mut self, pieces: &Bitfield, delta: i32) {
        if pieces.count() as usize > self.queue.len() / 8 {
            for p in pieces.ones() {
                let a = &mut self.availability[p as usize];
                *a = a.wrapping_add_signed(delta);
            }
            self.rebuild_queue();
        } else {
            for p in pieces.ones() {
                let a = self.availability[p as usize].wrapping_add_signed(delta);
                self.set_availability(p, a);
            }
        }
    }

    /// Where `piece` sorts among the free pieces.
    fn rank(&self, piece: u32) -> Rank {
        (
            self.availability[piece as usize],
            self.tie_break(piece),
            piece,
        )
    }

    /// Changes the availability of `piece`, moving it in the queue if free.
    fn set_availability(&mut self, piece: u32, availability: u32) {
        let free = self.is_free(piece);
        if free {
            self.queue.remove(&self.rank(piece));
        }
        self.availability[piece as usize] = availability;
        if free {
            self.queue.insert(self.rank(piece));
        }
    }

    /// The pieces we have.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// How many peers have `piece`.
    pub fn availability(&self, piece: u32) -> u32 {
        self.availability[piece as usize]
    }

    /// A peer's pieces became known (or changed from `old` to `new`).
    pub fn peer_bitfield(&mut self, old: &Bitfield, new: &Bitfield) {
        self.add_availability(old, -1);
        self.add_availability(new, 1);
    }

    /// A peer announced `piece`.
    pub fn peer_have(&mut self, piece: u32) {
        self.set_availability(piece, self.availability[piece as usize] + 1);
    }

    fn is_free(&self, piece: u32) -> bool {
        !self.have.get(piece) && self.owners[piece as usize].is_empty()
    }

    fn assign(&mut self, piece: u32, key: PeerKey) {
        if self.is_free(piece) {
            self.free -= 1;
            self.queue.remove(&self.rank(piece));
        }
        self.owners[piece as usize].push(key);
    }

    fn unassign(&mut self, piece: u32, key: PeerKey) {
        let owners = &mut self.owners[piece as usize];
        if let Some(i) = owners.iter().position(|&k| k == key) {
            owners.swap_remove(i);
            if owners.is_empty() && !self.have.get(piece) {
                self.free += 1;
                self.queue.insert(self.rank(piece));
            }
        }
    }

    /// Chooses up to `max` pieces for peer `key`, which has `peer_has` and has
    /// `inflight` requests outstanding.
    pub fn pick(
        &mut self,
        key: PeerKey,
        peer_has: &Bitfield,
        max: u32,
        inflight: u32,
    ) -> Vec<Assignment> {
        let mut out = Vec::new();
        // 1. Continue partly downloaded pieces.
        let partials: Vec<u32> = self
            .partial
            .keys()
            .copied()
            .filter(|&p| peer_has.get(p) && self.is_free(p))
            .take(max as usize)
            .collect();
        for piece in partials {
            let blocks = self.partial.remove(&piece);
            self.assign(piece, key);
            out.push(Assignment {
                piece,
                partial: blocks,
            });
        }
        // 2. Rarest first among free pieces, random tie-break.
        let want = max as usize - out.len();
        if want > 0 && self.free > 0 {
            for piece in self.rarest_free(peer_has, want) {
                self.assign(piece, key);
                out.push(Assignment {
                    piece,
                    partial: None,
                });
            }
        }
        // 3. Endgame: everything missing is assigned; double up, but only for a
        // peer that has run dry, and a piece at a time, so duplicates stay few.
        if out.is_empty() && self.free == 0 && inflight <= ENDGAME_IDLE_REQUESTS {
            let mut candidates: Vec<u32> = peer_has
                .ones()
                .filter(|&p| {
                    let owners = &self.owners[p as usize];
                    !self.have.get(p) && owners.len() < ENDGAME_DUPLICATES && !owners.contains(&key)
                })
                .collect();
            candidates.sort_by_key(|&p| (self.owners[p as usize].len(), self.tie_break(p)));
            for piece in candidates.into_iter().take(1) {
                self.assign(piece, key);
                out.push(Assignment {
                    piece,
                    partial: None,
                });
            }
        }
        out
    }

    /// The `want` rarest free pieces among those in `peer_has`, rarest first.
    /// Reads the queue in order, unless the peer has so few pieces that going
    /// through them is cheaper.
    fn rarest_free(&self, peer_has: &Bitfield, want: usize) -> Vec<u32> {
        if (peer_has.count() as usize) < self.queue.len() / 8 {
            let mut best: Vec<Rank> = Vec::with_capacity(want + 1);
            for piece in peer_has.ones().filter(|&p| self.is_free(p)) {
                let rank = self.rank(piece);
                if best.len() < want || rank < *best.last().expect("non-empty") {
                    let at = best.partition_point(|b| *b < rank);
                    best.insert(at, rank);
                    best.truncate(want);
                }
            }
            best.into_iter().map(|(_, _, piece)| piece).collect()
        } else {
            self.queue
                .iter()
                .map(|&(_, _, piece)| piece)
                .filter(|&piece| peer_has.get(piece))
                .take(want)
                .collect()
        }
    }

    fn tie_break(&self, piece: u32) -> u64 {
        // A cheap keyed mix (splitmix64): a different order per torrent run.
        let mut z = (u64::from(piece) ^ self.salt).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Peer `key` gave pieces back; keep what it received.
    pub fn release(&mut self, key: PeerKey, pieces: Vec<PartialPiece>) {
        for p in pieces {
            self.unassign(p.piece, key);
            if !self.have.get(p.piece) && p.blocks.iter().any(Option::is_some) {
                self.partial.entry(p.piece).or_insert(p.blocks);
            }
        }
    }

    /// Peer `key` is gone: it no longer downloads anything, and its pieces no
    /// longer count towards availability.
    pub fn peer_gone(&mut self, key: PeerKey, peer_has: &Bitfield, partials: Vec<PartialPiece>) {
        self.add_availability(peer_has, -1);
        self.release(key, partials);
        for piece in 0..self.owners.len() as u32 {
            self.unassign(piece, key);
        }
    }

    /// `piece` is verified and written. Returns false if we already had it.
    pub fn piece_verified(&mut self, piece: u32) -> bool {
        if piece >= self.have.len() || self.have.get(piece) {
            return false;
        }
        if self.is_free(piece) {
            self.free -= 1;
            self.queue.remove(&self.rank(piece));
        }
        self.have.set(piece);
        self.owners[piece as usize].clear();
        self.partial.remove(&piece);
        true
    }

    /// `piece` failed its hash check: download it again from scratch.
    pub fn piece_failed(&mut self, piece: u32) {
        if self.have.get(piece) {
            return;
        }
        if !self.owners[piece as usize].is_empty() {
            self.free += 1;
            self.owners[piece as usize].clear();
            self.queue.insert(self.rank(piece));
        }
        self.partial.remove(&piece);
    }

    /// True when every piece is verified.
    pub fn is_complete(&self) -> bool {
        self.have.is_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(n: u32, set: &[u32]) -> Bitfield {
        let mut b = Bitfield::new(n);
        for &p in set {
            b.set(p);
        }
        b
    }

    #[test]
    fn rarest_first_and_only_pieces_the_peer_has() {
        let mut picker = Picker::new(Bitfield::new(4));
        let a = bits(4, &[0, 1, 2]);
        let b = bits(4, &[0, 1]);
        picker.peer_bitfield(&Bitfield::new(4), &a);
        picker.peer_bitfield(&Bitfield::new(4), &b);
        // piece 2 is the rarest (1 peer); piece 3 nobody has
        let got = picker.pick(1, &a, 1, 0);
        assert_eq!(got.iter().map(|x| x.piece).collect::<Vec<_>>(), vec![2]);
        let got = picker.pick(2, &b, 5, 0);
        let mut pieces: Vec<_> = got.iter().map(|x| x.piece).collect();
        pieces.sort();
        assert_eq!(pieces, vec![0, 1]);
        // nothing free that peer 2 has, and piece 3 is free so no endgame
        assert!(picker.pick(2, &b, 5, 0).is_empty());
    }

    #[test]
    fn tie_break_is_random_per_picker() {
        let all = Bitfield::full(64);
        let firsts: std::collections::HashSet<u32> = (0..20)
            .map(|_| {
                let mut p = Picker::new(Bitfield::new(64));
                p.pick(1, &all, 1, 0)[0].piece
            })
            .collect();
        assert!(firsts.len() > 1, "tie-break always picked the same piece");
    }

    #[test]
    fn partial_pieces_first_then_endgame_duplicates() {
        let mut picker = Picker::new(Bitfield::new(2));
        let all = Bitfield::full(2);
        let got = picker.pick(1, &all, 2, 0);
        assert_eq!(got.len(), 2);
        picker.release(
            1,
            vec![PartialPiece {
                piece: 1,
                blocks: vec![Some(Bytes::from_static(b"x")), None],
            }],
        );
        let got = picker.pick(2, &all, 1, 0);
        assert_eq!(got[0].piece, 1);
        assert!(got[0].partial.as_ref().unwrap()[0].is_some());
        // Both pieces now assigned: endgame, but not for a peer that is still busy.
        assert!(picker
            .pick(3, &all, 5, ENDGAME_IDLE_REQUESTS + 1)
            .is_empty());
        // An idle peer gets duplicates one at a time, never twice the same.
        let first = picker.pick(3, &all, 5, 0);
        let second = picker.pick(3, &all, 5, 0);
        assert_eq!((first.len(), second.len()), (1, 1));
        assert_ne!(first[0].piece, second[0].piece);
        assert!(picker.pick(3, &all, 5, 0).is_empty());
        assert!(picker.pick(1, &all, 5, 0).iter().all(|a| a.piece == 1));
        assert!(picker.piece_verified(0));
        assert!(!picker.piece_verified(0));
        picker.piece_failed(1);
        let got = picker.pick(4, &all, 5, 0);
        assert_eq!(got.iter().map(|a| a.piece).collect::<Vec<_>>(), vec![1]);
    }

    /// The queue holds exactly the free pieces at their current rank, and a
    /// pick returns the rarest free pieces the peer has, whichever way it looks.
    #[test]
    fn queue_stays_exact_under_random_events() {
        use rand::{rngs::StdRng, SeedableRng};
        let n = 200;
        let mut rng = StdRng::seed_from_u64(5);
        let mut picker = Picker::new(bits(n, &[3, 50, 199]));
        let mut peers: Vec<Bitfield> = Vec::new();
        for step in 0..3000 {
            match rng.gen_range(0..7) {
                0 => {
                    // a new peer: sometimes a seed, sometimes a few pieces
                    let few = rng.gen_bool(0.5);
                    let mut b = Bitfield::new(n);
                    for p in 0..n {
                        if !few || rng.gen_bool(0.05) {
                            b.set(p);
                        }
                    }
                    picker.peer_bitfield(&Bitfield::new(n), &b);
                    peers.push(b);
                }
                1 if !peers.is_empty() => {
                    let i = rng.gen_range(0..peers.len());
                    let p = rng.gen_range(0..n);
                    if peers[i].set(p) {
                        picker.peer_have(p);
                    }
                }
                2 if !peers.is_empty() => {
                    let i = rng.gen_range(0..peers.len());
                    let gone = peers.swap_remove(i);
                    picker.peer_gone(i as u64 + 1000, &gone, vec![]);
                }
                3 | 4 if !peers.is_empty() => {
                    let i = rng.gen_range(0..peers.len());
                    let want = rng.gen_range(1..6);
                    let expected: Vec<u32> = {
                        let mut free: Vec<Rank> = peers[i]
                            .ones()
                            .filter(|&p| picker.is_free(p))
                            .map(|p| picker.rank(p))
                            .collect();
                        free.sort();
                        free.iter().take(want).map(|r| r.2).collect()
                    };
                    let partials = picker.partial.len();
                    let got = picker.pick(i as u64, &peers[i].clone(), want as u32, 100);
                    if partials == 0 {
                        let got: Vec<u32> = got.iter().map(|a| a.piece).collect();
                        assert_eq!(got, expected, "step {step}");
                    }
                }
                5 => {
                    let p = rng.gen_range(0..n);
                    picker.piece_verified(p);
                }
                _ => {
                    let p = rng.gen_range(0..n);
                    picker.piece_failed(p);
                }
            }
            let free: BTreeSet<Rank> = (0..n)
                .filter(|&p| picker.is_free(p))
                .map(|p| picker.rank(p))
                .collect();
            assert_eq!(picker.queue, free, "step {step}");
            assert_eq!(picker.free as usize, free.len(), "step {step}");
        }
        assert!(!picker.piece_verified(n), "out of range");
    }

    #[test]
    fn gone_peer_frees_its_pieces() {
        let mut picker = Picker::new(Bitfield::new(3));
        let all = Bitfield::full(3);
        picker.peer_bitfield(&Bitfield::new(3), &all);
        assert_eq!(picker.pick(1, &all, 3, 0).len(), 3);
        picker.peer_gone(1, &all, vec![]);
        assert_eq!(picker.availability(0), 0);
        assert_eq!(picker.pick(2, &all, 3, 0).len(), 3);
    }
}
