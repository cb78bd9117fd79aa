//! Self-tests of the harness: libtorrent ↔ libtorrent through every harness path the
//! torrix tests use (full seeders, partial peers, opentracker), verified byte-for-byte,
//! plus proof that failures are loud. None of these needs the torrix binary.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::time::Instant;

use torrix_integration::*;

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn lt_to_lt_single_file_4mib() {
    let t = TestDir::new("lt-single");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 4 << 20, 1);
    let (torrent, ih) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let meta = torrent_info(&torrent);
    assert_eq!(meta.info_hash, ih);
    assert_eq!((meta.num_pieces, meta.total_size), (64, 4 << 20));

    let seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(2, 0));
    let took = LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[seeder.addr],
        lo(3, 0),
        secs(120),
    );
    eprintln!("lt → lt 4 MiB: {took:?}");
    assert_same_file(&file, &t.join("out/data.bin"));
}

#[test]
fn lt_to_lt_multi_file_tree() {
    let t = TestDir::new("lt-tree");
    let root = make_multi_tree(&t.mkdir("seed"));
    // 32 KiB pieces: most pieces span several files, several files share one piece
    let (torrent, _) = make_torrent(&root, &t.join("tree.torrent"), 32 * 1024);
    let meta = torrent_info(&torrent);
    assert_eq!(meta.name, MULTI_TREE_NAME);
    assert_eq!(meta.files.len(), MULTI_TREE_FILES.len(), "{:?}", meta.files);
    assert!(
        meta.files.iter().any(|f| f.size == 0),
        "zero-length file kept in the torrent"
    );

    let seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(4, 0));
    let took = LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[seeder.addr],
        lo(5, 0),
        secs(120),
    );
    eprintln!("lt → lt tree ({} bytes): {took:?}", meta.total_size);
    assert_same_tree(&root, &t.join("out").join(MULTI_TREE_NAME));
}

#[test]
fn lt_leecher_completes_from_two_partial_peers() {
    let t = TestDir::new("lt-halves");
    // 3 MiB + 1000 bytes in 64 KiB pieces: 49 pieces, the last one short
    let file = make_payload(&t.mkdir("full"), "data.bin", (3 << 20) + 1000, 2);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let meta = torrent_info(&torrent);
    let (first, second) = (half(&meta, Half::First), half(&meta, Half::Second));
    assert_eq!((first.clone(), second.clone()), (0..24, 24..49));
    write_partial(&meta, &t.join("full"), &t.mkdir("a"), first.clone());
    write_partial(&meta, &t.join("full"), &t.mkdir("b"), second.clone());

    let a = LtSeeder::start_partial(&torrent, &t.join("a"), lo(6, 0), first);
    let b = LtSeeder::start_partial(&torrent, &t.join("b"), lo(7, 0), second);
    let took = LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[a.addr, b.addr],
        lo(8, 0),
        secs(120),
    );
    eprintln!("lt halves → lt: {took:?}");
    assert_same_file(&file, &t.join("out/data.bin"));
    // the partial peers were connected to a leecher holding the other half, yet never
    // downloaded: each still differs from the original exactly where its half ends
    // (libtorrent writes whole pieces, so a downloaded piece would move these offsets)
    let a_err = compare_files(&file, &t.join("a/data.bin")).unwrap_err();
    assert!(a_err.contains("byte offset 1572864 "), "{a_err}");
    let b_err = compare_files(&file, &t.join("b/data.bin")).unwrap_err();
    assert!(b_err.contains("byte offset 0 "), "{b_err}");
}

#[test]
fn lt_leecher_completes_tree_from_two_partial_peers() {
    let t = TestDir::new("lt-tree-halves");
    let root = make_multi_tree(&t.mkdir("full"));
    let (torrent, _) = make_torrent(&root, &t.join("tree.torrent"), 16 * 1024);
    let meta = torrent_info(&torrent);
    write_partial(
        &meta,
        &t.join("full"),
        &t.mkdir("a"),
        half(&meta, Half::First),
    );
    write_partial(
        &meta,
        &t.join("full"),
        &t.mkdir("b"),
        half(&meta, Half::Second),
    );

    let a = LtSeeder::start_partial(&torrent, &t.join("a"), lo(9, 0), half(&meta, Half::First));
    let b = LtSeeder::start_partial(&torrent, &t.join("b"), lo(10, 0), half(&meta, Half::Second));
    LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[a.addr, b.addr],
        lo(11, 0),
        secs(120),
    );
    assert_same_tree(&root, &t.join("out").join(MULTI_TREE_NAME));
}

#[test]
fn lt_seeder_dials_a_listening_leecher() {
    let t = TestDir::new("lt-dial");
    let file = make_payload(&t.mkdir("seed"), "data.bin", (1 << 20) + 3, 9);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 16 * 1024);
    // the leecher knows no peer and no tracker: only the seeder's --peer can reach it
    let leecher = LtLeecher::spawn(&torrent, &t.join("out"), &[], lo(37, 0), secs(60));
    let opts = SeedOptions {
        peers: vec![leecher.addr],
        ..SeedOptions::default()
    };
    let _seeder = LtSeeder::start_with(&torrent, &t.join("seed"), lo(38, 0), &opts);
    leecher.wait();
    assert_same_file(&file, &t.join("out/data.bin"));
}

fn tracker_swarm(name: &str, udp: bool, seed_host: u8, leech_host: u8) {
    let t = TestDir::new(name);
    let file = make_payload(&t.mkdir("seed"), "data.bin", 2 << 20, 3);
    // the info-hash does not depend on the tracker list, so make it once to learn it
    let (_, ih) = make_torrent(&file, &t.join("probe.torrent"), 32 * 1024);
    let mut tracker = Opentracker::start(&t.join("tracker"), &[]);
    assert_eq!(tracker.scrape(&ih), Scrape::default());
    tracker.allow(&ih);
    let url = if udp {
        tracker.udp_url.clone()
    } else {
        tracker.http_url.clone()
    };
    let (torrent, ih2) =
        make_torrent_with_trackers(&file, &t.join("data.torrent"), 32 * 1024, &[&url]);
    assert_eq!(ih, ih2);
    assert_eq!(torrent_info(&torrent).trackers, vec![url]);

    let _seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(seed_host, 0));
    tracker.wait_for_seeds(&ih, 1, secs(30));
    // no --peer: the leecher can only find the seeder through the tracker
    let start = Instant::now();
    LtLeecher::run(&torrent, &t.join("out"), &[], lo(leech_host, 0), secs(120));
    eprintln!(
        "lt → lt via opentracker ({}): {:?}",
        if udp { "udp" } else { "http" },
        start.elapsed()
    );
    assert_same_file(&file, &t.join("out/data.bin"));
    assert!(tracker.proc().try_status().is_none(), "opentracker died");
}

#[test]
fn lt_peers_meet_through_opentracker_http() {
    tracker_swarm("lt-tracker-http", false, 12, 13);
}

#[test]
fn lt_peers_meet_through_opentracker_udp() {
    tracker_swarm("lt-tracker-udp", true, 14, 15);
}

#[test]
fn seeder_with_incomplete_data_fails_loudly() {
    let t = TestDir::new("lt-incomplete");
    let file = make_payload(&t.mkdir("full"), "data.bin", 1 << 20, 4);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let meta = torrent_info(&torrent);
    write_partial(&meta, &t.join("full"), &t.mkdir("part"), 0..10);
    let msg = panic_message(|| {
        LtSeeder::start(&torrent, &t.join("part"), lo(16, 0));
    });
    assert!(
        msg.contains("data incomplete") && msg.contains("10/16 pieces"),
        "{msg}"
    );
    assert!(msg.contains("missing 10-15"), "{msg}");
}

#[test]
fn partial_peer_with_too_much_data_fails_loudly() {
    let t = TestDir::new("lt-too-much");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 1 << 20, 4);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let msg = panic_message(|| {
        LtSeeder::start_partial(&torrent, &t.join("seed"), lo(17, 0), 0..8);
    });
    assert!(
        msg.contains("holds pieces outside its range: 8-15"),
        "{msg}"
    );
}

#[test]
fn peer_scripts_refuse_non_loopback_addresses() {
    let t = TestDir::new("lt-refuse");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 64 * 1024, 5);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 16 * 1024);
    let torrent = torrent.to_str().unwrap();
    let seed = t.join("seed");
    let seed = seed.to_str().unwrap();
    let out = t.join("out");
    let out = out.to_str().unwrap();
    let file = file.to_str().unwrap();
    let cases: &[(&str, Vec<&str>)] = &[
        (
            "lt_seed.py",
            vec![torrent, seed, "--listen", "10.1.2.3:6881"],
        ),
        (
            "lt_seed.py",
            vec![torrent, seed, "--listen", "0.0.0.0:6881"],
        ),
        (
            "lt_seed.py",
            vec![
                torrent,
                seed,
                "--listen",
                "127.0.0.2:0",
                "--peer",
                "192.168.1.1:6881",
            ],
        ),
        ("lt_leech.py", vec![torrent, out, "--peer", "8.8.8.8:6881"]),
        (
            "lt_leech.py",
            vec![torrent, out, "--peer", "127.0.0.2:1", "--listen", "[::]:0"],
        ),
        (
            "lt_make_torrent.py",
            vec![
                file,
                "x.torrent",
                "--tracker",
                "http://example.com/announce",
            ],
        ),
    ];
    for (script, args) in cases {
        let out = Command::new(python())
            .arg(peers_dir().join(script))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{script} {args:?}: {err}");
        assert!(err.contains("only 127.0.0.0/8"), "{script} {args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{script} {args:?} printed {:?}",
            out.stdout
        );
    }
}

#[test]
fn dead_leecher_is_reported_with_its_stderr() {
    let t = TestDir::new("lt-dead");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 64 * 1024, 6);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 16 * 1024);
    // nobody listens on this port: the leecher must time out, and the harness must say so
    let nobody = lo(18, free_port(lo(18, 0).ip()));
    let msg = panic_message(|| {
        LtLeecher::run(
            &torrent,
            &t.join("out"),
            &[nobody],
            lo(19, 0),
            std::time::Duration::from_secs(3),
        );
    });
    assert!(msg.contains("lt leecher on 127.0.0.19:0"), "{msg}");
    assert!(msg.contains("timeout after 3.0s at 0.00%"), "{msg}");
}
