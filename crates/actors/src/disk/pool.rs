//! [`BufferPool`]: recycled buffers for whole pieces read from disk.
//!
//! A seed reads every piece it uploads into a fresh buffer that then travels,
//! as [`Bytes`], through the read cache and the peers' send queues. Allocating
//! each of those buffers anew costs a page fault and a zeroing per 4 KiB
//! (allocations this large come straight from the kernel) and a `memset`
//! before the read. Pooled buffers come back when the last [`Bytes`] pointing
//! into them is dropped, already mapped and initialised, so a read goes
//! straight into them.
//!
//! The pool is bounded in bytes; a buffer returned to a full pool is freed.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// A bounded stack of free piece buffers, shared by all Disk workers.
#[derive(Debug)]
pub(crate) struct BufferPool {
    free: Mutex<Free>,
    /// Most bytes of free buffers kept.
    budget: usize,
}

#[derive(Debug, Default)]
struct Free {
    buffers: Vec<Vec<u8>>,
    /// Sum of the capacities in `buffers`.
    bytes: usize,
}

impl BufferPool {
    /// A pool keeping at most `budget` bytes of free buffers (0: no pooling).
    pub(crate) fn new(budget: usize) -> Arc<BufferPool> {
        Arc::new(BufferPool {
            free: Mutex::new(Free::default()),
            budget,
        })
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Free> {
        // A panic while holding the lock leaves at worst a wrong byte count.
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A buffer of exactly `len` initialised bytes (their values are
    /// unspecified: the caller overwrites them), recycled when one is free.
    pub(crate) fn take(&self, len: usize) -> Vec<u8> {
        let recycled = {
            let mut free = self.free();
            let found = free.buffers.iter().rposition(|b| b.capacity() >= len);
            found.map(|i| {
                let buf = free.buffers.swap_remove(i);
                free.bytes -= buf.capacity();
                buf
            })
        };
        match recycled {
            Some(mut buf) => {
                // Shrinking keeps the capacity; growing (a shorter buffer of
                // a larger capacity) zero-fills only the difference.
                buf.resize(len, 0);
                buf
            }
            None => vec![0; len],
        }
    }

    /// `buf` as [`Bytes`] that hand the buffer back to this pool when the last
    /// clone or slice of them is dropped.
    pub(crate) fn wrap(self: &Arc<Self>, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: Arc::clone(self),
        })
    }

    fn give_back(&self, buf: Vec<u8>) {
        let mut free = self.free();
        if free.bytes + buf.capacity() <= self.budget {
            free.bytes += buf.capacity();
            free.buffers.push(buf);
        }
    }

    /// Bytes of free buffers held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.free().bytes
    }
}

/// A pooled buffer owned by [`Bytes`]; returns to its pool on drop.
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_when_its_last_slice_is_dropped() {
        let pool = BufferPool::new(1 << 20);
        let mut buf = pool.take(1000);
        buf.iter_mut().for_each(|b| *b = 7);
        let ptr = buf.as_ptr();
        let bytes = pool.wrap(buf);
        let slice = bytes.slice(10..20);
        drop(bytes);
        assert_eq!(pool.held(), 0, "a slice still holds it");
        assert_eq!(&slice[..], &[7; 10]);
        drop(slice);
        assert!(pool.held() >= 1000);
        let again = pool.take(500);
        assert_eq!(again.as_ptr(), ptr, "the same allocation is reused");
        assert_eq!(again.len(), 500);
        assert_eq!(pool.held(), 0);
    }

    #[test]
    fn a_full_pool_frees_what_comes_back() {
        let pool = BufferPool::new(1500);
        let a = pool.wrap(pool.take(1000));
        let b = pool.wrap(pool.take(1000));
        drop(a);
        drop(b);
        assert!(pool.held() >= 1000 && pool.held() <= 1500);
        let none = BufferPool::new(0);
        drop(none.wrap(none.take(10)));
        assert_eq!(none.held(), 0);
    }

    #[test]
    fn a_too_small_buffer_is_not_handed_out() {
        let pool = BufferPool::new(1 << 20);
        drop(pool.wrap(pool.take(100)));
        let big = pool.take(4096);
        assert_eq!(big.len(), 4096);
        assert!(big.iter().all(|&b| b == 0), "a new buffer is zeroed");
        assert!(pool.held() >= 100, "the small one stays in the pool");
    }
}
