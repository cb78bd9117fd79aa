//! `torrix create` end to end: what it writes is what `torrix info` and
//! libtorrent read back, and it is reproducible.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_ok, torrix, write};
use serde_json::Value;

/// A tree with a nested directory, a zero-length file and a name with a
/// space, with sizes that make pieces straddle files. Returns its files in
/// torrent order as (path below the root, length).
fn make_tree(root: &Path) -> Vec<(&'static str, u64)> {
    let files: [(&str, usize); 6] = [
        ("b.bin", 50_000),
        ("a dir/with space.txt", 16_385),
        ("a dir/nested/deep.dat", 70_001),
        ("a dir/nested/empty", 0),
        ("A-upper", 3),
        ("z/last", 40_000),
    ];
    for (i, (rel, len)) in files.iter().enumerate() {
        write(root, rel, &common::data(*len, i as u64 + 1));
    }
    // Byte order of the path components.
    let mut sorted: Vec<(&str, u64)> = files.iter().map(|(p, l)| (*p, *l as u64)).collect();
    sorted.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    sorted
}

fn info_json(cwd: &Path, torrent: &Path) -> Value {
    let out = assert_ok(&torrix(cwd, &["info", "--json", torrent.to_str().unwrap()]));
    serde_json::from_str(&out).expect("info --json prints JSON")
}

#[test]
fn create_then_info_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let expected_files = make_tree(&dir.path().join("tree"));
    let total: u64 = expected_files.iter().map(|f| f.1).sum();
    let out = assert_ok(&torrix(
        dir.path(),
        &[
            "create",
            "tree",
            "-o",
            "out.torrent",
            "-t",
            "http://one.example/announce",
            "--tracker",
            "udp://two.example:6969",
            "--piece-size",
            "32K",
            "--private",
            "--comment",
            "made by a test",
        ],
    ));
    let meta = info_json(dir.path(), &dir.path().join("out.torrent"));
    assert!(
        out.contains(&format!(
            "info-hash: {}",
            meta["info_hash"].as_str().unwrap()
        )),
        "{out}"
    );
    assert!(out.contains("out.torrent"), "{out}");

    assert_eq!(meta["name"], "tree");
    assert_eq!(meta["single_file"], false);
    assert_eq!(meta["total_length"], total);
    assert_eq!(meta["piece_length"], 32 * 1024);
    assert_eq!(meta["piece_count"], total.div_ceil(32 * 1024));
    assert_eq!(meta["private"], true);
    assert_eq!(meta["comment"], "made by a test");
    assert_eq!(
        meta["created_by"],
        format!("torrix {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(meta["creation_date"], Value::Null);
    assert_eq!(
        meta["trackers"],
        serde_json::json!([["http://one.example/announce"], ["udp://two.example:6969"]])
    );
    let files: Vec<(String, u64)> = meta["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["length"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = expected_files
        .iter()
        .map(|(p, l)| (p.to_string(), *l))
        .collect();
    assert_eq!(files, expected);
}

#[test]
fn single_file_default_output_and_date() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/movie.mkv", &common::data(1_000_000, 9));
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Default output: NAME.torrent in the current directory.
    assert_ok(&torrix(dir.path(), &["create", "src/movie.mkv", "--date"]));
    let meta = info_json(dir.path(), &dir.path().join("movie.mkv.torrent"));
    assert_eq!(meta["name"], "movie.mkv");
    assert_eq!(meta["single_file"], true);
    assert_eq!(meta["total_length"], 1_000_000);
    // suggested_piece_length(1 MB) is the 16 KiB minimum.
    assert_eq!(meta["piece_length"], 16 * 1024);
    assert_eq!(meta["private"], false);
    assert_eq!(meta["trackers"], serde_json::json!([]));
    let date = meta["creation_date"]
        .as_u64()
        .expect("--date records the time");
    assert!((before..before + 60).contains(&date), "{date} vs {before}");
}

#[test]
fn output_is_reproducible_and_independent_of_location() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(&dir.path().join("one/tree"));
    make_tree(&dir.path().join("two/tree"));
    assert_ok(&torrix(
        dir.path(),
        &[
            "create",
            "one/tree",
            "-o",
            "1.torrent",
            "-t",
            "http://t.example/a",
        ],
    ));
    assert_ok(&torrix(
        &dir.path().join("two"),
        &["create", "tree", "-t", "http://t.example/a"],
    ));
    let a = std::fs::read(dir.path().join("1.torrent")).unwrap();
    let b = std::fs::read(dir.path().join("two/tree.torrent")).unwrap();
    assert_eq!(a, b, "same data and options must give the same bytes");
    // Running again inside the tree must not pick up the earlier output.
    assert_ok(&torrix(
        &dir.path().join("one/tree"),
        &["create", ".", "-t", "http://t.example/a"],
    ));
    assert_ok(&torrix(
        &dir.path().join("one/tree"),
        &["create", ".", "-t", "http://t.example/a"],
    ));
    assert_eq!(
        std::fs::read(dir.path().join("one/tree/tree.torrent")).unwrap(),
        a
    );
}

/// libtorrent parses the torrent, finds the same info-hash as torrix, the
/// same files in the same order, and piece hashes equal to SHA-1 over the
/// files concatenated in that order (computed here in Python, independently
/// of torrix's hashing code).
#[test]
fn libtorrent_accepts_it_with_the_same_info_hash() {
    const SCRIPT: &str = r#"
import hashlib, json, os, sys
try:
    import libtorrent as lt
except ImportError as e:
    sys.exit("cannot import libtorrent (install python3-libtorrent): %s" % e)
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
files = [(fs.file_path(i), fs.file_size(i)) for i in range(fs.num_files())]
data = b"".join(open(os.path.join(sys.argv[2], p), "rb").read() for p, _ in files)
pl = ti.piece_length()
bad = [i for i in range(ti.num_pieces())
       if hashlib.sha1(data[i * pl:(i + 1) * pl]).digest() != ti.hash_for_piece(i)]
print(json.dumps({"info_hash": str(ti.info_hashes().v1), "files": files,
                  "pieces": ti.num_pieces(), "bad_pieces": bad}))
"#;
    let dir = tempfile::tempdir().unwrap();
    let expected_files = make_tree(&dir.path().join("tree"));
    assert_ok(&torrix(
        dir.path(),
        &[
            "create",
            "tree",
            "--piece-size",
            "16K",
            "-t",
            "http://t.example/announce",
        ],
    ));
    let torrent = dir.path().join("tree.torrent");
    let ours = info_json(dir.path(), &torrent);

    let out = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .arg(&torrent)
        .arg(dir.path())
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        out.status.success(),
        "libtorrent check failed (python3-libtorrent is required):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lt: Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    assert_eq!(lt["info_hash"], ours["info_hash"]);
    let lt_files: Vec<(String, u64)> = lt["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().to_owned(), f[1].as_u64().unwrap()))
        .collect();
    let expected: Vec<(String, u64)> = expected_files
        .iter()
        .map(|(p, l)| (format!("tree/{p}"), *l))
        .collect();
    assert_eq!(lt_files, expected);
    assert_eq!(lt["pieces"], ours["piece_count"]);
    assert_eq!(
        lt["bad_pieces"],
        serde_json::json!([]),
        "pieces whose hash does not match the data"
    );
}
