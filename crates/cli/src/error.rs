//! The CLI's errors and their exit codes.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can make a command fail, each with a message for a person.
#[derive(Debug, Error)]
pub enum CliError {
    /// The torrent file could not be read.
    #[error("cannot read torrent file {path}: {source}")]
    ReadTorrent {
        /// The path given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The torrent file is not a valid torrent.
    #[error("{path} is not a valid torrent: {source}")]
    InvalidTorrent {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        source: torrix_proto::MetainfoError,
    },
    /// `torrix create` (or the torrent `torrix bench` makes) failed.
    #[error(transparent)]
    Create(#[from] crate::commands::create::CreateError),
    /// `torrix bench` failed.
    #[error(transparent)]
    Bench(#[from] crate::commands::bench::BenchError),
    /// A magnet link was given where a file was expected.
    #[error("magnet links are not supported yet: pass the path of a .torrent file")]
    Magnet,
    /// The download directory cannot be used.
    #[error("cannot use download directory {path}: {reason}")]
    DownloadDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The engine refused or failed.
    #[error("{0}")]
    Engine(#[from] torrix::EngineError),
    /// The data directory to seed from is not there.
    #[error("cannot seed {name}: the data directory {dir} does not exist or is not a directory")]
    MissingDataDir {
        /// Torrent name.
        name: String,
        /// The directory given.
        dir: PathBuf,
    },
    /// Seeding needs complete data.
    #[error("cannot seed {name}: {valid} of {total} pieces ({percent:.1}%) of the data in {dir} are valid; the data is missing or corrupt")]
    IncompleteData {
        /// Torrent name.
        name: String,
        /// Valid pieces.
        valid: u32,
        /// All pieces.
        total: u32,
        /// valid / total in percent.
        percent: f64,
        /// Where we looked.
        dir: PathBuf,
    },
    /// The torrent stopped with an error.
    #[error("{0}")]
    Torrent(String),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl CliError {
    /// 2 for mistakes in how the command was called, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Magnet => 2,
            _ => 1,
        }
    }
}
