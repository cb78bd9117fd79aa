//! `.torrent` metainfo (BEP 3, BEP 12 announce-list, BEP 19 web seeds, BEP 27
//! private flag).
//!
//! [`Metainfo::from_bytes`] parses and validates; the v1 info-hash is SHA-1 over
//! the info dictionary's bytes exactly as they appear in the file, located with
//! the [`bencode`] scanner and never re-encoded.
//!
//! # What is checked
//!
//! Everything that decides *which bytes* a torrent describes and *where they
//! go on disk* is validated strictly, and a failure is a typed
//! [`MetainfoError`]: the piece length and hashes, the file lengths and their
//! sum, and every path component (so a torrent can never name a file outside
//! its directory). Descriptive and tracker fields (`announce`, `announce-list`,
//! `url-list`, `comment`, `created by`, `creation date`) are read leniently, as
//! libtorrent does: a value of the wrong type, or an unusable URL, is ignored
//! rather than making the whole torrent unusable.
//!
//! # Text encoding
//!
//! Names and path components must be UTF-8. Like libtorrent, the parser
//! prefers the `name.utf-8` / `path.utf-8` variants some older clients wrote
//! next to a legacy-encoded `name` / `path` when they are valid UTF-8; when
//! the plain field is used and is not UTF-8 the torrent is rejected with
//! [`MetainfoError::NonUtf8`] rather than guessing an encoding (a lossy
//! conversion could make two distinct files collide). `comment` and
//! `created by` are display-only and are converted lossily.
//!
//! # Pad files
//!
//! BEP 47 pad files (`attr` containing `p`, written by libtorrent's hybrid
//! v1+v2 torrents) are kept in [`Metainfo::files`] because they occupy bytes
//! in the piece space; their paths are validated like any other, but they are
//! exempt from the duplicate-path check since several may share a name such
//! as `.pad/16384`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_bencode::value::Value;
use serde_bytes::ByteBuf;
use sha1::{Digest, Sha1};
use thiserror::Error;

use crate::bencode::{self, BencodeError};

/// The largest piece length accepted: 256 MiB. Larger pieces exist in no real
/// torrent and would force a peer to buffer absurd amounts to verify one piece.
pub const MAX_PIECE_LENGTH: u32 = 256 * 1024 * 1024;

/// The v1 info-hash: SHA-1 of the bencoded info dictionary.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// Lower-case hex, as trackers' web pages and other clients print it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// One file of a torrent, in the order of the info dictionary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Path components below the torrent's root. For a single-file torrent this
    /// is just `[name]`; for a multi-file torrent it does not include `name`.
    /// Every component is validated: non-empty, not `.`/`..`, no `/`, `\` or NUL.
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Offset of the file's first byte within the torrent's concatenated data.
    pub offset: u64,
}

/// A parsed and validated `.torrent` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metainfo {
    /// SHA-1 of the info dictionary's bytes as found in the file.
    pub info_hash: InfoHash,
    /// The torrent's name: the file name (single-file) or root directory (multi-file).
    pub name: String,
    /// Bytes per piece (the last piece may be shorter).
    pub piece_length: u32,
    /// Expected SHA-1 of each piece.
    pub pieces: Vec<[u8; 20]>,
    /// Files in info-dictionary order, with their offsets.
    pub files: Vec<FileEntry>,
    /// True for a single-file torrent (no `files` list in the info dictionary).
    pub single_file: bool,
    /// BEP 27: peers only from the torrent's trackers.
    pub private: bool,
    /// The `announce` URL, if any.
    pub announce: Option<String>,
    /// BEP 12 tiers from `announce-list` (empty tiers and empty URLs dropped).
    pub announce_list: Vec<Vec<String>>,
    /// BEP 19 web seeds (`url-list`), kept for later use.
    pub url_list: Vec<String>,
    /// Free-form comment.
    pub comment: Option<String>,
    /// The program that made the torrent.
    pub created_by: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// Total payload length in bytes.
    pub total_length: u64,
}

/// What is wrong with a file or torrent name, or one of its path components.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathProblem {
    /// The component is the empty string.
    Empty,
    /// The component is `.`.
    CurrentDir,
    /// The component is `..`, which would escape the torrent's directory.
    ParentDir,
    /// The component contains a `/` or `\` path separator.
    Separator,
    /// The component contains a NUL byte, which no file system accepts.
    Nul,
    /// The component starts with a Windows drive prefix such as `C:`, which
    /// would make the path absolute or drive-relative on Windows.
    DrivePrefix,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "a path component is empty",
            Self::CurrentDir => "a path component is `.`",
            Self::ParentDir => "a path component is `..`",
            Self::Separator => "a path component contains a path separator (`/` or `\\`)",
            Self::Nul => "a path component contains a NUL byte",
            Self::DrivePrefix => "a path component starts with a drive letter (like `C:`)",
        })
    }
}

/// Checks one name or path component; see [`PathProblem`] for the rules.
///
/// Colons elsewhere (`Episode 1: Pilot.mkv`) are allowed: they are legal on
/// Unix and common in real torrents; mapping them for Windows is the storage
/// layer's business. So are Windows reserved names such as `CON`.
pub fn check_path_component(component: &str) -> Result<(), PathProblem> {
    let bytes = component.as_bytes();
    match component {
        "" => Err(PathProblem::Empty),
        "." => Err(PathProblem::CurrentDir),
        ".." => Err(PathProblem::ParentDir),
        _ if component.contains(['/', '\\']) => Err(PathProblem::Separator),
        _ if component.contains('\0') => Err(PathProblem::Nul),
        _ if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' => {
            Err(PathProblem::DrivePrefix)
        }
        _ => Ok(()),
    }
}

/// Why a `.torrent` could not be parsed or failed validation.
///
/// File indices are 0-based positions in the info dictionary's file list.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetainfoError {
    /// The bytes are not well-formed bencode, or have trailing garbage.
    #[error("not a valid torrent file: {0}")]
    Bencode(#[from] BencodeError),
    /// Well-formed bencode whose structure is not a torrent's (a field of the
    /// wrong type, for instance).
    #[error("not a valid torrent file: {0}")]
    Structure(String),
    /// A required field is absent.
    #[error("the torrent has no `{0}` field")]
    MissingField(&'static str),
    /// The `info` value is not a dictionary.
    #[error("the torrent's `info` field is not a dictionary")]
    InfoNotADictionary,
    /// An entry of the `files` list lacks a required field.
    #[error("file {index} has no `{field}` field")]
    MissingFileField {
        /// Which file.
        index: usize,
        /// The missing field.
        field: &'static str,
    },
    /// A name or path is not UTF-8 (and no valid `.utf-8` variant is present).
    #[error("the {field} is not valid UTF-8")]
    NonUtf8 {
        /// Which value, e.g. `name` or `path of file 3`.
        field: String,
    },
    /// `piece length` is zero, negative or above [`MAX_PIECE_LENGTH`].
    #[error("piece length {0} is invalid: it must be between 1 byte and 256 MiB")]
    InvalidPieceLength(i64),
    /// `pieces` is not a whole number of 20-byte SHA-1 hashes.
    #[error("piece hashes are {0} bytes, not a multiple of 20")]
    PiecesNotMultipleOf20(usize),
    /// The number of piece hashes does not match the data size.
    #[error(
        "the torrent has {actual} piece hashes, but {total_length} bytes in pieces \
         of {piece_length} bytes need {expected}"
    )]
    PieceCountMismatch {
        /// Number of hashes in `pieces`.
        actual: usize,
        /// `ceil(total_length / piece_length)`.
        expected: u64,
        /// Sum of the file lengths.
        total_length: u64,
        /// The piece length.
        piece_length: u32,
    },
    /// More pieces than a 32-bit piece index (as used on the wire) can address.
    #[error("the torrent would need {0} pieces, more than a 32-bit piece index can address")]
    TooManyPieces(u64),
    /// The info dictionary has both `length` (single-file) and `files` (multi-file).
    #[error("the torrent has both `length` and `files`, so it is unclear whether it is single- or multi-file")]
    AmbiguousLayout,
    /// The `files` list is empty.
    #[error("the torrent's file list is empty")]
    NoFiles,
    /// Every file is empty: there is nothing to download or to hash.
    #[error("the torrent holds no data: every file is empty")]
    EmptyTorrent,
    /// A file length is negative.
    #[error("file {index} has a negative length ({length})")]
    NegativeLength {
        /// Which file (0 for a single-file torrent).
        index: usize,
        /// The length found.
        length: i64,
    },
    /// The file lengths add up to more than `u64::MAX`.
    #[error("the files' total size overflows 64 bits")]
    TotalLengthOverflow,
    /// The torrent's `name` is not a safe single path component.
    #[error("invalid torrent name {name:?}: {problem}")]
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong with it.
        problem: PathProblem,
    },
    /// A file of a multi-file torrent has an empty `path` list.
    #[error("file {index} has an empty path")]
    EmptyPath {
        /// Which file.
        index: usize,
    },
    /// A file path has an unsafe component.
    #[error("file {index} has an invalid path {path:?}: {problem}")]
    InvalidPath {
        /// Which file.
        index: usize,
        /// The path, components joined with `/`.
        path: String,
        /// What is wrong with it.
        problem: PathProblem,
    },
    /// Two files have the same path.
    #[error("two files have the same path {0:?}")]
    DuplicatePath(String),
    /// A file's path is also a directory of another file's path (`a` and `a/b`).
    #[error("{file:?} is a file, but {other:?} uses it as a directory")]
    PathConflict {
        /// The path that is a file.
        file: String,
        /// The path that needs it to be a directory.
        other: String,
    },
}

impl Metainfo {
    /// Parses and validates a `.torrent` file.
    ///
    /// The whole buffer must be exactly one bencoded dictionary. Unknown
    /// fields are ignored (including v2 fields of hybrid torrents). See the
    /// [module documentation](self) for what is validated and how text
    /// encodings are handled. Never panics, whatever the input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MetainfoError> {
        let span =
            bencode::find_dict_value(bytes, b"info")?.ok_or(MetainfoError::MissingField("info"))?;
        let info_bytes = &bytes[span];
        if info_bytes.first() != Some(&b'd') {
            return Err(MetainfoError::InfoNotADictionary);
        }
        let info_hash = InfoHash(Sha1::digest(info_bytes).into());
        let info: RawInfo = serde_bencode::from_bytes(info_bytes)
            .map_err(|e| MetainfoError::Structure(format!("in the info dictionary: {e}")))?;
        let top: RawTorrent = serde_bencode::from_bytes(bytes)
            .map_err(|e| MetainfoError::Structure(e.to_string()))?;

        let name = pick_utf8(info.name_utf8, info.name)
            .ok_or(MetainfoError::MissingField("name"))?
            .map_err(|()| MetainfoError::NonUtf8 {
                field: "name".into(),
            })?;
        check_path_component(&name).map_err(|problem| MetainfoError::InvalidName {
            name: name.clone(),
            problem,
        })?;

        let raw_piece_length = info
            .piece_length
            .ok_or(MetainfoError::MissingField("piece length"))?;
        let piece_length = u32::try_from(raw_piece_length)
            .ok()
            .filter(|l| (1..=MAX_PIECE_LENGTH).contains(l))
            .ok_or(MetainfoError::InvalidPieceLength(raw_piece_length))?;

        let raw_pieces = info.pieces.ok_or(MetainfoError::MissingField("pieces"))?;
        let chunks = raw_pieces.chunks_exact(20);
        if !chunks.remainder().is_empty() {
            return Err(MetainfoError::PiecesNotMultipleOf20(raw_pieces.len()));
        }
        let pieces: Vec<[u8; 20]> = chunks
            .filter_map(|chunk| <[u8; 20]>::try_from(chunk).ok())
            .collect();

        let (files, single_file) = match (info.length, info.files) {
            (Some(_), Some(_)) => return Err(MetainfoError::AmbiguousLayout),
            (None, None) => return Err(MetainfoError::MissingField("length")),
            (Some(length), None) => {
                let length = non_negative(0, length)?;
                (vec![(vec![name.clone()], length)], true)
            }
            (None, Some(raw_files)) => (parse_files(raw_files)?, false),
        };

        let mut total_length: u64 = 0;
        let files: Vec<FileEntry> = files
            .into_iter()
            .map(|(path, length)| {
                let offset = total_length;
                total_length = total_length
                    .checked_add(length)
                    .ok_or(MetainfoError::TotalLengthOverflow)?;
                Ok(FileEntry {
                    path,
                    length,
                    offset,
                })
            })
            .collect::<Result<_, MetainfoError>>()?;
        if total_length == 0 {
            return Err(MetainfoError::EmptyTorrent);
        }

        let expected = total_length.div_ceil(u64::from(piece_length));
        if u32::try_from(expected).is_err() {
            return Err(MetainfoError::TooManyPieces(expected));
        }
        if pieces.len() as u64 != expected {
            return Err(MetainfoError::PieceCountMismatch {
                actual: pieces.len(),
                expected,
                total_length,
                piece_length,
            });
        }

        Ok(Self {
            info_hash,
            name,
            piece_length,
            pieces,
            files,
            single_file,
            // BEP 27 says `private=1`; like libtorrent, any non-zero value is
            // taken as private, the safe reading for a privacy flag.
            private: info.private.is_some_and(|p| p != 0),
            announce: top.announce.as_ref().and_then(url),
            announce_list: top.announce_list.as_ref().map(tiers).unwrap_or_default(),
            url_list: match &top.url_list {
                Some(Value::List(urls)) => urls.iter().filter_map(url).collect(),
                Some(single) => url(single).into_iter().collect(),
                None => Vec::new(),
            },
            comment: top
                .comment_utf8
                .as_ref()
                .and_then(text)
                .or_else(|| top.comment.as_ref().and_then(text)),
            created_by: top.created_by.as_ref().and_then(text),
            creation_date: match top.creation_date {
                Some(Value::Int(t)) => Some(t),
                _ => None,
            },
            total_length,
        })
    }

    /// The trackers to announce to, as BEP 12 tiers: `announce-list` when it
    /// has any usable URL, otherwise the single `announce` URL as one tier,
    /// otherwise nothing (a trackerless torrent).
    pub fn tiers(&self) -> Vec<Vec<String>> {
        if !self.announce_list.is_empty() {
            self.announce_list.clone()
        } else if let Some(announce) = &self.announce {
            vec![vec![announce.clone()]]
        } else {
            Vec::new()
        }
    }

    /// The number of pieces (validated to fit in a `u32` when parsing).
    pub fn piece_count(&self) -> u32 {
        u32::try_from(self.pieces.len()).unwrap_or(u32::MAX)
    }
}

/// The top-level dictionary, minus `info` (decoded separately from its raw span).
#[derive(Deserialize)]
struct RawTorrent {
    announce: Option<Value>,
    #[serde(rename = "announce-list")]
    announce_list: Option<Value>,
    #[serde(rename = "url-list")]
    url_list: Option<Value>,
    comment: Option<Value>,
    #[serde(rename = "comment.utf-8")]
    comment_utf8: Option<Value>,
    #[serde(rename = "created by")]
    created_by: Option<Value>,
    #[serde(rename = "creation date")]
    creation_date: Option<Value>,
}

#[derive(Deserialize)]
struct RawInfo {
    name: Option<ByteBuf>,
    #[serde(rename = "name.utf-8")]
    name_utf8: Option<ByteBuf>,
    #[serde(rename = "piece length")]
    piece_length: Option<i64>,
    pieces: Option<ByteBuf>,
    length: Option<i64>,
    files: Option<Vec<RawFile>>,
    private: Option<i64>,
}

#[derive(Deserialize)]
struct RawFile {
    length: Option<i64>,
    path: Option<Vec<ByteBuf>>,
    #[serde(rename = "path.utf-8")]
    path_utf8: Option<Vec<ByteBuf>>,
    attr: Option<ByteBuf>,
}

/// Decodes the files of a multi-file torrent and checks their paths.
fn parse_files(raw_files: Vec<RawFile>) -> Result<Vec<(Vec<String>, u64)>, MetainfoError> {
    if raw_files.is_empty() {
        return Err(MetainfoError::NoFiles);
    }
    let mut files = Vec::with_capacity(raw_files.len());
    // Non-pad paths, for the duplicate and file-vs-directory checks.
    let mut seen: BTreeMap<Vec<String>, ()> = BTreeMap::new();
    for (index, raw) in raw_files.into_iter().enumerate() {
        let length = raw.length.ok_or(MetainfoError::MissingFileField {
            index,
            field: "length",
        })?;
        let length = non_negative(index, length)?;
        let utf8_path = raw
            .path_utf8
            .and_then(|p| p.into_iter().map(utf8).collect::<Option<Vec<_>>>());
        let path = match utf8_path {
            Some(path) => path,
            None => raw
                .path
                .ok_or(MetainfoError::MissingFileField {
                    index,
                    field: "path",
                })?
                .into_iter()
                .map(utf8)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| MetainfoError::NonUtf8 {
                    field: format!("path of file {index}"),
                })?,
        };
        if path.is_empty() {
            return Err(MetainfoError::EmptyPath { index });
        }
        for component in &path {
            check_path_component(component).map_err(|problem| MetainfoError::InvalidPath {
                index,
                path: path.join("/"),
                problem,
            })?;
        }
        let is_pad = raw.attr.is_some_and(|a| a.contains(&b'p'));
        if !is_pad {
            check_path_unique(&mut seen, &path)?;
        }
        files.push((path, length));
    }
    Ok(files)
}

/// Records `path` in `seen`, failing if it equals a known path or one of the
/// two is a directory prefix of the other.
fn check_path_unique(
    seen: &mut BTreeMap<Vec<String>, ()>,
    path: &[String],
) -> Result<(), MetainfoError> {
    // Any recorded path that is a proper prefix of `path` is one of its
    // ancestors, found by direct lookup.
    for depth in 1..path.len() {
        if let Some((file, ())) = seen.get_key_value(&path[..depth]) {
            return Err(MetainfoError::PathConflict {
                file: file.join("/"),
                other: path.join("/"),
            });
        }
    }
    // A recorded path equal to `path` or below it sorts first among those >= `path`.
    if let Some((next, ())) = seen.range(path.to_vec()..).next() {
        if next.as_slice() == path {
            return Err(MetainfoError::DuplicatePath(path.join("/")));
        }
        if next.starts_with(path) {
            return Err(MetainfoError::PathConflict {
                file: path.join("/"),
                other: next.join("/"),
            });
        }
    }
    seen.insert(path.to_vec(), ());
    Ok(())
}

fn non_negative(index: usize, length: i64) -> Result<u64, MetainfoError> {
    u64::try_from(length).map_err(|_| MetainfoError::NegativeLength { index, length })
}

fn utf8(bytes: ByteBuf) -> Option<String> {
    String::from_utf8(bytes.into_vec()).ok()
}

/// The `.utf-8` variant if present and valid, else the plain field:
/// `None` if neither is present, `Some(Err(()))` if the plain one is not UTF-8.
fn pick_utf8(preferred: Option<ByteBuf>, plain: Option<ByteBuf>) -> Option<Result<String, ()>> {
    if let Some(s) = preferred.and_then(utf8) {
        return Some(Ok(s));
    }
    plain.map(|b| utf8(b).ok_or(()))
}

/// A tracker or web-seed URL: a non-empty UTF-8 string, surrounding whitespace trimmed.
fn url(value: &Value) -> Option<String> {
    match value {
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        _ => None,
    }
}

/// BEP 12 tiers, keeping only usable URLs and non-empty tiers.
fn tiers(value: &Value) -> Vec<Vec<String>> {
    let Value::List(tiers) = value else {
        return Vec::new();
    };
    tiers
        .iter()
        .filter_map(|tier| match tier {
            Value::List(urls) => Some(urls.iter().filter_map(url).collect::<Vec<_>>()),
            _ => None,
        })
        .filter(|tier| !tier.is_empty())
        .collect()
}

/// Display text, decoded lossily; empty strings count as absent.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Bytes(b) if !b.is_empty() => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}
