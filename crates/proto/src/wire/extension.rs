//! BEP 10 extension handshake: the dictionary sent as extended message 0
//! right after the BitTorrent handshake to peers that set the extension bit.
//!
//! torrix registers no extension messages yet; it uses the handshake to tell
//! the peer how many requests it queues (`reqq`), its listen port and client
//! name, and to learn the same from the peer.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bencode;

/// Extended message id of the extension handshake.
pub const EXTENSION_HANDSHAKE_ID: u8 = 0;

/// The fields of an extension handshake torrix reads and writes. Unknown keys
/// are ignored when decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionHandshake {
    /// Extension names → the message ids the sender wants them on.
    #[serde(default)]
    pub m: BTreeMap<String, i64>,
    /// The sender's listen port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<i64>,
    /// How many outstanding requests the sender queues before dropping some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reqq: Option<i64>,
    /// Client name and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
}

/// Why an extension handshake was refused.
#[derive(Debug, Error)]
pub enum ExtensionError {
    /// Not well-formed bencode (or nested too deep).
    #[error("extension handshake is not valid bencode: {0}")]
    Bencode(#[from] bencode::BencodeError),
    /// Well-formed, but not a dictionary of the expected shape.
    #[error("extension handshake has an unexpected shape: {0}")]
    Shape(String),
}

impl ExtensionHandshake {
    /// Decodes the payload of extended message 0. Depth and structure are
    /// checked by the bounded scanner before anything is deserialized.
    pub fn decode(payload: &[u8]) -> Result<Self, ExtensionError> {
        bencode::validate(payload)?;
        serde_bencode::from_bytes(payload).map_err(|e| ExtensionError::Shape(e.to_string()))
    }

    /// The bencoded payload (keys sorted, as bencode requires).
    pub fn encode(&self) -> Bytes {
        Bytes::from(
            serde_bencode::to_bytes(self).expect("a map of strings and integers always encodes"),
        )
    }

    /// `reqq` as a usable bound: positive values only, capped at `cap`.
    pub fn request_queue(&self, cap: u32) -> Option<u32> {
        self.reqq
            .filter(|&q| q > 0)
            .map(|q| q.min(i64::from(cap)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_sorted_keys() {
        let hs = ExtensionHandshake {
            p: Some(6881),
            reqq: Some(2000),
            v: Some("torrix 0.1.0".into()),
            ..Default::default()
        };
        let bytes = hs.encode();
        assert_eq!(
            &bytes[..],
            b"d1:mde1:pi6881e4:reqqi2000e1:v12:torrix 0.1.0e"
        );
        assert_eq!(ExtensionHandshake::decode(&bytes).unwrap(), hs);
    }

    #[test]
    fn reads_libtorrent_style_handshakes_and_ignores_unknown_keys() {
        let lt = b"d12:complete_agoi-1e1:md11:lt_donthavei7e6:ut_pexi1ee1:pi6881e4:reqqi500e6:yourip4:\x7f\0\0\x01e";
        let hs = ExtensionHandshake::decode(lt).unwrap();
        assert_eq!(hs.m.get("ut_pex"), Some(&1));
        assert_eq!(hs.request_queue(1000), Some(500));
        assert_eq!(hs.request_queue(100), Some(100));
    }

    #[test]
    fn hostile_payloads_are_errors_not_crashes() {
        let deep = format!("{}{}", "l".repeat(100_000), "e".repeat(100_000));
        assert!(matches!(
            ExtensionHandshake::decode(deep.as_bytes()),
            Err(ExtensionError::Bencode(_))
        ));
        assert!(ExtensionHandshake::decode(b"i42e").is_err());
        assert!(ExtensionHandshake::decode(b"d1:mi3ee").is_err());
        assert!(ExtensionHandshake::decode(b"d4:reqqi-5ee")
            .unwrap()
            .request_queue(10)
            .is_none());
    }
}
