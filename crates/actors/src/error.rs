//! Errors of the engine's public API.

use std::net::SocketAddr;

use thiserror::Error;

use crate::alert::TorrentId;

/// Why an engine request failed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// No torrent with this id.
    #[error("no torrent {0}")]
    UnknownTorrent(TorrentId),
    /// The torrent is already in the engine.
    #[error("torrent {0} is already added")]
    DuplicateTorrent(String),
    /// The torrent's storage could not be prepared.
    #[error(transparent)]
    Disk(#[from] crate::disk::DiskError),
    /// No tracker answered.
    #[error("tracker: {0}")]
    Tracker(#[from] crate::tracker::TrackerError),
    /// The engine is shutting down or an actor is gone.
    #[error("the engine is shutting down")]
    ShuttingDown,
}
