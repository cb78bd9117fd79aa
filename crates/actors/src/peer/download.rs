//! A piece being downloaded from one peer: which blocks are requested and
//! which have arrived.

use bytes::Bytes;
use torrix_proto::{Layout, BLOCK_LEN};

/// State of one 16 KiB block of a piece in progress.
#[derive(Clone, Debug, Default)]
pub enum Slot {
    /// Not requested yet.
    #[default]
    Missing,
    /// Requested, not arrived.
    Requested,
    /// Arrived.
    Have(Bytes),
}

/// Blocks of a piece that were received before the piece changed hands; what a
/// peer gives back when it is choked or disconnects, so no data is lost.
#[derive(Clone, Debug)]
pub struct PartialPiece {
    /// Piece index.
    pub piece: u32,
    /// One entry per block; `Some` where the data is here.
    pub blocks: Vec<Option<Bytes>>,
}

/// What happened to a block that arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// Stored; the piece still misses blocks.
    Stored,
    /// Stored, and the piece is complete.
    Complete,
    /// We did not request this block (or it is already here).
    Unrequested,
    /// Offset or length does not match any block of the piece.
    Malformed,
}

/// One piece being downloaded.
#[derive(Debug)]
pub struct PieceDownload {
    /// Piece index.
    pub piece: u32,
    piece_len: u32,
    slots: Vec<Slot>,
    received: u32,
    requested: u32,
    /// Lowest block index that may still be `Missing`.
    cursor: u32,
}

impl PieceDownload {
    /// Starts `piece`, taking over blocks another peer already received.
    pub fn new(layout: &Layout, piece: u32, partial: Option<Vec<Option<Bytes>>>) -> Self {
        let piece_len = layout.piece_len(piece);
        let count = layout.block_count(piece) as usize;
        let mut slots = vec![Slot::Missing; count];
        let mut received = 0;
        if let Some(blocks) = partial {
            for (slot, block) in slots.iter_mut().zip(blocks) {
                if let Some(data) = block {
                    *slot = Slot::Have(data);
                    received += 1;
                }
            }
        }
        PieceDownload {
            piece,
            piece_len,
            slots,
            received,
            requested: 0,
            cursor: 0,
        }
    }

    /// Blocks requested and not yet arrived.
    pub fn requested(&self) -> u32 {
        self.requested
    }

    /// Blocks not yet requested.
    pub fn unrequested(&self) -> u32 {
        self.slots.len() as u32 - self.received - self.requested
    }

    /// True when every block is here.
    pub fn is_complete(&self) -> bool {
        self.received as usize == self.slots.len()
    }

    /// Bytes held.
    pub fn bytes_held(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| {
                if let Slot::Have(b) = s {
                    b.len() as u64
                } else {
                    0
                }
            })
            .sum()
    }

    fn block_len(&self, index: u32) -> u32 {
        BLOCK_LEN.min(self.piece_len - index * BLOCK_LEN)
    }

    /// Marks the next missing block requested and returns (offset, len).
    pub fn next_request(&mut self) -> Option<(u32, u32)> {
        while (self.cursor as usize) < self.slots.len() {
            let index = self.cursor;
            self.cursor += 1;
            let slot = &mut self.slots[index as usize];
            if matches!(slot, Slot::Missing) {
                *slot = Slot::Requested;
                self.requested += 1;
                return Some((index * BLOCK_LEN, self.block_len(index)));
            }
        }
        None
    }

    /// A block arrived.
    pub fn on_block(&mut self, offset: u32, data: Bytes) -> BlockOutcome {
        if offset % BLOCK_LEN != 0 || offset >= self.piece_len {
            return BlockOutcome::Malformed;
        }
        let index = offset / BLOCK_LEN;
        if data.len() != self.block_len(index) as usize {
            return BlockOutcome::Malformed;
        }
        let slot = &mut self.slots[index as usize];
        if !matches!(slot, Slot::Requested) {
            return BlockOutcome::Unrequested;
        }
        *slot = Slot::Have(data);
        self.requested -= 1;
        self.received += 1;
        if self.is_complete() {
            BlockOutcome::Complete
        } else {
            BlockOutcome::Stored
        }
    }

    /// The peer refused a block (BEP 6 reject): it can be requested again.
    /// Returns whether the block had been requested.
    pub fn on_reject(&mut self, offset: u32) -> bool {
        let index = (offset / BLOCK_LEN) as usize;
        if offset % BLOCK_LEN != 0 || index >= self.slots.len() {
            return false;
        }
        if matches!(self.slots[index], Slot::Requested) {
            self.slots[index] = Slot::Missing;
            self.requested -= 1;
            self.cursor = self.cursor.min(index as u32);
            true
        } else {
            false
        }
    }

    /// (offset, len) of every block requested and not arrived.
    pub fn outstanding(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Slot::Requested))
            .map(|(i, _)| (i as u32 * BLOCK_LEN, self.block_len(i as u32)))
    }

    /// The blocks of a complete piece, in order.
    pub fn into_blocks(self) -> Vec<Bytes> {
        self.slots
            .into_iter()
            .filter_map(|s| if let Slot::Have(b) = s { Some(b) } else { None })
            .collect()
    }

    /// Gives up the piece, keeping what arrived.
    pub fn into_partial(self) -> PartialPiece {
        PartialPiece {
            piece: self.piece,
            blocks: self
                .slots
                .into_iter()
                .map(|s| if let Slot::Have(b) = s { Some(b) } else { None })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_receive_complete() {
        let layout = Layout::new(40_000, [40_000]);
        let mut d = PieceDownload::new(&layout, 0, None);
        assert_eq!(d.next_request(), Some((0, 16384)));
        assert_eq!(d.next_request(), Some((16384, 16384)));
        assert_eq!(d.next_request(), Some((32768, 40_000 - 32768)));
        assert_eq!(d.next_request(), None);
        assert_eq!(
            d.on_block(16384, Bytes::from(vec![0; 100])),
            BlockOutcome::Malformed
        );
        assert_eq!(
            d.on_block(100, Bytes::from(vec![0; 16384])),
            BlockOutcome::Malformed
        );
        assert_eq!(
            d.on_block(0, Bytes::from(vec![1; 16384])),
            BlockOutcome::Stored
        );
        assert_eq!(
            d.on_block(0, Bytes::from(vec![1; 16384])),
            BlockOutcome::Unrequested
        );
        assert!(d.on_reject(16384));
        assert_eq!(d.requested(), 1);
        assert_eq!(d.next_request(), Some((16384, 16384)));
        assert_eq!(
            d.on_block(16384, Bytes::from(vec![2; 16384])),
            BlockOutcome::Stored
        );
        assert_eq!(
            d.on_block(32768, Bytes::from(vec![3; 7232])),
            BlockOutcome::Complete
        );
        let blocks = d.into_blocks();
        assert_eq!(blocks.iter().map(|b| b.len()).sum::<usize>(), 40_000);
    }

    #[test]
    fn partial_pieces_resume_where_they_stopped() {
        let layout = Layout::new(49152, [49152]);
        let mut d = PieceDownload::new(&layout, 0, None);
        d.next_request();
        d.next_request();
        d.on_block(16384, Bytes::from(vec![7; 16384]));
        let partial = d.into_partial();
        assert!(partial.blocks[0].is_none() && partial.blocks[1].is_some());
        let mut again = PieceDownload::new(&layout, 0, Some(partial.blocks));
        assert_eq!(again.unrequested(), 2);
        assert_eq!(again.next_request(), Some((0, 16384)));
        assert_eq!(again.next_request(), Some((32768, 16384)));
        assert_eq!(again.next_request(), None);
    }
}
