//! Issue "the actor engine", item 2: requests that deliver nothing time out and their
//! blocks go to other peers. A scripted peer unchokes torrix and then answers no
//! request; it is torrix's only peer for longer than the request timeout (15 s), after
//! which a good libtorrent seeder dials in and the download must complete.

use std::net::SocketAddr;
use std::time::Duration;

use torrix_integration::evil_peer::{ScriptedSeeder, SeedBehaviour};
use torrix_integration::*;

#[test]
fn requests_to_a_silent_peer_time_out_and_go_to_another_peer() {
    let t = TestDir::new("tx-timeout");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 4 << 20, 31);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let silent = ScriptedSeeder::start(&torrent, &file, lo(130, 0), SeedBehaviour::Silent);
    let listen = {
        let ip = lo(131, 0).ip();
        SocketAddr::new(ip, free_port(ip))
    };
    let out = t.mkdir("out");
    let extra = ["--log-level", "debug"];
    let mut run = Torrix::download_with(t.path(), &torrent, &out, &[silent.addr], listen, &extra);

    // For 17 s the silent peer is all torrix has: it must have asked it for blocks.
    std::thread::sleep(Duration::from_secs(17));
    assert!(
        silent.requests() > 0,
        "torrix never requested anything from the silent peer"
    );
    assert!(
        run.wait_timeout(Duration::ZERO).is_none(),
        "torrix finished without data?"
    );

    // Now a good seeder dials torrix; the timed-out blocks must go to it.
    let opts = SeedOptions {
        peers: vec![listen],
        ..SeedOptions::default()
    };
    let _good = LtSeeder::start_with(&torrent, &t.join("seed"), lo(132, 0), &opts);
    let output = run.expect_success(secs(60));
    assert_download_summary(&output, 4 << 20);
    assert_same_file(&file, &out.join("data.bin"));
    assert!(
        output
            .stderr
            .lines()
            .any(|l| l.contains("requests timed out")),
        "no log line shows the request timeout:\n{}",
        output.stderr
    );
}
