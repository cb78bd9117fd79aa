//! `torrix seed` on missing, corrupt or truncated data: it must refuse with a clear
//! error (exit 1, how much of the data is valid), and must not touch the data: every
//! file keeps its bytes and its mtime, and no file or directory is created.
//!
//! Host 117 (`lo(117, 0)`, never actually served).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use torrix_integration::*;

/// Every entry under `root`: relative path → (is_dir, length, mtime, content).
type Snapshot = BTreeMap<PathBuf, (bool, u64, SystemTime, Vec<u8>)>;

fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let md = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let content = if md.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            out.insert(
                rel,
                (md.is_dir(), md.len(), md.modified().unwrap(), content),
            );
            if md.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, &mut out);
    out
}

#[track_caller]
fn assert_untouched(before: &Snapshot, after: &Snapshot) {
    for (path, (dir, len, mtime, content)) in before {
        let Some((dir2, len2, mtime2, content2)) = after.get(path) else {
            panic!("torrix seed removed {}", path.display());
        };
        assert_eq!(dir, dir2, "{} changed kind", path.display());
        assert_eq!(
            len,
            len2,
            "torrix seed changed the length of {}",
            path.display()
        );
        assert!(
            content == content2,
            "torrix seed changed the content of {}",
            path.display()
        );
        assert_eq!(
            mtime,
            mtime2,
            "torrix seed changed the mtime of {}",
            path.display()
        );
    }
    let created: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(created.is_empty(), "torrix seed created {created:?}");
}

/// Run `torrix seed` on `data_dir` expecting a refusal: exit status 1 within 60 s and
/// an error on stderr containing every one of `needles`. Checks the data is untouched.
fn expect_refusal(t: &TestDir, torrent: &Path, data_dir: &Path, needles: &[String]) -> String {
    let before = snapshot(data_dir);
    // mtimes have a granularity: make a same-second rewrite detectable
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut run = Torrix::spawn(
        t.path(),
        [
            "seed".as_ref(),
            torrent.as_os_str(),
            "-d".as_ref(),
            data_dir.as_os_str(),
            "-l".as_ref(),
            lo(117, 0).to_string().as_ref(),
        ],
    );
    let Some(out) = run.wait_timeout(secs(60)) else {
        run.fail("torrix seed on bad data is still running after 60 s (should refuse)")
    };
    if out.status.code() != Some(1) {
        run.fail(&format!("expected exit status 1, got {}", out.status));
    }
    let err = out
        .stderr
        .lines()
        .find(|l| l.contains("cannot seed"))
        .unwrap_or_else(|| panic!("no \"cannot seed\" error on stderr:\n{}", out.stderr))
        .to_string();
    for n in needles {
        assert!(
            err.contains(n.as_str()),
            "error {err:?} should mention {n:?}"
        );
    }
    assert!(
        !out.stderr.contains("listening on"),
        "torrix said it is serving bad data:\n{}",
        out.stderr
    );
    assert_untouched(&before, &snapshot(data_dir));
    eprintln!("refused: {err}");
    err
}

struct Fixture {
    t: TestDir,
    torrent: PathBuf,
    meta: TorrentMeta,
    data: PathBuf,
}

/// A 4 MiB + 1000 byte file in 64 KiB pieces (65 pieces), its torrent, and `data/`
/// holding a copy of it to be damaged.
fn fixture(name: &str) -> Fixture {
    let t = TestDir::new(name);
    let file = make_payload(&t.mkdir("orig"), "data.bin", (4 << 20) + 1000, 117);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let meta = torrent_info(&torrent);
    let data = t.mkdir("data");
    fs::copy(&file, data.join("data.bin")).unwrap();
    Fixture {
        t,
        torrent,
        meta,
        data,
    }
}

#[test]
fn seed_refuses_missing_file_and_creates_nothing() {
    let f = fixture("se-missing");
    fs::remove_file(f.data.join("data.bin")).unwrap();
    let n = f.meta.num_pieces;
    expect_refusal(
        &f.t,
        &f.torrent,
        &f.data,
        &["data.bin".into(), format!("0 of {n} pieces")],
    );
    assert!(!f.data.join("data.bin").exists());
}

#[test]
fn seed_refuses_missing_data_dir_and_creates_nothing() {
    let f = fixture("se-missing-dir");
    let gone = f.t.join("no such dir");
    let before = snapshot(f.t.path());
    let mut run = Torrix::spawn(
        f.t.path(),
        [
            "seed".as_ref(),
            f.torrent.as_os_str(),
            "-d".as_ref(),
            gone.as_os_str(),
            "-l".as_ref(),
            lo(117, 0).to_string().as_ref(),
        ],
    );
    let Some(out) = run.wait_timeout(secs(60)) else {
        run.fail("still running after 60 s with a data dir that does not exist")
    };
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("cannot seed"),
        "stderr:\n{}",
        out.stderr
    );
    assert!(
        !gone.exists(),
        "torrix seed created the missing data dir {} (holding {:?}); stderr: {}",
        gone.display(),
        snapshot(&gone).keys().collect::<Vec<_>>(),
        out.stderr.trim()
    );
    // only torrix's own captured output files are new in the test dir
    let mut after = snapshot(f.t.path());
    after.retain(|p, _| !p.to_string_lossy().starts_with("torrix-"));
    assert_untouched(&before, &after);
}

#[test]
fn seed_refuses_a_corrupted_byte_and_says_how_much_is_valid() {
    let f = fixture("se-corrupt");
    let path = f.data.join("data.bin");
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let n = f.meta.num_pieces;
    let valid = n - 1;
    let percent = format!("{:.1}%", valid as f64 * 100.0 / n as f64);
    expect_refusal(
        &f.t,
        &f.torrent,
        &f.data,
        &[format!("{valid} of {n} pieces"), percent],
    );
}

#[test]
fn seed_refuses_a_truncated_file_and_does_not_extend_it() {
    let f = fixture("se-truncated");
    let path = f.data.join("data.bin");
    let keep = (f.meta.total_size / 2) + 100; // cuts piece 32 short
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(keep).unwrap();
    drop(file);
    let n = f.meta.num_pieces;
    let valid = (keep / f.meta.piece_length) as u32;
    expect_refusal(
        &f.t,
        &f.torrent,
        &f.data,
        &[format!("{valid} of {n} pieces")],
    );
    assert_eq!(fs::metadata(&path).unwrap().len(), keep);
}

#[test]
fn seed_refuses_a_tree_with_one_file_missing() {
    let t = TestDir::new("se-tree");
    let root = make_multi_tree(&t.mkdir("data"));
    let (torrent, _) = make_torrent(&root, &t.join("tree.torrent"), 32 * 1024);
    let meta = torrent_info(&torrent);
    // remove the biggest file
    let big = meta.files.iter().max_by_key(|f| f.size).unwrap();
    fs::remove_file(t.join("data").join(&big.path)).unwrap();
    let err = expect_refusal(
        &t,
        &torrent,
        &t.join("data"),
        &[format!("of {} pieces", meta.num_pieces)],
    );
    assert!(
        !err.contains(&format!("{n} of {n} pieces", n = meta.num_pieces)),
        "{err}"
    );
}
