//! Messages between a Torrent actor and its Peer actors.
//!
//! Peers report what they learn (handshake, bitfield, haves, interest, rates)
//! and ask for work; the Torrent answers with piece assignments and tells peers
//! what we now have, whom to choke, and whom to drop. Block data never passes
//! through the Torrent: a peer sends a finished piece straight to the Disk.

use std::net::SocketAddr;

use actix::Message;
use bytes::Bytes;
use torrix_proto::wire::Handshake;
use torrix_proto::{Bitfield, PeerId};

use crate::peer::PartialPiece;

/// A peer connection's number within its torrent.
pub type PeerKey = u64;

/// Peer → Torrent: the handshake completed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerConnected {
    /// Which connection.
    pub key: PeerKey,
    /// The remote's peer id.
    pub peer_id: PeerId,
    /// Whether it speaks the fast extension.
    pub fast: bool,
}

/// Peer → Torrent: the peer's full set of pieces (bitfield, have all or have none).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerBitfield {
    /// Which connection.
    pub key: PeerKey,
    /// Its pieces.
    pub bitfield: Bitfield,
}

/// Peer → Torrent: the peer announced one more piece.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerHave {
    /// Which connection.
    pub key: PeerKey,
    /// The piece.
    pub piece: u32,
}

/// Peer → Torrent: the peer became interested or not interested in us.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerInterest {
    /// Which connection.
    pub key: PeerKey,
    /// Interested?
    pub interested: bool,
}

/// A piece given to a peer to download, with any blocks already received from
/// an earlier peer.
#[derive(Debug)]
pub struct Assignment {
    /// Piece index.
    pub piece: u32,
    /// Blocks already here, one entry per block.
    pub partial: Option<Vec<Option<Bytes>>>,
}

/// Peer → Torrent: give me up to `max` pieces to download.
#[derive(Message)]
#[rtype(result = "Vec<Assignment>")]
pub struct RequestPieces {
    /// Which connection.
    pub key: PeerKey,
    /// At most this many.
    pub max: u32,
    /// Requests the peer has in flight: endgame duplicates go only to peers
    /// that are nearly idle.
    pub inflight: u32,
    /// While the remote chokes us, only these pieces (its BEP 6 allowed-fast
    /// set) may be downloaded from it; `None` when unchoked.
    pub only: Option<Vec<u32>>,
}

/// Peer → Torrent: I stop downloading these pieces (choked or timed out); here
/// is what arrived so far.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleasePieces {
    /// Which connection.
    pub key: PeerKey,
    /// The pieces with their received blocks.
    pub pieces: Vec<PartialPiece>,
}

/// Peer → Torrent, once a second: payload moved since the last report.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerTick {
    /// Which connection.
    pub key: PeerKey,
    /// Payload bytes received since the last tick.
    pub downloaded: u64,
    /// Payload bytes sent since the last tick.
    pub uploaded: u64,
}

/// Peer → Torrent: the connection ended. Sent exactly once, from `stopped`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerGone {
    /// Which connection.
    pub key: PeerKey,
    /// Why, in words.
    pub reason: String,
    /// Whether the handshake had completed.
    pub was_connected: bool,
    /// Pieces it was downloading, with what had arrived.
    pub partials: Vec<PartialPiece>,
}

/// Disk (via the peer's write task) → Torrent: a piece was hashed and written.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PieceWritten {
    /// The connection that downloaded it.
    pub key: PeerKey,
    /// Its address (the connection may be gone by now).
    pub addr: SocketAddr,
    /// The piece.
    pub piece: u32,
    /// Payload bytes the connection received since its last report.
    pub downloaded: u64,
    /// `Ok(true)`: verified and on disk; `Ok(false)`: hash mismatch, not
    /// written; `Err`: the disk failed.
    pub result: Result<bool, String>,
}

/// Engine → Torrent: an incoming connection whose handshake names this torrent.
#[derive(Message)]
#[rtype(result = "()")]
pub struct IncomingPeer {
    /// The socket (detached from the listener's thread).
    pub stream: std::net::TcpStream,
    /// Remote address.
    pub addr: SocketAddr,
    /// The remote's handshake.
    pub handshake: Handshake,
}

/// Torrent → Peer: we verified a piece (send `have`, cancel it if in progress).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct WeHave {
    /// The piece.
    pub piece: u32,
}

/// Torrent → Peer: choke or unchoke the remote.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct SetChoke {
    /// True to choke.
    pub choke: bool,
    /// With an unchoke: payload bytes after which the peer reports
    /// [`QuotaReached`] (a seed's round-robin slot); `None`: no quota.
    pub quota: Option<u64>,
}

/// Peer → Torrent: the peer has been sent its slot's quota since it was
/// unchoked; the slot may go to a peer that is waiting.
#[derive(Message)]
#[rtype(result = "()")]
pub struct QuotaReached {
    /// Which connection.
    pub key: PeerKey,
}

/// Torrent → Peer: close the connection.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Disconnect {
    /// Why, for the log.
    pub reason: String,
}
