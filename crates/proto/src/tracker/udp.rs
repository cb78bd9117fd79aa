//! UDP tracker protocol (BEP 15): datagram encoders and parsers.
//!
//! An exchange is connect → announce (or scrape), each request carrying a
//! random transaction id that the response must echo. The parsers here check,
//! in this order: the packet holds an action and a transaction id; the
//! transaction id is ours ([`TrackerError::TransactionMismatch`] otherwise, so
//! the caller can drop the packet and keep waiting); an error packet (action
//! 3) becomes [`TrackerError::Failure`]; the action is the one expected; the
//! length fits. Timeouts and retransmission (BEP 15: 15 s × 2ⁿ) are the
//! caller's, since they need a clock.
//!
//! ```
//! use torrix_proto::tracker::udp;
//!
//! let tid = udp::transaction_id();
//! let request = udp::encode_connect(tid);
//! assert_eq!(&request[..8], &udp::PROTOCOL_ID.to_be_bytes());
//!
//! let mut response = [0u8; 16];
//! response[4..8].copy_from_slice(&tid.to_be_bytes());
//! response[8..].copy_from_slice(&42u64.to_be_bytes());
//! assert_eq!(udp::parse_connect_response(&response, tid).unwrap(), 42);
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{
    clamp_count, clamp_interval, parse_compact_peers, AnnounceRequest, AnnounceResponse, Event,
    ScrapeStats, TrackerError, MAX_PEERS,
};
use crate::InfoHash;

/// The magic constant that opens a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Action code of connect.
pub const ACTION_CONNECT: u32 = 0;
/// Action code of announce.
pub const ACTION_ANNOUNCE: u32 = 1;
/// Action code of scrape.
pub const ACTION_SCRAPE: u32 = 2;
/// Action code of an error response.
pub const ACTION_ERROR: u32 = 3;
/// Length of an announce request.
pub const ANNOUNCE_REQUEST_LEN: usize = 98;
/// Most info-hashes in one scrape request, so the request fits a 1500-byte MTU.
pub const MAX_SCRAPE_HASHES: usize = 74;
/// A receive buffer size large enough for any response worth reading.
pub const MAX_PACKET_LEN: usize = 8192;

/// A fresh random transaction id.
pub fn transaction_id() -> u32 {
    rand::random()
}

/// The 16-byte connect request.
pub fn encode_connect(transaction_id: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&PROTOCOL_ID.to_be_bytes());
    out[8..12].copy_from_slice(&ACTION_CONNECT.to_be_bytes());
    out[12..].copy_from_slice(&transaction_id.to_be_bytes());
    out
}

/// The connection id from a connect response.
pub fn parse_connect_response(packet: &[u8], transaction_id: u32) -> Result<u64, TrackerError> {
    let body = check_header(packet, transaction_id, ACTION_CONNECT)?;
    let id = body.get(..8).ok_or(TrackerError::Truncated {
        need: 16,
        got: packet.len(),
    })?;
    Ok(u64::from_be_bytes(be_array(id)))
}

/// The 98-byte announce request. `req.numwant` of `None` sends -1 ("tracker's
/// default"); `req.ip` is sent only if it is IPv4 (0 otherwise: use the
/// packet's source); `compact` and `tracker_id` have no UDP equivalent.
pub fn encode_announce(
    connection_id: u64,
    transaction_id: u32,
    req: &AnnounceRequest,
) -> [u8; ANNOUNCE_REQUEST_LEN] {
    let mut out = [0u8; ANNOUNCE_REQUEST_LEN];
    out[..8].copy_from_slice(&connection_id.to_be_bytes());
    out[8..12].copy_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    out[12..16].copy_from_slice(&transaction_id.to_be_bytes());
    out[16..36].copy_from_slice(&req.info_hash.0);
    out[36..56].copy_from_slice(&req.peer_id.0);
    out[56..64].copy_from_slice(&req.downloaded.to_be_bytes());
    out[64..72].copy_from_slice(&req.left.to_be_bytes());
    out[72..80].copy_from_slice(&req.uploaded.to_be_bytes());
    out[80..84].copy_from_slice(&Event::udp_code(req.event).to_be_bytes());
    let ip = match req.ip {
        Some(IpAddr::V4(v4)) => v4.octets(),
        _ => [0; 4],
    };
    out[84..88].copy_from_slice(&ip);
    out[88..92].copy_from_slice(&req.key.to_be_bytes());
    let numwant = req
        .numwant
        .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX));
    out[92..96].copy_from_slice(&numwant.to_be_bytes());
    out[96..98].copy_from_slice(&req.port.to_be_bytes());
    out
}

/// Parses an announce response, keeping at most [`MAX_PEERS`] peers. Peers are
/// 6 bytes each, or 18 if `ipv6` (the exchange ran over IPv6, which is how
/// BEP 15 tells the formats apart).
pub fn parse_announce_response(
    packet: &[u8],
    transaction_id: u32,
    ipv6: bool,
) -> Result<AnnounceResponse, TrackerError> {
    parse_announce_response_with_limit(packet, transaction_id, ipv6, MAX_PEERS)
}

/// [`parse_announce_response`] with an explicit peer cap.
pub fn parse_announce_response_with_limit(
    packet: &[u8],
    transaction_id: u32,
    ipv6: bool,
    max_peers: usize,
) -> Result<AnnounceResponse, TrackerError> {
    let body = check_header(packet, transaction_id, ACTION_ANNOUNCE)?;
    if body.len() < 12 {
        return Err(TrackerError::Truncated {
            need: 20,
            got: packet.len(),
        });
    }
    let (counts, peers) = body.split_at(12);
    let field = |i: usize| i32::from_be_bytes(be_array(&counts[i * 4..i * 4 + 4]));
    let mut resp = AnnounceResponse {
        interval: Some(clamp_interval(i64::from(field(0)))),
        leechers: Some(clamp_count(i64::from(field(1)))),
        seeders: Some(clamp_count(i64::from(field(2)))),
        ..AnnounceResponse::default()
    };
    let entry = if ipv6 { 18 } else { 6 };
    parse_compact_peers(peers, entry, max_peers, &mut resp.peers)?;
    Ok(resp)
}

/// A scrape request for up to [`MAX_SCRAPE_HASHES`] torrents.
pub fn encode_scrape(
    connection_id: u64,
    transaction_id: u32,
    info_hashes: &[InfoHash],
) -> Result<Vec<u8>, TrackerError> {
    if info_hashes.len() > MAX_SCRAPE_HASHES {
        return Err(TrackerError::TooManyInfoHashes(info_hashes.len()));
    }
    let mut out = Vec::with_capacity(16 + 20 * info_hashes.len());
    out.extend_from_slice(&connection_id.to_be_bytes());
    out.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    for hash in info_hashes {
        out.extend_from_slice(&hash.0);
    }
    Ok(out)
}

/// Parses a scrape response: one [`ScrapeStats`] per requested hash, in
/// request order. Fewer entries than `requested` is an error (the tracker
/// answers every hash); extra bytes are ignored.
pub fn parse_scrape_response(
    packet: &[u8],
    transaction_id: u32,
    requested: usize,
) -> Result<Vec<ScrapeStats>, TrackerError> {
    let body = check_header(packet, transaction_id, ACTION_SCRAPE)?;
    let need = requested.saturating_mul(12);
    if body.len() < need {
        return Err(TrackerError::Truncated {
            need: need.saturating_add(8),
            got: packet.len(),
        });
    }
    Ok(body[..need]
        .chunks_exact(12)
        .map(|c| {
            let n = |i: usize| clamp_count(i64::from(i32::from_be_bytes(be_array(&c[i..i + 4]))));
            ScrapeStats {
                seeders: n(0),
                completed: n(4),
                leechers: n(8),
            }
        })
        .collect())
}

/// Checks the 8-byte response header and returns what follows it.
fn check_header(packet: &[u8], transaction_id: u32, expected: u32) -> Result<&[u8], TrackerError> {
    if packet.len() < 8 {
        return Err(TrackerError::Truncated {
            need: 8,
            got: packet.len(),
        });
    }
    let action = u32::from_be_bytes(be_array(&packet[..4]));
    let got = u32::from_be_bytes(be_array(&packet[4..8]));
    if got != transaction_id {
        return Err(TrackerError::TransactionMismatch {
            expected: transaction_id,
            got,
        });
    }
    let body = &packet[8..];
    if action == ACTION_ERROR {
        let message = String::from_utf8_lossy(body);
        return Err(TrackerError::Failure(
            message.trim_end_matches('\0').to_owned(),
        ));
    }
    if action != expected {
        return Err(TrackerError::UnexpectedAction {
            expected,
            got: action,
        });
    }
    Ok(body)
}

/// Copies a slice of known length into an array; callers slice exactly `N`.
fn be_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// The retransmission timeout after `attempt` earlier sends: `base × 2^attempt`
/// (BEP 15 uses a 15 s base). Saturates instead of overflowing.
pub fn retransmit_timeout(base: Duration, attempt: u32) -> Duration {
    2u32.checked_pow(attempt)
        .map_or(Duration::MAX, |factor| base.saturating_mul(factor))
}

/// Whether a tracker at `addr` speaks the IPv6 response format.
pub fn is_ipv6(addr: &SocketAddr) -> bool {
    matches!(addr, SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PeerId;

    const TID: u32 = 0x1234_5678;

    fn header(action: u32, tid: u32) -> Vec<u8> {
        let mut p = action.to_be_bytes().to_vec();
        p.extend_from_slice(&tid.to_be_bytes());
        p
    }

    #[test]
    fn connect_round_trip() {
        let req = encode_connect(TID);
        assert_eq!(
            req,
            [0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]
        );
        let mut resp = header(ACTION_CONNECT, TID);
        resp.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(
            parse_connect_response(&resp, TID),
            Ok(0x0102_0304_0506_0708)
        );
        assert_eq!(
            parse_connect_response(&resp[..12], TID),
            Err(TrackerError::Truncated { need: 16, got: 12 })
        );
        assert_eq!(
            parse_connect_response(&resp, TID + 1),
            Err(TrackerError::TransactionMismatch {
                expected: TID + 1,
                got: TID
            })
        );
        assert_eq!(
            parse_connect_response(&[0, 0, 0], TID),
            Err(TrackerError::Truncated { need: 8, got: 3 })
        );
    }

    #[test]
    fn announce_request_layout() {
        let mut req = AnnounceRequest::new(InfoHash([0xaa; 20]), PeerId([0xbb; 20]), 6881);
        req.downloaded = 1;
        req.left = 2;
        req.uploaded = 3;
        req.event = Some(Event::Started);
        req.key = 0xcafe_babe;
        let p = encode_announce(0x1122_3344_5566_7788, TID, &req);
        assert_eq!(&p[..8], &0x1122_3344_5566_7788u64.to_be_bytes());
        assert_eq!(&p[8..12], &[0, 0, 0, 1]);
        assert_eq!(&p[12..16], &TID.to_be_bytes());
        assert_eq!(&p[16..36], &[0xaa; 20]);
        assert_eq!(&p[36..56], &[0xbb; 20]);
        assert_eq!(&p[56..64], &1u64.to_be_bytes());
        assert_eq!(&p[64..72], &2u64.to_be_bytes());
        assert_eq!(&p[72..80], &3u64.to_be_bytes());
        assert_eq!(&p[80..84], &2u32.to_be_bytes());
        assert_eq!(&p[84..88], &[0; 4]);
        assert_eq!(&p[88..92], &0xcafe_babeu32.to_be_bytes());
        assert_eq!(&p[92..96], &(-1i32).to_be_bytes());
        assert_eq!(&p[96..98], &6881u16.to_be_bytes());

        req.numwant = Some(u32::MAX);
        req.ip = Some("1.2.3.4".parse().unwrap());
        let p = encode_announce(0, TID, &req);
        assert_eq!(&p[84..88], &[1, 2, 3, 4]);
        assert_eq!(&p[92..96], &i32::MAX.to_be_bytes());
    }

    #[test]
    fn announce_response_v4_v6_and_errors() {
        let mut p = header(ACTION_ANNOUNCE, TID);
        for v in [1800i32, 7, 3] {
            p.extend_from_slice(&v.to_be_bytes());
        }
        p.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1]);
        let r = parse_announce_response(&p, TID, false).unwrap();
        assert_eq!(r.interval, Some(Duration::from_secs(1800)));
        assert_eq!(r.leechers, Some(7));
        assert_eq!(r.seeders, Some(3));
        assert_eq!(r.peers, vec!["127.0.0.1:6881".parse().unwrap()]);

        // The same 6 peer bytes are not a valid IPv6 list.
        assert_eq!(
            parse_announce_response(&p, TID, true),
            Err(TrackerError::CompactPeersLength { len: 6, entry: 18 })
        );
        let mut p6 = p[..20].to_vec();
        p6.extend_from_slice(&[0; 15]);
        p6.extend_from_slice(&[1, 0, 80]);
        assert_eq!(
            parse_announce_response(&p6, TID, true).unwrap().peers,
            vec!["[::1]:80".parse().unwrap()]
        );

        p.push(9);
        assert_eq!(
            parse_announce_response(&p, TID, false),
            Err(TrackerError::CompactPeersLength { len: 7, entry: 6 })
        );
        assert_eq!(
            parse_announce_response(&p[..19], TID, false),
            Err(TrackerError::Truncated { need: 20, got: 19 })
        );
        // Negative interval clamps to zero rather than wrapping.
        let mut neg = header(ACTION_ANNOUNCE, TID);
        for v in [-1i32, -1, -1] {
            neg.extend_from_slice(&v.to_be_bytes());
        }
        let r = parse_announce_response(&neg, TID, false).unwrap();
        assert_eq!(r.interval, Some(Duration::ZERO));
        assert_eq!(r.seeders, Some(0));
    }

    #[test]
    fn announce_response_cap() {
        let mut p = header(ACTION_ANNOUNCE, TID);
        p.extend_from_slice(&[0; 12]);
        for i in 0..50u8 {
            p.extend_from_slice(&[10, 0, 0, i, 0, 1]);
        }
        let r = parse_announce_response_with_limit(&p, TID, false, 10).unwrap();
        assert_eq!(r.peers.len(), 10);
    }

    #[test]
    fn error_packets_and_wrong_actions() {
        let mut e = header(ACTION_ERROR, TID);
        e.extend_from_slice(b"unknown torrent\0");
        assert_eq!(
            parse_announce_response(&e, TID, false),
            Err(TrackerError::Failure("unknown torrent".into()))
        );
        assert_eq!(
            parse_connect_response(&e, TID),
            Err(TrackerError::Failure("unknown torrent".into()))
        );
        // An error for another transaction is a mismatch, not a failure.
        assert!(matches!(
            parse_connect_response(&e, TID ^ 1),
            Err(TrackerError::TransactionMismatch { .. })
        ));
        let mut c = header(ACTION_CONNECT, TID);
        c.extend_from_slice(&[0; 8]);
        assert_eq!(
            parse_announce_response(&c, TID, false),
            Err(TrackerError::UnexpectedAction {
                expected: ACTION_ANNOUNCE,
                got: ACTION_CONNECT
            })
        );
    }

    #[test]
    fn scrape_round_trip() {
        let hashes = [InfoHash([1; 20]), InfoHash([2; 20])];
        let req = encode_scrape(9, TID, &hashes).unwrap();
        assert_eq!(req.len(), 56);
        assert_eq!(&req[..8], &9u64.to_be_bytes());
        assert_eq!(&req[8..12], &ACTION_SCRAPE.to_be_bytes());
        assert_eq!(&req[12..16], &TID.to_be_bytes());
        assert_eq!(&req[16..36], &[1; 20]);
        assert_eq!(&req[36..56], &[2; 20]);
        assert_eq!(
            encode_scrape(9, TID, &[InfoHash([0; 20]); 75]),
            Err(TrackerError::TooManyInfoHashes(75))
        );

        let mut resp = header(ACTION_SCRAPE, TID);
        for v in [5i32, 50, 10, 1, 2, 3] {
            resp.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(
            parse_scrape_response(&resp, TID, 2).unwrap(),
            vec![
                ScrapeStats {
                    seeders: 5,
                    completed: 50,
                    leechers: 10
                },
                ScrapeStats {
                    seeders: 1,
                    completed: 2,
                    leechers: 3
                },
            ]
        );
        assert_eq!(
            parse_scrape_response(&resp[..30], TID, 2),
            Err(TrackerError::Truncated { need: 32, got: 30 })
        );
        assert_eq!(
            parse_scrape_response(&resp, TID, usize::MAX),
            Err(TrackerError::Truncated {
                need: usize::MAX,
                got: 32
            })
        );
    }

    #[test]
    fn retransmit_schedule() {
        let base = Duration::from_secs(15);
        assert_eq!(retransmit_timeout(base, 0), Duration::from_secs(15));
        assert_eq!(retransmit_timeout(base, 8), Duration::from_secs(3840));
        assert_eq!(retransmit_timeout(base, 200), Duration::MAX);
    }

    #[test]
    fn ipv6_detection() {
        assert!(!is_ipv6(&"1.2.3.4:1".parse().unwrap()));
        assert!(is_ipv6(&"[::1]:1".parse().unwrap()));
        assert!(!is_ipv6(&"[::ffff:1.2.3.4]:1".parse().unwrap()));
    }
}
