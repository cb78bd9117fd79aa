//! The `Tracker` actor against small UDP and HTTP trackers written in the
//! tests, on 127.0.0.1: peers, wire parameters, errors, fail-over, events.

mod tracker_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use torrix::tracker::{Completed, GetStatus, Scrape, ScrapeStats, Stop, UpdateStats};
use torrix_proto::{InfoHash, PeerId};
use tracker_support::*;

const HASH: InfoHash = InfoHash([0x5a; 20]);

fn peer_id() -> PeerId {
    PeerId(*b"-TX0100-test12345678")
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn responder(f: impl Fn(&HttpSeen) -> Option<(u16, Vec<u8>)> + Send + Sync + 'static) -> Responder {
    Arc::new(f)
}

#[actix_rt::test]
async fn udp_announce_delivers_deduplicated_peers() {
    let peers = addrs(&["127.0.0.2:6881", "127.0.0.3:6882", "127.0.0.2:6881"]);
    let (addr, mut seen) = udp_tracker(UdpBehaviour {
        peers,
        ..UdpBehaviour::default()
    })
    .await;
    let (tracker, mut rx) = spawn_tracker(
        fast_config(),
        vec![vec![format!("udp://{addr}/announce")]],
        HASH,
        peer_id(),
        7001,
    );
    assert_eq!(
        next_peers(&mut rx, 5).await,
        addrs(&["127.0.0.2:6881", "127.0.0.3:6882"])
    );
    let announce = next_seen(&mut seen, 1).await;
    assert_eq!(announce.info_hash, HASH.0);
    assert_eq!(announce.peer_id, peer_id().0);
    assert_eq!(announce.event, 2, "first announce is `started`");
    assert_eq!(announce.port, 7001);
    assert_eq!(announce.num_want, 50);

    let status = tracker.send(GetStatus).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].last_peers, 3);
    assert_eq!(status[0].seeders, Some(2));
    assert_eq!(status[0].leechers, Some(3));
    assert!(status[0].announced);
    assert!(status[0].last_error.is_none());
    let next = status[0].next_announce.expect("re-announce scheduled");
    let wait = next.saturating_duration_since(Instant::now());
    assert!(wait > Duration::from_secs(1700) && wait <= Duration::from_secs(1800));
}

#[actix_rt::test]
async fn udp_packets_with_wrong_transaction_id_are_ignored() {
    let (addr, mut seen) = udp_tracker(UdpBehaviour {
        peers: addrs(&["127.0.0.2:6881"]),
        wrong_tid_first: Some("127.0.0.66:6666".parse().unwrap()),
        ..UdpBehaviour::default()
    })
    .await;
    let (tracker, mut rx) = spawn_tracker(
        fast_config(),
        vec![vec![format!("udp://{addr}")]],
        HASH,
        peer_id(),
        7002,
    );
    // Had the decoy been taken, the peers would be the decoy's, or (for the
    // connect) the announce would carry a wrong connection id and fail.
    assert_eq!(next_peers(&mut rx, 5).await, addrs(&["127.0.0.2:6881"]));
    assert_eq!(next_seen(&mut seen, 1).await.event, 2);
    let status = tracker.send(GetStatus).await.unwrap();
    assert!(status[0].last_error.is_none(), "{status:?}");
}

#[actix_rt::test]
async fn dead_first_tier_does_not_block_the_second() {
    let dead = black_hole_udp().await;
    let (addr, _seen) = udp_tracker(UdpBehaviour {
        peers: addrs(&["127.0.0.4:1000"]),
        ..UdpBehaviour::default()
    })
    .await;
    let dead_url = format!("udp://{}", dead.local_addr().unwrap());
    let (tracker, mut rx) = spawn_tracker(
        fast_config(),
        vec![vec![dead_url.clone()], vec![format!("udp://{addr}")]],
        HASH,
        peer_id(),
        7003,
    );
    assert_eq!(next_peers(&mut rx, 3).await, addrs(&["127.0.0.4:1000"]));
    // With a 100 ms base and 2 retries the dead tracker gives up after 0.7 s.
    let status = wait_status(&tracker, 5, |s| s[0].last_error.is_some()).await;
    assert_eq!(status[0].url, dead_url);
    assert_eq!(status[0].last_error.as_deref(), Some("timed out"));
    assert_eq!(status[0].failures, 1);
    assert!(status[0].next_announce.is_some(), "back-off scheduled");
}

#[actix_rt::test]
async fn dead_tracker_in_a_tier_fails_over_to_the_next_one() {
    let dead = black_hole_udp().await;
    let (addr, _seen) = udp_tracker(UdpBehaviour {
        peers: addrs(&["127.0.0.5:1000"]),
        ..UdpBehaviour::default()
    })
    .await;
    let good = format!("udp://{addr}");
    let (tracker, mut rx) = spawn_tracker(
        fast_config(),
        vec![vec![
            format!("udp://{}", dead.local_addr().unwrap()),
            good.clone(),
        ]],
        HASH,
        peer_id(),
        7004,
    );
    assert_eq!(next_peers(&mut rx, 3).await, addrs(&["127.0.0.5:1000"]));
    // Whatever the shuffle chose first, the tracker that answered is now at
    // the front of the tier and the dead one was not asked after it.
    let status = tracker.send(GetStatus).await.unwrap();
    assert_eq!(status[0].url, good);
    assert!(status[0].announced);
    assert!(!status[1].announcing);
}

#[actix_rt::test]
async fn http_compact_peers_and_request_parameters() {
    let peers = addrs(&["127.0.0.2:6881", "127.0.0.9:51413"]);
    let body = compact_body(&peers);
    let (addr, mut seen) = http_tracker(responder(move |_| Some((200, body.clone())))).await;
    let (tracker, mut rx) = spawn_tracker_with_stats(
        fast_config(),
        vec![vec![format!("http://{addr}/announce?passkey=k%20y")]],
        HASH,
        peer_id(),
        7005,
        UpdateStats {
            uploaded: 11,
            downloaded: 22,
            left: 33,
        },
    );
    assert_eq!(next_peers(&mut rx, 5).await, peers);
    let req = next_seen(&mut seen, 1).await;
    assert_eq!(req.path, "/announce");
    assert_eq!(req.get("passkey").as_deref(), Some("k y"));
    assert_eq!(req.query["info_hash"], HASH.0.to_vec());
    assert_eq!(req.query["peer_id"], peer_id().0.to_vec());
    assert_eq!(req.get("port").as_deref(), Some("7005"));
    assert_eq!(req.get("event").as_deref(), Some("started"));
    assert_eq!(req.get("compact").as_deref(), Some("1"));
    assert_eq!(req.get("numwant").as_deref(), Some("50"));
    assert_eq!(req.get("left").as_deref(), Some("33"));
    assert_eq!(req.get("uploaded").as_deref(), Some("11"));
    assert_eq!(req.get("downloaded").as_deref(), Some("22"));
    assert_eq!(req.get("key").map(|k| k.len()), Some(8));
    let status = tracker.send(GetStatus).await.unwrap();
    assert_eq!((status[0].seeders, status[0].leechers), (Some(4), Some(6)));
}

#[actix_rt::test]
async fn http_dictionary_peers() {
    let body = b"d8:intervali900e5:peersld2:ip9:127.0.0.27:peer id20:aaaaaaaaaaaaaaaaaaaa\
        4:porti6881eed2:ip3:::14:porti7000eeee"
        .to_vec();
    let (addr, _seen) = http_tracker(responder(move |_| Some((200, body.clone())))).await;
    let (_tracker, mut rx) = spawn_tracker(
        fast_config(),
        vec![vec![format!("http://{addr}/announce")]],
        HASH,
        peer_id(),
        7006,
    );
    assert_eq!(
        next_peers(&mut rx, 5).await,
        addrs(&["127.0.0.2:6881", "[::1]:7000"])
    );
}

/// Starts a tracker on an HTTP server answering `body`, waits for its first
/// failure and returns the status error text; also checks no peers came.
async fn http_error_case(body: Vec<u8>, config: torrix::tracker::TrackerConfig) -> String {
    let (addr, _seen) = http_tracker(responder(move |_| Some((200, body.clone())))).await;
    let (tracker, mut rx) = spawn_tracker(
        config,
        vec![vec![format!("http://{addr}/announce")]],
        HASH,
        peer_id(),
        7007,
    );
    let status = wait_status(&tracker, 5, |s| s[0].last_error.is_some()).await;
    assert!(rx.try_recv().is_err(), "no peers on error");
    assert!(!status[0].announced);
    assert_eq!(status[0].failures, 1);
    assert!(status[0].next_announce.is_some(), "back-off scheduled");
    // The actor is alive and still answers.
    assert_eq!(tracker.send(GetStatus).await.unwrap().len(), 1);
    status[0].last_error.clone().unwrap()
}

#[actix_rt::test]
async fn http_failure_reason_is_reported() {
    let err = http_error_case(
        b"d14:failure reason12:unregisterede".to_vec(),
        fast_config(),
    )
    .await;
    assert_eq!(err, "tracker failure: unregistered");
}

#[actix_rt::test]
async fn http_failure_reason_with_error_status_is_reported() {
    let (addr, _seen) = http_tracker(responder(|_| {
        Some((403, b"d14:failure reason6:bannede".to_vec()))
    }))
    .await;
    let (tracker, _rx) = spawn_tracker(
        fast_config(),
        vec![vec![format!("http://{addr}/announce")]],
        HASH,
        peer_id(),
        7008,
    );
    let status = wait_status(&tracker, 5, |s| s[0].last_error.is_some()).await;
    assert_eq!(
        status[0].last_error.as_deref(),
        Some("tracker failure: banned")
    );
}

#[actix_rt::test]
async fn http_malformed_bencode_is_an_error() {
    let err = http_error_case(b"d8:intervali18".to_vec(), fast_config()).await;
    assert!(err.starts_with("invalid bencode"), "{err}");
}

#[actix_rt::test]
async fn http_compact_peers_of_bad_length_is_an_error() {
    let err = http_error_case(
        b"d8:intervali1800e5:peers7:\x7f\x00\x00\x01\x1a\xe1\x00e".to_vec(),
        fast_config(),
    )
    .await;
    assert!(err.contains("not a multiple of 6"), "{err}");
}

#[actix_rt::test]
async fn http_body_over_the_size_limit_is_refused() {
    let mut body = b"d8:intervali1800e5:peers".to_vec();
    body.extend_from_slice(format!("{}:", 6 * 20_000).as_bytes());
    body.extend(vec![7u8; 6 * 20_000]);
    body.push(b'e');
    let config = torrix::tracker::TrackerConfig {
        max_response_size: 64 * 1024,
        ..fast_config()
    };
    let err = http_error_case(body, config).await;
    assert!(err.starts_with("HTTP request failed"), "{err}");
}

#[actix_rt::test]
async fn http_huge_peer_list_is_capped() {
    let peers: Vec<SocketAddr> = (0..10_000u32)
        .map(|i| SocketAddr::from(([127, 1, (i >> 8) as u8, i as u8], 1000)))
        .collect();
    let body = compact_body(&peers);
    let (addr, _seen) = http_tracker(responder(move |_| Some((200, body.clone())))).await;
    let config = torrix::tracker::TrackerConfig {
        max_peers: 500,
        ..fast_config()
    };
    let (tracker, mut rx) = spawn_tracker(
        config,
        vec![vec![format!("http://{addr}/announce")]],
        HASH,
        peer_id(),
        7009,
    );
    let got = next_peers(&mut rx, 5).await;
    assert_eq!(got, peers[..500].to_vec());
    let status = tracker.send(GetStatus).await.unwrap();
    assert_eq!(status[0].last_peers, 500);
}

#[actix_rt::test]
async fn completed_is_sent_once_then_stop_sends_stopped() {
    let body = compact_body(&addrs(&["127.0.0.2:1"]));
    let (addr, mut seen) = http_tracker(responder(move |_| Some((200, body.clone())))).await;
    let (tracker, mut rx) = spawn_tracker_with_stats(
        fast_config(),
        vec![vec![format!("http://{addr}/announce")]],
        HASH,
        peer_id(),
        7010,
        UpdateStats {
            uploaded: 0,
            downloaded: 0,
            left: 100,
        },
    );
    next_peers(&mut rx, 5).await;
    let req = next_seen(&mut seen, 1).await;
    assert_eq!(req.get("event").as_deref(), Some("started"));
    assert_eq!(req.get("left").as_deref(), Some("100"));

    tracker.do_send(UpdateStats {
        uploaded: 5,
        downloaded: 100,
        left: 0,
    });
    tracker.do_send(Completed);
    let req = next_seen(&mut seen, 5).await;
    assert_eq!(req.get("event").as_deref(), Some("completed"));
    assert_eq!(req.get("left").as_deref(), Some("0"));
    next_peers(&mut rx, 5).await;

    let started = Instant::now();
    tracker.send(Stop).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    let req = next_seen(&mut seen, 1).await;
    assert_eq!(req.get("event").as_deref(), Some("stopped"));
    assert_eq!(req.get("numwant").as_deref(), Some("0"));
    // Nothing else was sent: `completed` went once, and the actor stopped.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(seen.try_recv().is_err());
    assert!(!tracker.connected());
}

#[actix_rt::test]
async fn stop_returns_within_the_deadline_when_trackers_hang() {
    // The HTTP tracker answers the first request, then hangs; the UDP one
    // answers connect + announce, then goes silent.
    let body = compact_body(&addrs(&["127.0.0.2:1"]));
    let count = std::sync::atomic::AtomicUsize::new(0);
    let (http, mut http_seen) = http_tracker(responder(move |_| {
        (count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0).then(|| (200, body.clone()))
    }))
    .await;
    let (udp, mut udp_seen) = udp_tracker(UdpBehaviour {
        peers: addrs(&["127.0.0.3:1"]),
        answer_first: Some(2),
        ..UdpBehaviour::default()
    })
    .await;
    let config = torrix::tracker::TrackerConfig {
        udp_retransmit_base: Duration::from_secs(5),
        ..fast_config()
    };
    let (tracker, mut rx) = spawn_tracker(
        config,
        vec![
            vec![format!("http://{http}/announce")],
            vec![format!("udp://{udp}")],
        ],
        HASH,
        peer_id(),
        7011,
    );
    next_peers(&mut rx, 5).await;
    next_peers(&mut rx, 5).await;
    wait_status(&tracker, 5, |s| s.iter().all(|t| t.announced)).await;
    next_seen(&mut http_seen, 1).await;
    next_seen(&mut udp_seen, 1).await;

    let started = Instant::now();
    tracker.send(Stop).await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450),
        "waited for the answers: {took:?}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "bounded by stop_timeout: {took:?}"
    );
    // Both trackers were sent `stopped`.
    assert_eq!(
        next_seen(&mut http_seen, 1).await.get("event").as_deref(),
        Some("stopped")
    );
    assert_eq!(next_seen(&mut udp_seen, 1).await.event, 3);
}

#[actix_rt::test]
async fn stop_before_any_answer_returns_at_once() {
    let dead = black_hole_udp().await;
    let (tracker, _rx) = spawn_tracker(
        fast_config(),
        vec![
            vec!["wss://x/announce".into()],
            vec![format!("udp://{}", dead.local_addr().unwrap())],
        ],
        HASH,
        peer_id(),
        7012,
    );
    let started = Instant::now();
    tracker.send(Stop).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(800));
}

#[actix_rt::test]
async fn scrape_over_http_and_udp() {
    let (http, mut http_seen) = http_tracker(responder(|req| {
        let mut body = b"d5:filesd20:".to_vec();
        body.extend_from_slice(&HASH.0);
        body.extend_from_slice(b"d8:completei7e10:downloadedi70e10:incompletei3eeee");
        Some(if req.path == "/scrape" {
            (200, body)
        } else {
            (200, b"d14:failure reason4:nopee".to_vec())
        })
    }))
    .await;
    let (tracker, _rx) = spawn_tracker(
        fast_config(),
        vec![vec![format!("http://{http}/announce")]],
        HASH,
        peer_id(),
        7013,
    );
    let stats = tracker.send(Scrape).await.unwrap().unwrap();
    assert_eq!(
        stats,
        ScrapeStats {
            seeders: 7,
            leechers: 3,
            completed: 70
        }
    );
    let mut saw_scrape = false;
    while let Ok(req) = http_seen.try_recv() {
        if req.path == "/scrape" {
            assert_eq!(req.query["info_hash"], HASH.0.to_vec());
            saw_scrape = true;
        }
    }
    assert!(saw_scrape);

    let (udp, _seen) = udp_tracker(UdpBehaviour {
        scrape: (1, 2, 3),
        ..UdpBehaviour::default()
    })
    .await;
    let (tracker, _rx) = spawn_tracker(
        fast_config(),
        vec![
            vec!["http://127.0.0.1:1/no-convention".into()],
            vec![format!("udp://{udp}")],
        ],
        HASH,
        peer_id(),
        7014,
    );
    let stats = tracker.send(Scrape).await.unwrap().unwrap();
    assert_eq!(
        stats,
        ScrapeStats {
            seeders: 1,
            completed: 2,
            leechers: 3
        }
    );
}

#[actix_rt::test]
async fn scrape_with_no_usable_tracker_is_an_error() {
    let (tracker, _rx) = spawn_tracker(
        fast_config(),
        vec![vec!["wss://x/announce".into()]],
        HASH,
        peer_id(),
        7015,
    );
    let err = tracker.send(Scrape).await.unwrap().unwrap_err();
    assert!(
        matches!(err, torrix::tracker::TrackerError::NoTrackers),
        "{err}"
    );
}

#[actix_rt::test]
async fn hung_http_tracker_times_out() {
    let (addr, _seen) = http_tracker(responder(|_| None)).await;
    let config = torrix::tracker::TrackerConfig {
        announce_timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let (tracker, _rx) = spawn_tracker(
        config,
        vec![vec![format!("http://{addr}/announce")]],
        HASH,
        peer_id(),
        7016,
    );
    let status = wait_status(&tracker, 3, |s| s[0].last_error.is_some()).await;
    let err = status[0].last_error.as_deref().unwrap();
    assert!(
        err == "timed out" || err.starts_with("HTTP request failed"),
        "{err}"
    );
}
