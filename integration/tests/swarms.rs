//! Mixed swarms (issue 5, item 6): torrix on both ends, and torrix with libtorrent in
//! the same swarm. Every download is verified byte-for-byte.
//!
//! Hosts 106–116 (`lo(host, _)`).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use torrix_integration::*;

fn fixed(host: u8) -> SocketAddr {
    lo(host, free_port(lo(host, 0).ip()))
}

/// `torrix download TORRENT -d OUT -s PEERS -l LISTEN [extra…]` (OUT created).
fn spawn_download(
    t: &TestDir,
    torrent: &Path,
    out: &Path,
    peers: &[SocketAddr],
    listen: SocketAddr,
    extra: &[&str],
) -> Torrix {
    std::fs::create_dir_all(out).unwrap();
    let mut args: Vec<OsString> = vec!["download".into(), torrent.into(), "-d".into(), out.into()];
    if !peers.is_empty() {
        let list: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
        args.extend(["-s".into(), list.join(",").into()]);
    }
    args.extend(["-l".into(), listen.to_string().into()]);
    args.extend(extra.iter().map(OsString::from));
    Torrix::spawn(t.path(), args)
}

#[test]
fn torrix_seed_to_torrix_download_64mib() {
    let t = TestDir::new("sw-tx-tx-64m");
    let size = 64 << 20;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, 106);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 256 * 1024);
    let seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("seed"), fixed(106));
    let out = t.join("out");
    let run = spawn_download(&t, &torrent, &out, &[seeder.addr], lo(107, 0), &["--quiet"]);
    let output = run.expect_success(secs(120));
    let line = assert_download_summary(&output, size);
    eprintln!("torrix → torrix 64 MiB: {line}");
    assert_same_file(&file, &out.join("data.bin"));
}

/// One torrix seeder, three leechers at once: two libtorrent and one torrix.
#[test]
fn torrix_seeder_serves_two_lt_and_one_torrix_leecher_at_once() {
    let t = TestDir::new("sw-one-to-three");
    let size = (16 << 20) + 321;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, 108);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("seed"), fixed(108));
    let started = Instant::now();
    let lt1 = LtLeecher::spawn(
        &torrent,
        &t.join("lt1"),
        &[seeder.addr],
        lo(109, 0),
        secs(120),
    );
    let lt2 = LtLeecher::spawn(
        &torrent,
        &t.join("lt2"),
        &[seeder.addr],
        lo(110, 0),
        secs(120),
    );
    let tx = spawn_download(
        &t,
        &torrent,
        &t.join("tx"),
        &[seeder.addr],
        lo(111, 0),
        &["--quiet"],
    );
    let output = tx.expect_success(secs(120));
    assert_download_summary(&output, size);
    let (d1, d2) = (lt1.wait(), lt2.wait());
    eprintln!(
        "lt1 {d1:?}, lt2 {d2:?}, torrix {}; all done after {:?}",
        output.last_stdout_line(),
        started.elapsed()
    );
    assert_same_file(&file, &t.join("lt1/data.bin"));
    assert_same_file(&file, &t.join("lt2/data.bin"));
    assert_same_file(&file, &t.join("tx/data.bin"));
    let mut seeder = seeder;
    if let Some(st) = seeder.torrix.try_status() {
        seeder.torrix.fail(&format!("the seeder exited ({st})"));
    }
}

/// A torrix leecher downloads from a torrix seeder and from another torrix leecher
/// (itself downloading from the seeder) at the same time.
#[test]
fn torrix_leecher_from_torrix_seeder_and_torrix_leecher() {
    let t = TestDir::new("sw-tx-chain");
    let size = (16 << 20) + 999;
    let file = make_payload(&t.mkdir("seed"), "data.bin", size, 112);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let seeder = TorrixSeeder::start(t.path(), &torrent, &t.join("seed"), fixed(112));
    let a_addr = fixed(113);
    let a = spawn_download(
        &t,
        &torrent,
        &t.join("a"),
        &[seeder.addr],
        a_addr,
        &["--quiet"],
    );
    let b = spawn_download(
        &t,
        &torrent,
        &t.join("b"),
        &[seeder.addr, a_addr],
        lo(114, 0),
        &["--quiet"],
    );
    let out_b = b.expect_success(secs(120));
    let out_a = a.expect_success(secs(120));
    eprintln!("a: {}", assert_download_summary(&out_a, size));
    eprintln!("b: {}", assert_download_summary(&out_b, size));
    assert_same_file(&file, &t.join("a/data.bin"));
    assert_same_file(&file, &t.join("b/data.bin"));
}

/// No seed at all: two torrix peers each start with a different half of the data on
/// disk and dial each other. torrix checks what is there, fetches only the missing half
/// from the other, and keeps serving (`--seed`) so the other can finish too.
#[test]
fn two_torrix_half_leechers_complete_each_other() {
    let t = TestDir::new("sw-halves");
    let size = (16 << 20) + 4321;
    let file = make_payload(&t.mkdir("full"), "data.bin", size, 115);
    let (torrent, _) = make_torrent(&file, &t.join("data.torrent"), 64 * 1024);
    let meta = torrent_info(&torrent);
    let (first, second) = (half(&meta, Half::First), half(&meta, Half::Second));
    write_partial(&meta, &t.join("full"), &t.mkdir("a"), first.clone());
    write_partial(&meta, &t.join("full"), &t.mkdir("b"), second.clone());
    let first_bytes = first.end as u64 * meta.piece_length;
    let second_bytes = size - first_bytes;
    let (a_addr, b_addr) = (fixed(115), fixed(116));
    let started = Instant::now();
    let mut a = spawn_download(&t, &torrent, &t.join("a"), &[b_addr], a_addr, &["--seed"]);
    let mut b = spawn_download(&t, &torrent, &t.join("b"), &[a_addr], b_addr, &["--seed"]);
    for (name, p) in [("a", &mut a), ("b", &mut b)] {
        if p.wait_for_line("download complete", secs(90)).is_none() {
            p.fail(&format!("torrix {name} did not complete within 90 s"));
        }
    }
    eprintln!("both halves complete after {:?}", started.elapsed());
    a.sigterm();
    b.sigterm();
    let mut outputs = Vec::new();
    for (name, mut p) in [("a", a), ("b", b)] {
        match p.wait_timeout(secs(20)) {
            Some(out) if out.status.success() => outputs.push(out),
            Some(out) => p.fail(&format!(
                "torrix {name} exited {} after SIGTERM",
                out.status
            )),
            None => p.fail(&format!("torrix {name} still running 20 s after SIGTERM")),
        }
    }
    // each fetched exactly the half it lacked
    let a_line = assert_download_summary(&outputs[0], second_bytes);
    let b_line = assert_download_summary(&outputs[1], first_bytes);
    eprintln!("a: {a_line}\nb: {b_line}");
    let all = format!("{n} of {n} pieces verified", n = meta.num_pieces);
    assert!(
        a_line.contains(&all) && b_line.contains(&all),
        "expected \"{all}\""
    );
    assert_same_file(&file, &t.join("a/data.bin"));
    assert_same_file(&file, &t.join("b/data.bin"));
}
