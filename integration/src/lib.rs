//! End-to-end test harness for torrix.
//!
//! Real, independent processes talk BitTorrent to each other on the loopback network:
//! libtorrent 2.0 peers (the Python scripts in `integration/peers/`, run with Debian's
//! `/usr/bin/python3`), Debian's `opentracker`, and the `torrix` binary. Each process is
//! owned by a guard that SIGKILLs and reaps it on drop, so a failing test never leaves a
//! peer behind. Every address is in 127.0.0.0/8; distinct 127.0.0.x addresses stand in
//! for distinct hosts (see [`lo`]).
//!
//! A test typically reads:
//!
//! ```no_run
//! use torrix_integration::*;
//! let t = TestDir::new("example");
//! let file = make_payload(&t.mkdir("seed"), "data.bin", 4 << 20, 1);
//! let (torrent, _ih) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
//! let seeder = LtSeeder::start(&torrent, &t.join("seed"), lo(2, 0));
//! LtLeecher::run(&torrent, &t.join("out"), &[seeder.addr], lo(3, 0), secs(120));
//! assert_same_file(&file, &t.join("out/data.bin"));
//! ```
//!
//! Nothing here is ever skipped: if libtorrent, opentracker or the torrix binary is
//! missing, or a peer fails to start, the test panics with the reason.

mod compare;
pub mod evil_peer;
mod net;
mod payload;
mod peers;
mod process;
mod torrent;
mod torrix;
mod tracker;
mod util;

pub use compare::{assert_same_file, assert_same_tree, compare_files, compare_trees};
pub use evil_peer::{ScriptedSeeder, SeedBehaviour, WirePeer};
pub use net::{free_port, lo};
pub use payload::{
    make_multi_tree, make_payload, write_partial, MULTI_TREE_FILES, MULTI_TREE_NAME,
};
pub use peers::{half, Half, LtLeecher, LtSeeder, SeedOptions};
pub use process::Proc;
pub use torrent::{
    make_torrent, make_torrent_with_trackers, torrent_info, TorrentFile, TorrentMeta,
};
pub use torrix::{assert_download_summary, torrix_bin, Torrix, TorrixOutput, TorrixSeeder};
pub use tracker::{Opentracker, Scrape};
pub use util::{peers_dir, python, secs, wait_for, workspace_root, TestDir};
