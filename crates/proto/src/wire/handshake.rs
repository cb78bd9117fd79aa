//! The 68-byte handshake that opens every peer connection.

use bytes::{BufMut, BytesMut};

use super::WireError;
use crate::{InfoHash, PeerId};

/// The protocol string with its length prefix.
pub const PROTOCOL: &[u8; 20] = b"\x13BitTorrent protocol";

/// Bytes in a handshake.
pub const HANDSHAKE_LEN: usize = 68;

/// The eight reserved bytes, where extensions advertise themselves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reserved(pub [u8; 8]);

impl Reserved {
    /// What torrix advertises: the extension protocol (BEP 10) and the fast
    /// extension (BEP 6).
    pub const TORRIX: Reserved = Reserved([0, 0, 0, 0, 0, 0x10, 0, 0x04]);

    /// BEP 10 extension protocol.
    pub fn extension_protocol(&self) -> bool {
        self.0[5] & 0x10 != 0
    }

    /// BEP 6 fast extension.
    pub fn fast(&self) -> bool {
        self.0[7] & 0x04 != 0
    }

    /// BEP 5 DHT (the peer sends `port` messages).
    pub fn dht(&self) -> bool {
        self.0[7] & 0x01 != 0
    }

    /// Sets or clears the BEP 10 bit.
    pub fn with_extension_protocol(mut self, on: bool) -> Self {
        set_bit(&mut self.0[5], 0x10, on);
        self
    }

    /// Sets or clears the BEP 6 bit.
    pub fn with_fast(mut self, on: bool) -> Self {
        set_bit(&mut self.0[7], 0x04, on);
        self
    }

    /// Sets or clears the DHT bit.
    pub fn with_dht(mut self, on: bool) -> Self {
        set_bit(&mut self.0[7], 0x01, on);
        self
    }
}

fn set_bit(byte: &mut u8, mask: u8, on: bool) {
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
}

/// A decoded handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// Extension bits.
    pub reserved: Reserved,
    /// The torrent the connection is about.
    pub info_hash: InfoHash,
    /// The remote peer's id.
    pub peer_id: PeerId,
}

impl Handshake {
    /// A handshake with torrix's reserved bits.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Self {
        Handshake {
            reserved: Reserved::TORRIX,
            info_hash,
            peer_id,
        }
    }

    /// Appends the 68 wire bytes to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(HANDSHAKE_LEN);
        buf.put_slice(PROTOCOL);
        buf.put_slice(&self.reserved.0);
        buf.put_slice(&self.info_hash.0);
        buf.put_slice(&self.peer_id.0);
    }

    /// The 68 wire bytes.
    pub fn to_bytes(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved.0);
        out[28..48].copy_from_slice(&self.info_hash.0);
        out[48..].copy_from_slice(&self.peer_id.0);
        out
    }

    /// Decodes a handshake from the front of `buf`, consuming it. Returns
    /// `Ok(None)` until all 68 bytes are there, and fails as soon as the bytes
    /// seen so far cannot be a handshake (so a stranger is dropped early).
    pub fn decode(buf: &mut BytesMut) -> Result<Option<Handshake>, WireError> {
        let seen = buf.len().min(PROTOCOL.len());
        if buf[..seen] != PROTOCOL[..seen] {
            return Err(WireError::BadProtocol);
        }
        if buf.len() < HANDSHAKE_LEN {
            return Ok(None);
        }
        let bytes = buf.split_to(HANDSHAKE_LEN);
        Self::parse(&bytes).map(Some)
    }

    /// Parses exactly one handshake from the first 68 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Handshake, WireError> {
        if bytes.len() < HANDSHAKE_LEN || &bytes[..20] != PROTOCOL {
            return Err(WireError::BadProtocol);
        }
        let mut reserved = [0u8; 8];
        reserved.copy_from_slice(&bytes[20..28]);
        let mut info_hash = [0u8; 20];
        info_hash.copy_from_slice(&bytes[28..48]);
        let mut peer_id = [0u8; 20];
        peer_id.copy_from_slice(&bytes[48..68]);
        Ok(Handshake {
            reserved: Reserved(reserved),
            info_hash: InfoHash(info_hash),
            peer_id: PeerId(peer_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bits() {
        let hs = Handshake::new(InfoHash([7; 20]), PeerId([b'a'; 20]));
        assert!(hs.reserved.fast() && hs.reserved.extension_protocol() && !hs.reserved.dht());
        let mut buf = BytesMut::new();
        hs.encode(&mut buf);
        assert_eq!(&buf[..], &hs.to_bytes()[..]);
        buf.extend_from_slice(b"next");
        assert_eq!(Handshake::decode(&mut buf), Ok(Some(hs)));
        assert_eq!(&buf[..], b"next");
        let r = Reserved::default()
            .with_dht(true)
            .with_fast(true)
            .with_fast(false);
        assert!(r.dht() && !r.fast());
    }

    #[test]
    fn partial_and_bad() {
        let hs = Handshake::new(InfoHash([1; 20]), PeerId([2; 20])).to_bytes();
        let mut partial = BytesMut::from(&hs[..30]);
        assert_eq!(Handshake::decode(&mut partial), Ok(None));
        assert_eq!(partial.len(), 30);
        let mut bad = BytesMut::from(&b"\x13BitTorrent protocoX"[..]);
        assert_eq!(Handshake::decode(&mut bad), Err(WireError::BadProtocol));
        let mut early = BytesMut::from(&b"GET / HTTP/1.1"[..]);
        assert_eq!(Handshake::decode(&mut early), Err(WireError::BadProtocol));
        assert_eq!(Handshake::parse(&hs[..67]), Err(WireError::BadProtocol));
    }
}
