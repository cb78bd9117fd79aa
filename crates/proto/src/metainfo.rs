//! `.torrent` metainfo (BEP 3, BEP 12 announce-list, BEP 27 private flag).
//!
//! [`Metainfo::from_bytes`] parses and validates; the v1 info-hash is SHA-1 over
//! the info dictionary's bytes exactly as they appear in the file.

use std::fmt;

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
