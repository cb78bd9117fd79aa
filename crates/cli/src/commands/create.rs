//! `torrix create`: make a `.torrent` from a file or a directory tree.
//!
//! The steps are public because `torrix bench` creates its torrent with the
//! same code: [`payload_name`] and [`scan`] find the files, [`hash_pieces`]
//! hashes them on every core, [`build`] encodes the torrent.
//!
//! What goes into a directory torrent:
//! - every regular file below the directory, hidden ones and zero-length ones
//!   included, ordered by path components compared as bytes (the order
//!   `mktorrent` and libtorrent use), so the result does not depend on the
//!   order the file system lists entries in;
//! - symbolic links to regular files *inside* the tree, as the file they point
//!   to. A link that leads outside the tree, a broken link and a link to a
//!   directory are refused with an error naming the link: silently leaving out
//!   data the user asked for is worse than stopping, following a link out of
//!   the tree would publish files the user did not point at, and following
//!   directory links risks cycles and duplicate data;
//! - not FIFOs, sockets or device files: they have no fixed content. They are
//!   skipped and listed on stderr;
//! - not the `.torrent` being written, when it is inside the tree.
//!
//! The output is reproducible: no creation date unless `--date`, and
//! `created by` is `torrix <version>`.

use std::fs::{self, File};
use std::io::{self, IsTerminal};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use sha1::{Digest, Sha1};
use thiserror::Error;
use torrix_proto::create::suggested_piece_length;
use torrix_proto::{Metainfo, TorrentBuilder};

use crate::args::CreateArgs;
use crate::error::CliError;
use crate::units;

/// The `created by` value: the program and its version.
pub const CREATED_BY: &str = concat!("torrix ", env!("CARGO_PKG_VERSION"));

/// Why a torrent could not be created.
#[derive(Debug, Error)]
pub enum CreateError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The path has no usable final component (`/`, for instance).
    #[error("cannot name a torrent after {0}: give the path of a file or directory")]
    NoName(PathBuf),
    /// A file name is not UTF-8; torrent paths are text.
    #[error("{0}: the name is not valid UTF-8, which a torrent cannot store; rename it")]
    NotUtf8(PathBuf),
    /// A symbolic link points outside the directory being shared.
    #[error(
        "{link} is a symbolic link to {target}, outside {root}; \
         copy the file into the directory or remove the link"
    )]
    LinkLeavesTree {
        /// The link.
        link: PathBuf,
        /// Where it leads.
        target: PathBuf,
        /// The shared directory.
        root: PathBuf,
    },
    /// A symbolic link points to a directory.
    #[error("{0} is a symbolic link to a directory; such links are not followed")]
    LinkToDirectory(PathBuf),
    /// A symbolic link points nowhere.
    #[error("{0} is a broken symbolic link")]
    BrokenLink(PathBuf),
    /// The path is neither a regular file nor a directory.
    #[error("{0} is not a regular file or a directory")]
    NotAFile(PathBuf),
    /// No data to share.
    #[error("{0} holds no data (no files, or only empty ones): there is nothing to share")]
    Empty(PathBuf),
    /// A file's size changed between the scan and the hashing.
    #[error("{0} changed while it was being hashed; try again when it is no longer being written")]
    Changed(PathBuf),
    /// The torrent would be invalid.
    #[error("cannot build the torrent: {0}")]
    Build(#[from] torrix_proto::CreateError),
}

/// One file of the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadFile {
    /// Where it is on disk.
    pub fs_path: PathBuf,
    /// Its path below the torrent's directory (empty for a single-file torrent).
    pub components: Vec<String>,
    /// Its size in bytes.
    pub length: u64,
    /// Where it starts in the torrent's concatenated data.
    pub offset: u64,
}

/// The files a torrent will describe, in torrent order.
#[derive(Clone, Debug)]
pub struct Payload {
    /// The torrent's name: the file's or directory's own name.
    pub name: String,
    /// A single file rather than a directory.
    pub single_file: bool,
    /// The files, sorted by path components.
    pub files: Vec<PayloadFile>,
    /// Sum of the file sizes.
    pub total_length: u64,
    /// Special files that were left out.
    pub skipped: Vec<PathBuf>,
}

/// What goes into the torrent besides the files and hashes.
#[derive(Clone, Debug, Default)]
pub struct TorrentOptions {
    /// Announce URLs, one tier each.
    pub trackers: Vec<String>,
    /// The BEP 27 private flag.
    pub private: bool,
    /// A free-form comment.
    pub comment: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
}

/// Runs the command.
pub fn run(args: CreateArgs) -> Result<(), CliError> {
    let name = payload_name(&args.path)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.torrent")));
    let payload = scan(&args.path, Some(&output))?;
    for path in &payload.skipped {
        eprintln!(
            "torrix: skipped {}: not a regular file (FIFO, socket or device)",
            path.display()
        );
    }
    let piece_length = args
        .piece_size
        .unwrap_or_else(|| suggested_piece_length(payload.total_length));

    let bar = progress_bar(payload.total_length);
    let started = Instant::now();
    let pieces = hash_pieces(&payload, piece_length, &|n| bar.inc(n));
    bar.finish_and_clear();
    let pieces = pieces?;
    let elapsed = started.elapsed();

    let creation_date = args.date.then(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
    });
    let options = TorrentOptions {
        trackers: args.trackers,
        private: args.private,
        comment: args.comment,
        creation_date,
    };
    let torrent = build(&payload, piece_length, pieces, &options)?;
    let meta = Metainfo::from_bytes(&torrent)
        .map_err(torrix_proto::CreateError::from)
        .map_err(CreateError::from)?;
    write_atomically(&output, &torrent).map_err(|source| CliError::Write {
        path: output.clone(),
        source,
    })?;

    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{}: {} in {} file{}, {} pieces of {}",
        meta.name,
        units::bytes(meta.total_length),
        meta.files.len(),
        if meta.files.len() == 1 { "" } else { "s" },
        meta.pieces.len(),
        units::bytes(u64::from(meta.piece_length)),
    );
    println!(
        "hashed in {secs:.2} s ({:.2} GB/s)",
        meta.total_length as f64 / secs / 1e9
    );
    println!("info-hash: {}", meta.info_hash.to_hex());
    println!("written:   {}", output.display());
    Ok(())
}

/// A progress bar on stderr when it is a terminal, a hidden one otherwise.
fn progress_bar(total: u64) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "hashing [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The torrent name for `path`: its last component as given (so a link keeps
/// the name the user sees), or the real directory's name for `.` and `..`.
pub fn payload_name(path: &Path) -> Result<String, CreateError> {
    let read_err = |source| CreateError::Read {
        path: path.to_owned(),
        source,
    };
    let name = match path.file_name() {
        Some(name) => name.to_owned(),
        None => fs::canonicalize(path)
            .map_err(read_err)?
            .file_name()
            .ok_or_else(|| CreateError::NoName(path.to_owned()))?
            .to_owned(),
    };
    name.into_string()
        .map_err(|_| CreateError::NotUtf8(path.to_owned()))
}

/// Finds the files to share under `path` (see the module docs for what is
/// included), sorted into torrent order. `exclude` is left out if found in the
/// tree: the `.torrent` being written must not describe itself.
pub fn scan(path: &Path, exclude: Option<&Path>) -> Result<Payload, CreateError> {
    let name = payload_name(path)?;
    let read_err = |source| CreateError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(read_err)?;
    if meta.is_file() {
        if meta.len() == 0 {
            return Err(CreateError::Empty(path.to_owned()));
        }
        let file = PayloadFile {
            fs_path: path.to_owned(),
            components: Vec::new(),
            length: meta.len(),
            offset: 0,
        };
        return Ok(Payload {
            name,
            single_file: true,
            total_length: file.length,
            files: vec![file],
            skipped: Vec::new(),
        });
    }
    if !meta.is_dir() {
        return Err(CreateError::NotAFile(path.to_owned()));
    }

    let root = fs::canonicalize(path).map_err(read_err)?;
    let exclude = exclude.and_then(absolute_output);
    let mut walk = Walk {
        root: &root,
        exclude: exclude.as_deref(),
        files: Vec::new(),
        skipped: Vec::new(),
    };
    walk.dir(&root, &mut Vec::new())?;
    let Walk {
        mut files, skipped, ..
    } = walk;

    files.sort_unstable_by(|a, b| a.components.cmp(&b.components));
    let mut offset = 0u64;
    for file in &mut files {
        file.offset = offset;
        offset = offset.checked_add(file.length).ok_or_else(|| {
            CreateError::Build(torrix_proto::MetainfoError::TotalLengthOverflow.into())
        })?;
    }
    if offset == 0 {
        return Err(CreateError::Empty(path.to_owned()));
    }
    Ok(Payload {
        name,
        single_file: false,
        files,
        total_length: offset,
        skipped,
    })
}

/// Where `output` will be, as an absolute path through canonical directories,
/// to compare with the paths found by the walk. `None` when its directory does
/// not exist (then it cannot be in the tree).
fn absolute_output(output: &Path) -> Option<PathBuf> {
    let file_name = output.file_name()?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(dir).ok()?.join(file_name))
}

/// State of one directory walk.
struct Walk<'a> {
    root: &'a Path,
    exclude: Option<&'a Path>,
    files: Vec<PayloadFile>,
    skipped: Vec<PathBuf>,
}

impl Walk<'_> {
    /// Adds the files below `dir`, whose path below the root is `rel`.
    fn dir(&mut self, dir: &Path, rel: &mut Vec<String>) -> Result<(), CreateError> {
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |source| CreateError::Read { path, source }
        };
        for entry in fs::read_dir(dir).map_err(read_err(dir))? {
            let entry = entry.map_err(read_err(dir))?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| CreateError::NotUtf8(path.clone()))?;
            let kind = entry.file_type().map_err(read_err(&path))?;
            let length = if kind.is_dir() {
                rel.push(name);
                self.dir(&path, rel)?;
                rel.pop();
                continue;
            } else if kind.is_file() {
                if self.exclude == Some(path.as_path()) {
                    continue;
                }
                entry.metadata().map_err(read_err(&path))?.len()
            } else if kind.is_symlink() {
                match self.link_target(&path)? {
                    Some(length) => length,
                    None => continue,
                }
            } else {
                self.skipped.push(path);
                continue;
            };
            let mut components = rel.clone();
            components.push(name);
            self.files.push(PayloadFile {
                fs_path: path,
                components,
                length,
                offset: 0,
            });
        }
        Ok(())
    }

    /// The size of the regular file the link at `link` leads to, `None` for a
    /// special file (recorded as skipped), or why the link is refused.
    fn link_target(&mut self, link: &Path) -> Result<Option<u64>, CreateError> {
        let target = fs::canonicalize(link).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => CreateError::BrokenLink(link.to_owned()),
            _ => CreateError::Read {
                path: link.to_owned(),
                source,
            },
        })?;
        if !target.starts_with(self.root) {
            return Err(CreateError::LinkLeavesTree {
                link: link.to_owned(),
                target,
                root: self.root.to_owned(),
            });
        }
        let meta = fs::metadata(&target).map_err(|source| CreateError::Read {
            path: link.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            Err(CreateError::LinkToDirectory(link.to_owned()))
        } else if meta.is_file() {
            Ok(Some(meta.len()))
        } else {
            self.skipped.push(link.to_owned());
            Ok(None)
        }
    }
}

/// SHA-1 of every piece of the payload's concatenated data, on all cores.
///
/// The pieces are split into one contiguous range per thread, so each thread
/// reads sequentially (and the kernel's read-ahead works for it); a thread
/// reads each piece into its one reusable buffer with positioned reads that
/// cross file boundaries as needed. `progress` is called with the bytes of
/// each piece hashed, from any thread. The first error stops every thread.
pub fn hash_pieces(
    payload: &Payload,
    piece_length: u32,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    let piece_length = u64::from(piece_length);
    let count = payload.total_length.div_ceil(piece_length);
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = u64::try_from(cores).unwrap_or(1).clamp(1, count.max(1));
    let per_thread = count.div_ceil(threads);
    let stop = AtomicBool::new(false);

    let results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per_thread).min(count)..((t + 1) * per_thread).min(count);
                let stop = &stop;
                scope.spawn(move || {
                    let result = hash_range(payload, piece_length, range, stop, progress);
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });

    let mut pieces = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for result in results {
        pieces.extend(result?);
    }
    Ok(pieces)
}

/// Hashes the pieces in `range`, stopping early (with what it has) when
/// another thread failed.
fn hash_range(
    payload: &Payload,
    piece_length: u64,
    range: Range<u64>,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    let mut hashes = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
    if range.is_empty() {
        return Ok(hashes);
    }
    // A piece length is at most 256 MiB, which fits any usize we run on.
    let mut buf = vec![0u8; usize::try_from(piece_length).unwrap_or(usize::MAX)];
    let mut reader = SpanReader {
        files: &payload.files,
        open: None,
    };
    for piece in range {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let start = piece * piece_length;
        let len = piece_length.min(payload.total_length - start);
        let data = &mut buf[..usize::try_from(len).unwrap_or(usize::MAX)];
        reader.read(start, data)?;
        hashes.push(Sha1::digest(&*data).into());
        progress(len);
    }
    Ok(hashes)
}

/// Positioned reads of the concatenated files, keeping the last file open.
struct SpanReader<'a> {
    files: &'a [PayloadFile],
    open: Option<(usize, File)>,
}

impl SpanReader<'_> {
    /// Fills `buf` with the data at `offset` in the concatenation.
    fn read(&mut self, mut offset: u64, mut buf: &mut [u8]) -> Result<(), CreateError> {
        // The first file that ends after `offset` (zero-length files never do).
        let mut index = self
            .files
            .partition_point(|f| f.offset + f.length <= offset);
        while !buf.is_empty() {
            let Some(entry) = self.files.get(index) else {
                // The scan's total says there is more data: cannot happen
                // unless the list was edited, so report rather than panic.
                let last = self
                    .files
                    .last()
                    .map(|f| f.fs_path.clone())
                    .unwrap_or_default();
                return Err(CreateError::Changed(last));
            };
            let within = offset - entry.offset;
            let n = usize::try_from(entry.length - within)
                .map_or(buf.len(), |left| left.min(buf.len()));
            let (now, rest) = buf.split_at_mut(n);
            self.file(index)?
                .read_exact_at(now, within)
                .map_err(|source| match source.kind() {
                    io::ErrorKind::UnexpectedEof => CreateError::Changed(entry.fs_path.clone()),
                    _ => CreateError::Read {
                        path: entry.fs_path.clone(),
                        source,
                    },
                })?;
            buf = rest;
            offset += n as u64;
            index += 1;
        }
        Ok(())
    }

    /// The open file at `index`, opening it (and closing the previous one) if
    /// needed. A file whose size no longer matches the scan is an error.
    fn file(&mut self, index: usize) -> Result<&File, CreateError> {
        let file = match self.open.take() {
            Some((open, file)) if open == index => file,
            _ => {
                let entry = &self.files[index];
                let read_err = |source| CreateError::Read {
                    path: entry.fs_path.clone(),
                    source,
                };
                let file = File::open(&entry.fs_path).map_err(read_err)?;
                if file.metadata().map_err(read_err)?.len() != entry.length {
                    return Err(CreateError::Changed(entry.fs_path.clone()));
                }
                file
            }
        };
        Ok(&self.open.insert((index, file)).1)
    }
}

/// Encodes the torrent for `payload` with `pieces` hashed at `piece_length`.
pub fn build(
    payload: &Payload,
    piece_length: u32,
    pieces: Vec<[u8; 20]>,
    options: &TorrentOptions,
) -> Result<Vec<u8>, CreateError> {
    let builder = if payload.single_file {
        TorrentBuilder::single_file(&payload.name, payload.total_length, piece_length, pieces)
    } else {
        let files = payload
            .files
            .iter()
            .map(|f| (f.components.clone(), f.length));
        TorrentBuilder::multi_file(&payload.name, files, piece_length, pieces)
    };
    let mut builder = builder
        .announce_tiers(
            options
                .trackers
                .iter()
                .map(|url| vec![url.clone()])
                .collect(),
        )
        .created_by(CREATED_BY)
        .private(options.private);
    if let Some(comment) = &options.comment {
        builder = builder.comment(comment);
    }
    if let Some(date) = options.creation_date {
        builder = builder.creation_date(date);
    }
    Ok(builder.build()?)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over
/// `path`: a crash or a full disk never leaves a truncated `.torrent` behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, data: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    /// The piece hashes of `data` computed the obvious way.
    fn reference_hashes(data: &[u8], piece_length: usize) -> Vec<[u8; 20]> {
        data.chunks(piece_length)
            .map(|p| Sha1::digest(p).into())
            .collect()
    }

    #[test]
    fn hashes_across_file_boundaries_like_one_stream() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        // Sizes chosen so pieces straddle files, including empty ones.
        let parts: [(&str, usize); 5] = [
            ("a", 70_000),
            ("b/empty", 0),
            ("b/c", 1),
            ("b/d", 16_384 * 3 + 5),
            ("z", 40_000),
        ];
        let mut all = Vec::new();
        for (i, (rel, len)) in parts.iter().enumerate() {
            let data: Vec<u8> = (0..*len).map(|j| (j * 31 + i * 7) as u8).collect();
            write(&root.join(rel), &data);
            all.extend_from_slice(&data);
        }
        let payload = scan(&root, None).unwrap();
        let order: Vec<String> = payload
            .files
            .iter()
            .map(|f| f.components.join("/"))
            .collect();
        assert_eq!(order, ["a", "b/c", "b/d", "b/empty", "z"]);
        // Reorder the reference data to torrent order: a, b/c, b/d, b/empty, z.
        let mut expected_data = Vec::new();
        for rel in &order {
            expected_data.extend(fs::read(root.join(rel)).unwrap());
        }
        assert_eq!(expected_data.len(), all.len());
        for piece_length in [16_384u32, 32_768, 1 << 20] {
            let hashes = hash_pieces(&payload, piece_length, &|_| {}).unwrap();
            assert_eq!(
                hashes,
                reference_hashes(&expected_data, piece_length as usize)
            );
        }
    }

    #[test]
    fn sorts_by_components_not_by_joined_string() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        for rel in ["a b", "a/b", "a-c", "B", "a/a"] {
            write(&root.join(rel), b"x");
        }
        let payload = scan(&root, None).unwrap();
        let order: Vec<String> = payload
            .files
            .iter()
            .map(|f| f.components.join("/"))
            .collect();
        // "a" < "a b" < "a-c" component-wise; uppercase sorts first in bytes.
        assert_eq!(order, ["B", "a/a", "a/b", "a b", "a-c"]);
    }

    #[test]
    fn links_inside_are_followed_outside_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        write(&root.join("real"), b"12345");
        std::os::unix::fs::symlink("real", root.join("alias")).unwrap();
        let payload = scan(&root, None).unwrap();
        assert_eq!(payload.total_length, 10);

        write(&dir.path().join("secret"), b"s");
        std::os::unix::fs::symlink("../secret", root.join("out")).unwrap();
        assert!(matches!(
            scan(&root, None),
            Err(CreateError::LinkLeavesTree { .. })
        ));
        fs::remove_file(root.join("out")).unwrap();

        std::os::unix::fs::symlink("missing", root.join("broken")).unwrap();
        assert!(matches!(scan(&root, None), Err(CreateError::BrokenLink(_))));
        fs::remove_file(root.join("broken")).unwrap();

        std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
        assert!(matches!(
            scan(&root, None),
            Err(CreateError::LinkToDirectory(_))
        ));
    }

    #[test]
    fn skips_fifos_and_the_output_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        write(&root.join("data"), b"abc");
        write(&root.join("t.torrent"), b"old torrent");
        nix::unistd::mkfifo(&root.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let payload = scan(&root, Some(&root.join("t.torrent"))).unwrap();
        let names: Vec<String> = payload
            .files
            .iter()
            .map(|f| f.components.join("/"))
            .collect();
        assert_eq!(names, ["data"]);
        assert_eq!(payload.skipped, [root.canonicalize().unwrap().join("pipe")]);
    }

    #[test]
    fn empty_payloads_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir(&root).unwrap();
        assert!(matches!(scan(&root, None), Err(CreateError::Empty(_))));
        write(&root.join("zero"), b"");
        assert!(matches!(scan(&root, None), Err(CreateError::Empty(_))));
        assert!(matches!(
            scan(&root.join("zero"), None),
            Err(CreateError::Empty(_))
        ));
    }

    #[test]
    fn detects_a_file_that_shrank() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        write(&file, &[1u8; 50_000]);
        let payload = scan(&file, None).unwrap();
        fs::write(&file, [1u8; 10]).unwrap();
        assert!(matches!(
            hash_pieces(&payload, 16_384, &|_| {}),
            Err(CreateError::Changed(_))
        ));
    }
}
