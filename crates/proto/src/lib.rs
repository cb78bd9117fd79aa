//! # torrix-proto
//!
//! The BitTorrent wire formats and small protocol state machines, **sans-IO**:
//! bytes in, typed values out. No sockets, no files, no async runtime. A tracker,
//! a crawler or another client can use this crate on its own.
//!
//! What is here:
//! - [`metainfo`]: `.torrent` parsing and validation (BEP 3, 12, 27), with the
//!   v1 info-hash taken over the info dictionary's exact bytes.
//! - [`layout`]: piece ↔ file arithmetic, 16 KiB blocks.
//! - [`wire`]: the peer wire protocol (BEP 3, BEP 6 fast extension, BEP 10
//!   envelope): handshake, messages, a streaming decoder and an encoder.
//! - [`bitfield`]: a validated piece bitfield.
//! - [`create`]: building a `.torrent` from a file list and piece hashes.
//! - [`tracker`]: HTTP (BEP 3, 23) and UDP (BEP 15) tracker formats.
//! - [`peer_id`]: Azureus-style peer ids.
//!
//! ```
//! use torrix_proto::wire::{Decoder, Message, encode};
//! use bytes::BytesMut;
//!
//! let mut buf = BytesMut::new();
//! encode(&Message::Have { piece: 7 }, &mut buf);
//! let mut decoder = Decoder::new(1 << 17);
//! assert_eq!(decoder.decode(&mut buf).unwrap(), Some(Message::Have { piece: 7 }));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bencode;
pub mod bitfield;
pub mod create;
pub mod layout;
pub mod metainfo;
pub mod peer_id;
pub mod tracker;
pub mod wire;

pub use bitfield::{Bitfield, BitfieldError};
pub use create::{CreateError, TorrentBuilder};
pub use layout::{BlockRef, FileSpan, Layout, BLOCK_LEN};
pub use metainfo::{FileEntry, InfoHash, Metainfo, MetainfoError};
pub use peer_id::PeerId;
