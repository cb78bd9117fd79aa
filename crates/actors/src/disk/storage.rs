//! [`Storage`]: a torrent's files on disk, addressed by piece.
//!
//! One `Storage` exists per torrent and is shared as an `Arc<Storage>`: the
//! torrent actor puts that `Arc` into every [`Disk`](super::Disk) message, and
//! this is how all Disk worker threads share one set of open file handles per
//! torrent without a global file table. Every method takes `&self`; the handles
//! live in per-file [`OnceLock`]s, so after a file's first open no lock is taken
//! at all and positional I/O (`pwritev`/`pread`) lets several threads use one
//! descriptor at once.
//!
//! Files are opened lazily: read-only for reading, so a torrent can be seeded
//! from files we may not write (a read-only mount, someone else's files), and
//! read+write once something is written. The write path creates a missing file (and
//! its parent directories); the read path never creates anything and reports a
//! missing file as "data not present". Files are **not** preallocated: they are
//! sparse until written, so their size on disk tells how far they were written
//! and a short file is detected as such by [`Storage::hash_piece`]. Once every
//! piece is written each file has exactly its final length.
//!
//! Piece writes go through a second handle opened with `O_DIRECT` where the
//! file system allows it ([`Storage::with_direct_writes`]): a piece has already
//! been verified in memory when it is written, so nothing gains from keeping
//! it in the page cache, and copying into fresh page-cache pages is the most
//! expensive part of a buffered write (on virtual machines that hand freed
//! memory back to the host, several times the cost of the copy itself). The
//! blocks are gathered into a per-thread aligned buffer, which stays warm, and
//! written from there. Whatever is not aligned to [`DIRECT_ALIGN`] (the tail of
//! a file, pieces of odd lengths) and every file on a file system that refuses
//! `O_DIRECT` is written through the page cache as before. Reads always use the
//! ordinary handle.
//!
//! All paths are checked when the `Storage` is built: every path below the
//! download directory must consist of plain (`Component::Normal`) components
//! only, so no torrent can make us write outside that directory.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use nix::errno::Errno;
use nix::libc::off_t;
use nix::sys::uio::{pread, pwrite, pwritev};
use sha1::{Digest, Sha1};
use torrix_proto::layout::Layout;
use torrix_proto::Metainfo;

use super::DiskError;

/// Most `IoSlice`s passed to one `pwritev` call (Linux's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// Bytes read per `pread` while hashing: large enough to amortise syscalls,
/// small enough that each worker thread keeps only this much buffer.
const HASH_CHUNK: usize = 1 << 20;

/// Alignment of file offsets, lengths and memory for `O_DIRECT` writes. 4 KiB
/// satisfies every logical block size up to the page size; a file system that
/// needs more rejects the write with `EINVAL`, and that file falls back to
/// buffered writes.
pub const DIRECT_ALIGN: usize = 4096;

/// Bytes per `O_DIRECT` write, and the size of each thread's aligned buffer.
const DIRECT_CHUNK: usize = 1 << 20;

/// Source of [`Storage::id`]s; never reused within a process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per-thread read buffer for [`Storage::hash_piece`], reused across calls.
    static HASH_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Per-thread staging buffer for `O_DIRECT` writes; over-allocated by
    /// [`DIRECT_ALIGN`] so that an aligned window of [`DIRECT_CHUNK`] fits.
    static DIRECT_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A torrent's files, with lazily opened handles shared by all Disk workers.
#[derive(Debug)]
pub struct Storage {
    id: u64,
    layout: Layout,
    /// Full path of each file, in torrent order.
    paths: Vec<PathBuf>,
    /// The open handle of each file, set on first use.
    files: Vec<OnceLock<File>>,
    /// A read-only handle of each file, opened when it is read before it is
    /// ever written.
    readers: Vec<OnceLock<File>>,
    /// Whether each file was written since the last [`Storage::sync_all`].
    dirty: Vec<AtomicBool>,
    /// Whether piece writes may use `O_DIRECT` at all.
    direct_writes: bool,
    /// The `O_DIRECT` write handle of each file, set on first use; `None` once
    /// the file system refused it, so that file is written buffered.
    direct: Vec<OnceLock<Option<File>>>,
    /// Set for a file whose `O_DIRECT` writes failed with `EINVAL` (an
    /// alignment the file system does not accept): it is written buffered.
    direct_refused: Vec<AtomicBool>,
    /// Piece bytes written so far, by way of writing.
    written_direct: AtomicU64,
    written_buffered: AtomicU64,
}

/// Piece bytes a [`Storage`] has written, by how they were written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WrittenBytes {
    /// Written with `O_DIRECT`, bypassing the page cache.
    pub direct: u64,
    /// Written through the page cache (unaligned parts, or direct writes off
    /// or refused by the file system).
    pub buffered: u64,
}

/// Result of reading a byte range: either all there, or a file missing or short.
enum Fill {
    Complete,
    /// File index whose data is not on disk.
    Missing(usize),
}

impl Storage {
    /// A storage for `layout` whose file `i` lives at `root/relative_paths[i]`.
    ///
    /// Fails with [`DiskError::UnsafePath`] if a relative path is empty or has
    /// any component other than a plain name (`..`, `.`, `/`, a prefix), and with
    /// [`DiskError::FileCount`] if there is not one path per file. Touches no file.
    pub fn new(
        layout: Layout,
        root: PathBuf,
        relative_paths: Vec<PathBuf>,
    ) -> Result<Storage, DiskError> {
        if relative_paths.len() != layout.file_count() {
            return Err(DiskError::FileCount {
                files: layout.file_count(),
                paths: relative_paths.len(),
            });
        }
        let paths = relative_paths
            .into_iter()
            .map(|rel| {
                if is_plain_relative(&rel) {
                    Ok(root.join(rel))
                } else {
                    Err(DiskError::UnsafePath { path: rel })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_no_conflicts(&root, &paths)?;
        let n = paths.len();
        Ok(Storage {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            layout,
            paths,
            files: (0..n).map(|_| OnceLock::new()).collect(),
            readers: (0..n).map(|_| OnceLock::new()).collect(),
            dirty: (0..n).map(|_| AtomicBool::new(false)).collect(),
            direct_writes: false,
            direct: (0..n).map(|_| OnceLock::new()).collect(),
            direct_refused: (0..n).map(|_| AtomicBool::new(false)).collect(),
            written_direct: AtomicU64::new(0),
            written_buffered: AtomicU64::new(0),
        })
    }

    /// Whether piece writes bypass the page cache with `O_DIRECT` where the
    /// file system and the alignment allow it (see the module docs). Off by
    /// default for a bare `Storage`; the engine turns it on unless
    /// [`EngineConfig::direct_writes`](crate::EngineConfig::direct_writes) says
    /// otherwise. The data written is the same either way.
    pub fn with_direct_writes(mut self, enabled: bool) -> Storage {
        self.direct_writes = enabled;
        self
    }

    /// The storage of a parsed torrent under `download_dir`: a single-file
    /// torrent is `download_dir/<name>`, a multi-file one
    /// `download_dir/<name>/<path components>`.
    ///
    /// The name and every path component must be one plain file name; the
    /// parser already guarantees this, and it is checked again here.
    pub fn from_metainfo(meta: &Metainfo, download_dir: &Path) -> Result<Storage, DiskError> {
        let layout = Layout::from_metainfo(meta);
        let name = join_components(std::slice::from_ref(&meta.name))?;
        let (root, relative) = if meta.single_file {
            (download_dir.to_path_buf(), vec![name])
        } else {
            let relative = meta
                .files
                .iter()
                .map(|f| join_components(&f.path))
                .collect::<Result<Vec<_>, _>>()?;
            (download_dir.join(name), relative)
        };
        Storage::new(layout, root, relative)
    }

    /// Piece bytes written so far, direct and buffered.
    pub fn written_bytes(&self) -> WrittenBytes {
        WrittenBytes {
            direct: self.written_direct.load(Ordering::Relaxed),
            buffered: self.written_buffered.load(Ordering::Relaxed),
        }
    }

    /// A process-unique id, used to key this torrent's pieces in the read cache.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The piece/file layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Full path of file `index` (panics if out of range, like slice indexing).
    pub fn path(&self, index: usize) -> &Path {
        &self.paths[index]
    }

    /// Full paths of all files, in torrent order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The length of `piece`, or [`DiskError::BadPiece`].
    fn piece_len(&self, piece: u32) -> Result<usize, DiskError> {
        match self.layout.piece_len(piece) {
            0 => Err(DiskError::BadPiece {
                piece,
                piece_count: self.layout.piece_count(),
            }),
            len => Ok(len as usize),
        }
    }

    /// Writes `piece`, given as its blocks in order (their concatenation must be
    /// exactly the piece), file by file: whole pages with `O_DIRECT` from the
    /// thread's staging buffer when direct writes are on, the rest with
    /// `pwritev` straight from the blocks (a block straddling two files is
    /// sliced, not copied). Creates
    /// missing files and directories. Does not verify the hash: see
    /// [`WritePiece`](super::WritePiece).
    pub fn write_piece(&self, piece: u32, blocks: &[Bytes]) -> Result<(), DiskError> {
        let piece_len = self.piece_len(piece)?;
        let got: usize = blocks.iter().map(Bytes::len).sum();
        if got != piece_len {
            return Err(DiskError::BadLength {
                piece,
                expected: piece_len as u64,
                got: got as u64,
            });
        }
        let mut remaining = blocks.iter().map(|b| &b[..]).filter(|b| !b.is_empty());
        let mut current: &[u8] = &[];
        let mut segments: Vec<&[u8]> = Vec::with_capacity(blocks.len() + 1);
        for span in self.layout.piece_spans(piece) {
            segments.clear();
            let mut need = span.len as usize;
            while need > 0 {
                if current.is_empty() {
                    // Lengths were checked above, so blocks cannot run out.
                    current = remaining.next().ok_or(DiskError::BadLength {
                        piece,
                        expected: piece_len as u64,
                        got: got as u64,
                    })?;
                }
                let take = need.min(current.len());
                let (head, tail) = current.split_at(take);
                segments.push(head);
                current = tail;
                need -= take;
            }
            self.write_span(span.file_index, span.file_offset, &segments)?;
        }
        Ok(())
    }

    /// Writes `segments` (one piece's bytes for one file) at `offset` of file
    /// `index`: the whole 4 KiB pages with `O_DIRECT` when allowed, the partial
    /// pages at either end (and everything, otherwise) through the page cache.
    /// A partial page is thus only ever written buffered, by both pieces that
    /// share it.
    fn write_span(&self, index: usize, offset: u64, segments: &[&[u8]]) -> Result<(), DiskError> {
        let file = self.open_for_write(index)?;
        let mut data = Segments::new(segments);
        let end = offset + data.len() as u64;
        let mut at = offset;
        let first_page = align_up(at).min(end);
        let last_page = align_down(end).max(first_page);
        if last_page > first_page {
            if let Some(direct) = self.direct_handle(index)? {
                if first_page > at {
                    self.write_buffered(index, file, &data.take(first_page - at), at)?;
                    at = first_page;
                }
                at += self.write_direct(index, direct, &mut data, at, last_page - at)?;
            }
        }
        if at == offset {
            self.write_buffered(index, file, segments, at)?;
        } else if at < end {
            self.write_buffered(index, file, &data.take(end - at), at)?;
        }
        self.dirty[index].store(true, Ordering::Release);
        Ok(())
    }

    /// Writes `segments` at `offset` through the page cache, and asks for
    /// their writeback to start.
    fn write_buffered(
        &self,
        index: usize,
        file: &File,
        segments: &[&[u8]],
        offset: u64,
    ) -> Result<(), DiskError> {
        let len: u64 = segments.iter().map(|s| s.len() as u64).sum();
        pwritev_all(file, &self.paths[index], segments, offset)?;
        start_writeback(file, offset, len);
        self.written_buffered.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// The `O_DIRECT` handle of file `index`, if direct writes are on and the
    /// file system accepts them.
    fn direct_handle(&self, index: usize) -> Result<Option<&File>, DiskError> {
        if !self.direct_writes || self.direct_refused[index].load(Ordering::Relaxed) {
            return Ok(None);
        }
        if let Some(handle) = self.direct[index].get() {
            return Ok(handle.as_ref());
        }
        use std::os::unix::fs::OpenOptionsExt;
        // The buffered handle was opened (and the file created) just before.
        let path = &self.paths[index];
        let opened = OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_DIRECT)
            .open(path);
        let handle = match opened {
            Ok(file) => Some(file),
            // EINVAL: this file system does not do O_DIRECT.
            Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => None,
            Err(e) => return Err(DiskError::from_io(path, e)),
        };
        Ok(self.direct[index].get_or_init(|| handle).as_ref())
    }

    /// Writes up to `len` bytes (a multiple of [`DIRECT_ALIGN`]) from `data` at
    /// `offset` through the `O_DIRECT` handle, staging them in this thread's
    /// aligned buffer. Returns how many bytes were written; fewer than `len`
    /// only if the file system rejected the alignment (`EINVAL`), in which case
    /// direct writes are turned off for this file and the rest goes buffered.
    fn write_direct(
        &self,
        index: usize,
        direct: &File,
        data: &mut Segments<'_>,
        offset: u64,
        len: u64,
    ) -> Result<u64, DiskError> {
        let path = &self.paths[index];
        DIRECT_BUF.with_borrow_mut(|buf| {
            if buf.len() < DIRECT_CHUNK + DIRECT_ALIGN {
                buf.resize(DIRECT_CHUNK + DIRECT_ALIGN, 0);
            }
            let start = buf.as_ptr().align_offset(DIRECT_ALIGN);
            let staging = &mut buf[start..start + DIRECT_CHUNK];
            let mut done = 0u64;
            while done < len {
                let n = (len - done).min(DIRECT_CHUNK as u64) as usize;
                let chunk = &mut staging[..n];
                data.copy_to(chunk);
                match pwrite_all(direct, path, chunk, offset + done) {
                    Ok(()) => {
                        done += n as u64;
                        self.written_direct.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Err(Errno::EINVAL) => {
                        // Alignment refused: write this chunk (already taken
                        // from `data`) buffered, and stop using O_DIRECT here.
                        self.direct_refused[index].store(true, Ordering::Relaxed);
                        let file = self.open_for_write(index)?;
                        self.write_buffered(index, file, &[chunk], offset + done)?;
                        return Ok(done + n as u64);
                    }
                    Err(e) => return Err(DiskError::from_errno(path, e)),
                }
            }
            Ok(done)
        })
    }

    /// Reads `len` bytes at `offset` within `piece`. The range must lie inside
    /// the piece and be non-empty ([`DiskError::BadRange`]); data not on disk is
    /// [`DiskError::Missing`].
    pub fn read(&self, piece: u32, offset: u32, len: u32) -> Result<Bytes, DiskError> {
        let piece_len = self.piece_len(piece)?;
        if len == 0 || offset as usize + len as usize > piece_len {
            return Err(DiskError::BadRange { piece, offset, len });
        }
        let mut buf = BytesMut::zeroed(len as usize);
        self.read_into(piece, offset, &mut buf)?;
        Ok(buf.freeze())
    }

    /// Fills `buf` with the bytes at `offset` within `piece`; like
    /// [`Storage::read`] with the caller's buffer, which it may recycle.
    pub fn read_into(&self, piece: u32, offset: u32, buf: &mut [u8]) -> Result<(), DiskError> {
        let piece_len = self.piece_len(piece)?;
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        if len == 0 || offset as usize + buf.len() > piece_len {
            return Err(DiskError::BadRange { piece, offset, len });
        }
        let start = self.layout.piece_offset(piece) + u64::from(offset);
        match self.fill(start, buf)? {
            Fill::Complete => Ok(()),
            Fill::Missing(index) => Err(DiskError::Missing {
                path: self.paths[index].clone(),
            }),
        }
    }

    /// Reads the whole of `piece`; see [`Storage::read`].
    pub fn read_piece(&self, piece: u32) -> Result<Bytes, DiskError> {
        let len = self.piece_len(piece)?;
        // A piece length is a u32, so this cannot truncate.
        self.read(piece, 0, len as u32)
    }

    /// SHA-1 of `piece` as it is on disk, or `Ok(None)` if a file holding part
    /// of it is missing or too short. Reads in 1 MiB chunks into a buffer reused
    /// by the calling thread.
    pub fn hash_piece(&self, piece: u32) -> Result<Option<[u8; 20]>, DiskError> {
        let piece_len = self.piece_len(piece)?;
        let start = self.layout.piece_offset(piece);
        HASH_BUF.with_borrow_mut(|buf| {
            let chunk = piece_len.min(HASH_CHUNK);
            if buf.len() < chunk {
                buf.resize(chunk, 0);
            }
            let mut hasher = Sha1::new();
            let mut done = 0;
            while done < piece_len {
                let n = chunk.min(piece_len - done);
                let part = &mut buf[..n];
                match self.fill(start + done as u64, part)? {
                    Fill::Complete => hasher.update(&*part),
                    Fill::Missing(_) => return Ok(None),
                }
                done += n;
            }
            Ok(Some(hasher.finalize().into()))
        })
    }

    /// Creates every zero-length file (and its directories), which no piece
    /// write ever touches, so that a finished torrent's tree is complete.
    /// Existing files are left as they are.
    pub fn create_empty_files(&self) -> Result<(), DiskError> {
        for (index, path) in self.paths.iter().enumerate() {
            // A file already there is left alone without opening it for
            // writing (it may be on a read-only mount we only seed from).
            if self.layout.file_length(index) != 0 || path.is_file() {
                continue;
            }
            create_parent(path)?;
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| DiskError::from_io(path, e))?;
        }
        Ok(())
    }

    /// Flushes to the device (`fdatasync`) every file written since the last
    /// call. Used when the torrent completes and at shutdown.
    pub fn sync_all(&self) -> Result<(), DiskError> {
        for (index, file) in self.files.iter().enumerate() {
            let Some(file) = file.get() else { continue };
            if !self.dirty[index].swap(false, Ordering::AcqRel) {
                continue;
            }
            if let Err(e) = file.sync_data() {
                self.dirty[index].store(true, Ordering::Release);
                return Err(DiskError::from_io(&self.paths[index], e));
            }
        }
        Ok(())
    }

    /// Length and modification time of each file as it is on disk, `None` for a
    /// file that does not exist (or is not a regular file). For validating
    /// resume data.
    pub fn file_metadata(&self) -> Vec<Option<(u64, SystemTime)>> {
        self.paths
            .iter()
            .map(|path| {
                let meta = fs::metadata(path).ok().filter(|m| m.is_file())?;
                Some((meta.len(), meta.modified().ok()?))
            })
            .collect()
    }

    /// A handle to read file `index`: the read+write one if the file was
    /// written, else a read-only one, opened if needed; `None` if the file does
    /// not exist. Never creates anything.
    fn open_for_read(&self, index: usize) -> Result<Option<&File>, DiskError> {
        if let Some(file) = self.files[index].get() {
            return Ok(Some(file));
        }
        if let Some(file) = self.readers[index].get() {
            return Ok(Some(file));
        }
        let path = &self.paths[index];
        match File::open(path) {
            // If another worker won the race, ours is closed and theirs used.
            Ok(file) => Ok(Some(self.readers[index].get_or_init(|| file))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DiskError::from_io(path, e)),
        }
    }

    /// The read+write handle of file `index`, creating the file and its
    /// directories if needed.
    fn open_for_write(&self, index: usize) -> Result<&File, DiskError> {
        if let Some(file) = self.files[index].get() {
            return Ok(file);
        }
        let path = &self.paths[index];
        create_parent(path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| DiskError::from_io(path, e))?;
        Ok(self.files[index].get_or_init(|| file))
    }

    /// Fills `buf` with torrent bytes starting at torrent offset `start`.
    fn fill(&self, start: u64, buf: &mut [u8]) -> Result<Fill, DiskError> {
        let mut rest = buf;
        for span in self.layout.spans(start, rest.len() as u64) {
            let index = span.file_index;
            let Some(file) = self.open_for_read(index)? else {
                return Ok(Fill::Missing(index));
            };
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(span.len as usize);
            rest = tail;
            if !pread_exact(file, &self.paths[index], part, span.file_offset)? {
                return Ok(Fill::Missing(index));
            }
        }
        Ok(Fill::Complete)
    }
}

/// Fails if two files share a path, or a file sits where another file needs a
/// directory (`a` and `a/b`). Paths are compared as given: on a
/// case-insensitive file system `A` and `a` still collide, and the write then
/// fails or the hash check catches it.
fn check_no_conflicts(root: &Path, paths: &[PathBuf]) -> Result<(), DiskError> {
    let mut files = std::collections::HashSet::with_capacity(paths.len());
    for path in paths {
        if !files.insert(path.as_path()) {
            return Err(DiskError::ConflictingPaths {
                path: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
            });
        }
    }
    for path in paths {
        let taken = path
            .ancestors()
            .skip(1)
            .take_while(|dir| *dir != root)
            .find(|dir| files.contains(dir));
        if let Some(dir) = taken {
            return Err(DiskError::ConflictingPaths {
                path: dir.strip_prefix(root).unwrap_or(dir).to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether `path` is non-empty and made of plain names only.
fn is_plain_relative(path: &Path) -> bool {
    let mut components = path.components().peekable();
    components.peek().is_some() && components.all(|c| matches!(c, Component::Normal(_)))
}

/// Joins torrent path components, each of which must be exactly one plain name.
fn join_components(components: &[String]) -> Result<PathBuf, DiskError> {
    let mut path = PathBuf::new();
    for c in components {
        let mut parts = Path::new(c).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(name)), None) if name == OsStr::new(c) => path.push(name),
            _ => return Err(DiskError::UnsafePath { path: c.into() }),
        }
    }
    if path.as_os_str().is_empty() {
        return Err(DiskError::UnsafePath { path });
    }
    Ok(path)
}

/// Creates `path`'s parent directories.
fn create_parent(path: &Path) -> Result<(), DiskError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            fs::create_dir_all(parent).map_err(|e| DiskError::from_io(parent, e))
        }
        _ => Ok(()),
    }
}

/// A file offset as `off_t`, or EFBIG.
fn to_off(path: &Path, offset: u64) -> Result<off_t, DiskError> {
    off_t::try_from(offset).map_err(|_| DiskError::from_errno(path, Errno::EFBIG))
}

/// Writes all of `segments` at `offset`, looping on short writes and EINTR.
/// Asks the kernel to start writing a just-written range back to the device,
/// without waiting (`sync_file_range(SYNC_FILE_RANGE_WRITE)`). The data then
/// trickles out during the download instead of piling up for the `fdatasync`
/// that every resume save and the completion do, which would otherwise stall
/// for the whole backlog. Advisory: errors are ignored (the later fdatasync
/// reports real ones).
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain system call on a descriptor this `File` owns and keeps
    // open for the duration of the call; no memory is passed to the kernel.
    unsafe {
        nix::libc::sync_file_range(
            file.as_raw_fd(),
            offset,
            len,
            nix::libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// `offset` rounded up to a multiple of [`DIRECT_ALIGN`].
fn align_up(offset: u64) -> u64 {
    offset.next_multiple_of(DIRECT_ALIGN as u64)
}

/// `offset` rounded down to a multiple of [`DIRECT_ALIGN`].
fn align_down(offset: u64) -> u64 {
    offset - offset % DIRECT_ALIGN as u64
}

/// Writes all of `buf` at `offset`, looping on short writes and EINTR.
fn pwrite_all(file: &File, path: &Path, mut buf: &[u8], mut offset: u64) -> Result<(), Errno> {
    while !buf.is_empty() {
        let at = to_off(path, offset).map_err(|_| Errno::EFBIG)?;
        match pwrite(file, buf, at) {
            Ok(0) => return Err(Errno::ENOSPC),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A read cursor over a piece's block slices, consumed front to back.
struct Segments<'a> {
    rest: &'a [&'a [u8]],
    /// Bytes of `rest[0]` already consumed.
    skip: usize,
}

impl<'a> Segments<'a> {
    fn new(segments: &'a [&'a [u8]]) -> Self {
        Segments {
            rest: segments,
            skip: 0,
        }
    }

    /// Bytes not yet consumed.
    fn len(&self) -> usize {
        self.rest.iter().map(|s| s.len()).sum::<usize>() - self.skip
    }

    /// The next `n` bytes (at most what is left), as slices, consumed.
    fn take(&mut self, n: u64) -> Vec<&'a [u8]> {
        let mut want = usize::try_from(n).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        while want > 0 {
            let Some(first) = self.rest.first() else {
                break;
            };
            let src = &first[self.skip..];
            let k = src.len().min(want);
            out.push(&src[..k]);
            want -= k;
            self.skip += k;
            if self.skip == first.len() {
                self.rest = &self.rest[1..];
                self.skip = 0;
            }
        }
        out
    }

    /// Fills `dst` from the front of the remaining bytes, which must hold at
    /// least `dst.len()` bytes (the caller sizes `dst` from the span length).
    fn copy_to(&mut self, mut dst: &mut [u8]) {
        while !dst.is_empty() {
            let Some(first) = self.rest.first() else {
                return;
            };
            let src = &first[self.skip..];
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            dst = &mut dst[n..];
            self.skip += n;
            if self.skip == first.len() {
                self.rest = &self.rest[1..];
                self.skip = 0;
            }
        }
    }
}

fn pwritev_all(
    file: &File,
    path: &Path,
    segments: &[&[u8]],
    mut offset: u64,
) -> Result<(), DiskError> {
    let mut first = 0; // first segment not fully written
    let mut skip = 0; // bytes of it already written
    let mut iov: Vec<IoSlice<'_>> = Vec::with_capacity(segments.len().min(IOV_MAX));
    while first < segments.len() {
        iov.clear();
        iov.extend(
            segments[first..]
                .iter()
                .take(IOV_MAX)
                .enumerate()
                .map(|(i, s)| IoSlice::new(if i == 0 { &s[skip..] } else { s })),
        );
        let mut n = match pwritev(file, &iov, to_off(path, offset)?) {
            Ok(0) => {
                return Err(DiskError::Io {
                    path: path.to_path_buf(),
                    source: io::ErrorKind::WriteZero.into(),
                })
            }
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(DiskError::from_errno(path, e)),
        };
        offset += n as u64;
        while n > 0 {
            let Some(segment) = segments.get(first) else {
                break;
            };
            let left = segment.len() - skip;
            if n >= left {
                n -= left;
                first += 1;
                skip = 0;
            } else {
                skip += n;
                n = 0;
            }
        }
    }
    Ok(())
}

/// Fills `buf` from `offset`; `Ok(false)` if the file ends first.
fn pread_exact(
    file: &File,
    path: &Path,
    mut buf: &mut [u8],
    mut offset: u64,
) -> Result<bool, DiskError> {
    while !buf.is_empty() {
        match pread(file, buf, to_off(path, offset)?) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(DiskError::from_errno(path, e)),
        }
    }
    Ok(true)
}
