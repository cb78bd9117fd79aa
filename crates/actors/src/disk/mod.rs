//! The Disk actor: every blocking file operation and every SHA-1 of piece data
//! runs here, on a pool of worker threads ([`DiskPool`]), never on the network
//! threads.
//!
//! A torrent owns an [`Arc<Storage>`] (its files) and passes it in each message;
//! the workers share the storage's open handles through that `Arc`, and share one
//! bounded read cache of whole pieces ([`CacheStats`] reports on it).
//!
//! | message          | reply                                  |
//! |------------------|----------------------------------------|
//! | [`WritePiece`]   | hash-check, then write: [`PieceWrite`] |
//! | [`ReadBlock`]    | a block, via the piece cache           |
//! | [`ReadPiece`]    | a whole piece, via the piece cache     |
//! | [`ReadPieces`]   | several whole pieces, one reply        |
//! | [`CheckPieces`]  | which pieces on disk match their hash  |
//! | [`Flush`]        | `fdatasync` of the written files       |
//! | [`Forget`]       | drop a torrent's cached pieces         |
//! | [`GetCacheStats`]| [`CacheStats`]                         |
//!
//! [`check_all`] rechecks a whole torrent using all workers in parallel.

mod cache;
mod dispatch;
mod error;
mod pool;
mod storage;

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix::{Actor, Arbiter, Context, Handler, Message};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use sha1::{Digest, Sha1};
use torrix_proto::bitfield::Bitfield;
use torrix_proto::layout::BLOCK_LEN;

pub use cache::CacheStats;
use cache::PieceCache;
pub use dispatch::DiskPool;
pub use error::DiskError;
use pool::BufferPool;
pub use storage::{Storage, WrittenBytes, DIRECT_ALIGN};

/// Default number of Disk worker threads.
pub const DEFAULT_THREADS: usize = 2;

/// Approximate bytes hashed per [`CheckPieces`] message sent by [`check_all`]:
/// enough to keep a worker busy, small enough for smooth progress reports.
const CHECK_CHUNK_BYTES: u64 = 32 << 20;

/// Bytes of free piece buffers kept for reuse by uploads (see [`BufferPool`]).
const BUFFER_POOL_BYTES: usize = 8 << 20;

/// One Disk worker. All workers of a pool share the read cache.
pub struct Disk {
    cache: Arc<Mutex<PieceCache>>,
    /// Recycled buffers for the pieces read for uploads.
    buffers: Arc<BufferPool>,
}

/// Messages a worker's mailbox holds before senders wait: deep enough that
/// the peers' bounded write backlogs and read-ahead never wait on it.
const MAILBOX: usize = 1024;

impl Actor for Disk {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}

impl Disk {
    /// Starts `threads` workers (at least one), each on an arbiter of its own,
    /// sharing a read cache of at most `read_cache_bytes` bytes (0 disables
    /// it), and returns their address. Must be called inside a running actix
    /// `System`; the workers stop with it.
    pub fn start(threads: usize, read_cache_bytes: usize) -> DiskPool {
        let cache = Arc::new(Mutex::new(PieceCache::new(read_cache_bytes)));
        let buffers = BufferPool::new(BUFFER_POOL_BYTES);
        let workers = (0..threads.max(1))
            .map(|_| {
                let (cache, buffers) = (Arc::clone(&cache), Arc::clone(&buffers));
                Disk::start_in_arbiter(&Arbiter::new().handle(), move |_| Disk { cache, buffers })
            })
            .collect();
        DiskPool::new(workers)
    }

    /// The cache, locked. A worker that panicked while holding the lock cannot
    /// have left the cache inconsistent in a harmful way (at worst a wrong byte
    /// count), so poisoning is ignored rather than propagated.
    fn cache(&self) -> MutexGuard<'_, PieceCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `piece` of `storage`, from the cache or read from disk and cached. The
    /// lock is not held during the read; two workers missing the same piece at
    /// once both read it, which is harmless.
    fn cached_piece(&self, storage: &Storage, piece: u32) -> Result<Bytes, DiskError> {
        let key = (storage.id(), piece);
        if let Some(data) = self.cache().get(key) {
            return Ok(data);
        }
        let mut buf = self
            .buffers
            .take(storage.layout().piece_len(piece) as usize);
        storage.read_into(piece, 0, &mut buf)?;
        let data = self.buffers.wrap(buf);
        self.cache().insert(key, data.clone());
        Ok(data)
    }
}

/// Outcome of a [`WritePiece`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceWrite {
    /// The data matched its hash and is written.
    Verified,
    /// The data did not match its hash; nothing was written.
    HashMismatch,
}

/// Verify a downloaded piece against its hash and, if it matches, write it.
///
/// The hash is computed over the blocks in place (no concatenation) before any
/// write, so bad data never reaches the disk, and `Verified` is only replied
/// once the data is written.
#[derive(Message)]
#[rtype(result = "Result<PieceWrite, DiskError>")]
pub struct WritePiece {
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// Piece index.
    pub piece: u32,
    /// The piece's SHA-1 from the metainfo.
    pub expected: [u8; 20],
    /// The piece's data in order; together exactly one piece long.
    pub blocks: Vec<Bytes>,
}

impl Handler<WritePiece> for Disk {
    type Result = Result<PieceWrite, DiskError>;

    fn handle(&mut self, msg: WritePiece, _: &mut Context<Self>) -> Self::Result {
        let WritePiece {
            storage,
            piece,
            expected,
            blocks,
        } = msg;
        let piece_len = u64::from(storage.layout().piece_len(piece));
        let got: u64 = blocks.iter().map(|b| b.len() as u64).sum();
        if piece_len == 0 {
            return Err(DiskError::BadPiece {
                piece,
                piece_count: storage.layout().piece_count(),
            });
        }
        if got != piece_len {
            return Err(DiskError::BadLength {
                piece,
                expected: piece_len,
                got,
            });
        }
        let mut hasher = Sha1::new();
        for block in &blocks {
            hasher.update(block);
        }
        if <[u8; 20]>::from(hasher.finalize()) != expected {
            return Ok(PieceWrite::HashMismatch);
        }
        storage.write_piece(piece, &blocks)?;
        // A cached copy (from before a recheck, say) is stale now.
        self.cache().remove((storage.id(), piece));
        Ok(PieceWrite::Verified)
    }
}

/// Read one block for a peer: at most [`BLOCK_LEN`] bytes inside one piece.
/// Served as a zero-copy slice of the whole piece, which is cached.
#[derive(Message)]
#[rtype(result = "Result<Bytes, DiskError>")]
pub struct ReadBlock {
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// Piece index.
    pub piece: u32,
    /// Offset within the piece.
    pub offset: u32,
    /// Length, 1..=BLOCK_LEN, not past the piece's end.
    pub len: u32,
}

impl Handler<ReadBlock> for Disk {
    type Result = Result<Bytes, DiskError>;

    fn handle(&mut self, msg: ReadBlock, _: &mut Context<Self>) -> Self::Result {
        let ReadBlock {
            storage,
            piece,
            offset,
            len,
        } = msg;
        let layout = storage.layout();
        if piece >= layout.piece_count() {
            return Err(DiskError::BadPiece {
                piece,
                piece_count: layout.piece_count(),
            });
        }
        if !layout.is_valid_request(piece, offset, len, BLOCK_LEN) {
            return Err(DiskError::BadRange { piece, offset, len });
        }
        let data = self.cached_piece(&storage, piece)?;
        let start = offset as usize;
        Ok(data.slice(start..start + len as usize))
    }
}

/// Read a whole piece (for a web seed upload, a BEP 9-like transfer, or a test),
/// through the piece cache.
#[derive(Message)]
#[rtype(result = "Result<Bytes, DiskError>")]
pub struct ReadPiece {
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// Piece index.
    pub piece: u32,
}

impl Handler<ReadPiece> for Disk {
    type Result = Result<Bytes, DiskError>;

    fn handle(&mut self, msg: ReadPiece, _: &mut Context<Self>) -> Self::Result {
        self.cached_piece(&msg.storage, msg.piece)
    }
}

/// Read several whole pieces through the piece cache: an uploader's read-ahead.
/// One message and one reply for a few pieces saves thread wake-ups on both
/// sides. Each piece gets its own result, in order.
#[derive(Message)]
#[rtype(result = "Vec<(u32, Result<Bytes, DiskError>)>")]
pub struct ReadPieces {
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// Piece indices.
    pub pieces: Vec<u32>,
}

impl Handler<ReadPieces> for Disk {
    type Result = actix::MessageResult<ReadPieces>;

    fn handle(&mut self, msg: ReadPieces, _: &mut Context<Self>) -> Self::Result {
        let storage = msg.storage;
        actix::MessageResult(
            msg.pieces
                .into_iter()
                .map(|piece| (piece, self.cached_piece(&storage, piece)))
                .collect(),
        )
    }
}

/// Hash the pieces in `pieces` as they are on disk and compare with their
/// expected hashes. A piece whose data is missing or short is `false`; only
/// real I/O errors fail the message. Replies `(piece, matches)` in order.
///
/// Split a large range over several messages so all workers hash in parallel;
/// [`check_all`] does this.
#[derive(Message)]
#[rtype(result = "Result<Vec<(u32, bool)>, DiskError>")]
pub struct CheckPieces {
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// The pieces to check.
    pub pieces: Range<u32>,
    /// Expected SHA-1 of every piece of the torrent, indexed by piece.
    pub expected: Arc<Vec<[u8; 20]>>,
}

impl Handler<CheckPieces> for Disk {
    type Result = Result<Vec<(u32, bool)>, DiskError>;

    fn handle(&mut self, msg: CheckPieces, _: &mut Context<Self>) -> Self::Result {
        let piece_count = msg.storage.layout().piece_count();
        msg.pieces
            .map(|piece| {
                let expected = msg
                    .expected
                    .get(piece as usize)
                    .filter(|_| piece < piece_count)
                    .ok_or(DiskError::BadPiece { piece, piece_count })?;
                let found = msg.storage.hash_piece(piece)?;
                Ok((piece, found.as_ref() == Some(expected)))
            })
            .collect()
    }
}

/// Flush every file of the storage written since the last flush to the device.
#[derive(Message)]
#[rtype(result = "Result<(), DiskError>")]
pub struct Flush {
    /// The torrent's files.
    pub storage: Arc<Storage>,
}

impl Handler<Flush> for Disk {
    type Result = Result<(), DiskError>;

    fn handle(&mut self, msg: Flush, _: &mut Context<Self>) -> Self::Result {
        msg.storage.sync_all()
    }
}

/// A torrent completed: create its zero-length files and directories (no
/// piece ever touches them) and flush everything written.
#[derive(Message)]
#[rtype(result = "Result<(), DiskError>")]
pub struct Finalize {
    /// The torrent's files.
    pub storage: Arc<Storage>,
}

impl Handler<Finalize> for Disk {
    type Result = Result<(), DiskError>;

    fn handle(&mut self, msg: Finalize, _: &mut Context<Self>) -> Self::Result {
        msg.storage.create_empty_files()?;
        msg.storage.sync_all()
    }
}

/// Drop every cached piece of one storage (torrent removed, or about to be
/// rechecked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forget {
    /// [`Storage::id`] of the torrent.
    pub storage_id: u64,
}

impl Handler<Forget> for Disk {
    type Result = ();

    fn handle(&mut self, msg: Forget, _: &mut Context<Self>) {
        self.cache().forget(msg.storage_id);
    }
}

/// Ask for the read cache's counters.
#[derive(Message)]
#[rtype(result = "CacheStats")]
pub struct GetCacheStats;

impl Handler<GetCacheStats> for Disk {
    type Result = actix::MessageResult<GetCacheStats>;

    fn handle(&mut self, _: GetCacheStats, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.cache().stats())
    }
}

/// Recheck every piece of `storage` against `expected`, returning the pieces
/// that are complete and correct.
///
/// The piece range is cut into [`CheckPieces`] messages of about 32 MiB each, and
/// up to `parallelism` of them are in flight at once (use the number of Disk
/// threads; more only queues work ahead of other torrents' reads). `progress`
/// is called with the number of pieces checked so far after each message.
///
/// A `Storage` keeps its files open, so a file deleted or replaced behind our
/// back would still be read through the old handle; for a forced recheck pass
/// a freshly built `Storage` (and send [`Forget`] for the old one).
pub async fn check_all(
    disk: &DiskPool,
    storage: Arc<Storage>,
    expected: Arc<Vec<[u8; 20]>>,
    parallelism: usize,
    mut progress: impl FnMut(u32),
) -> Result<Bitfield, DiskError> {
    let piece_count = storage.layout().piece_count();
    let per_message = (CHECK_CHUNK_BYTES / u64::from(storage.layout().piece_length())).max(1);
    let per_message = u32::try_from(per_message).unwrap_or(u32::MAX);
    let mut ranges = (0..piece_count)
        .step_by(per_message as usize)
        .map(|start| start..start.saturating_add(per_message).min(piece_count));
    let mut in_flight = FuturesUnordered::new();
    let mut have = Bitfield::new(piece_count);
    let mut checked = 0;
    loop {
        while in_flight.len() < parallelism.max(1) {
            let Some(pieces) = ranges.next() else { break };
            in_flight.push(disk.send(CheckPieces {
                storage: Arc::clone(&storage),
                pieces,
                expected: Arc::clone(&expected),
            }));
        }
        let Some(reply) = in_flight.next().await else {
            break;
        };
        let results = reply.map_err(|_| DiskError::Stopped)??;
        checked += results.len() as u32;
        for (piece, ok) in results {
            if ok {
                have.set(piece);
            }
        }
        progress(checked);
    }
    Ok(have)
}
