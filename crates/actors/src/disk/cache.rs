//! The read cache: whole verified pieces, shared by all Disk workers, bounded in
//! bytes, evicting the least recently used piece.
//!
//! Peers request a piece block by block, usually in order and often several
//! peers the same piece; caching whole pieces turns those 16 KiB reads into one
//! large read per piece. Cached pieces are [`Bytes`], so a served block is a
//! zero-copy slice of the cached piece.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

/// Cache key: ([`Storage::id`](super::Storage::id), piece index).
pub(crate) type Key = (u64, u32);

/// Counters and size of the read cache, for tests and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to read from disk.
    pub misses: u64,
    /// Bytes of piece data currently held.
    pub bytes: usize,
    /// Pieces currently held.
    pub entries: usize,
    /// The configured limit on `bytes`.
    pub budget: usize,
}

/// One cached piece.
struct Entry {
    data: Bytes,
    /// Position in the LRU order (key of `PieceCache::lru`).
    tick: u64,
}

/// An LRU cache of whole pieces holding at most `budget` bytes.
pub(crate) struct PieceCache {
    map: HashMap<Key, Entry>,
    /// Entries by last use, oldest first.
    lru: BTreeMap<u64, Key>,
    tick: u64,
    bytes: usize,
    budget: usize,
    hits: u64,
    misses: u64,
}

impl PieceCache {
    /// An empty cache holding at most `budget` bytes (0 disables caching).
    pub(crate) fn new(budget: usize) -> Self {
        PieceCache {
            map: HashMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            budget,
            hits: 0,
            misses: 0,
        }
    }

    /// The cached piece, marking it most recently used; counts a hit or a miss.
    pub(crate) fn get(&mut self, key: Key) -> Option<Bytes> {
        let Some(entry) = self.map.get_mut(&key) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        self.lru.remove(&entry.tick);
        self.tick += 1;
        entry.tick = self.tick;
        self.lru.insert(self.tick, key);
        Some(entry.data.clone())
    }

    /// Caches a piece, evicting least recently used ones to stay within budget.
    /// A piece larger than the whole budget is not cached.
    pub(crate) fn insert(&mut self, key: Key, data: Bytes) {
        if data.len() > self.budget {
            return;
        }
        self.remove(key);
        while self.bytes + data.len() > self.budget {
            let Some((_, oldest)) = self.lru.pop_first() else {
                break;
            };
            if let Some(entry) = self.map.remove(&oldest) {
                self.bytes -= entry.data.len();
            }
        }
        self.tick += 1;
        self.bytes += data.len();
        self.lru.insert(self.tick, key);
        self.map.insert(
            key,
            Entry {
                data,
                tick: self.tick,
            },
        );
    }

    /// Drops one piece (after it was rewritten).
    pub(crate) fn remove(&mut self, key: Key) {
        if let Some(entry) = self.map.remove(&key) {
            self.lru.remove(&entry.tick);
            self.bytes -= entry.data.len();
        }
    }

    /// Drops every piece of one storage (the torrent was removed or rechecked).
    pub(crate) fn forget(&mut self, storage_id: u64) {
        let (lru, bytes) = (&mut self.lru, &mut self.bytes);
        self.map.retain(|&(id, _), entry| {
            if id != storage_id {
                return true;
            }
            lru.remove(&entry.tick);
            *bytes -= entry.data.len();
            false
        });
    }

    /// Current counters.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits,
            misses: self.misses,
            bytes: self.bytes,
            entries: self.map.len(),
            budget: self.budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut cache = PieceCache::new(30);
        cache.insert((1, 0), Bytes::from(vec![0; 10]));
        cache.insert((1, 1), Bytes::from(vec![1; 10]));
        cache.insert((1, 2), Bytes::from(vec![2; 10]));
        assert!(cache.get((1, 0)).is_some()); // 0 is now newest; 1 is oldest
        cache.insert((2, 0), Bytes::from(vec![3; 10]));
        assert!(cache.get((1, 1)).is_none());
        assert!(cache.get((1, 2)).is_some());
        assert_eq!(cache.stats().bytes, 30);
        cache.insert((2, 1), Bytes::from(vec![4; 31])); // larger than budget
        assert!(cache.get((2, 1)).is_none());
        cache.forget(1);
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.bytes), (1, 10));
        assert_eq!(cache.lru.len(), 1);
        assert_eq!((stats.hits, stats.misses), (2, 2));
    }
}
