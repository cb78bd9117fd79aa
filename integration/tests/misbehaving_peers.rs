//! Peers that break the protocol, against a running torrix.
//!
//! Each test starts `torrix seed --log-level debug` on a small torrent (4 MiB + 1000
//! bytes in 64 KiB pieces: 65 pieces, so the bitfield has 7 spare bits), connects a
//! well-behaved scripted peer first, then lets a scripted evil peer (our own Rust peer,
//! `torrix_integration::evil_peer`, from another 127.0.0.x) do one bad thing, and
//! asserts:
//!
//! - torrix closes the evil connection within a few seconds (EOF or reset on read),
//! - its debug log names the reason,
//! - the seeder process is still running, the well-behaved peer that was already
//!   connected downloads pieces with the right SHA-1 on its existing connection, and a
//!   new well-behaved peer can connect and download too.
//!
//! Plus: a downloader sent a block it never asked for; a downloader fed corrupt blocks
//! by one seeder (it must ban that peer and finish from a good libtorrent seeder); and
//! a libtorrent leecher that completes while evil peers come and go.
//!
//! Hosts 60–100 (`lo(host, _)`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use torrix_integration::evil_peer::{connect_from, fast_reserved, load_metainfo, test_peer_id};
use torrix_integration::*;
use torrix_proto::wire::{allowed_fast_set, Handshake, Message};
use torrix_proto::{BlockRef, InfoHash, Layout, Metainfo};

/// How long torrix may take to drop a misbehaving connection.
const DROP_WITHIN: u64 = 5;

struct Seeded {
    t: TestDir,
    torrent: PathBuf,
    file: PathBuf,
    meta: Metainfo,
    seeder: Torrix,
    addr: SocketAddr,
}

fn ip(host: u8) -> IpAddr {
    lo(host, 0).ip()
}

/// `torrix seed --log-level debug` of a 65-piece torrent on `lo(host, fixed port)`.
fn start_seed(name: &str, host: u8, size: u64) -> Seeded {
    let t = TestDir::new(name);
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, host as u64);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let meta = load_metainfo(&torrent);
    let (seeder, addr) = spawn_torrix_seed(&t, &torrent, &t.join("seed"), lo(host, 0));
    Seeded {
        t,
        torrent,
        file,
        meta,
        seeder,
        addr,
    }
}

/// `torrix seed TORRENT -d DIR -l LISTEN --log-level debug`, waited for until serving.
fn spawn_torrix_seed(
    t: &TestDir,
    torrent: &std::path::Path,
    dir: &std::path::Path,
    listen: SocketAddr,
) -> (Torrix, SocketAddr) {
    let listen = lo_fixed(listen);
    let mut seeder = Torrix::spawn(
        t.path(),
        [
            "seed".as_ref(),
            torrent.as_os_str(),
            "-d".as_ref(),
            dir.as_os_str(),
            "-l".as_ref(),
            listen.to_string().as_ref(),
            "--log-level".as_ref(),
            "debug".as_ref(),
        ],
    );
    if seeder
        .wait_for_line(&format!("listening on {listen}"), secs(60))
        .is_none()
    {
        seeder.fail(&format!("no \"listening on {listen}\" line within 60 s"));
    }
    (seeder, listen)
}

fn lo_fixed(a: SocketAddr) -> SocketAddr {
    if a.port() != 0 {
        return a;
    }
    SocketAddr::new(a.ip(), free_port(a.ip()))
}

impl Seeded {
    /// A well-behaved scripted peer from `host`, handshaken and having sent have-none.
    fn good_peer(&self, host: u8) -> WirePeer {
        let mut p = WirePeer::connect(ip(host), self.addr, self.meta.info_hash);
        assert!(
            p.remote.reserved.fast(),
            "torrix should advertise the fast extension"
        );
        p.send(&Message::HaveNone).unwrap();
        p
    }

    /// An evil peer from `host` that completed the handshake.
    fn evil_peer(&self, host: u8) -> WirePeer {
        self.good_peer(host)
    }

    fn assert_alive(&mut self) {
        if let Some(st) = self.seeder.try_status() {
            self.seeder.fail(&format!(
                "the seeder exited ({st}) after a misbehaving peer"
            ));
        }
    }

    /// The misbehaving connection is gone; now check that everything else carries on:
    /// the seeder is alive, `early` (connected before the misbehaviour) downloads the
    /// first and the last piece, and a new peer from `late_host` downloads a middle one.
    fn assert_carries_on(&mut self, early: &mut WirePeer, late_host: u8) {
        self.assert_alive();
        let n = self.meta.pieces.len() as u32;
        early.download_piece(&self.meta, 0, secs(10));
        early.download_piece(&self.meta, n - 1, secs(10));
        let mut late = self.good_peer(late_host);
        late.download_piece(&self.meta, n / 2, secs(10));
        self.assert_alive();
    }

    /// If torrix logs the disconnect (`--log-level debug` gives a "disconnected, reason:
    /// …" line per connection), that line names `reason`. A binary whose debug lines are
    /// compiled out logs nothing here: [`debug_log_names_the_disconnect_reason`] is the
    /// test that requires them.
    fn assert_logged_disconnect(&mut self, reason: &str) {
        assert_logged_reason(&mut self.seeder, reason);
    }
}

/// See [`Seeded::assert_logged_disconnect`].
fn assert_logged_reason(torrix: &mut Torrix, reason: &str) {
    let has = |text: &str| {
        text.lines()
            .any(|l| l.contains("disconnected") && l.contains(reason))
    };
    if !torrix.stderr().contains("DEBG") {
        eprintln!("torrix logged no debug lines: not checking the disconnect reason");
        return;
    }
    if !wait_for(|| has(&torrix.stderr()), secs(5)) {
        torrix.fail(&format!(
            "no debug log line with \"disconnected\" and the reason {reason:?}"
        ));
    }
}

/// Assert `p` gets closed by torrix within [`DROP_WITHIN`] seconds.
#[track_caller]
fn assert_dropped(p: &mut WirePeer, what: &str) -> Duration {
    match p.wait_closed(secs(DROP_WITHIN)) {
        Ok((how, after)) => {
            eprintln!("{what}: torrix closed the connection after {after:?} ({how})");
            after
        }
        Err(e) => panic!("{what}: torrix did not close the connection: {e}"),
    }
}

/// Send `msgs` in batches of `batch` until they are all sent or the connection breaks
/// (torrix closed it). Returns how many were sent before the break, if it broke.
fn flood(p: &mut WirePeer, msgs: &[Message], batch: usize) -> Option<usize> {
    for (i, chunk) in msgs.chunks(batch).enumerate() {
        if p.send_all(chunk).is_err() {
            return Some(i * batch);
        }
    }
    None
}

#[test]
fn wrong_info_hash_in_handshake_is_refused() {
    let mut s = start_seed("mis-infohash", 60, (4 << 20) + 1000);
    let mut early = s.good_peer(62);
    // a handshake for a torrent torrix does not serve
    let mut stream = connect_from(ip(61), s.addr).unwrap();
    let mut wrong = s.meta.info_hash.0;
    wrong[0] ^= 0xff;
    let hs = Handshake {
        reserved: fast_reserved(),
        info_hash: InfoHash(wrong),
        peer_id: test_peer_id(),
    };
    use std::io::{Read, Write};
    stream.write_all(&hs.to_bytes()).unwrap();
    stream.set_read_timeout(Some(secs(DROP_WITHIN))).unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let closed = loop {
        let mut b = [0u8; 256];
        match stream.read(&mut b) {
            Ok(0) => break Ok("EOF".to_string()),
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break Err(e)
            }
            Err(e) => break Ok(format!("{e}")),
        }
    };
    let how = closed.unwrap_or_else(|e| {
        panic!(
            "torrix kept a connection with a wrong info-hash open for {:?} ({e})",
            start.elapsed()
        )
    });
    eprintln!(
        "wrong info-hash: closed after {:?} ({how})",
        start.elapsed()
    );
    assert!(
        got.is_empty(),
        "torrix answered a handshake for an unknown torrent with {} bytes (expected none)",
        got.len()
    );
    if s.seeder.stderr().contains("DEBG") {
        let logged = wait_for(|| s.seeder.stderr().contains("unknown torrent"), secs(5));
        assert!(logged, "no debug log line about the unknown torrent");
    }
    s.assert_carries_on(&mut early, 63);
}

#[test]
fn oversized_length_prefix_is_dropped() {
    let mut s = start_seed("mis-oversize", 64, (4 << 20) + 1000);
    let mut early = s.good_peer(66);
    let mut evil = s.evil_peer(65);
    // a piece message claiming 0x00100000 + 1 MiB = 2 MiB, then the start of a body
    let len: u32 = 0x0010_0000 + (1 << 20);
    let mut frame = len.to_be_bytes().to_vec();
    frame.push(7);
    frame.extend_from_slice(&[0xab; 64 * 1024]);
    let _ = evil.send_raw(&frame);
    assert_dropped(&mut evil, "2 MiB length prefix");
    s.assert_logged_disconnect(&format!("{len} bytes"));
    s.assert_carries_on(&mut early, 67);
}

#[test]
fn bitfield_of_the_wrong_size_is_dropped() {
    let mut s = start_seed("mis-bf-size", 68, (4 << 20) + 1000);
    let mut early = s.good_peer(70);
    // 65 pieces need 9 bytes; send 5 (and the evil peer sends no have-none first)
    let stream_peer = WirePeer::connect(ip(69), s.addr, s.meta.info_hash);
    let mut evil = stream_peer;
    let _ = evil.send(&Message::Bitfield(Bytes::from_static(&[0xff; 5])));
    assert_dropped(&mut evil, "5-byte bitfield for 65 pieces");
    s.assert_logged_disconnect("bitfield");
    s.assert_carries_on(&mut early, 71);
}

#[test]
fn bitfield_with_spare_bits_set_is_dropped() {
    let mut s = start_seed("mis-bf-spare", 72, (4 << 20) + 1000);
    assert_eq!(s.meta.pieces.len(), 65);
    let mut early = s.good_peer(74);
    let mut evil = WirePeer::connect(ip(73), s.addr, s.meta.info_hash);
    // right size (9 bytes), piece 0 only, plus the 7 spare bits after piece 64
    let mut bits = [0u8; 9];
    bits[0] = 0x80;
    bits[8] = 0x7f;
    let _ = evil.send(&Message::Bitfield(Bytes::copy_from_slice(&bits)));
    assert_dropped(&mut evil, "bitfield with spare bits set");
    s.assert_logged_disconnect("spare bits");
    s.assert_carries_on(&mut early, 75);
}

#[test]
fn have_for_piece_out_of_range_is_dropped() {
    let mut s = start_seed("mis-have", 76, (4 << 20) + 1000);
    let mut early = s.good_peer(78);
    let mut evil = s.evil_peer(77);
    // pieces are 0..=64: 65 is the first index out of range
    let _ = evil.send(&Message::Have { piece: 65 });
    assert_dropped(&mut evil, "have for piece 65 of 65");
    s.assert_logged_disconnect("out of range");
    s.assert_carries_on(&mut early, 79);
}

#[test]
fn unrequested_piece_flood_to_seeder_is_dropped() {
    let mut s = start_seed("mis-unrequested-seed", 80, (4 << 20) + 1000);
    let mut early = s.good_peer(82);
    let mut evil = s.evil_peer(81);
    // 1024 blocks (16 MiB, four times the torrent) that the seeder never asked for
    let layout = Layout::from_metainfo(&s.meta);
    let junk = Bytes::from(vec![0x33u8; 16 * 1024]);
    let msgs: Vec<Message> = (0..1024u32)
        .map(|i| {
            let b = layout.block(i % 64, (i / 64) % 4);
            Message::Piece {
                piece: b.piece,
                offset: b.offset,
                data: junk.clone(),
            }
        })
        .collect();
    let broke = flood(&mut evil, &msgs, 16);
    eprintln!("unrequested blocks: write failed after {broke:?} blocks");
    assert_dropped(&mut evil, "1024 unrequested blocks sent to a seeder");
    s.assert_logged_disconnect("");
    s.assert_carries_on(&mut early, 83);
}

#[test]
fn request_flood_for_invalid_ranges_is_dropped() {
    let mut s = start_seed("mis-req-invalid", 84, (4 << 20) + 1000);
    let mut early = s.good_peer(86);
    let mut evil = s.evil_peer(85);
    evil.send(&Message::Interested).unwrap();
    let n = s.meta.pieces.len() as u32;
    let bad = [
        BlockRef {
            piece: n,
            offset: 0,
            len: 16384,
        }, // piece out of range
        BlockRef {
            piece: 1,
            offset: 64 * 1024,
            len: 16384,
        }, // past the end of the piece
        BlockRef {
            piece: 1,
            offset: 0,
            len: 0,
        }, // empty
        BlockRef {
            piece: 1,
            offset: 0,
            len: 1 << 20,
        }, // 1 MiB block
        BlockRef {
            piece: n - 1,
            offset: 0,
            len: 16384,
        }, // the last piece has only 1000 bytes
    ];
    let msgs: Vec<Message> = (0..20_000).map(|i| Message::Request(bad[i % 5])).collect();
    let broke = flood(&mut evil, &msgs, 500);
    eprintln!("invalid requests: write failed after {broke:?}");
    assert_dropped(&mut evil, "20000 requests for invalid ranges");
    s.assert_logged_disconnect("invalid requests");
    s.assert_carries_on(&mut early, 87);
}

#[test]
fn request_flood_while_choked_is_dropped() {
    let mut s = start_seed("mis-req-choked", 88, (4 << 20) + 1000);
    let mut early = s.good_peer(90);
    let mut evil = s.evil_peer(89);
    // never "interested", so torrix keeps choking us; skip the allowed-fast pieces
    // (BEP 6: those may be served while choked)
    let IpAddr::V4(v4) = ip(89) else {
        unreachable!()
    };
    let n = s.meta.pieces.len() as u32;
    let fast: Vec<u32> = allowed_fast_set(v4, &s.meta.info_hash, n, 10)
        .into_iter()
        .collect();
    let layout = Layout::from_metainfo(&s.meta);
    let valid: Vec<BlockRef> = (0..n - 1)
        .filter(|p| !fast.contains(p))
        .flat_map(|p| layout.blocks(p).collect::<Vec<_>>())
        .collect();
    let msgs: Vec<Message> = (0..20_000)
        .map(|i| Message::Request(valid[i % valid.len()]))
        .collect();
    let broke = flood(&mut evil, &msgs, 500);
    eprintln!("requests while choked: write failed after {broke:?}");
    assert!(
        !evil.unchoked,
        "torrix unchoked a peer that never said interested"
    );
    assert_dropped(&mut evil, "20000 requests while choked");
    s.assert_logged_disconnect("choked");
    s.assert_carries_on(&mut early, 91);
}

/// A downloader (it has nothing yet) gets a block it never requested from one of its
/// seeders: it drops that peer and completes from a good libtorrent seeder.
#[test]
fn unrequested_piece_to_downloader_is_dropped() {
    let t = TestDir::new("mis-unrequested-dl");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 8 << 20, 92);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let good = LtSeeder::start(&torrent, &t.join("seed"), lo(92, 0));
    let evil = ScriptedSeeder::start(&torrent, &file, lo(93, 0), SeedBehaviour::UnrequestedPiece);
    let out = t.mkdir("out");
    let mut args: Vec<std::ffi::OsString> = vec!["download".into(), torrent.clone().into()];
    args.extend([
        "-d".into(),
        out.clone().into(),
        "-s".into(),
        format!("{},{}", evil.addr, good.addr).into(),
        "-l".into(),
        lo(94, 0).to_string().into(),
        "--quiet".into(),
        "--log-level".into(),
        "debug".into(),
    ]);
    let run = Torrix::spawn(t.path(), args);
    let output = run.expect_success(secs(60));
    assert_download_summary(&output, 8 << 20);
    assert_same_file(&file, &out.join("data.bin"));
    assert!(
        evil.handshakes() >= 1,
        "torrix never handshook with the evil peer"
    );
    assert!(evil.blocks_sent() >= 1);
    if output.stderr.contains("DEBG") {
        assert!(
            output
                .stderr
                .lines()
                .any(|l| l.contains("disconnected") && l.contains("nobody asked for")),
            "no debug log line about the unrequested block:\n{}",
            output.stderr
        );
    }
}

/// Issue: download when a peer sends corrupt blocks. One seeder (ours) answers every
/// request promptly but flips a byte in each block; a good libtorrent seeder has the
/// real data. torrix must finish with the right bytes, ban the corrupt peer after its
/// hash failures and not dial it again.
#[test]
fn corrupt_seeder_is_banned_and_download_completes() {
    let t = TestDir::new("mis-corrupt");
    let size = (16 << 20) + 12345;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, 98);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let good = LtSeeder::start(&torrent, &t.join("seed"), lo(98, 0));
    let evil = ScriptedSeeder::start(&torrent, &file, lo(99, 0), SeedBehaviour::FlipBytes);
    let out = t.mkdir("out");
    let args: Vec<std::ffi::OsString> = vec![
        "download".into(),
        torrent.clone().into(),
        "-d".into(),
        out.clone().into(),
        "-s".into(),
        format!("{},{}", evil.addr, good.addr).into(),
        "-l".into(),
        lo(100, 0).to_string().into(),
        "--quiet".into(),
        "--log-level".into(),
        "debug".into(),
    ];
    let started = Instant::now();
    let run = Torrix::spawn(t.path(), args);
    let output = run.expect_success(secs(90));
    eprintln!("download with a corrupt seeder: {:?}", started.elapsed());
    assert_download_summary(&output, size);
    assert_same_file(&file, &out.join("data.bin"));
    let (conns, blocks) = (evil.connections(), evil.blocks_sent());
    eprintln!("corrupt seeder: {conns} connection(s), {blocks} corrupt block(s) sent");
    // it really delivered (corrupt) pieces, so torrix had something to reject
    assert!(
        blocks >= 4,
        "the corrupt seeder sent only {blocks} blocks; it was never really used"
    );
    // the failures are logged (a warning), blamed on the corrupt peer only
    let evil_ip = format!("{}:", evil.addr.ip());
    let good_ip = format!("{}:", good.addr.ip());
    let failed: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.contains("hash check"))
        .collect();
    assert!(
        failed.iter().any(|l| l.contains(&evil_ip)),
        "torrix's log has no failed hash check naming the corrupt peer {evil_ip}:\n{}",
        output.stderr
    );
    assert!(
        !failed.iter().any(|l| l.contains(&good_ip)),
        "torrix blamed the good seeder {good_ip} for a hash failure:\n{}",
        output.stderr
    );
    if output.stderr.contains("DEBG") {
        assert!(
            output
                .stderr
                .lines()
                .any(|l| l.contains("disconnected") && l.contains("corrupt")),
            "no debug log line saying the corrupt peer was dropped for it:\n{}",
            output.stderr
        );
    }
    assert!(
        conns <= 3,
        "torrix connected to the banned corrupt seeder {conns} times"
    );
    drop(good);
}

/// The corrupt seeder is torrix's only peer at first: after its hash failures torrix
/// bans it and must not dial it again, even though it has nothing else to do for longer
/// than its reconnect back-off (10 s). Then a good libtorrent seeder dials in and the
/// download completes.
#[test]
fn corrupt_seeder_is_not_redialled() {
    let t = TestDir::new("mis-corrupt-redial");
    let size = (4 << 20) + 777;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, 103);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let evil = ScriptedSeeder::start(&torrent, &file, lo(103, 0), SeedBehaviour::FlipBytes);
    let out = t.mkdir("out");
    let listen = lo_fixed(lo(104, 0));
    let args: Vec<std::ffi::OsString> = vec![
        "download".into(),
        torrent.clone().into(),
        "-d".into(),
        out.clone().into(),
        "-s".into(),
        evil.addr.to_string().into(),
        "-l".into(),
        listen.to_string().into(),
        "--quiet".into(),
    ];
    let mut run = Torrix::spawn(t.path(), args);
    let banned = wait_for(|| run.stderr().matches("hash check").count() >= 2, secs(10));
    if !banned {
        run.fail("the corrupt seeder did not cause two hash failures within 10 s");
    }
    let at_ban = evil.connections();
    // longer than the reconnect back-off, with no other peer to talk to
    std::thread::sleep(Duration::from_secs(13));
    let after = evil.connections();
    eprintln!("corrupt seeder: {at_ban} connection(s) at the ban, {after} 13 s later");
    if let Some(st) = run.try_status() {
        run.fail(&format!("exited ({st}) with the download incomplete"));
    }
    let _good = LtSeeder::start_with(
        &torrent,
        &t.join("seed"),
        lo(105, 0),
        &SeedOptions {
            peers: vec![listen],
            ..SeedOptions::default()
        },
    );
    let output = run.expect_success(secs(60));
    assert_download_summary(&output, size);
    assert_same_file(&file, &out.join("data.bin"));
    let total = evil.connections();
    assert!(
        total <= 3 && after == at_ban,
        "torrix dialled the banned corrupt seeder again: {at_ban} connection(s) at the ban, \
         {after} 13 s later, {total} in all"
    );
}

/// A libtorrent leecher downloads from torrix while evil peers connect and misbehave
/// one after the other: it completes byte-for-byte, and torrix dropped each evil peer.
#[test]
fn lt_leecher_completes_while_evil_peers_misbehave() {
    let mut s = start_seed("mis-with-lt", 95, 16 << 20);
    let leecher = LtLeecher::spawn(
        &s.torrent,
        &s.t.join("out"),
        &[s.addr],
        lo(96, 0),
        secs(120),
    );
    let n = s.meta.pieces.len() as u32;
    let evil_msgs: Vec<(&str, Vec<u8>)> = vec![
        ("have out of range", {
            let mut b = bytes::BytesMut::new();
            torrix_proto::wire::encode(&Message::Have { piece: n + 7 }, &mut b);
            b.to_vec()
        }),
        ("huge length prefix", vec![0x7f, 0xff, 0xff, 0xff, 7]),
        ("unknown message id", vec![0, 0, 0, 1, 99]),
        ("short bitfield", {
            let mut b = bytes::BytesMut::new();
            torrix_proto::wire::encode(&Message::Bitfield(Bytes::from_static(&[0xff])), &mut b);
            b.to_vec()
        }),
    ];
    for (what, bytes) in &evil_msgs {
        let mut evil = s.evil_peer(97);
        let _ = evil.send_raw(bytes);
        assert_dropped(&mut evil, what);
        s.assert_alive();
    }
    let took = leecher.wait();
    eprintln!("lt leecher done in {took:?}");
    assert_same_file(&s.file, &s.t.join("out/data.bin"));
    s.assert_alive();
}

/// The CLI contract: `--log-level debug` logs each closed connection with its reason.
#[test]
fn debug_log_names_the_disconnect_reason() {
    let mut s = start_seed("mis-debug-log", 101, (4 << 20) + 1000);
    let mut evil = s.evil_peer(102);
    let _ = evil.send(&Message::Have { piece: 1000 });
    assert_dropped(&mut evil, "have for piece 1000 of 65");
    let has = |text: &str| {
        text.lines().any(|l| {
            l.contains("disconnected") && l.contains("reason") && l.contains("out of range")
        })
    };
    if !wait_for(|| has(&s.seeder.stderr()), secs(5)) {
        s.seeder.fail(
            "with --log-level debug, no \"disconnected, reason: …out of range\" line for the \
             dropped peer",
        );
    }
}
