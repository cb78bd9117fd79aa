//! .torrent files, made and read by libtorrent (a third-party implementation), never by
//! torrix itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::util::{peers_dir, python};

/// What `lt_info.py` reports about a torrent.
#[derive(Debug, Clone, Deserialize)]
pub struct TorrentMeta {
    pub info_hash: String,
    pub name: String,
    /// In torrent order, paths relative to the save directory (first component = the
    /// torrent's name for a multi-file torrent).
    pub files: Vec<TorrentFile>,
    pub piece_length: u64,
    pub num_pieces: u32,
    pub total_size: u64,
    pub trackers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TorrentFile {
    pub path: String,
    pub size: u64,
}

/// Create `out` from the file or directory `path` with `lt_make_torrent.py` (v1, no pad
/// files, sorted file order, no tracker). Returns `(out, v1 info-hash hex)`.
pub fn make_torrent(path: &Path, out: &Path, piece_size: u64) -> (PathBuf, String) {
    make_torrent_with_trackers(path, out, piece_size, &[])
}

/// [`make_torrent`] with announce URLs (each must be on 127.0.0.0/8).
pub fn make_torrent_with_trackers(
    path: &Path,
    out: &Path,
    piece_size: u64,
    trackers: &[&str],
) -> (PathBuf, String) {
    let mut cmd = Command::new(python());
    cmd.arg(peers_dir().join("lt_make_torrent.py"))
        .arg(path)
        .arg(out)
        .arg("--piece-size")
        .arg(piece_size.to_string());
    for t in trackers {
        cmd.arg("--tracker").arg(t);
    }
    let stdout = run_script(cmd, "lt_make_torrent.py");
    let ih = stdout.trim().to_string();
    assert!(
        ih.len() == 40 && ih.bytes().all(|b| b.is_ascii_hexdigit()),
        "lt_make_torrent.py printed {ih:?}, not an info-hash"
    );
    (out.to_path_buf(), ih)
}

/// Read a torrent with `lt_info.py`.
pub fn torrent_info(torrent: &Path) -> TorrentMeta {
    let mut cmd = Command::new(python());
    cmd.arg(peers_dir().join("lt_info.py")).arg(torrent);
    let stdout = run_script(cmd, "lt_info.py");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("lt_info.py output {stdout:?}: {e}"))
}

fn run_script(mut cmd: Command, name: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} with {}: {e}", python().display()));
    if !out.status.success() {
        panic!(
            "{name} failed ({}): {}\n(is python3-libtorrent installed? run integration/install-deps.sh)",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).expect("utf-8 output")
}
