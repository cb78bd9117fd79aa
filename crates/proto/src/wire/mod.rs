//! The peer wire protocol: BEP 3 messages, BEP 6 fast extension, the BEP 10
//! extension envelope.
//!
//! [`Handshake`] is the fixed 68-byte greeting. After it, [`Decoder`] turns a
//! stream of bytes into [`Message`]s, and [`encode`] writes them back.

mod codec;
mod extension;
mod fast;
mod handshake;
mod message;

pub use codec::{encode, encode_piece_header, Decoder, DEFAULT_MAX_MESSAGE_LEN};
pub use extension::{ExtensionError, ExtensionHandshake, EXTENSION_HANDSHAKE_ID};
pub use fast::allowed_fast_set;
pub use handshake::{Handshake, Reserved, HANDSHAKE_LEN, PROTOCOL};
pub use message::{Message, MessageId};

use thiserror::Error;

/// Why bytes from a peer were refused. Every variant means the peer broke the
/// protocol; the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The handshake did not start with `\x13BitTorrent protocol`.
    #[error("not a BitTorrent handshake")]
    BadProtocol,
    /// A length prefix larger than the configured maximum; refused before buffering.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLong {
        /// Announced length.
        len: u32,
        /// Configured maximum.
        max: u32,
    },
    /// A known message whose payload has the wrong size.
    #[error("{id:?} message with a payload of {len} bytes")]
    BadPayloadLength {
        /// Which message.
        id: MessageId,
        /// Payload bytes received.
        len: u32,
    },
    /// A message id this implementation does not know.
    #[error("unknown message id {0}")]
    UnknownMessageId(u8),
}
