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
//! Files are opened lazily, read+write. The write path creates a missing file (and
//! its parent directories); the read path never creates anything and reports a
//! missing file as "data not present". Files are **not** preallocated: they are
//! sparse until written, so their size on disk tells how far they were written
//! and a short file is detected as such by [`Storage::hash_piece`]. Once every
//! piece is written each file has exactly its final length.
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
use nix::sys::uio::{pread, pwritev};
use sha1::{Digest, Sha1};
use torrix_proto::layout::Layout;
use torrix_proto::Metainfo;

use super::DiskError;

/// Most `IoSlice`s passed to one `pwritev` call (Linux's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// Bytes read per `pread` while hashing: large enough to amortise syscalls,
/// small enough that each worker thread keeps only this much buffer.
const HASH_CHUNK: usize = 1 << 20;

/// Source of [`Storage::id`]s; never reused within a process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per-thread read buffer for [`Storage::hash_piece`], reused across calls.
    static HASH_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
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
    /// Whether each file was written since the last [`Storage::sync_all`].
    dirty: Vec<AtomicBool>,
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
        let n = paths.len();
        Ok(Storage {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            layout,
            paths,
            files: (0..n).map(|_| OnceLock::new()).collect(),
            dirty: (0..n).map(|_| AtomicBool::new(false)).collect(),
        })
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
    /// exactly the piece), with one `pwritev` per file the piece touches. Block
    /// data is never copied; a block straddling two files is sliced. Creates
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
            let index = span.file_index;
            let file = self.open_for_write(index)?;
            pwritev_all(file, &self.paths[index], &segments, span.file_offset)?;
            start_writeback(file, span.file_offset, span.len);
            self.dirty[index].store(true, Ordering::Release);
        }
        Ok(())
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
        let start = self.layout.piece_offset(piece) + u64::from(offset);
        match self.fill(start, &mut buf)? {
            Fill::Complete => Ok(buf.freeze()),
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
            if self.layout.file_length(index) != 0 {
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

    /// The handle of file `index`, opening it (read+write) if needed; `None` if
    /// it does not exist. Never creates anything.
    fn open_for_read(&self, index: usize) -> Result<Option<&File>, DiskError> {
        if let Some(file) = self.files[index].get() {
            return Ok(Some(file));
        }
        let path = &self.paths[index];
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => Ok(Some(self.install(index, file))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DiskError::from_io(path, e)),
        }
    }

    /// The handle of file `index`, creating the file and its directories if needed.
    fn open_for_write(&self, index: usize) -> Result<&File, DiskError> {
        if let Some(file) = self.open_for_read(index)? {
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
        Ok(self.install(index, file))
    }

    /// Stores a freshly opened handle; if another worker won the race, ours is
    /// closed and theirs used.
    fn install(&self, index: usize, file: File) -> &File {
        self.files[index].get_or_init(|| file)
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
