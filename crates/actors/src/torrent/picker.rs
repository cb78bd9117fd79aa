//! Which piece to download next, from whom.
//!
//! Rarest first with a random tie-break; pieces another peer partly downloaded
//! are continued first; a piece is never given to a peer that lacks it. When
//! every missing piece is already assigned (endgame), a piece may be given to a
//! second peer; whichever finishes first wins and the other cancels.

use std::collections::HashMap;

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
    salt: u64,
}

impl Picker {
    /// A picker for a torrent of which we already have `have`.
    pub fn new(have: Bitfield) -> Self {
        let n = have.len() as usize;
        let free = have.len() - have.count();
        Picker {
            availability: vec![0; n],
            owners: vec![Vec::new(); n],
            partial: HashMap::new(),
            free,
            salt: rand::thread_rng().gen(),
            have,
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
        for p in old.ones() {
            self.availability[p as usize] -= 1;
        }
        for p in new.ones() {
            self.availability[p as usize] += 1;
        }
    }

    /// A peer announced `piece`.
    pub fn peer_have(&mut self, piece: u32) {
        self.availability[piece as usize] += 1;
    }

    fn is_free(&self, piece: u32) -> bool {
        !self.have.get(piece) && self.owners[piece as usize].is_empty()
    }

    fn assign(&mut self, piece: u32, key: PeerKey) {
        let owners = &mut self.owners[piece as usize];
        if owners.is_empty() {
            self.free -= 1;
        }
        owners.push(key);
    }

    fn unassign(&mut self, piece: u32, key: PeerKey) {
        let owners = &mut self.owners[piece as usize];
        if let Some(i) = owners.iter().position(|&k| k == key) {
            owners.swap_remove(i);
            if owners.is_empty() && !self.have.get(piece) {
                self.free += 1;
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
            let mut best: Vec<(u32, u64, u32)> = Vec::with_capacity(want + 1);
            for piece in peer_has.ones() {
                if !self.is_free(piece) {
                    continue;
                }
                let key = (
                    self.availability[piece as usize],
                    self.tie_break(piece),
                    piece,
                );
                if best.len() < want || key < *best.last().expect("non-empty") {
                    let at = best.partition_point(|b| *b < key);
                    best.insert(at, key);
                    best.truncate(want);
                }
            }
            for (_, _, piece) in best {
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
        for p in peer_has.ones() {
            self.availability[p as usize] -= 1;
        }
        self.release(key, partials);
        for piece in 0..self.owners.len() as u32 {
            self.unassign(piece, key);
        }
    }

    /// `piece` is verified and written. Returns false if we already had it.
    pub fn piece_verified(&mut self, piece: u32) -> bool {
        if !self.have.set(piece) {
            return false;
        }
        if self.owners[piece as usize].is_empty() {
            self.free -= 1;
        }
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
        }
        self.owners[piece as usize].clear();
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
