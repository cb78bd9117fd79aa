//! Shared pieces of the tracker integration tests: a peer collector, a
//! stderr logger, fast timer settings, and small UDP/HTTP tracker servers
//! written here (independently of the code under test) on 127.0.0.1.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use slog::{o, Drain, Logger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use torrix::tracker::{
    GetStatus, Tracker, TrackerConfig, TrackerPeers, TrackerStatus, UpdateStats,
};
use torrix_proto::{InfoHash, PeerId};

/// Forwards every `TrackerPeers` batch into a channel the test reads.
pub struct Collector(pub mpsc::UnboundedSender<Vec<SocketAddr>>);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<TrackerPeers> for Collector {
    type Result = ();
    fn handle(&mut self, msg: TrackerPeers, _: &mut Self::Context) {
        let _ = self.0.send(msg.peers);
    }
}

/// A drain printing records and their key/values to stderr (shown by the
/// test harness for failing tests).
struct Stderr;

struct KvLine(String);

impl slog::Serializer for KvLine {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments) -> slog::Result {
        self.0.push_str(&format!(" {key}={val}"));
        Ok(())
    }
}

impl Drain for Stderr {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, record: &slog::Record, values: &slog::OwnedKVList) -> Result<(), slog::Never> {
        use slog::KV;
        let mut line = KvLine(String::new());
        let _ = record.kv().serialize(record, &mut line);
        let _ = values.serialize(record, &mut line);
        eprintln!(
            "{} {}{}",
            record.level().as_short_str(),
            record.msg(),
            line.0
        );
        Ok(())
    }
}

/// A logger for tests.
pub fn logger() -> Logger {
    Logger::root(Stderr.fuse(), o!())
}

/// Timers short enough for tests.
pub fn fast_config() -> TrackerConfig {
    TrackerConfig {
        announce_timeout: Duration::from_secs(2),
        udp_retransmit_base: Duration::from_millis(100),
        udp_max_retries: 2,
        stop_timeout: Duration::from_millis(500),
        backoff_base: Duration::from_secs(30),
        backoff_max: Duration::from_secs(60),
        ..TrackerConfig::default()
    }
}

/// Starts a `Tracker` actor and returns it with the channel of peer batches.
pub fn spawn_tracker(
    config: TrackerConfig,
    tiers: Vec<Vec<String>>,
    info_hash: InfoHash,
    peer_id: PeerId,
    port: u16,
) -> (Addr<Tracker>, mpsc::UnboundedReceiver<Vec<SocketAddr>>) {
    spawn_tracker_with_stats(
        config,
        tiers,
        info_hash,
        peer_id,
        port,
        UpdateStats::default(),
    )
}

/// [`spawn_tracker`] with initial transfer totals.
pub fn spawn_tracker_with_stats(
    config: TrackerConfig,
    tiers: Vec<Vec<String>>,
    info_hash: InfoHash,
    peer_id: PeerId,
    port: u16,
    stats: UpdateStats,
) -> (Addr<Tracker>, mpsc::UnboundedReceiver<Vec<SocketAddr>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let collector = Collector(tx).start();
    let tracker = Tracker::new(
        config,
        tiers,
        info_hash,
        peer_id,
        port,
        collector.recipient(),
        logger(),
    )
    .with_stats(stats)
    .start();
    (tracker, rx)
}

/// The next peer batch, failing the test after `secs` seconds.
pub async fn next_peers(
    rx: &mut mpsc::UnboundedReceiver<Vec<SocketAddr>>,
    secs: u64,
) -> Vec<SocketAddr> {
    tokio::time::timeout(Duration::from_secs(secs), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no peers within {secs} s"))
        .expect("collector gone")
}

/// Polls `GetStatus` until `pred` holds, failing after `secs` seconds.
pub async fn wait_status(
    tracker: &Addr<Tracker>,
    secs: u64,
    pred: impl Fn(&[TrackerStatus]) -> bool,
) -> Vec<TrackerStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let status = tracker.send(GetStatus).await.expect("tracker actor gone");
        if pred(&status) {
            return status;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("status condition not met within {secs} s: {status:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Compact IPv4 peer bytes.
pub fn compact(peers: &[SocketAddr]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in peers {
        let SocketAddr::V4(v4) = p else {
            panic!("IPv4 only")
        };
        out.extend_from_slice(&v4.ip().octets());
        out.extend_from_slice(&v4.port().to_be_bytes());
    }
    out
}

// ---------------------------------------------------------------- UDP server

/// What the test UDP tracker saw in one announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpAnnounceSeen {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub downloaded: u64,
    pub left: u64,
    pub uploaded: u64,
    pub event: u32,
    pub key: u32,
    pub num_want: i32,
    pub port: u16,
}

/// How the test UDP tracker behaves.
#[derive(Debug, Clone, Default)]
pub struct UdpBehaviour {
    /// Peers returned by announces.
    pub peers: Vec<SocketAddr>,
    /// Before each real answer, send one with a wrong transaction id that
    /// lists `decoy` as a peer.
    pub wrong_tid_first: Option<SocketAddr>,
    /// Answer only the first `n` requests, then go silent (None: always answer).
    pub answer_first: Option<usize>,
    /// Scrape answer: seeders, completed, leechers.
    pub scrape: (i32, i32, i32),
}

/// A BEP 15 tracker on 127.0.0.1 written from the spec, independent of the
/// proto crate. Announces it saw are sent to the returned channel.
pub async fn udp_tracker(
    behaviour: UdpBehaviour,
) -> (SocketAddr, mpsc::UnboundedReceiver<UdpAnnounceSeen>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    actix_rt::spawn(async move {
        let mut buf = [0u8; 2048];
        let mut answered = 0usize;
        let conn_id: u64 = 0x1122_3344_5566_7788;
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let p = &buf[..n];
            if n < 16 {
                continue;
            }
            let action = u32::from_be_bytes(p[8..12].try_into().unwrap());
            let tid = u32::from_be_bytes(p[12..16].try_into().unwrap());
            let is_connect =
                u64::from_be_bytes(p[..8].try_into().unwrap()) == 0x41727101980 && action == 0;
            let mut reply = Vec::new();
            let mut decoy = Vec::new();
            if is_connect {
                reply.extend_from_slice(&0u32.to_be_bytes());
                reply.extend_from_slice(&tid.to_be_bytes());
                reply.extend_from_slice(&conn_id.to_be_bytes());
            } else if u64::from_be_bytes(p[..8].try_into().unwrap()) != conn_id {
                reply.extend_from_slice(&3u32.to_be_bytes());
                reply.extend_from_slice(&tid.to_be_bytes());
                reply.extend_from_slice(b"bad connection id");
            } else if action == 1 && n >= 98 {
                let seen = UdpAnnounceSeen {
                    info_hash: p[16..36].try_into().unwrap(),
                    peer_id: p[36..56].try_into().unwrap(),
                    downloaded: u64::from_be_bytes(p[56..64].try_into().unwrap()),
                    left: u64::from_be_bytes(p[64..72].try_into().unwrap()),
                    uploaded: u64::from_be_bytes(p[72..80].try_into().unwrap()),
                    event: u32::from_be_bytes(p[80..84].try_into().unwrap()),
                    key: u32::from_be_bytes(p[88..92].try_into().unwrap()),
                    num_want: i32::from_be_bytes(p[92..96].try_into().unwrap()),
                    port: u16::from_be_bytes(p[96..98].try_into().unwrap()),
                };
                let _ = tx.send(seen);
                let head = |tid: u32| {
                    let mut r = 1u32.to_be_bytes().to_vec();
                    r.extend_from_slice(&tid.to_be_bytes());
                    r.extend_from_slice(&1800u32.to_be_bytes());
                    r.extend_from_slice(&3u32.to_be_bytes());
                    r.extend_from_slice(&2u32.to_be_bytes());
                    r
                };
                reply = head(tid);
                reply.extend_from_slice(&compact(&behaviour.peers));
                if let Some(d) = behaviour.wrong_tid_first {
                    decoy = head(tid.wrapping_add(1));
                    decoy.extend_from_slice(&compact(&[d]));
                }
            } else if action == 2 {
                reply.extend_from_slice(&2u32.to_be_bytes());
                reply.extend_from_slice(&tid.to_be_bytes());
                let (s, c, l) = behaviour.scrape;
                for _ in 0..(n - 16) / 20 {
                    for v in [s, c, l] {
                        reply.extend_from_slice(&v.to_be_bytes());
                    }
                }
            } else {
                continue;
            }
            if behaviour.answer_first.is_some_and(|max| answered >= max) {
                continue;
            }
            answered += 1;
            if behaviour.wrong_tid_first.is_some() && is_connect {
                let mut wrong = reply.clone();
                wrong[4..8].copy_from_slice(&tid.wrapping_add(1).to_be_bytes());
                wrong[8..16].copy_from_slice(&0xdeadu64.to_be_bytes());
                let _ = socket.send_to(&wrong, from).await;
            }
            if !decoy.is_empty() {
                let _ = socket.send_to(&decoy, from).await;
            }
            let _ = socket.send_to(&reply, from).await;
        }
    });
    (addr, rx)
}

/// A UDP socket on 127.0.0.1 that never answers; keep it alive for the test.
pub async fn black_hole_udp() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

// --------------------------------------------------------------- HTTP server

/// One request the test HTTP tracker saw: path and decoded query pairs.
#[derive(Debug, Clone)]
pub struct HttpSeen {
    pub path: String,
    pub query: HashMap<String, Vec<u8>>,
}

impl HttpSeen {
    pub fn get(&self, key: &str) -> Option<String> {
        self.query
            .get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Percent-decodes a query component.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if let (b'%', Some(Ok(byte))) = (b[i], hex.map(|h| u8::from_str_radix(h, 16))) {
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The response the test HTTP tracker gives to a request.
pub type Responder = Arc<dyn Fn(&HttpSeen) -> Option<(u16, Vec<u8>)> + Send + Sync>;

/// A tiny HTTP/1.1 tracker on 127.0.0.1: `respond` picks status and body for
/// each request (`None`: accept and never answer, like a hung server).
/// Requests are sent to the returned channel.
pub async fn http_tracker(respond: Responder) -> (SocketAddr, mpsc::UnboundedReceiver<HttpSeen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let hung = Arc::new(Mutex::new(Vec::new()));
    actix_rt::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let respond = respond.clone();
            let hung = hung.clone();
            actix_rt::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let target = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let query = query
                    .split('&')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        (k.to_owned(), percent_decode(v))
                    })
                    .collect();
                let seen = HttpSeen {
                    path: path.to_owned(),
                    query,
                };
                let answer = respond(&seen);
                let _ = tx.send(seen);
                match answer {
                    Some((status, body)) => {
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(&body).await;
                        let _ = stream.shutdown().await;
                    }
                    None => hung.lock().unwrap().push(stream),
                }
            });
        }
    });
    (addr, rx)
}

/// Bencoded announce body with compact peers.
pub fn compact_body(peers: &[SocketAddr]) -> Vec<u8> {
    let c = compact(peers);
    let mut body = format!(
        "d8:completei4e10:incompletei6e8:intervali1800e5:peers{}:",
        c.len()
    )
    .into_bytes();
    body.extend_from_slice(&c);
    body.push(b'e');
    body
}

/// Waits for the next request seen by a test server.
pub async fn next_seen<T>(rx: &mut mpsc::UnboundedReceiver<T>, secs: u64) -> T {
    tokio::time::timeout(Duration::from_secs(secs), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("server saw nothing within {secs} s"))
        .expect("server gone")
}
