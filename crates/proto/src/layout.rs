//! Piece and block arithmetic: where a piece's bytes live across the files, how a
//! piece splits into 16 KiB blocks, and the short last piece.

use std::ops::Range;

use crate::metainfo::Metainfo;

/// The block size every client requests: 16 KiB (BEP 3 recommends it, and most
/// clients refuse larger requests).
pub const BLOCK_LEN: u32 = 16 * 1024;

/// A block of a piece: the unit of a `request` and a `piece` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Piece index.
    pub piece: u32,
    /// Byte offset within the piece.
    pub offset: u32,
    /// Length in bytes (16 KiB except possibly the last block of the last piece).
    pub len: u32,
}

/// A contiguous run of torrent bytes inside one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSpan {
    /// Index into the torrent's file list.
    pub file_index: usize,
    /// Offset within that file.
    pub file_offset: u64,
    /// Length of the run in bytes (never 0).
    pub len: u64,
}

/// The shape of a torrent's data: piece length, total length and file boundaries.
/// Cheap to clone; owns no file handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    piece_length: u32,
    total_length: u64,
    piece_count: u32,
    /// (offset, length) of each file, in torrent order.
    files: Vec<(u64, u64)>,
}

impl Layout {
    /// A layout from a piece length and the files' lengths in torrent order.
    ///
    /// `piece_length` must be non-zero and the piece count must fit in a `u32`;
    /// [`Metainfo::from_bytes`] guarantees both.
    pub fn new(piece_length: u32, file_lengths: impl IntoIterator<Item = u64>) -> Self {
        assert!(piece_length > 0, "piece length must be non-zero");
        let mut offset = 0u64;
        let files: Vec<(u64, u64)> = file_lengths
            .into_iter()
            .map(|len| {
                let entry = (offset, len);
                offset += len;
                entry
            })
            .collect();
        let piece_count = offset.div_ceil(u64::from(piece_length));
        Layout {
            piece_length,
            total_length: offset,
            piece_count: u32::try_from(piece_count).expect("piece count fits in u32"),
            files,
        }
    }

    /// The layout of a parsed torrent.
    pub fn from_metainfo(meta: &Metainfo) -> Self {
        Self::new(meta.piece_length, meta.files.iter().map(|f| f.length))
    }

    /// Nominal piece length.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Total payload bytes.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Number of files (zero-length ones included).
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Length of file `index`.
    pub fn file_length(&self, index: usize) -> u64 {
        self.files[index].1
    }

    /// Offset of the first byte of `piece` in the torrent's data.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_length)
    }

    /// Length of `piece`: the nominal length, or less for the last piece.
    /// Returns 0 for a piece index out of range.
    pub fn piece_len(&self, piece: u32) -> u32 {
        if piece >= self.piece_count {
            return 0;
        }
        let start = self.piece_offset(piece);
        let end = (start + u64::from(self.piece_length)).min(self.total_length);
        (end - start) as u32
    }

    /// Number of 16 KiB blocks in `piece`.
    pub fn block_count(&self, piece: u32) -> u32 {
        self.piece_len(piece).div_ceil(BLOCK_LEN)
    }

    /// Block number `index` of `piece`.
    pub fn block(&self, piece: u32, index: u32) -> BlockRef {
        let offset = index * BLOCK_LEN;
        let len = BLOCK_LEN.min(self.piece_len(piece).saturating_sub(offset));
        BlockRef { piece, offset, len }
    }

    /// All blocks of `piece`, in order.
    pub fn blocks(&self, piece: u32) -> impl Iterator<Item = BlockRef> + '_ {
        (0..self.block_count(piece)).map(move |i| self.block(piece, i))
    }

    /// Whether a request for `len` bytes at `offset` of `piece` stays inside the
    /// piece and is no larger than `max_len` (and not empty).
    pub fn is_valid_request(&self, piece: u32, offset: u32, len: u32, max_len: u32) -> bool {
        let piece_len = self.piece_len(piece);
        len > 0
            && len <= max_len
            && piece_len > 0
            && u64::from(offset) + u64::from(len) <= u64::from(piece_len)
    }

    /// The file runs covering `len` bytes starting at torrent offset `offset`.
    /// Zero-length files never appear. Bytes past the end are ignored.
    pub fn spans(&self, offset: u64, len: u64) -> Spans<'_> {
        let end = offset.saturating_add(len).min(self.total_length);
        // First file whose end lies beyond `offset`.
        let first = self.files.partition_point(|&(o, l)| o + l <= offset);
        Spans {
            files: &self.files,
            next_file: first,
            pos: offset,
            end,
        }
    }

    /// The file runs covering `piece`.
    pub fn piece_spans(&self, piece: u32) -> Spans<'_> {
        self.spans(self.piece_offset(piece), u64::from(self.piece_len(piece)))
    }

    /// The pieces that hold bytes of file `index` (empty for a zero-length file).
    pub fn file_pieces(&self, index: usize) -> Range<u32> {
        let (offset, len) = self.files[index];
        if len == 0 {
            return 0..0;
        }
        let pl = u64::from(self.piece_length);
        let first = (offset / pl) as u32;
        let last = ((offset + len - 1) / pl) as u32;
        first..last + 1
    }
}

/// Iterator over the [`FileSpan`]s of a byte range; see [`Layout::spans`].
#[derive(Clone, Debug)]
pub struct Spans<'a> {
    files: &'a [(u64, u64)],
    next_file: usize,
    pos: u64,
    end: u64,
}

impl Iterator for Spans<'_> {
    type Item = FileSpan;

    fn next(&mut self) -> Option<FileSpan> {
        while self.pos < self.end {
            let &(file_start, file_len) = self.files.get(self.next_file)?;
            let index = self.next_file;
            self.next_file += 1;
            let file_end = file_start + file_len;
            if file_end <= self.pos {
                continue; // zero-length file, or one before the range
            }
            let run_end = file_end.min(self.end);
            let span = FileSpan {
                file_index: index,
                file_offset: self.pos - file_start,
                len: run_end - self.pos,
            };
            self.pos = run_end;
            return Some(span);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_last_piece_and_blocks() {
        let l = Layout::new(32 * 1024, [70_000]);
        assert_eq!(l.piece_count(), 3);
        assert_eq!(l.piece_len(0), 32768);
        assert_eq!(l.piece_len(2), 70_000 - 65536);
        assert_eq!(l.piece_len(3), 0);
        assert_eq!(l.block_count(2), 1);
        assert_eq!(
            l.block(2, 0),
            BlockRef {
                piece: 2,
                offset: 0,
                len: 4464
            }
        );
        let blocks: Vec<_> = l.blocks(0).collect();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].offset, 16384);
    }

    #[test]
    fn spans_cross_files_and_skip_empty_ones() {
        // files: 10 bytes, 0 bytes, 5 bytes, 0 bytes, 20 bytes; piece length 8
        let l = Layout::new(8, [10, 0, 5, 0, 20]);
        assert_eq!(l.total_length(), 35);
        assert_eq!(l.piece_count(), 5);
        let spans: Vec<_> = l.piece_spans(1).collect();
        assert_eq!(
            spans,
            vec![
                FileSpan {
                    file_index: 0,
                    file_offset: 8,
                    len: 2
                },
                FileSpan {
                    file_index: 2,
                    file_offset: 0,
                    len: 5
                },
                FileSpan {
                    file_index: 4,
                    file_offset: 0,
                    len: 1
                },
            ]
        );
        let last: Vec<_> = l.piece_spans(4).collect();
        assert_eq!(
            last,
            vec![FileSpan {
                file_index: 4,
                file_offset: 17,
                len: 3
            }]
        );
        assert_eq!(l.file_pieces(1), 0..0);
        assert_eq!(l.file_pieces(2), 1..2);
        assert_eq!(l.file_pieces(4), 1..5);
    }

    #[test]
    fn requests_are_bounded_by_piece() {
        let l = Layout::new(32 * 1024, [40_000]);
        assert!(l.is_valid_request(0, 16384, 16384, BLOCK_LEN));
        assert!(!l.is_valid_request(0, 16385, 16384, BLOCK_LEN));
        assert!(!l.is_valid_request(1, 0, 16384, BLOCK_LEN)); // last piece is 7232 bytes
        assert!(l.is_valid_request(1, 0, 7232, BLOCK_LEN));
        assert!(!l.is_valid_request(2, 0, 1, BLOCK_LEN));
        assert!(!l.is_valid_request(0, 0, 0, BLOCK_LEN));
        assert!(!l.is_valid_request(0, u32::MAX, 1, BLOCK_LEN));
    }

    #[test]
    fn spans_total_equals_piece_len() {
        let l = Layout::new(16384, [1, 0, 16383, 16385, 7, 0]);
        for p in 0..l.piece_count() {
            let sum: u64 = l.piece_spans(p).map(|s| s.len).sum();
            assert_eq!(sum, u64::from(l.piece_len(p)));
        }
    }
}
