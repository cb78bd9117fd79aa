//! Every mistake a user can make gets a clear message and the right exit code
//! (0 ok, 1 runtime failure, 2 usage error), never a panic. Runs the real
//! binary.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{assert_fails, assert_ok, torrix, write};

/// A valid torrent of a small file, made with `torrix create`.
fn valid_torrent(dir: &Path) -> PathBuf {
    write(dir, "payload/data.bin", &common::data(100_000, 1));
    let out = dir.join("data.torrent");
    assert_ok(&torrix(
        dir,
        &["create", "payload/data.bin", "-o", out.to_str().unwrap()],
    ));
    out
}

#[test]
fn missing_torrent_file() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["download", "seed", "info"] {
        let o = torrix(dir.path(), &[cmd, "nope.torrent"]);
        assert_fails(
            &o,
            1,
            &[
                "cannot read torrent file nope.torrent",
                "No such file or directory",
            ],
        );
    }
}

/// `chmod 000` does not stop root from reading, and these tests may run as
/// root, so the unreadable torrent is a directory: `read(2)` fails with
/// EISDIR for everyone.
#[test]
fn unreadable_torrent_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dir.torrent")).unwrap();
    let o = torrix(
        dir.path(),
        &["download", "dir.torrent", "-l", "127.0.0.1:0"],
    );
    assert_fails(
        &o,
        1,
        &["cannot read torrent file dir.torrent", "Is a directory"],
    );
}

#[test]
fn invalid_torrent_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let bad =
        b"d4:infod6:lengthi10e4:name1:x12:piece lengthi16384e6:pieces19:0123456789012345678ee";
    write(dir.path(), "bad.torrent", bad);
    let o = torrix(
        dir.path(),
        &["download", "bad.torrent", "-l", "127.0.0.1:0"],
    );
    assert_fails(
        &o,
        1,
        &[
            "bad.torrent is not a valid torrent",
            "piece hashes are 19 bytes, not a multiple of 20",
        ],
    );

    write(dir.path(), "garbage.torrent", b"<html>not found</html>");
    let o = torrix(dir.path(), &["info", "garbage.torrent"]);
    assert_fails(&o, 1, &["garbage.torrent is not a valid torrent"]);
}

#[test]
fn magnet_links_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let magnet = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=x";
    for cmd in ["download", "info"] {
        let o = torrix(dir.path(), &[cmd, magnet]);
        assert_fails(
            &o,
            2,
            &[
                "magnet links are not supported yet",
                "path of a .torrent file",
            ],
        );
    }
}

#[test]
fn bad_seed_address_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let torrent = valid_torrent(dir.path());
    let o = torrix(
        dir.path(),
        &[
            "download",
            torrent.to_str().unwrap(),
            "--seeds",
            "127.0.0.1:6881,not-an-address",
        ],
    );
    assert_fails(
        &o,
        2,
        &["invalid value 'not-an-address' for '--seeds <ADDR>'"],
    );
}

#[test]
fn listen_port_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let torrent = valid_torrent(dir.path());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = torrix(
        dir.path(),
        &[
            "download",
            torrent.to_str().unwrap(),
            "-l",
            &addr,
            "-d",
            dir.path().join("dl").to_str().unwrap(),
        ],
    );
    assert_fails(&o, 1, &[&format!("cannot listen on {addr}"), "in use"]);
}

#[test]
fn unusable_download_dir() {
    let dir = tempfile::tempdir().unwrap();
    let torrent = valid_torrent(dir.path());
    write(dir.path(), "file", b"a regular file");
    let target = dir.path().join("file/sub");
    let o = torrix(
        dir.path(),
        &[
            "download",
            torrent.to_str().unwrap(),
            "-l",
            "127.0.0.1:0",
            "-d",
            target.to_str().unwrap(),
        ],
    );
    assert_fails(
        &o,
        1,
        &[
            &format!("cannot use download directory {}", target.display()),
            "Not a directory",
        ],
    );
}

#[test]
fn create_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let o = torrix(dir.path(), &["create", "missing"]);
    assert_fails(&o, 1, &["cannot read missing", "No such file or directory"]);
    assert!(!dir.path().join("missing.torrent").exists());
}

#[test]
fn create_empty_payload() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("empty/sub")).unwrap();
    let o = torrix(dir.path(), &["create", "empty"]);
    assert_fails(&o, 1, &["empty holds no data", "nothing to share"]);
    write(dir.path(), "empty/sub/zero", b"");
    let o = torrix(dir.path(), &["create", "empty"]);
    assert_fails(&o, 1, &["empty holds no data"]);
    assert!(!dir.path().join("empty.torrent").exists());
}

#[test]
fn create_bad_piece_size_and_tracker() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", b"data");
    for size in ["100K", "8K", "512M", "big"] {
        let o = torrix(dir.path(), &["create", "f", "--piece-size", size]);
        assert_fails(
            &o,
            2,
            &[&format!("invalid value '{size}' for '--piece-size <SIZE>'")],
        );
    }
    let o = torrix(dir.path(), &["create", "f", "-t", "tracker.example:80"]);
    assert_fails(&o, 2, &["is not an http://, https:// or udp:// URL"]);
    assert!(!dir.path().join("f.torrent").exists());
}

#[test]
fn create_refuses_links_out_of_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret", b"private");
    write(dir.path(), "tree/ok", b"public");
    std::os::unix::fs::symlink("../secret", dir.path().join("tree/leak")).unwrap();
    let o = torrix(dir.path(), &["create", "tree"]);
    assert_fails(&o, 1, &["leak is a symbolic link to", "outside"]);
    assert!(!dir.path().join("tree.torrent").exists());
}

#[test]
fn create_unwritable_output() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", b"data");
    let o = torrix(dir.path(), &["create", "f", "-o", "no/such/dir/f.torrent"]);
    assert_fails(&o, 1, &["cannot write no/such/dir/f.torrent"]);
}
