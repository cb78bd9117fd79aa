//! Building a `.torrent` (BEP 3, 12, 19, 27) from a file list and piece hashes.
//!
//! Sans-IO like the rest of the crate: the caller reads the files and feeds
//! their bytes, concatenated in torrent order, to a [`PieceHasher`] (or hashes
//! them any other way), then hands the hashes to a [`TorrentBuilder`].
//!
//! The output is canonical bencode (dictionary keys sorted by raw bytes) and
//! reproducible: the same inputs always give the same bytes, hence the same
//! info-hash. No creation date is written unless one is set.
//!
//! ```
//! use torrix_proto::create::{PieceHasher, TorrentBuilder, suggested_piece_length};
//! use torrix_proto::Metainfo;
//!
//! let data = vec![7u8; 100_000];
//! let piece_length = suggested_piece_length(data.len() as u64);
//! let mut hasher = PieceHasher::new(piece_length).unwrap();
//! hasher.update(&data);
//! let torrent = TorrentBuilder::single_file("seven.bin", data.len() as u64, piece_length, hasher.finish())
//!     .announce_tiers(vec![vec!["http://tracker.example/announce".into()]])
//!     .build()
//!     .unwrap();
//! let meta = Metainfo::from_bytes(&torrent).unwrap();
//! assert_eq!(meta.total_length, 100_000);
//! ```

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};
use thiserror::Error;

use crate::metainfo::{Metainfo, MetainfoError, MAX_PIECE_LENGTH};

/// Smallest piece length [`suggested_piece_length`] returns: 16 KiB, one block.
pub const MIN_SUGGESTED_PIECE_LENGTH: u32 = 16 * 1024;
/// Largest piece length [`suggested_piece_length`] returns: 16 MiB.
pub const MAX_SUGGESTED_PIECE_LENGTH: u32 = 16 * 1024 * 1024;

/// A piece length for `total` bytes of data: the smallest power of two giving
/// at most 2000 pieces (so between 1000 and 2000 for mid-sized torrents),
/// clamped to 16 KiB ..= 16 MiB. Fewer, larger pieces keep the `.torrent`
/// small; more, smaller pieces let peers trade data sooner.
pub fn suggested_piece_length(total: u64) -> u32 {
    let ideal = total
        .div_ceil(2000)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX);
    let clamped = ideal.clamp(
        u64::from(MIN_SUGGESTED_PIECE_LENGTH),
        u64::from(MAX_SUGGESTED_PIECE_LENGTH),
    );
    u32::try_from(clamped).unwrap_or(MAX_SUGGESTED_PIECE_LENGTH)
}

/// Incremental SHA-1 piece hashing over the torrent's concatenated data.
///
/// Feed the files' bytes in torrent order, in chunks of any size, then call
/// [`finish`](Self::finish). Zero-length files contribute nothing.
#[derive(Clone, Debug)]
pub struct PieceHasher {
    piece_length: usize,
    current: Sha1,
    filled: usize,
    pieces: Vec<[u8; 20]>,
}

impl PieceHasher {
    /// A hasher for pieces of `piece_length` bytes.
    ///
    /// Fails with [`MetainfoError::InvalidPieceLength`] for 0 or more than
    /// [`MAX_PIECE_LENGTH`], the same bounds the parser enforces.
    pub fn new(piece_length: u32) -> Result<Self, MetainfoError> {
        if piece_length == 0 || piece_length > MAX_PIECE_LENGTH {
            return Err(MetainfoError::InvalidPieceLength(i64::from(piece_length)));
        }
        Ok(Self {
            // A u32 below 256 MiB fits a usize on every supported target.
            piece_length: usize::try_from(piece_length).unwrap_or(usize::MAX),
            current: Sha1::new(),
            filled: 0,
            pieces: Vec::new(),
        })
    }

    /// Hashes the next `data` bytes of the torrent.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = data.len().min(self.piece_length - self.filled);
            let (now, rest) = data.split_at(take);
            self.current.update(now);
            self.filled += take;
            data = rest;
            if self.filled == self.piece_length {
                self.pieces.push(self.current.finalize_reset().into());
                self.filled = 0;
            }
        }
    }

    /// The piece hashes, including the shorter last piece if any.
    pub fn finish(mut self) -> Vec<[u8; 20]> {
        if self.filled > 0 {
            self.pieces.push(self.current.finalize().into());
        }
        self.pieces
    }
}

/// Why a torrent could not be built.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateError {
    /// The torrent would be invalid; the builder's output is checked with
    /// [`Metainfo::from_bytes`], so this is the same error a reader would get.
    #[error(transparent)]
    Invalid(#[from] MetainfoError),
    /// A file length does not fit a bencode integer (`i64`).
    #[error("file {index} is {length} bytes, too large to encode")]
    LengthTooLarge {
        /// Which file (0 for a single-file torrent).
        index: usize,
        /// Its length.
        length: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Files {
    Single(u64),
    Multi(Vec<(Vec<String>, u64)>),
}

/// Builds a `.torrent` file's bytes.
///
/// Files are written in the order given, which must be the order the piece
/// hashes were computed over; the builder does not reorder them because that
/// would invalidate the hashes. For reproducible torrents, sort the file list
/// by path (e.g. `files.sort()`) *before* hashing, as `mktorrent` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TorrentBuilder {
    name: String,
    piece_length: u32,
    files: Files,
    pieces: Vec<[u8; 20]>,
    tiers: Vec<Vec<String>>,
    url_list: Vec<String>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
    private: bool,
}

impl TorrentBuilder {
    fn new(name: String, piece_length: u32, files: Files, pieces: Vec<[u8; 20]>) -> Self {
        Self {
            name,
            piece_length,
            files,
            pieces,
            tiers: Vec::new(),
            url_list: Vec::new(),
            comment: None,
            created_by: None,
            creation_date: None,
            private: false,
        }
    }

    /// A single-file torrent: `name` is the file name.
    pub fn single_file(
        name: impl Into<String>,
        length: u64,
        piece_length: u32,
        pieces: Vec<[u8; 20]>,
    ) -> Self {
        Self::new(name.into(), piece_length, Files::Single(length), pieces)
    }

    /// A multi-file torrent: `name` is the root directory and each file is
    /// (path components below it, length in bytes), in hashing order.
    pub fn multi_file(
        name: impl Into<String>,
        files: impl IntoIterator<Item = (Vec<String>, u64)>,
        piece_length: u32,
        pieces: Vec<[u8; 20]>,
    ) -> Self {
        let files = Files::Multi(files.into_iter().collect());
        Self::new(name.into(), piece_length, files, pieces)
    }

    /// Tracker tiers (BEP 12). Empty URLs and tiers are dropped. The first URL
    /// is also written as `announce` for clients without BEP 12 support;
    /// `announce-list` is only written when there is more than one URL.
    pub fn announce_tiers(mut self, tiers: Vec<Vec<String>>) -> Self {
        self.tiers = tiers
            .into_iter()
            .map(|tier| tier.into_iter().filter(|u| !u.trim().is_empty()).collect())
            .filter(|tier: &Vec<String>| !tier.is_empty())
            .collect();
        self
    }

    /// Web seed URLs (BEP 19 `url-list`). Empty URLs are dropped.
    pub fn url_list(mut self, urls: Vec<String>) -> Self {
        self.url_list = urls.into_iter().filter(|u| !u.trim().is_empty()).collect();
        self
    }

    /// A free-form comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// The creating program, e.g. `torrix 0.1.0`.
    pub fn created_by(mut self, created_by: impl Into<String>) -> Self {
        self.created_by = Some(created_by.into());
        self
    }

    /// Creation time in seconds since the Unix epoch. Not written unless set,
    /// so that building is reproducible by default.
    pub fn creation_date(mut self, seconds: i64) -> Self {
        self.creation_date = Some(seconds);
        self
    }

    /// The BEP 27 private flag: peers only from the torrent's trackers.
    pub fn private(mut self, private: bool) -> Self {
        self.private = private;
        self
    }

    /// Encodes the torrent and checks the result parses back with
    /// [`Metainfo::from_bytes`], so an invalid name, path, piece length or
    /// hash count is reported here rather than by whoever loads the file.
    pub fn build(&self) -> Result<Vec<u8>, CreateError> {
        let int = |index: usize, length: u64| {
            i64::try_from(length)
                .map(Node::Int)
                .map_err(|_| CreateError::LengthTooLarge { index, length })
        };
        let text = |s: &str| Node::Bytes(s.as_bytes().to_vec());

        let mut info = BTreeMap::new();
        info.insert("name", text(&self.name));
        info.insert("piece length", Node::Int(i64::from(self.piece_length)));
        info.insert("pieces", Node::Bytes(self.pieces.concat()));
        if self.private {
            info.insert("private", Node::Int(1));
        }
        match &self.files {
            Files::Single(length) => {
                info.insert("length", int(0, *length)?);
            }
            Files::Multi(files) => {
                let list = files
                    .iter()
                    .enumerate()
                    .map(|(index, (path, length))| {
                        let path = Node::List(path.iter().map(|c| text(c)).collect());
                        Ok(Node::Dict(BTreeMap::from([
                            ("length", int(index, *length)?),
                            ("path", path),
                        ])))
                    })
                    .collect::<Result<_, CreateError>>()?;
                info.insert("files", Node::List(list));
            }
        }

        let mut top = BTreeMap::new();
        top.insert("info", Node::Dict(info));
        if let Some(first) = self.tiers.first().and_then(|tier| tier.first()) {
            top.insert("announce", text(first));
        }
        if self.tiers.iter().map(Vec::len).sum::<usize>() > 1 {
            let tiers = self
                .tiers
                .iter()
                .map(|tier| Node::List(tier.iter().map(|u| text(u)).collect()))
                .collect();
            top.insert("announce-list", Node::List(tiers));
        }
        if !self.url_list.is_empty() {
            let urls = self.url_list.iter().map(|u| text(u)).collect();
            top.insert("url-list", Node::List(urls));
        }
        if let Some(comment) = &self.comment {
            top.insert("comment", text(comment));
        }
        if let Some(created_by) = &self.created_by {
            top.insert("created by", text(created_by));
        }
        if let Some(date) = self.creation_date {
            top.insert("creation date", Node::Int(date));
        }

        let mut out = Vec::new();
        Node::Dict(top).encode(&mut out);
        Metainfo::from_bytes(&out)?;
        Ok(out)
    }
}

/// A bencode value to write. `BTreeMap` keeps dictionary keys sorted by their
/// bytes, as canonical bencode requires (`&str` orders like its UTF-8 bytes).
enum Node {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Node>),
    Dict(BTreeMap<&'static str, Node>),
}

impl Node {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
            Self::Bytes(b) => encode_bytes(b, out),
            Self::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.encode(out));
                out.push(b'e');
            }
            Self::Dict(entries) => {
                out.push(b'd');
                for (key, value) in entries {
                    encode_bytes(key.as_bytes(), out);
                    value.encode(out);
                }
                out.push(b'e');
            }
        }
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_piece_length_aims_for_1000_to_2000_pieces() {
        assert_eq!(suggested_piece_length(0), MIN_SUGGESTED_PIECE_LENGTH);
        assert_eq!(suggested_piece_length(1), MIN_SUGGESTED_PIECE_LENGTH);
        assert_eq!(suggested_piece_length(u64::MAX), MAX_SUGGESTED_PIECE_LENGTH);
        for total in [100_000_000u64, 1 << 30, 3_000_000_000, 20_000_000_000] {
            let pl = suggested_piece_length(total);
            assert!(pl.is_power_of_two());
            let pieces = total.div_ceil(u64::from(pl));
            assert!(
                (1000..=2000).contains(&pieces),
                "{total}: {pieces} pieces of {pl}"
            );
        }
    }

    #[test]
    fn piece_hasher_is_independent_of_chunking() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let expected: Vec<[u8; 20]> = data
            .chunks(4096)
            .map(|piece| Sha1::digest(piece).into())
            .collect();
        for chunk in [1, 7, 4096, 5000, 10_000] {
            let mut hasher = PieceHasher::new(4096).unwrap();
            data.chunks(chunk).for_each(|c| hasher.update(c));
            assert_eq!(hasher.finish(), expected, "chunk size {chunk}");
        }
        assert_eq!(
            PieceHasher::new(0).unwrap_err(),
            MetainfoError::InvalidPieceLength(0)
        );
    }

    #[test]
    fn encoder_sorts_keys_by_bytes() {
        let mut out = Vec::new();
        Node::Dict(BTreeMap::from([
            ("piece length", Node::Int(-3)),
            ("info", Node::List(vec![Node::Bytes(b"x".to_vec())])),
            ("a", Node::Dict(BTreeMap::new())),
        ]))
        .encode(&mut out);
        assert_eq!(out, b"d1:ade4:infol1:xe12:piece lengthi-3ee");
    }
}
