//! Requests a peer made of us, waiting to be answered, and the few pieces we
//! read from disk to answer them.
//!
//! Reads are whole pieces (one disk message per piece, not per block), a few
//! ahead of the one being sent so the socket never waits for the disk; blocks
//! are then zero-copy slices of the piece.

use std::collections::VecDeque;

use bytes::Bytes;
use torrix_proto::BlockRef;

/// Most piece reads kept in flight ahead of the sending position.
pub const READ_AHEAD: usize = 4;
/// Bytes of whole pieces a connection keeps for answering requests (at least
/// two pieces, however large).
const CACHE_BYTES: usize = 2 << 20;
/// How far into the request queue read-ahead looks.
const LOOKAHEAD_REQUESTS: usize = 256;

/// The upload side of one connection.
#[derive(Debug)]
pub struct UploadQueue {
    queue: VecDeque<BlockRef>,
    max: usize,
    cache: VecDeque<(u32, Bytes)>,
    /// Pieces the cache holds at most.
    cache_pieces: usize,
    reading: Vec<u32>,
}

impl UploadQueue {
    /// A queue that holds at most `max` requests, for pieces of `piece_length`.
    pub fn new(max: usize, piece_length: u32) -> Self {
        let cache_pieces = (CACHE_BYTES / (piece_length as usize).max(1)).clamp(2, READ_AHEAD + 2);
        UploadQueue {
            queue: VecDeque::new(),
            max,
            cache: VecDeque::new(),
            cache_pieces,
            reading: Vec::new(),
        }
    }

    /// Drops the cached pieces (the peer was choked).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Queues a request; false if the queue is full (a flood). A duplicate
    /// request is simply answered twice.
    pub fn push(&mut self, block: BlockRef) -> bool {
        if self.queue.len() >= self.max {
            return false;
        }
        self.queue.push_back(block);
        true
    }

    /// Drops a request the peer cancelled.
    pub fn cancel(&mut self, block: BlockRef) {
        self.queue.retain(|b| *b != block);
    }

    /// The oldest request.
    pub fn front(&self) -> Option<BlockRef> {
        self.queue.front().copied()
    }

    /// Removes the oldest request.
    pub fn pop_front(&mut self) {
        self.queue.pop_front();
    }

    /// Drops every request (we choked the peer); returns them.
    pub fn drain(&mut self) -> Vec<BlockRef> {
        self.queue.drain(..).collect()
    }

    /// The data of `block` if its piece is cached.
    pub fn cached(&self, block: BlockRef) -> Option<Bytes> {
        let (_, data) = self.cache.iter().find(|(p, _)| *p == block.piece)?;
        let end = (block.offset + block.len) as usize;
        (end <= data.len()).then(|| data.slice(block.offset as usize..end))
    }

    fn is_cached(&self, piece: u32) -> bool {
        self.cache.iter().any(|(p, _)| *p == piece)
    }

    /// Pieces to start reading now, in the order they will be sent, keeping at
    /// most [`READ_AHEAD`] reads in flight (fewer for large pieces, so reads
    /// never outrun the cache). Each is marked as being read. Reads start in
    /// batches: nothing until at most half the limit is in flight, then up to
    /// the limit at once, so that one Disk message carries several pieces.
    pub fn start_reads(&mut self) -> Vec<u32> {
        let limit = READ_AHEAD.min(self.cache_pieces - 1);
        let mut starts = Vec::new();
        if self.reading.len() * 2 > limit {
            return starts;
        }
        for block in self.queue.iter().take(LOOKAHEAD_REQUESTS) {
            if self.reading.len() >= limit {
                break;
            }
            let piece = block.piece;
            if !self.reading.contains(&piece) && !self.is_cached(piece) {
                self.reading.push(piece);
                starts.push(piece);
            }
        }
        starts
    }

    /// A read failed; it may be retried.
    pub fn read_failed(&mut self, piece: u32) {
        self.reading.retain(|&p| p != piece);
    }

    /// A read finished.
    pub fn insert(&mut self, piece: u32, data: Bytes) {
        self.reading.retain(|&p| p != piece);
        if self.cache.len() >= self.cache_pieces {
            self.cache.pop_front();
        }
        self.cache.push_back((piece, data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_slices_of_cached_pieces_and_bounds_the_queue() {
        let mut q = UploadQueue::new(2, 16 * 1024);
        let b0 = BlockRef {
            piece: 1,
            offset: 4,
            len: 4,
        };
        assert!(q.push(b0));
        assert!(q.push(BlockRef {
            piece: 2,
            offset: 0,
            len: 2
        }));
        assert!(!q.push(BlockRef {
            piece: 3,
            offset: 0,
            len: 2
        }));
        assert_eq!(q.start_reads(), vec![1, 2]);
        assert!(q.start_reads().is_empty(), "reads already in flight");
        q.insert(1, Bytes::from_static(b"abcdefgh"));
        assert_eq!(q.cached(b0).as_deref(), Some(&b"efgh"[..]));
        assert_eq!(
            q.cached(BlockRef {
                piece: 1,
                offset: 6,
                len: 4
            }),
            None
        );
        q.pop_front();
        q.cancel(BlockRef {
            piece: 2,
            offset: 0,
            len: 2,
        });
        assert_eq!(q.front(), None);
    }

    #[test]
    fn read_ahead_is_bounded_and_in_queue_order() {
        let mut q = UploadQueue::new(100, 16 * 1024);
        for piece in [5, 5, 3, 9, 1, 7, 8] {
            assert!(q.push(BlockRef {
                piece,
                offset: 0,
                len: 4
            }));
        }
        assert_eq!(q.start_reads(), vec![5, 3, 9, 1]);
        q.insert(5, Bytes::from_static(b"abcd"));
        assert!(
            q.start_reads().is_empty(),
            "3 of 4 in flight: wait to batch"
        );
        q.read_failed(3);
        assert_eq!(q.start_reads(), vec![3, 7], "2 of 4: refill to 4 at once");
        assert!(q.start_reads().is_empty());
    }

    #[test]
    fn large_pieces_shrink_the_cache_and_read_ahead() {
        let mut q = UploadQueue::new(100, 4 << 20);
        for piece in 0..5 {
            assert!(q.push(BlockRef {
                piece,
                offset: 0,
                len: 4
            }));
        }
        assert_eq!(
            q.start_reads(),
            vec![0],
            "two 4 MiB pieces at most: one read ahead"
        );
        q.insert(0, Bytes::from_static(b"abcd"));
        q.insert(1, Bytes::from_static(b"abcd"));
        q.insert(2, Bytes::from_static(b"abcd"));
        assert!(
            q.cached(BlockRef {
                piece: 0,
                offset: 0,
                len: 4
            })
            .is_none(),
            "oldest evicted"
        );
        q.clear_cache();
        assert!(q
            .cached(BlockRef {
                piece: 2,
                offset: 0,
                len: 4
            })
            .is_none());
    }
}
