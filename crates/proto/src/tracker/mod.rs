//! Tracker wire formats: HTTP (BEP 3, BEP 23 compact peers, BEP 7 `peers6`)
//! and UDP (BEP 15).
//!
//! Sans-IO: [`http`] builds announce and scrape URLs and parses bencoded
//! bodies; [`udp`] encodes and parses the binary datagrams. Neither touches a
//! socket. Both produce the same [`AnnounceResponse`] and [`ScrapeStats`], so a
//! client handles results without caring which transport carried them.
//!
//! Every parser takes bytes straight from the network and never panics: bad
//! input becomes a [`TrackerError`]. Values a hostile tracker could use to hurt
//! a client are bounded: peer lists are capped ([`MAX_PEERS`]) and intervals
//! clamped ([`MAX_INTERVAL`]).
//!
//! ```
//! use torrix_proto::tracker::{http, AnnounceRequest, Event};
//! use torrix_proto::{InfoHash, PeerId};
//!
//! let mut req = AnnounceRequest::new(InfoHash([0xab; 20]), PeerId([b'x'; 20]), 6881);
//! req.left = 1000;
//! req.event = Some(Event::Started);
//! let url = http::announce_url("http://tracker.example/announce", &req);
//! assert!(url.starts_with("http://tracker.example/announce?info_hash=%AB%AB"));
//!
//! let body = b"d8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e";
//! let resp = http::parse_announce_response(body).unwrap();
//! assert_eq!(resp.peers, vec!["127.0.0.1:6881".parse().unwrap()]);
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::{InfoHash, PeerId};

mod bdecode;
pub mod http;
pub mod udp;

/// The most peers taken from one announce response; the rest are dropped.
///
/// 2000 is far more than a client connects to at once and bounds the memory a
/// single response can make a client hold.
pub const MAX_PEERS: usize = 2000;

/// Longest re-announce interval accepted from a tracker; larger values are
/// clamped. A tracker answering "come back in 68 years" must not make a
/// torrent go silent forever.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// The `event` of an announce (BEP 3). `None` in [`AnnounceRequest::event`]
/// is a regular re-announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The first announce for a download.
    Started,
    /// The download finished (sent once, not when starting as a seed).
    Completed,
    /// The client is leaving the swarm.
    Stopped,
}

impl Event {
    /// The value of the HTTP `event` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Completed => "completed",
            Event::Stopped => "stopped",
        }
    }

    /// The BEP 15 event code (0 is "none").
    pub fn udp_code(event: Option<Event>) -> u32 {
        match event {
            None => 0,
            Some(Event::Completed) => 1,
            Some(Event::Started) => 2,
            Some(Event::Stopped) => 3,
        }
    }
}

/// What a client tells a tracker in an announce, for either transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// The torrent's info-hash.
    pub info_hash: InfoHash,
    /// This client's peer id.
    pub peer_id: PeerId,
    /// The port this client accepts peer connections on.
    pub port: u16,
    /// Bytes uploaded since the `started` event.
    pub uploaded: u64,
    /// Bytes downloaded since the `started` event.
    pub downloaded: u64,
    /// Bytes still missing.
    pub left: u64,
    /// The event, or `None` for a regular announce.
    pub event: Option<Event>,
    /// How many peers we want; `None` leaves it to the tracker (UDP sends -1).
    pub numwant: Option<u32>,
    /// A random value constant for the session, letting the tracker recognise
    /// us across IP address changes.
    pub key: u32,
    /// Ask for BEP 23 compact peers (HTTP only; UDP is always compact).
    pub compact: bool,
    /// The `tracker id` a previous response asked us to echo back (HTTP only).
    pub tracker_id: Option<String>,
    /// An address to announce instead of the packet's source (HTTP `ip`
    /// parameter; UDP carries only IPv4 here).
    pub ip: Option<IpAddr>,
}

impl AnnounceRequest {
    /// A request with zero counters, no event, compact peers, no numwant and a
    /// zero key; set the rest field by field.
    pub fn new(info_hash: InfoHash, peer_id: PeerId, port: u16) -> Self {
        AnnounceRequest {
            info_hash,
            peer_id,
            port,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: None,
            numwant: None,
            key: 0,
            compact: true,
            tracker_id: None,
            ip: None,
        }
    }
}

/// A successful announce response, from either transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResponse {
    /// When to announce again (clamped to [`MAX_INTERVAL`]); `None` if the
    /// tracker did not say.
    pub interval: Option<Duration>,
    /// The tracker's floor for re-announces, if given (HTTP only).
    pub min_interval: Option<Duration>,
    /// A value to echo back as `trackerid` in later announces (HTTP only).
    pub tracker_id: Option<String>,
    /// A non-fatal message from the tracker (HTTP only).
    pub warning: Option<String>,
    /// Peers with the whole torrent, if reported.
    pub seeders: Option<u32>,
    /// Peers still downloading, if reported.
    pub leechers: Option<u32>,
    /// Peer addresses, IPv4 and IPv6, at most the cap given to the parser.
    pub peers: Vec<SocketAddr>,
}

/// Swarm counts for one torrent from a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Peers with the whole torrent (`complete`).
    pub seeders: u32,
    /// Peers still downloading (`incomplete`).
    pub leechers: u32,
    /// How many times the torrent was downloaded to completion (`downloaded`).
    pub completed: u32,
}

/// Everything that can be wrong with a tracker exchange at the format level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// The tracker refused the request (`failure reason`, or a UDP error packet).
    #[error("tracker failure: {0}")]
    Failure(String),
    /// The body is not valid bencode.
    #[error("invalid bencode at byte {offset}: {reason}")]
    InvalidBencode {
        /// Byte offset where decoding failed.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// The body decoded but is not a dictionary.
    #[error("response is not a dictionary")]
    NotADictionary,
    /// A field has the wrong type or an impossible value.
    #[error("invalid `{0}` field")]
    InvalidField(&'static str),
    /// A compact peer string whose length is not a multiple of its entry size.
    #[error("compact peer list of {len} bytes is not a multiple of {entry}")]
    CompactPeersLength {
        /// The length received.
        len: usize,
        /// Bytes per peer: 6 for IPv4, 18 for IPv6.
        entry: usize,
    },
    /// A UDP packet shorter than its action requires.
    #[error("packet of {got} bytes is too short (need {need})")]
    Truncated {
        /// Minimum length for this packet.
        need: usize,
        /// Length received.
        got: usize,
    },
    /// A UDP response for another transaction (stale, or spoofed); callers
    /// should ignore the packet and keep waiting.
    #[error("transaction id {got:#010x} does not match {expected:#010x}")]
    TransactionMismatch {
        /// The id we sent.
        expected: u32,
        /// The id in the packet.
        got: u32,
    },
    /// A UDP response whose action is not the one expected.
    #[error("unexpected action {got} (expected {expected})")]
    UnexpectedAction {
        /// The action we asked for.
        expected: u32,
        /// The action received.
        got: u32,
    },
    /// The announce URL does not end in `announce`, so no scrape URL exists.
    #[error("tracker does not support scrape")]
    ScrapeUnsupported,
    /// More info-hashes than a single UDP scrape can carry.
    #[error("too many info-hashes for one UDP scrape ({0} > {max})", max = udp::MAX_SCRAPE_HASHES)]
    TooManyInfoHashes(usize),
    /// The tracker's scrape answer does not mention the requested torrent.
    #[error("torrent not in scrape response")]
    NotInScrape,
}

/// Clamps a tracker-supplied count into `u32` (negative becomes 0).
fn clamp_count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Clamps tracker-supplied seconds into `0..=MAX_INTERVAL`.
fn clamp_interval(secs: i64) -> Duration {
    let secs = u64::try_from(secs.max(0)).unwrap_or(0);
    Duration::from_secs(secs).min(MAX_INTERVAL)
}

/// Appends peers from a compact string (`entry` = 6 for IPv4, 18 for IPv6) to
/// `out`, stopping at `max` peers in `out`. Port-0 entries are skipped: no
/// one can connect to them.
fn parse_compact_peers(
    bytes: &[u8],
    entry: usize,
    max: usize,
    out: &mut Vec<SocketAddr>,
) -> Result<(), TrackerError> {
    if bytes.len() % entry != 0 {
        return Err(TrackerError::CompactPeersLength {
            len: bytes.len(),
            entry,
        });
    }
    for chunk in bytes.chunks_exact(entry) {
        if out.len() >= max {
            break;
        }
        let (ip, port) = chunk.split_at(entry - 2);
        let port = u16::from_be_bytes([port[0], port[1]]);
        if port == 0 {
            continue;
        }
        let ip = match <[u8; 4]>::try_from(ip) {
            Ok(v4) => IpAddr::from(v4),
            Err(_) => match <[u8; 16]>::try_from(ip) {
                Ok(v6) => IpAddr::from(v6),
                Err(_) => continue,
            },
        };
        out.push(SocketAddr::new(ip, port));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_peers_v4_and_v6() {
        let mut out = Vec::new();
        parse_compact_peers(&[10, 0, 0, 1, 0x1a, 0xe1], 6, 10, &mut out).unwrap();
        let mut v6 = [0u8; 18];
        v6[15] = 1;
        v6[16] = 0x00;
        v6[17] = 0x50;
        parse_compact_peers(&v6, 18, 10, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                "10.0.0.1:6881".parse().unwrap(),
                "[::1]:80".parse().unwrap()
            ]
        );
    }

    #[test]
    fn compact_peers_bad_length_cap_and_port_zero() {
        let mut out = Vec::new();
        assert_eq!(
            parse_compact_peers(&[1, 2, 3, 4, 5], 6, 10, &mut out),
            Err(TrackerError::CompactPeersLength { len: 5, entry: 6 })
        );
        let many: Vec<u8> = (0..10u8).flat_map(|i| [1, 1, 1, i, 0, 1]).collect();
        parse_compact_peers(&many, 6, 3, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        out.clear();
        parse_compact_peers(&[1, 1, 1, 1, 0, 0], 6, 3, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn clamps() {
        assert_eq!(clamp_count(-5), 0);
        assert_eq!(clamp_count(i64::MAX), u32::MAX);
        assert_eq!(clamp_interval(-1), Duration::ZERO);
        assert_eq!(clamp_interval(i64::MAX), MAX_INTERVAL);
        assert_eq!(clamp_interval(1800), Duration::from_secs(1800));
    }

    #[test]
    fn udp_event_codes() {
        assert_eq!(Event::udp_code(None), 0);
        assert_eq!(Event::udp_code(Some(Event::Completed)), 1);
        assert_eq!(Event::udp_code(Some(Event::Started)), 2);
        assert_eq!(Event::udp_code(Some(Event::Stopped)), 3);
    }
}

#[cfg(test)]
mod fuzz_tests;
