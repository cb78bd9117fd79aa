//! Many torrents in one engine: start-up time with and without resume data,
//! idle CPU and memory.
//!
//! ```text
//! cargo run --release -p torrix --example many_torrents -- [COUNT] [SIZE_BYTES]
//! ```
//!
//! Makes COUNT (default 1000) small single-file torrents with their data in a
//! temporary directory, then:
//! 1. starts an engine and adds them all: every torrent hashes its data (no
//!    resume data yet) — the time until all are seeding;
//! 2. shuts that engine down (each torrent saves resume data), starts a new
//!    one and adds them again — the time until all are seeding, now trusting
//!    the resume data;
//! 3. lets the engine sit idle for 10 s and reports the CPU it used, then the
//!    process's resident memory.
//!
//! A measurement, not a test: nothing here asserts a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use torrix::{AddTorrent, Alert, Engine, EngineConfig, Shutdown, Subscribe};
use torrix_proto::{Metainfo, TorrentBuilder};

struct Forward(mpsc::UnboundedSender<Alert>);

impl Actor for Forward {
    type Context = Context<Self>;
}

impl Handler<Alert> for Forward {
    type Result = ();

    fn handle(&mut self, alert: Alert, _: &mut Context<Self>) {
        let _ = self.0.send(alert);
    }
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("procfs");
    // Fields after the command name (which may contain spaces) start at ')'.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn make_torrents(dir: &std::path::Path, count: usize, size: usize) -> Vec<Arc<Metainfo>> {
    let piece_length = 16 * 1024u32;
    (0..count)
        .map(|i| {
            let name = format!("file-{i:05}.bin");
            let data: Vec<u8> = (0..size)
                .map(|j| (j as u64 * 31 + i as u64 * 7 % 251) as u8)
                .collect();
            std::fs::write(dir.join(&name), &data).expect("write payload");
            let hashes = data
                .chunks(piece_length as usize)
                .map(|c| Sha1::digest(c).into())
                .collect();
            let bytes = TorrentBuilder::single_file(name, size as u64, piece_length, hashes)
                .build()
                .expect("valid torrent");
            Arc::new(Metainfo::from_bytes(&bytes).expect("parses"))
        })
        .collect()
}

/// Adds every torrent to a fresh engine; returns the engine, its alerts and
/// the seconds until every torrent is seeding.
async fn start_all(
    torrents: &[Arc<Metainfo>],
    dir: &std::path::Path,
) -> (Addr<Engine>, mpsc::UnboundedReceiver<Alert>, f64) {
    let config = EngineConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..EngineConfig::default()
    };
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let engine = Engine::start(config, log).expect("engine starts");
    let (tx, mut alerts) = mpsc::unbounded_channel();
    engine
        .send(Subscribe(Forward(tx).start().recipient()))
        .await
        .unwrap();
    let started = Instant::now();
    for meta in torrents {
        engine
            .send(AddTorrent {
                meta: meta.clone(),
                download_dir: dir.to_owned(),
                peers: vec![],
            })
            .await
            .unwrap()
            .expect("torrent added");
    }
    let mut complete = 0;
    while complete < torrents.len() {
        match alerts.recv().await {
            Some(Alert::TorrentComplete { .. }) => complete += 1,
            Some(Alert::TorrentError { error, .. }) => panic!("torrent error: {error}"),
            Some(_) => {}
            None => panic!("engine stopped"),
        }
    }
    (engine, alerts, started.elapsed().as_secs_f64())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .map(|a| a.parse().expect("COUNT"))
        .unwrap_or(1000);
    let size: usize = args
        .next()
        .map(|a| a.parse().expect("SIZE_BYTES"))
        .unwrap_or(64 * 1024);
    let dir = tempfile::tempdir().expect("temp dir");
    let made = Instant::now();
    let torrents = make_torrents(dir.path(), count, size);
    println!(
        "made {count} torrents of {size} bytes in {:.2} s",
        made.elapsed().as_secs_f64()
    );

    actix::System::new().block_on(async {
        let (engine, _alerts, first) = start_all(&torrents, dir.path()).await;
        println!("start-up, no resume data (every piece hashed): {first:.2} s");
        engine.send(Shutdown).await.unwrap();

        let (engine, _alerts, second) = start_all(&torrents, dir.path()).await;
        println!("start-up with resume data:                     {second:.2} s");

        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(10)).await;
        let idle = (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
        println!("idle CPU over 10 s:                            {idle:.2}% of one core");
        println!(
            "resident memory: {:.1} MiB now, {:.1} MiB peak",
            status_kib("VmRSS:") as f64 / 1024.0,
            status_kib("VmHWM:") as f64 / 1024.0
        );
        engine.send(Shutdown).await.unwrap();
    });
}
