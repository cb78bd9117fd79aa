//! The torrix CLI against real libtorrent peers on loopback.
//!
//! These encode the CLI contract of integration/README.md.
//!
//! Every download is checked byte-for-byte against the original payload.

use std::net::SocketAddr;
use std::path::Path;

use torrix_integration::*;

/// `torrix download` from `seeds` (none: from the torrent's trackers) into `out`
/// (created first), asserting exit 0 within 300 s and the completion line. Returns it.
fn download(
    t: &TestDir,
    torrent: &Path,
    out: &Path,
    seeds: &[SocketAddr],
    listen: SocketAddr,
) -> String {
    std::fs::create_dir_all(out).unwrap();
    let total = torrent_info(torrent).total_size;
    let run = Torrix::download(t.path(), torrent, out, seeds, listen);
    let output = run.expect_success(secs(300));
    let line = assert_download_summary(&output, total);
    eprintln!("torrix download: {line}");
    line
}

#[test]
fn download_64mib_from_one_lt_seeder() {
    let t = TestDir::new("tx-64m");
    let file = make_payload(&t.mkdir("seed"), "data.bin", 64 << 20, 11);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 256 * 1024);
    let seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(20, 0));
    download(&t, &torrent, &t.join("out"), &[seeder.addr], lo(21, 0));
    assert_same_file(&file, &t.join("out/data.bin"));
}

#[test]
fn download_multi_file_tree() {
    let t = TestDir::new("tx-tree");
    let root = make_multi_tree(&t.mkdir("seed"));
    let (torrent, _) = make_torrent(&root, &t.join("tree.torrent"), 32 * 1024);
    let seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(22, 0));
    download(&t, &torrent, &t.join("out"), &[seeder.addr], lo(23, 0));
    // same paths (spaces, nesting), same bytes, the zero-length file created, nothing extra
    assert_same_tree(&root, &t.join("out").join(MULTI_TREE_NAME));
}

#[test]
fn download_from_two_lt_seeders() {
    let t = TestDir::new("tx-two-seeds");
    let file = make_payload(&t.mkdir("seed"), "data.bin", (32 << 20) + 777, 12);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let a = LtSeeder::start(&torrent, &t.join("seed"), lo(24, 0));
    let b = LtSeeder::start(&torrent, &t.join("seed"), lo(25, 0));
    download(&t, &torrent, &t.join("out"), &[a.addr, b.addr], lo(26, 0));
    assert_same_file(&file, &t.join("out/data.bin"));
}

#[test]
fn download_from_two_partial_lt_peers() {
    let t = TestDir::new("tx-halves");
    // neither peer can complete the download alone: each holds exactly one half
    let file = make_payload(&t.mkdir("full"), "data.bin", (16 << 20) + 4321, 13);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
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
    let a = LtSeeder::start_partial(&torrent, &t.join("a"), lo(27, 0), half(&meta, Half::First));
    let b = LtSeeder::start_partial(&torrent, &t.join("b"), lo(28, 0), half(&meta, Half::Second));
    download(&t, &torrent, &t.join("out"), &[a.addr, b.addr], lo(29, 0));
    assert_same_file(&file, &t.join("out/data.bin"));
}

#[test]
fn download_tree_from_two_partial_lt_peers() {
    let t = TestDir::new("tx-tree-halves");
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
    let a = LtSeeder::start_partial(&torrent, &t.join("a"), lo(30, 0), half(&meta, Half::First));
    let b = LtSeeder::start_partial(&torrent, &t.join("b"), lo(31, 0), half(&meta, Half::Second));
    download(&t, &torrent, &t.join("out"), &[a.addr, b.addr], lo(32, 0));
    assert_same_tree(&root, &t.join("out").join(MULTI_TREE_NAME));
}

/// `--buffered-writes` (page cache instead of O_DIRECT) downloads the same bytes; the
/// odd size leaves a partial last page, written buffered in either mode.
#[test]
fn download_with_buffered_writes() {
    let t = TestDir::new("tx-buffered");
    let file = make_payload(&t.mkdir("seed"), "data.bin", (4 << 20) + 1234, 15);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(152, 0));
    let out = t.mkdir("out");
    let listen = lo(153, free_port(lo(153, 0).ip()));
    let extra = ["--buffered-writes", "--log-level", "info"];
    let run = Torrix::download_with(t.path(), &torrent, &out, &[seeder.addr], listen, &extra);
    let output = run.expect_success(secs(60));
    assert_download_summary(&output, (4 << 20) + 1234);
    assert_same_file(&file, &out.join("data.bin"));
    assert!(
        output
            .stderr
            .lines()
            .any(|l| l.contains("engine listening") && l.contains("direct_writes: false")),
        "the engine did not report direct writes off:\n{}",
        output.stderr
    );
}

#[test]
fn seed_single_file_to_lt_leecher() {
    let t = TestDir::new("tx-seed");
    let file = make_payload(&t.mkdir("seed"), "data.bin", (16 << 20) + 99, 14);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let listen = lo(33, free_port(lo(33, 0).ip()));
    let seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("seed"), listen);
    let took = LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[seeder.addr],
        lo(34, 0),
        secs(180),
    );
    eprintln!("torrix → lt 16 MiB: {took:?}");
    assert_same_file(&file, &t.join("out/data.bin"));
}

/// A read-only bind mount of `source` at `target`, unmounted on drop.
struct ReadOnlyMount(std::path::PathBuf);

impl ReadOnlyMount {
    fn new(source: &std::path::Path, target: &std::path::Path) -> ReadOnlyMount {
        let out = std::process::Command::new("mount")
            .args(["--bind", "-o", "ro"])
            .arg(source)
            .arg(target)
            .output()
            .expect("running mount(8)");
        assert!(
            out.status.success(),
            "this test bind-mounts a directory read-only and needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ReadOnlyMount(target.to_path_buf())
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Seeding data we may not write: the files are on a read-only mount (and the resume
/// data cannot be saved next to them), yet libtorrent gets every byte.
#[test]
fn seed_from_a_read_only_mount_to_lt_leecher() {
    let t = TestDir::new("tx-seed-ro");
    let root = make_multi_tree(&t.mkdir("data"));
    let (torrent, _) = make_torrent(&root, &t.join("tree.torrent"), 32 * 1024);
    let _mount = ReadOnlyMount::new(&t.join("data"), &t.mkdir("ro"));
    let listen = lo(150, free_port(lo(150, 0).ip()));
    let seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("ro"), listen);
    LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[seeder.addr],
        lo(151, 0),
        secs(180),
    );
    assert_same_tree(&root, &t.join("out").join(MULTI_TREE_NAME));
    drop(seeder);
}

#[test]
fn seed_multi_file_tree_to_lt_leecher() {
    let t = TestDir::new("tx-seed-tree");
    let root = make_multi_tree(&t.mkdir("seed"));
    let (torrent, _) = make_torrent(&root, &t.join("tree.torrent"), 32 * 1024);
    let listen = lo(35, free_port(lo(35, 0).ip()));
    let seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("seed"), listen);
    LtLeecher::run(
        &torrent,
        &t.join("out"),
        &[seeder.addr],
        lo(36, 0),
        secs(180),
    );
    assert_same_tree(&root, &t.join("out").join(MULTI_TREE_NAME));
}

/// torrix finds a libtorrent seeder through opentracker (the announce URL in the torrent,
/// no `-s`).
fn download_via_tracker(name: &str, udp: bool, seed_host: u8, torrix_host: u8) {
    let t = TestDir::new(name);
    let file = make_payload(&t.mkdir("seed"), "data.bin", (8 << 20) + 5, 15);
    let (_, ih) = make_torrent(&file, &t.join("probe.torrent"), 64 * 1024);
    let tracker = Opentracker::start(&t.join("tracker"), &[&ih]);
    let url = if udp {
        &tracker.udp_url
    } else {
        &tracker.http_url
    };
    let (torrent, _) =
        make_torrent_with_trackers(&file, &t.join("data.torrent"), 64 * 1024, &[url]);
    let _seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(seed_host, 0));
    tracker.wait_for_seeds(&ih, 1, secs(30));
    download(&t, &torrent, &t.join("out"), &[], lo(torrix_host, 0));
    assert_same_file(&file, &t.join("out/data.bin"));
}

#[test]
fn download_via_opentracker_http() {
    download_via_tracker("tx-tracker-http", false, 39, 40);
}

#[test]
fn download_via_opentracker_udp() {
    download_via_tracker("tx-tracker-udp", true, 41, 42);
}
