//! Alerts: what the engine tells its subscribers happened.

use std::net::SocketAddr;

use actix::Message;
use torrix_proto::InfoHash;

/// Identifies a torrent within one engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TorrentId(pub u64);

impl std::fmt::Display for TorrentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An event worth telling a user or a program about. Delivered to every
/// `Recipient<Alert>` registered with [`Subscribe`](crate::Subscribe).
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub enum Alert {
    /// A torrent was added.
    TorrentAdded {
        /// Its id.
        id: TorrentId,
        /// Its name.
        name: String,
        /// Its info-hash.
        info_hash: InfoHash,
    },
    /// Existing data was checked on add.
    Checked {
        /// The torrent.
        id: TorrentId,
        /// Pieces found valid.
        valid_pieces: u32,
        /// Pieces in the torrent.
        total_pieces: u32,
    },
    /// A piece passed its hash check and is on disk.
    PieceVerified {
        /// The torrent.
        id: TorrentId,
        /// The piece.
        piece: u32,
    },
    /// A piece failed its hash check and will be downloaded again.
    HashFailed {
        /// The torrent.
        id: TorrentId,
        /// The piece.
        piece: u32,
        /// The peer that sent it.
        peer: SocketAddr,
    },
    /// A peer completed its handshake.
    PeerConnected {
        /// The torrent.
        id: TorrentId,
        /// Its address.
        addr: SocketAddr,
    },
    /// A peer connection ended.
    PeerDisconnected {
        /// The torrent.
        id: TorrentId,
        /// Its address.
        addr: SocketAddr,
        /// Why, in words.
        reason: String,
    },
    /// Every piece is verified and the files are flushed.
    TorrentComplete {
        /// The torrent.
        id: TorrentId,
    },
    /// The torrent stopped because of an error (for example a full disk).
    /// Verified pieces are kept.
    TorrentError {
        /// The torrent.
        id: TorrentId,
        /// What went wrong.
        error: String,
    },
}
