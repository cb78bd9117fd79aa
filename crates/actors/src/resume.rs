//! Resume data: which pieces a torrent had verified, so that a restart (after
//! a clean stop *or* a crash) need not hash everything again.
//!
//! # What is stored
//!
//! The torrent's info-hash, the set of verified pieces, and for every file its
//! length and modification time (seconds and nanoseconds) as they were when
//! the data was saved. Nothing else: rates, peers and totals are cheap to
//! rebuild and not worth a compatibility promise.
//!
//! # Format (version 1)
//!
//! One bencoded dictionary (keys sorted, as bencode requires):
//!
//! | key           | value                                                    |
//! |---------------|----------------------------------------------------------|
//! | `files`       | list, one dictionary per file in torrent order: `length` |
//! |               | (bytes), `mtime` (seconds since the Unix epoch, may be   |
//! |               | negative) and `mtime-ns` (0..1e9); an empty dictionary   |
//! |               | for a file that did not exist                            |
//! | `format`      | the string `torrix-resume`                               |
//! | `info-hash`   | the torrent's 20-byte SHA-1 info-hash                    |
//! | `piece-count` | number of pieces                                         |
//! | `pieces`      | verified pieces as a BEP 3 bitfield (bit 7 of byte 0 is  |
//! |               | piece 0); spare bits must be zero                        |
//! | `version`     | `1`; a reader refuses any other version                  |
//!
//! Anything that fails to parse or does not match the torrent (wrong hash,
//! piece or file count, spare bits set) is refused with a [`ResumeError`]; the
//! torrent then ignores the file and checks its data in full. Corrupt resume
//! data is never trusted and never a reason to panic.
//!
//! # Location
//!
//! [`resume_path`]: `<resume_dir>/<info-hash-hex>.resume`, where `resume_dir`
//! is [`EngineConfig::resume_dir`](crate::EngineConfig::resume_dir) or, when
//! that is `None` (the default), `<download_dir>/.torrix`. Keeping it next to
//! the download means the data and the record of it move, and are deleted,
//! together, and a download directory on another machine carries its state.
//!
//! # Saving
//!
//! [`ResumeData::save`] is atomic: it writes `<file>.tmp` in the same
//! directory, `fsync`s it, renames it over the target and `fsync`s the
//! directory, so a crash leaves either the old or the new file, never a torn
//! one. The Torrent actor saves every
//! [`EngineConfig::resume_save_interval`](crate::EngineConfig::resume_save_interval)
//! while pieces are being verified, when the download completes, when it
//! stops on an error and at a graceful stop.
//!
//! # Ordering: resume data never claims data that is not on disk
//!
//! A piece enters the torrent's verified set only once the Disk has written it
//! (its `WritePiece` reply comes after the write). A save then (1) snapshots
//! the verified set, (2) `fdatasync`s every file written since the last flush,
//! (3) reads the files' lengths and mtimes, and (4) writes the resume file.
//! Every piece in the snapshot is therefore durable before the file naming it
//! exists. A write that lands after (3) leaves a saved mtime that no longer
//! matches, which only costs a re-check of that file's pieces on the next
//! start; the unsafe direction (a claim without the data) cannot arise.
//!
//! # Trust rules on start
//!
//! [`plan_check`] decides, per piece, from the saved and the current state of
//! the files the piece touches:
//!
//! * any of them missing, or too short to hold the piece: the piece is
//!   missing, nothing to hash;
//! * saved as verified, and every one of them has exactly the saved length and
//!   mtime: trusted without hashing;
//! * otherwise (not in the resume data, a file changed, was truncated,
//!   replaced, or there is no usable resume data): hashed. This also recovers
//!   pieces verified after the last save of a process that was killed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use thiserror::Error;
use torrix_proto::{Bitfield, BitfieldError, InfoHash, Layout};

/// The format version this build writes and the only one it reads.
pub const FORMAT_VERSION: i64 = 1;

/// Value of the `format` key, so a resume file is recognisable as such.
const FORMAT_TAG: &str = "torrix-resume";

/// Name of the directory that holds resume files when
/// [`EngineConfig::resume_dir`](crate::EngineConfig::resume_dir) is `None`.
pub const DEFAULT_DIR_NAME: &str = ".torrix";

/// Why resume data could not be read, used or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// The file exists but could not be read.
    #[error("cannot read resume data {path}: {source}")]
    Read {
        /// The resume file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Writing, syncing or renaming the file failed (a full disk, a read-only
    /// directory…). The previous resume file, if any, is left as it was.
    #[error("cannot write resume data {path}: {source}")]
    Write {
        /// The resume file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Not bencode, or not the dictionary this module writes.
    #[error("resume data is malformed: {reason}")]
    Malformed {
        /// What the decoder said.
        reason: String,
    },
    /// Written by a newer (or older, incompatible) torrix.
    #[error("resume data has format version {found}; this build reads version {FORMAT_VERSION}")]
    Version {
        /// The version in the file.
        found: i64,
    },
    /// The file belongs to another torrent.
    #[error("resume data is for torrent {found}, not {expected}")]
    WrongTorrent {
        /// This torrent's info-hash.
        expected: InfoHash,
        /// The info-hash in the file.
        found: InfoHash,
    },
    /// The piece or file count does not match the torrent.
    #[error("resume data has {found} {what}, the torrent has {expected}")]
    Shape {
        /// `"pieces"` or `"files"`.
        what: &'static str,
        /// The torrent's count.
        expected: u64,
        /// The count in the file.
        found: u64,
    },
    /// The verified-pieces bitfield is the wrong length or has spare bits set.
    #[error("resume data has an invalid piece bitfield: {0}")]
    Bitfield(#[from] BitfieldError),
}

/// A file's length and modification time, as compared between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileStamp {
    /// Length in bytes.
    pub length: u64,
    /// Whole seconds of the mtime relative to the Unix epoch (floor, so times
    /// before 1970 are negative).
    pub mtime_secs: i64,
    /// Nanoseconds past `mtime_secs`, below 1 000 000 000.
    pub mtime_nanos: u32,
}

impl FileStamp {
    /// The stamp of a file of `length` bytes modified at `mtime`; `None` only
    /// for an mtime more than 292 billion years from 1970.
    pub fn new(length: u64, mtime: SystemTime) -> Option<FileStamp> {
        let (mtime_secs, mtime_nanos) = match mtime.duration_since(UNIX_EPOCH) {
            Ok(after) => (i64::try_from(after.as_secs()).ok()?, after.subsec_nanos()),
            Err(before) => {
                let before = before.duration();
                let secs = i64::try_from(before.as_secs()).ok()?;
                match before.subsec_nanos() {
                    0 => (secs.checked_neg()?, 0),
                    n => (secs.checked_neg()?.checked_sub(1)?, 1_000_000_000 - n),
                }
            }
        };
        Some(FileStamp {
            length,
            mtime_secs,
            mtime_nanos,
        })
    }

    /// Stamps from [`Storage::file_metadata`](crate::disk::Storage::file_metadata)'s
    /// answer: `None` for a missing file (or an unrepresentable mtime).
    pub fn from_metadata(files: &[Option<(u64, SystemTime)>]) -> Vec<Option<FileStamp>> {
        files
            .iter()
            .map(|f| f.and_then(|(length, mtime)| FileStamp::new(length, mtime)))
            .collect()
    }
}

/// What a torrent had verified, and the state of its files at that moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeData {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Pieces verified and flushed to disk.
    pub have: Bitfield,
    /// Each file's stamp when saved, in torrent order; `None` if it did not
    /// exist.
    pub files: Vec<Option<FileStamp>>,
}

/// The bencoded form; see the module documentation.
#[derive(Serialize, Deserialize)]
struct Encoded {
    files: Vec<EncodedFile>,
    format: String,
    #[serde(rename = "info-hash")]
    info_hash: ByteBuf,
    #[serde(rename = "piece-count")]
    piece_count: u32,
    pieces: ByteBuf,
    version: i64,
}

/// One entry of `files`: all three keys, or none for a missing file.
#[derive(Serialize, Deserialize, Default)]
struct EncodedFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mtime: Option<i64>,
    #[serde(rename = "mtime-ns", default, skip_serializing_if = "Option::is_none")]
    mtime_ns: Option<u32>,
}

/// The only version of the outer dictionary's `version` key we look at before
/// decoding the rest, so an incompatible future layout is reported as such.
#[derive(Deserialize)]
struct VersionOnly {
    version: i64,
}

impl ResumeData {
    /// Encodes the data (see the module documentation for the format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let encoded = Encoded {
            files: self
                .files
                .iter()
                .map(|f| match f {
                    Some(s) => EncodedFile {
                        length: Some(s.length),
                        mtime: Some(s.mtime_secs),
                        mtime_ns: Some(s.mtime_nanos),
                    },
                    None => EncodedFile::default(),
                })
                .collect(),
            format: FORMAT_TAG.to_owned(),
            info_hash: ByteBuf::from(self.info_hash.0.to_vec()),
            piece_count: self.have.len(),
            pieces: ByteBuf::from(self.have.as_bytes().to_vec()),
            version: FORMAT_VERSION,
        };
        // Serialising plain integers, strings and lists into a Vec cannot fail.
        serde_bencode::to_bytes(&encoded).unwrap_or_default()
    }

    /// Decodes resume data, checking its version and internal consistency
    /// (but not whether it belongs to a given torrent: see
    /// [`ResumeData::validate`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<ResumeData, ResumeError> {
        let malformed = |e: serde_bencode::Error| ResumeError::Malformed {
            reason: e.to_string(),
        };
        let VersionOnly { version } = serde_bencode::from_bytes(bytes).map_err(malformed)?;
        if version != FORMAT_VERSION {
            return Err(ResumeError::Version { found: version });
        }
        let e: Encoded = serde_bencode::from_bytes(bytes).map_err(malformed)?;
        if e.format != FORMAT_TAG {
            return Err(ResumeError::Malformed {
                reason: format!("format is {:?}, not {FORMAT_TAG:?}", e.format),
            });
        }
        let info_hash = <[u8; 20]>::try_from(e.info_hash.as_slice())
            .map(InfoHash)
            .map_err(|_| ResumeError::Malformed {
                reason: format!("info-hash is {} bytes, not 20", e.info_hash.len()),
            })?;
        let have = Bitfield::from_bytes(&e.pieces, e.piece_count)?;
        let files = e
            .files
            .into_iter()
            .enumerate()
            .map(|(i, f)| match (f.length, f.mtime, f.mtime_ns) {
                (None, None, None) => Ok(None),
                (Some(length), Some(mtime_secs), Some(mtime_nanos))
                    if mtime_nanos < 1_000_000_000 =>
                {
                    Ok(Some(FileStamp {
                        length,
                        mtime_secs,
                        mtime_nanos,
                    }))
                }
                _ => Err(ResumeError::Malformed {
                    reason: format!("file {i}: incomplete or invalid length/mtime"),
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(ResumeData {
            info_hash,
            have,
            files,
        })
    }

    /// Checks that the data describes the torrent with `info_hash` and
    /// `layout`.
    pub fn validate(&self, info_hash: &InfoHash, layout: &Layout) -> Result<(), ResumeError> {
        if self.info_hash != *info_hash {
            return Err(ResumeError::WrongTorrent {
                expected: *info_hash,
                found: self.info_hash,
            });
        }
        if self.have.len() != layout.piece_count() {
            return Err(ResumeError::Shape {
                what: "pieces",
                expected: layout.piece_count().into(),
                found: self.have.len().into(),
            });
        }
        if self.files.len() != layout.file_count() {
            return Err(ResumeError::Shape {
                what: "files",
                expected: layout.file_count() as u64,
                found: self.files.len() as u64,
            });
        }
        Ok(())
    }

    /// Reads and decodes `path`; `Ok(None)` if there is no such file.
    pub fn load(path: &Path) -> Result<Option<ResumeData>, ResumeError> {
        match fs::read(path) {
            Ok(bytes) => ResumeData::from_bytes(&bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ResumeError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the data to `path` atomically and durably: `<path>.tmp` is
    /// written and `fsync`ed, renamed over `path`, and the directory is
    /// `fsync`ed. Creates the directory if needed. On failure the temporary
    /// file is removed and any previous file at `path` is untouched.
    pub fn save(&self, path: &Path) -> Result<(), ResumeError> {
        let error = |source| ResumeError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut tmp_name = path
            .file_name()
            .ok_or_else(|| error(io::ErrorKind::InvalidInput.into()))?
            .to_owned();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        let bytes = self.to_bytes();
        let written = fs::create_dir_all(dir).and_then(|()| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, path)?;
            // Make the rename itself durable.
            File::open(dir)?.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(error(e));
        }
        Ok(())
    }
}

/// Where the resume data of the torrent `info_hash` downloading into
/// `download_dir` lives: `<resume_dir>/<hex>.resume`, with `resume_dir`
/// defaulting to `<download_dir>/.torrix`.
pub fn resume_path(
    resume_dir: Option<&Path>,
    download_dir: &Path,
    info_hash: &InfoHash,
) -> PathBuf {
    let dir = match resume_dir {
        Some(dir) => dir.to_path_buf(),
        None => download_dir.join(DEFAULT_DIR_NAME),
    };
    dir.join(format!("{}.resume", info_hash.to_hex()))
}

/// What to do with each piece when a torrent starts; see [`plan_check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckPlan {
    /// Pieces taken as verified without hashing.
    pub trusted: Bitfield,
    /// Pieces to hash, ascending.
    pub check: Vec<u32>,
}

/// Applies the trust rules (see the module documentation) to every piece of
/// `layout`, given the current state of the files (`current`, as returned by
/// [`Storage::file_metadata`](crate::disk::Storage::file_metadata)) and the
/// resume data, if any was loaded and validated.
///
/// Pieces in neither [`CheckPlan::trusted`] nor [`CheckPlan::check`] are
/// missing: a file they need does not exist or is too short.
pub fn plan_check(
    layout: &Layout,
    current: &[Option<(u64, SystemTime)>],
    resume: Option<&ResumeData>,
) -> CheckPlan {
    let now = FileStamp::from_metadata(current);
    // A file is unchanged if it exists and has exactly the saved stamp.
    let unchanged: Vec<bool> = (0..layout.file_count())
        .map(|i| {
            let saved = resume.and_then(|r| r.files.get(i).copied().flatten());
            saved.is_some() && saved == now.get(i).copied().flatten()
        })
        .collect();
    let mut trusted = Bitfield::new(layout.piece_count());
    let mut check = Vec::new();
    for piece in 0..layout.piece_count() {
        let mut present = true;
        let mut all_unchanged = true;
        for span in layout.piece_spans(piece) {
            let i = span.file_index;
            let long_enough = current
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|(len, _)| len >= span.file_offset + span.len);
            present &= long_enough;
            all_unchanged &= unchanged.get(i).copied().unwrap_or(false);
        }
        if !present {
            continue;
        }
        if all_unchanged && resume.is_some_and(|r| r.have.get(piece)) {
            trusted.set(piece);
        } else {
            check.push(piece);
        }
    }
    CheckPlan { trusted, check }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const HASH: InfoHash = InfoHash([7; 20]);

    fn t(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    /// Three files of 100, 50 and 150 bytes in pieces of 64: piece 1 spans
    /// files 0 and 1, piece 2 spans files 1 and 2.
    fn layout() -> Layout {
        Layout::new(64, [100, 50, 150])
    }

    fn sample() -> ResumeData {
        let mut have = Bitfield::new(5);
        have.set(0);
        have.set(3);
        ResumeData {
            info_hash: HASH,
            have,
            files: vec![
                FileStamp::new(100, t(1_700_000_000, 123_456_789)),
                None,
                FileStamp::new(150, t(5, 0)),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let data = sample();
        let bytes = data.to_bytes();
        assert!(bytes.starts_with(b"d5:filesl"));
        assert_eq!(ResumeData::from_bytes(&bytes).unwrap(), data);
    }

    #[test]
    fn stamps_before_the_epoch_are_floored() {
        let s = FileStamp::new(1, UNIX_EPOCH - Duration::new(1, 250_000_000)).unwrap();
        assert_eq!((s.mtime_secs, s.mtime_nanos), (-2, 750_000_000));
        let s = FileStamp::new(1, UNIX_EPOCH - Duration::from_secs(3)).unwrap();
        assert_eq!((s.mtime_secs, s.mtime_nanos), (-3, 0));
        assert_ne!(
            FileStamp::new(1, UNIX_EPOCH - Duration::from_millis(500)),
            FileStamp::new(1, UNIX_EPOCH + Duration::from_millis(500))
        );
    }

    #[test]
    fn refuses_garbage_truncation_and_other_versions() {
        let bytes = sample().to_bytes();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(matches!(
                ResumeData::from_bytes(&bytes[..cut]),
                Err(ResumeError::Malformed { .. })
            ));
        }
        assert!(ResumeData::from_bytes(b"\xff\x00garbage").is_err());
        let mut v2 = bytes.clone();
        let at = v2.windows(12).position(|w| w == b"7:versioni1e").unwrap();
        v2[at + 10] = b'2';
        assert!(matches!(
            ResumeData::from_bytes(&v2),
            Err(ResumeError::Version { found: 2 })
        ));
    }

    #[test]
    fn refuses_inconsistent_contents() {
        let mut data = sample();
        // Spare bit set: 5 pieces use the top 5 bits of one byte.
        let mut bytes = data.to_bytes();
        let at = bytes.windows(8).position(|w| w == b"6:pieces").unwrap() + 10;
        bytes[at] |= 0x01;
        assert!(matches!(
            ResumeData::from_bytes(&bytes),
            Err(ResumeError::Bitfield(BitfieldError::SpareBitsSet))
        ));

        data.have = Bitfield::new(4);
        let shaped = ResumeData::from_bytes(&data.to_bytes()).unwrap();
        assert!(matches!(
            shaped.validate(&HASH, &layout()),
            Err(ResumeError::Shape { what: "pieces", .. })
        ));
        let other = InfoHash([8; 20]);
        assert!(matches!(
            sample().validate(&other, &layout()),
            Err(ResumeError::WrongTorrent { .. })
        ));
        sample().validate(&HASH, &layout()).unwrap();
    }

    #[test]
    fn save_is_atomic_and_load_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = resume_path(Some(&dir.path().join("a/b")), dir.path(), &HASH);
        assert_eq!(ResumeData::load(&path).unwrap(), None);
        let data = sample();
        data.save(&path).unwrap();
        assert_eq!(ResumeData::load(&path).unwrap(), Some(data.clone()));
        // Saving again replaces the file and leaves no temporary behind.
        let mut more = data;
        more.have.set(1);
        more.save(&path).unwrap();
        assert_eq!(ResumeData::load(&path).unwrap(), Some(more));
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            [std::ffi::OsString::from(format!(
                "{}.resume",
                HASH.to_hex()
            ))]
        );
    }

    #[test]
    fn save_failure_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.resume");
        sample().save(&path).unwrap();
        // A directory squatting on the temporary name makes the write fail.
        fs::create_dir(dir.path().join("x.resume.tmp")).unwrap();
        let mut other = sample();
        other.have.set(2);
        assert!(matches!(other.save(&path), Err(ResumeError::Write { .. })));
        assert_eq!(ResumeData::load(&path).unwrap(), Some(sample()));
    }

    #[test]
    fn default_location_is_next_to_the_download() {
        let p = resume_path(None, Path::new("/data"), &HASH);
        assert_eq!(
            p,
            Path::new("/data/.torrix").join(format!("{}.resume", HASH.to_hex()))
        );
    }

    fn meta(len: u64, mtime: SystemTime) -> Option<(u64, SystemTime)> {
        Some((len, mtime))
    }

    #[test]
    fn without_resume_data_every_present_piece_is_checked() {
        // File 0 complete, file 1 missing, file 2 only 70 bytes long.
        let current = [meta(100, t(1, 0)), None, meta(70, t(1, 0))];
        let plan = plan_check(&layout(), &current, None);
        assert_eq!(plan.trusted.count(), 0);
        // Pieces 1 and 2 need file 1; pieces 3 and 4 need bytes past 70 of
        // file 2. Only piece 0 is worth hashing.
        assert_eq!(plan.check, [0]);
        assert_eq!(plan.trusted.count(), 0);
    }

    #[test]
    fn unchanged_files_are_trusted_changed_ones_rechecked() {
        let layout = layout();
        let files = [meta(100, t(10, 1)), meta(50, t(20, 2)), meta(150, t(30, 3))];
        let resume = ResumeData {
            info_hash: HASH,
            have: Bitfield::full(5),
            files: FileStamp::from_metadata(&files),
        };
        let plan = plan_check(&layout, &files, Some(&resume));
        assert_eq!(plan.trusted, Bitfield::full(5));
        assert!(plan.check.is_empty());

        // File 1 touched (same length, new mtime, 1 ns later): pieces 1 and 2
        // are hashed, the rest trusted.
        let touched = [files[0], meta(50, t(20, 3)), files[2]];
        let plan = plan_check(&layout, &touched, Some(&resume));
        assert_eq!(plan.check, [1, 2]);
        assert_eq!(plan.trusted.ones().collect::<Vec<_>>(), [0, 3, 4]);

        // File 2 truncated to 100 bytes: pieces 3 and 4 (its bytes 42..150)
        // are missing, piece 2 (its bytes 0..42) is hashed.
        let truncated = [files[0], files[1], meta(100, t(30, 3))];
        let plan = plan_check(&layout, &truncated, Some(&resume));
        assert_eq!(plan.check, [2]);
        assert_eq!(plan.trusted.ones().collect::<Vec<_>>(), [0, 1]);

        // File 0 deleted: pieces 0 and 1 are missing.
        let deleted = [None, files[1], files[2]];
        let plan = plan_check(&layout, &deleted, Some(&resume));
        assert!(plan.check.is_empty());
        assert_eq!(plan.trusted.ones().collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn pieces_not_in_the_resume_data_are_checked() {
        let files = [meta(100, t(10, 1)), meta(50, t(20, 2)), meta(150, t(30, 3))];
        let mut have = Bitfield::new(5);
        have.set(0);
        have.set(4);
        let resume = ResumeData {
            info_hash: HASH,
            have,
            files: FileStamp::from_metadata(&files),
        };
        let plan = plan_check(&layout(), &files, Some(&resume));
        assert_eq!(plan.check, [1, 2, 3]);
        assert_eq!(plan.trusted.ones().collect::<Vec<_>>(), [0, 4]);
    }

    #[test]
    fn a_file_missing_when_saved_is_never_trusted() {
        let files = [meta(100, t(10, 1)), meta(50, t(20, 2)), meta(150, t(30, 3))];
        let mut stamps = FileStamp::from_metadata(&files);
        stamps[1] = None;
        let resume = ResumeData {
            info_hash: HASH,
            have: Bitfield::full(5),
            files: stamps,
        };
        let plan = plan_check(&layout(), &files, Some(&resume));
        assert_eq!(plan.check, [1, 2]);
    }
}
