//! The messages exchanged after the handshake.

use bytes::Bytes;

use crate::layout::BlockRef;

/// The one-byte id that follows a message's length prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageId {
    /// BEP 3.
    Choke = 0,
    /// BEP 3.
    Unchoke = 1,
    /// BEP 3.
    Interested = 2,
    /// BEP 3.
    NotInterested = 3,
    /// BEP 3.
    Have = 4,
    /// BEP 3.
    Bitfield = 5,
    /// BEP 3.
    Request = 6,
    /// BEP 3.
    Piece = 7,
    /// BEP 3.
    Cancel = 8,
    /// BEP 5 (DHT port).
    Port = 9,
    /// BEP 6.
    Suggest = 13,
    /// BEP 6.
    HaveAll = 14,
    /// BEP 6.
    HaveNone = 15,
    /// BEP 6.
    Reject = 16,
    /// BEP 6.
    AllowedFast = 17,
    /// BEP 10.
    Extended = 20,
}

impl MessageId {
    /// The id for a wire byte, if known.
    pub fn from_u8(id: u8) -> Option<MessageId> {
        use MessageId::*;
        Some(match id {
            0 => Choke,
            1 => Unchoke,
            2 => Interested,
            3 => NotInterested,
            4 => Have,
            5 => Bitfield,
            6 => Request,
            7 => Piece,
            8 => Cancel,
            9 => Port,
            13 => Suggest,
            14 => HaveAll,
            15 => HaveNone,
            16 => Reject,
            17 => AllowedFast,
            20 => Extended,
            _ => return None,
        })
    }
}

/// A peer wire message. Payloads that can be large (`bitfield`, `piece`,
/// `extended`) are [`Bytes`] slices of the receive buffer: no copy is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A zero-length message that keeps an idle connection open.
    KeepAlive,
    /// The sender will not answer our requests.
    Choke,
    /// The sender will answer our requests.
    Unchoke,
    /// The sender wants pieces we have.
    Interested,
    /// The sender wants nothing from us.
    NotInterested,
    /// The sender has verified a piece.
    Have {
        /// Piece index.
        piece: u32,
    },
    /// The sender's pieces, sent right after the handshake. Validate it against
    /// the torrent with [`crate::Bitfield::from_bytes`].
    Bitfield(Bytes),
    /// Asks for a block.
    Request(BlockRef),
    /// A block of data.
    Piece {
        /// Piece index.
        piece: u32,
        /// Offset within the piece.
        offset: u32,
        /// The data.
        data: Bytes,
    },
    /// Withdraws a request.
    Cancel(BlockRef),
    /// The sender's DHT port (BEP 5).
    Port(u16),
    /// BEP 6: the sender suggests we download this piece.
    Suggest {
        /// Piece index.
        piece: u32,
    },
    /// BEP 6: the sender has every piece.
    HaveAll,
    /// BEP 6: the sender has no piece.
    HaveNone,
    /// BEP 6: the sender will not answer this request.
    Reject(BlockRef),
    /// BEP 6: we may request this piece even while choked.
    AllowedFast {
        /// Piece index.
        piece: u32,
    },
    /// BEP 10: an extension message. `id` 0 is the extension handshake.
    Extended {
        /// Extended message id.
        id: u8,
        /// Bencoded (or extension-specific) payload.
        payload: Bytes,
    },
}

impl Message {
    /// The wire id, or `None` for a keep-alive.
    pub fn id(&self) -> Option<MessageId> {
        use Message::*;
        Some(match self {
            KeepAlive => return None,
            Choke => MessageId::Choke,
            Unchoke => MessageId::Unchoke,
            Interested => MessageId::Interested,
            NotInterested => MessageId::NotInterested,
            Have { .. } => MessageId::Have,
            Bitfield(_) => MessageId::Bitfield,
            Request(_) => MessageId::Request,
            Piece { .. } => MessageId::Piece,
            Cancel(_) => MessageId::Cancel,
            Port(_) => MessageId::Port,
            Suggest { .. } => MessageId::Suggest,
            HaveAll => MessageId::HaveAll,
            HaveNone => MessageId::HaveNone,
            Reject(_) => MessageId::Reject,
            AllowedFast { .. } => MessageId::AllowedFast,
            Extended { .. } => MessageId::Extended,
        })
    }

    /// Bytes this message takes on the wire, length prefix included.
    pub fn wire_len(&self) -> usize {
        use Message::*;
        4 + match self {
            KeepAlive => 0,
            Choke | Unchoke | Interested | NotInterested | HaveAll | HaveNone => 1,
            Have { .. } | Suggest { .. } | AllowedFast { .. } => 5,
            Bitfield(bits) => 1 + bits.len(),
            Request(_) | Cancel(_) | Reject(_) => 13,
            Piece { data, .. } => 9 + data.len(),
            Port(_) => 3,
            Extended { payload, .. } => 2 + payload.len(),
        }
    }
}
