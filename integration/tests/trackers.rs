//! Trackers from the seeding side (issue 6), and tier fallback.
//!
//! - `torrix seed` announces to opentracker (the URL in the torrent); a libtorrent
//!   leecher given no peer finds it through the tracker and completes. Over HTTP and UDP.
//! - A torrent whose first tier is dead (an HTTP tracker on a port nothing listens on, a
//!   UDP tracker that never answers) and whose second tier is a working opentracker:
//!   `torrix download` with no `-s` still starts within seconds and completes.
//!
//! Hosts 118–124 (`lo(host, _)`); opentracker itself is on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use torrix_integration::evil_peer::load_metainfo;
use torrix_integration::*;

fn fixed(host: u8) -> SocketAddr {
    lo(host, free_port(lo(host, 0).ip()))
}

fn pct(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

/// The peers opentracker hands out for `info_hash` (an HTTP announce of our own with
/// `left=1`, followed by `event=stopped` so we do not stay in the swarm).
fn tracker_peers(tracker: &Opentracker, info_hash: &[u8; 20]) -> Vec<SocketAddr> {
    let query = |event: &str| {
        let mut s = TcpStream::connect(tracker.addr).expect("connect to opentracker");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /announce?info_hash={}&peer_id=-IT0001-probeprobepr&port=9&uploaded=0&downloaded=0&left=1&compact=1&numwant=50{event} HTTP/1.0\r\nHost: {}\r\n\r\n",
            pct(info_hash),
            tracker.addr
        )
        .unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).expect("read announce reply");
        resp
    };
    let resp = query("");
    let _ = query("&event=stopped");
    let Some(at) = resp.windows(7).position(|w| w == b"5:peers") else {
        panic!(
            "no peers in opentracker's reply: {}",
            String::from_utf8_lossy(&resp)
        );
    };
    let rest = &resp[at + 7..];
    let colon = rest.iter().position(|&b| b == b':').unwrap();
    let n: usize = std::str::from_utf8(&rest[..colon])
        .unwrap()
        .parse()
        .unwrap();
    rest[colon + 1..colon + 1 + n]
        .chunks(6)
        .map(|c| SocketAddr::from(([c[0], c[1], c[2], c[3]], u16::from_be_bytes([c[4], c[5]]))))
        .filter(|a| a.port() != 9)
        .collect()
}

/// torrix seeds and announces; a libtorrent leecher with no `--peer` finds it.
fn seed_found_through_tracker(name: &str, udp: bool, seed_host: u8, leech_host: u8) {
    let t = TestDir::new(name);
    let size = (8 << 20) + 11;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, seed_host as u64);
    let (_, ih) = make_torrent(&file, &t.join("probe.torrent"), 64 * 1024);
    let tracker = Opentracker::start(&t.join("tracker"), &[&ih]);
    let url = if udp {
        &tracker.udp_url
    } else {
        &tracker.http_url
    };
    let (torrent, _) =
        make_torrent_with_trackers(&file, &t.join("data.torrent"), 64 * 1024, &[url]);
    let meta = load_metainfo(&torrent);
    let mut seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("seed"), fixed(seed_host));
    // torrix announced itself as a seed …
    tracker.wait_for_seeds(&ih, 1, secs(30));
    // … at the address it serves on (what a leecher will dial)
    let listed = tracker_peers(&tracker, &meta.info_hash.0);
    assert!(
        listed.contains(&seeder.addr),
        "opentracker lists {listed:?} for the torrent, not torrix's listen address {} \
         (the tracker records the announce's source address: torrix must announce from its \
         listen IP)",
        seeder.addr
    );
    let started = Instant::now();
    let took = LtLeecher::run(&torrent, &t.join("out"), &[], lo(leech_host, 0), secs(60));
    eprintln!(
        "lt leecher found torrix through the tracker ({}) and finished in {took:?} ({:?} with start-up)",
        if udp { "udp" } else { "http" },
        started.elapsed()
    );
    assert_same_file(&file, &t.join("out/data.bin"));
    if let Some(st) = seeder.torrix.try_status() {
        seeder.torrix.fail(&format!("the seeder exited ({st})"));
    }
}

#[test]
fn torrix_seed_found_through_opentracker_http() {
    seed_found_through_tracker("tr-seed-http", false, 118, 119);
}

#[test]
fn torrix_seed_found_through_opentracker_udp() {
    seed_found_through_tracker("tr-seed-udp", true, 120, 121);
}

fn bstr(s: &[u8]) -> Vec<u8> {
    let mut v = format!("{}:", s.len()).into_bytes();
    v.extend_from_slice(s);
    v
}

/// Copy `src` (a libtorrent-made torrent, no trackers) to `dst` with `announce` = the
/// first URL and `announce-list` = `tiers`. The info dictionary is copied byte for byte,
/// so the info-hash does not change (checked).
fn with_tiers(src: &Path, dst: &Path, tiers: &[&[&str]]) {
    let bytes = std::fs::read(src).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"4:infod")
        .expect("an info dictionary");
    assert_eq!(bytes.last(), Some(&b'e'));
    // keys are sorted: nothing follows "info" in a torrent without url-list
    let info = &bytes[at + 6..bytes.len() - 1];
    let mut out = b"d".to_vec();
    out.extend(bstr(b"announce"));
    out.extend(bstr(tiers[0][0].as_bytes()));
    out.extend(bstr(b"announce-list"));
    out.push(b'l');
    for tier in tiers {
        out.push(b'l');
        for url in *tier {
            out.extend(bstr(url.as_bytes()));
        }
        out.push(b'e');
    }
    out.push(b'e');
    out.extend(bstr(b"info"));
    out.extend_from_slice(info);
    out.push(b'e');
    std::fs::write(dst, out).unwrap();
    let (a, b) = (load_metainfo(src), load_metainfo(dst));
    assert_eq!(
        a.info_hash, b.info_hash,
        "rewriting the trackers changed the info-hash"
    );
    let want: Vec<Vec<String>> = tiers
        .iter()
        .map(|t| t.iter().map(|u| u.to_string()).collect())
        .collect();
    assert_eq!(b.announce_list, want);
    // and libtorrent reads the same
    let lt = torrent_info(dst);
    assert_eq!(lt.info_hash, a.info_hash.to_hex());
    let urls: usize = tiers.iter().map(|t| t.len()).sum();
    assert_eq!(lt.trackers.len(), urls, "{:?}", lt.trackers);
}

/// A UDP socket that reads and drops everything (a tracker that never answers).
struct BlackHole {
    addr: SocketAddr,
    received: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlackHole {
    fn start(addr: SocketAddr) -> BlackHole {
        let sock = UdpSocket::bind(addr).expect("bind the silent UDP tracker");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (received, stop) = (received.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    if sock.recv_from(&mut buf).is_ok() {
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        BlackHole {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn dead_first_tier_does_not_delay_the_download() {
    let t = TestDir::new("tr-dead-tier");
    let size = (4 << 20) + 3;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, 122);
    let (probe, ih) = make_torrent(&file, &t.join("probe.torrent"), 64 * 1024);
    let tracker = Opentracker::start(&t.join("tracker"), &[&ih]);
    // nothing listens on this TCP port
    let dead_http = format!("http://{}/announce", fixed(124));
    // this UDP port reads and never answers
    let hole = BlackHole::start(lo(124, 0));
    let dead_udp = format!("udp://{}/announce", hole.addr);
    // the seeder only knows the working tracker
    let seed_torrent = t.join("seed.torrent");
    with_tiers(&probe, &seed_torrent, &[&[tracker.http_url.as_str()]]);
    let torrent = t.join("data.torrent");
    with_tiers(
        &probe,
        &torrent,
        &[&[&dead_http, &dead_udp], &[tracker.http_url.as_str()]],
    );
    let _seeder = LtSeeder::start(&seed_torrent, &t.join("seed"), lo(122, 0));
    tracker.wait_for_seeds(&ih, 1, secs(30));

    let out = t.mkdir("out");
    let started = Instant::now();
    let run = Torrix::download(t.path(), &torrent, &out, &[], lo(123, 0));
    let output = run.expect_success(secs(60));
    let took = started.elapsed();
    let line = assert_download_summary(&output, size);
    eprintln!(
        "with a dead first tier: {line}; wall time {took:?}; the silent UDP tracker got {} datagram(s)",
        hole.received.load(Ordering::SeqCst)
    );
    assert_same_file(&file, &out.join("data.bin"));
    assert!(
        took < Duration::from_secs(15),
        "torrix took {took:?} (≥ 15 s) to download 4 MiB with a dead first tier: \
         the second tier must not wait for the first one's time-outs"
    );
    assert!(
        hole.received.load(Ordering::SeqCst) >= 1,
        "torrix never tried the first tier's UDP tracker"
    );
}
