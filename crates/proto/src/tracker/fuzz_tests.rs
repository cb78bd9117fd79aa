//! Property tests: no parser panics on arbitrary bytes, and well-formed
//! compact responses always parse back to the peers put in.

use proptest::prelude::*;

use super::{http, udp, TrackerError};

proptest! {
    #[test]
    fn http_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = http::parse_announce_response(&body);
        let _ = http::parse_announce_response_with_limit(&body, 3);
        let _ = http::parse_scrape_response(&body);
    }

    #[test]
    fn bencode_shaped_input_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"d".to_vec()), Just(b"l".to_vec()), Just(b"e".to_vec()),
                Just(b"5:peers".to_vec()), Just(b"6:peers6".to_vec()),
                Just(b"8:interval".to_vec()), Just(b"14:failure reason".to_vec()),
                Just(b"5:files".to_vec()), Just(b"2:ip".to_vec()), Just(b"4:port".to_vec()),
                any::<i64>().prop_map(|n| format!("i{n}e").into_bytes()),
                proptest::collection::vec(any::<u8>(), 0..40)
                    .prop_map(|b| { let mut v = format!("{}:", b.len()).into_bytes(); v.extend(b); v }),
            ],
            0..40,
        )
    ) {
        let body: Vec<u8> = parts.concat();
        let _ = http::parse_announce_response(&body);
        let _ = http::parse_scrape_response(&body);
    }

    #[test]
    fn udp_parsers_never_panic(
        packet in proptest::collection::vec(any::<u8>(), 0..256),
        tid in any::<u32>(),
        n in 0usize..100,
        ipv6 in any::<bool>(),
    ) {
        let _ = udp::parse_connect_response(&packet, tid);
        let _ = udp::parse_announce_response(&packet, tid, ipv6);
        let _ = udp::parse_scrape_response(&packet, tid, n);
        // With the packet's own transaction id the parsers get past the header.
        if packet.len() >= 8 {
            let own = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
            let _ = udp::parse_connect_response(&packet, own);
            let _ = udp::parse_announce_response(&packet, own, ipv6);
            let _ = udp::parse_scrape_response(&packet, own, n);
        }
    }

    #[test]
    fn compact_peers_round_trip(peers in proptest::collection::vec((any::<[u8; 4]>(), 1u16..), 0..50)) {
        let mut compact = Vec::new();
        for (ip, port) in &peers {
            compact.extend_from_slice(ip);
            compact.extend_from_slice(&port.to_be_bytes());
        }
        let mut body = format!("d5:peers{}:", compact.len()).into_bytes();
        body.extend_from_slice(&compact);
        body.push(b'e');
        let parsed = http::parse_announce_response(&body).unwrap();
        let expected: Vec<std::net::SocketAddr> =
            peers.iter().map(|(ip, port)| (*ip, *port).into()).collect();
        prop_assert_eq!(parsed.peers, expected);
    }

    #[test]
    fn wrong_transaction_id_is_always_a_mismatch(
        packet in proptest::collection::vec(any::<u8>(), 8..64),
        tid in any::<u32>(),
    ) {
        let own = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        prop_assume!(own != tid);
        let is_mismatch = matches!(
            udp::parse_announce_response(&packet, tid, false),
            Err(TrackerError::TransactionMismatch { .. })
        );
        prop_assert!(is_mismatch);
    }
}
