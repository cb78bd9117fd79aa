//! [`DiskError`]: what can go wrong on the disk, with the path involved so that a
//! user sees *which* file is the problem.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// An error from [`Storage`](super::Storage) or the [`Disk`](super::Disk) actor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiskError {
    /// The device (or the user's quota) is full. Reported separately from
    /// [`DiskError::Io`] because it is the one error a user can act on at once.
    #[error("no space left on device while writing {path}")]
    NoSpace {
        /// The file being written.
        path: PathBuf,
    },
    /// The process may not open or write the file.
    #[error("permission denied: {path}")]
    PermissionDenied {
        /// The file or directory refused.
        path: PathBuf,
    },
    /// The file does not exist or is shorter than the torrent says, so the
    /// requested data is not on disk.
    #[error("data not on disk: {path} is missing or too short")]
    Missing {
        /// The missing or short file.
        path: PathBuf,
    },
    /// A torrent path would escape the download directory (absolute, `..`, a
    /// root or prefix component) or is empty.
    #[error("unsafe path in torrent: {path:?}")]
    UnsafePath {
        /// The offending path as given.
        path: PathBuf,
    },
    /// Two files of the torrent have the same path, or one file's path is a
    /// directory another file needs: writing both would mix their data.
    #[error("conflicting paths in torrent: {path:?} is used by two files")]
    ConflictingPaths {
        /// The path claimed twice (relative to the download directory).
        path: PathBuf,
    },
    /// The data handed to a write is not exactly one piece long.
    #[error("piece {piece}: got {got} bytes, the piece is {expected} bytes")]
    BadLength {
        /// Piece index.
        piece: u32,
        /// The piece's length.
        expected: u64,
        /// Bytes supplied.
        got: u64,
    },
    /// A piece index past the end of the torrent (or of the expected hashes).
    #[error("piece {piece} out of range (torrent has {piece_count} pieces)")]
    BadPiece {
        /// Piece index.
        piece: u32,
        /// Number of pieces.
        piece_count: u32,
    },
    /// A read range that is empty, longer than a block, or crosses the piece end.
    #[error("invalid read of {len} bytes at offset {offset} of piece {piece}")]
    BadRange {
        /// Piece index.
        piece: u32,
        /// Offset within the piece.
        offset: u32,
        /// Requested length.
        len: u32,
    },
    /// The number of paths does not match the layout's file count.
    #[error("{paths} file paths given for a layout of {files} files")]
    FileCount {
        /// Files in the layout.
        files: usize,
        /// Paths supplied.
        paths: usize,
    },
    /// Any other I/O error.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The Disk actor's workers are gone (the system is shutting down).
    #[error("disk actor stopped")]
    Stopped,
}

impl DiskError {
    /// Classifies an I/O error on `path`: ENOSPC/EDQUOT → [`DiskError::NoSpace`],
    /// EACCES/EPERM → [`DiskError::PermissionDenied`], ENOENT →
    /// [`DiskError::Missing`], anything else → [`DiskError::Io`].
    pub(crate) fn from_io(path: &std::path::Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ENOSPC | Errno::EDQUOT) => DiskError::NoSpace { path },
            Some(Errno::EACCES | Errno::EPERM) => DiskError::PermissionDenied { path },
            Some(Errno::ENOENT) => DiskError::Missing { path },
            _ => DiskError::Io { path, source },
        }
    }

    /// Like [`DiskError::from_io`] for a `nix` errno.
    pub(crate) fn from_errno(path: &std::path::Path, errno: Errno) -> Self {
        Self::from_io(path, io::Error::from(errno))
    }
}
