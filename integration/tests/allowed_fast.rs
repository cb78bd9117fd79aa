//! BEP 6 allowed-fast: a peer that never unchokes torrix but offers an allowed-fast
//! set must still get those pieces downloaded, and only those requested while it
//! chokes. A good libtorrent seeder then dials in and the download completes.

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use torrix_integration::evil_peer::{ScriptedSeeder, SeedBehaviour, ALLOWED_FAST_PIECES};
use torrix_integration::*;

const PIECE: u64 = 64 * 1024;
const SIZE: u64 = 1 << 20;

/// Whether `piece` of the download at `path` holds the payload's bytes.
fn piece_matches(path: &std::path::Path, payload: &[u8], piece: u32) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let start = u64::from(piece) * PIECE;
    let mut buf = vec![0u8; PIECE as usize];
    file.read_exact_at(&mut buf, start).is_ok()
        && buf[..] == payload[start as usize..(start + PIECE) as usize]
}

#[test]
fn a_choking_peer_serves_its_allowed_fast_pieces() {
    let t = TestDir::new("tx-allowed-fast");
    let file = make_payload(&t.mkdir("seed"), "data.bin", SIZE, 47);
    let payload = std::fs::read(&file).unwrap();
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), PIECE);
    let choking =
        ScriptedSeeder::start(&torrent, &file, lo(140, 0), SeedBehaviour::AllowedFastOnly);
    let listen = {
        let ip = lo(141, 0).ip();
        SocketAddr::new(ip, free_port(ip))
    };
    let out = t.mkdir("out");
    let mut run = Torrix::download(t.path(), &torrent, &out, &[choking.addr], listen);
    let got = out.join("data.bin");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ALLOWED_FAST_PIECES
        .iter()
        .all(|&p| piece_matches(&got, &payload, p))
    {
        if Instant::now() > deadline {
            run.fail(&format!(
                "allowed-fast pieces {ALLOWED_FAST_PIECES:?} not downloaded from a choking \
                 peer in 30 s ({} requests, {} blocks sent)",
                choking.requests(),
                choking.blocks_sent()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every block of the three pieces, and nothing else, was asked for.
    std::thread::sleep(Duration::from_millis(500));
    let blocks_per_piece = (PIECE / 16384) as usize;
    assert_eq!(choking.off_limits_requests(), 0, "requests outside the set");
    assert_eq!(choking.requests(), 3 * blocks_per_piece);
    assert!(
        run.wait_timeout(Duration::ZERO).is_none(),
        "finished without the data?"
    );

    let opts = SeedOptions {
        peers: vec![listen],
        ..SeedOptions::default()
    };
    let _good = LtSeeder::start_with(&torrent, &t.join("seed"), lo(142, 0), &opts);
    let output = run.expect_success(secs(60));
    assert_download_summary(&output, SIZE);
    assert_same_file(&file, &got);
    assert_eq!(choking.off_limits_requests(), 0);
}
