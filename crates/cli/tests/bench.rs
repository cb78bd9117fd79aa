//! `torrix bench` runs a real seeder and real leechers over loopback.

mod common;

use std::time::Duration;

use common::{assert_ok, torrix_in};

#[test]
fn bench_transfers_and_verifies() {
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let o = torrix_in(
        cwd.path(),
        &[
            "bench",
            "--size",
            "8M",
            "--leechers",
            "2",
            "--timeout",
            "120",
        ],
        &[("TMPDIR", tmp.path())],
        Duration::from_secs(180),
    );
    let out = assert_ok(&o);
    assert!(
        out.contains("8.0 MiB payload, 1 seeder -> 2 leechers"),
        "{out}"
    );
    for line in [
        "leecher 1 ",
        "leecher 2 ",
        "aggregate:",
        "cpu:",
        "peak rss:",
        "share this process",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    assert!(out.contains("verification: passed (2 of 2 copies"), "{out}");
    // Without --keep nothing is left behind.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn bench_keep_leaves_the_copies() {
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let o = torrix_in(
        cwd.path(),
        &["bench", "--size", "100000", "--keep"],
        &[("TMPDIR", tmp.path())],
        Duration::from_secs(180),
    );
    let out = assert_ok(&o);
    let kept: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        out.contains(&format!("kept {}", kept[0].display())),
        "{out}"
    );
    let seed = std::fs::read(kept[0].join("seed/torrix-bench.bin")).unwrap();
    assert_eq!(seed.len(), 100_000);
    assert_eq!(
        std::fs::read(kept[0].join("leecher-1/torrix-bench.bin")).unwrap(),
        seed
    );
    assert!(kept[0].join("bench.torrent").is_file());
}
