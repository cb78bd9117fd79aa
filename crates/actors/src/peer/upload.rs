//! Requests a peer made of us, waiting to be answered, and the few pieces we
//! read from disk to answer them.
//!
//! Reads are whole pieces (one disk message per piece, not per block); blocks
//! are then zero-copy slices of the piece.

use std::collections::VecDeque;

use bytes::Bytes;
use torrix_proto::BlockRef;

/// Whole pieces kept per connection for answering requests.
const CACHED_PIECES: usize = 3;

/// The upload side of one connection.
#[derive(Debug)]
pub struct UploadQueue {
    queue: VecDeque<BlockRef>,
    max: usize,
    cache: VecDeque<(u32, Bytes)>,
    reading: Option<u32>,
}

impl UploadQueue {
    /// A queue that holds at most `max` requests.
    pub fn new(max: usize) -> Self {
        UploadQueue {
            queue: VecDeque::new(),
            max,
            cache: VecDeque::new(),
            reading: None,
        }
    }

    /// Queues a request; false if the queue is full (a flood).
    pub fn push(&mut self, block: BlockRef) -> bool {
        if self.queue.len() >= self.max {
            return false;
        }
        if !self.queue.contains(&block) {
            self.queue.push_back(block);
        }
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

    /// The piece to read next, if no read is running.
    pub fn next_read(&self) -> Option<u32> {
        if self.reading.is_some() {
            return None;
        }
        self.front().map(|b| b.piece)
    }

    /// A read of `piece` started.
    pub fn reading(&mut self, piece: u32) {
        self.reading = Some(piece);
    }

    /// A read finished.
    pub fn insert(&mut self, piece: u32, data: Bytes) {
        self.reading = None;
        if self.cache.len() == CACHED_PIECES {
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
        let mut q = UploadQueue::new(2);
        let b0 = BlockRef {
            piece: 1,
            offset: 4,
            len: 4,
        };
        assert!(q.push(b0));
        assert!(q.push(b0)); // duplicate is not queued twice
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
        assert_eq!(q.next_read(), Some(1));
        q.reading(1);
        assert_eq!(q.next_read(), None);
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
}
