//! `torrix bench`: how fast is torrix on this machine? No torrent, no network
//! beyond loopback: it generates a payload, creates a torrent for it with the
//! `create` code, and has one seeder engine serve it to N leecher engines over
//! 127.0.0.1, then checks every byte of every copy.
//!
//! All engines run in this one process (each with its own listening socket,
//! peer threads and disk pool), so the CPU time and peak memory reported are
//! for the seeder and all leechers together.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use nix::sys::resource::{getrusage, UsageWho};
use slog::{o, Logger};
use thiserror::Error;
use tokio::sync::mpsc;
use torrix::{
    AddTorrent, Alert, Engine, EngineConfig, EngineError, GetListenAddr, GetStats, Shutdown,
    Subscribe, TorrentId,
};
use torrix_proto::create::suggested_piece_length;
use torrix_proto::Metainfo;

use crate::args::BenchArgs;
use crate::commands::create::{self, CreateError, TorrentOptions};
use crate::error::CliError;
use crate::units;

/// The payload's file name.
const PAYLOAD_NAME: &str = "torrix-bench.bin";
/// Chunk size for generating and comparing the payload.
const CHUNK: usize = 1 << 20;
/// Seed of the payload generator: the same SIZE always gives the same bytes.
const SEED: u64 = 0x7072_6978_6265_6e63;

/// Why the benchmark failed.
#[derive(Debug, Error)]
pub enum BenchError {
    /// The temporary directory or the payload could not be written or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// The torrent could not be created.
    #[error("cannot create the benchmark's torrent: {0}")]
    Create(#[from] CreateError),
    /// An engine could not start or refused the torrent.
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// The seeder did not find its own data valid.
    #[error("the seeder found only {valid} of {total} pieces of the payload valid")]
    SeederIncomplete {
        /// Valid pieces.
        valid: u32,
        /// All pieces.
        total: u32,
    },
    /// A torrent stopped with an error.
    #[error("{who}: {error}")]
    Torrent {
        /// `seeder` or `leecher N`.
        who: String,
        /// The engine's message.
        error: String,
    },
    /// Not done in time.
    #[error("timed out after {secs} s ({progress}); a longer --timeout may help on a slow disk")]
    Timeout {
        /// The limit.
        secs: u64,
        /// How far each unfinished leecher got.
        progress: String,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    /// The engines' alert stream ended.
    #[error("the engines stopped unexpectedly")]
    EnginesGone,
    /// A downloaded copy differs from the payload.
    #[error("verification failed: {failed} of {total} downloaded copies differ from the payload")]
    Verification {
        /// Bad copies.
        failed: usize,
        /// All copies.
        total: usize,
    },
}

/// Runs the command.
pub fn run(args: BenchArgs, log: Logger) -> Result<(), CliError> {
    let leechers = usize::from(args.leechers);
    let mut dir = TempDir::new(args.keep)?;
    println!(
        "torrix bench: {} payload, 1 seeder -> {leechers} leecher{} over 127.0.0.1, in {}",
        units::bytes(args.size),
        if leechers == 1 { "" } else { "s" },
        dir.path.display(),
    );

    let seed_dir = dir.path.join("seed");
    let payload_path = seed_dir.join(PAYLOAD_NAME);
    let started = Instant::now();
    make_dir(&seed_dir)?;
    write_payload(&payload_path, args.size)?;
    let generated = started.elapsed();

    let started = Instant::now();
    let piece_length = args
        .piece_size
        .unwrap_or_else(|| suggested_piece_length(args.size));
    let meta = make_torrent(&payload_path, piece_length, &dir.path.join("bench.torrent"))?;
    let hashed = started.elapsed();
    println!(
        "payload:     generated in {:.2} s; torrent created in {:.2} s ({:.2} GB/s), {} pieces of {}",
        generated.as_secs_f64(),
        hashed.as_secs_f64(),
        args.size as f64 / hashed.as_secs_f64().max(1e-9) / 1e9,
        meta.pieces.len(),
        units::bytes(u64::from(meta.piece_length)),
    );

    let leech_dirs: Vec<PathBuf> = (1..=leechers)
        .map(|i| dir.path.join(format!("leecher-{i}")))
        .collect();
    for d in &leech_dirs {
        make_dir(d)?;
    }
    let timeout = Duration::from_secs(
        args.timeout
            .unwrap_or_else(|| default_timeout(args.size, leechers)),
    );
    let setup = Setup {
        meta,
        seed_dir,
        leech_dirs: leech_dirs.clone(),
        timeout,
        log,
    };
    let report = actix_rt::System::new().block_on(transfer(setup))?;
    print_report(&report, args.size);

    let verified = verify_copies(&payload_path, &leech_dirs);
    if args.keep || verified.is_err() {
        // A failed run's files are evidence: keep them.
        dir.keep = true;
        println!("kept {}", dir.path.display());
    }
    verified?;
    println!(
        "verification: passed ({leechers} of {leechers} copies identical to the payload, every byte compared)"
    );
    Ok(())
}

/// Hashes the payload with the `create` code, writes the torrent to
/// `torrent_path` (handy with `--keep`) and returns it parsed.
fn make_torrent(
    payload_path: &Path,
    piece_length: u32,
    torrent_path: &Path,
) -> Result<Arc<Metainfo>, BenchError> {
    let payload = create::scan(payload_path, None)?;
    let pieces = create::hash_pieces(&payload, piece_length, &|_| {})?;
    let torrent = create::build(&payload, piece_length, pieces, &TorrentOptions::default())?;
    let meta = Metainfo::from_bytes(&torrent)
        .map_err(|e| CreateError::Build(torrix_proto::CreateError::Invalid(e)))?;
    create::write_atomically(torrent_path, &torrent).map_err(|source| BenchError::Io {
        what: "cannot write",
        path: torrent_path.to_owned(),
        source,
    })?;
    Ok(Arc::new(meta))
}

/// Compares each leecher's copy with the payload, printing where a copy
/// differs.
fn verify_copies(payload_path: &Path, leech_dirs: &[PathBuf]) -> Result<(), BenchError> {
    let mut failed = 0;
    for (i, d) in leech_dirs.iter().enumerate() {
        if let Some(at) = first_difference(payload_path, &d.join(PAYLOAD_NAME))? {
            failed += 1;
            println!(
                "leecher {}: its copy differs from the payload at byte {at}",
                i + 1
            );
        }
    }
    if failed > 0 {
        println!("verification: FAILED");
        return Err(BenchError::Verification {
            failed,
            total: leech_dirs.len(),
        });
    }
    Ok(())
}

/// 60 s plus a second per 10 MiB each leecher must receive: generous for
/// loopback, yet a hang is reported in reasonable time.
fn default_timeout(size: u64, leechers: usize) -> u64 {
    let per_leecher = size.div_ceil(10 << 20);
    60u64.saturating_add(per_leecher.saturating_mul(leechers as u64))
}

/// What the transfer needs.
struct Setup {
    meta: Arc<Metainfo>,
    seed_dir: PathBuf,
    leech_dirs: Vec<PathBuf>,
    timeout: Duration,
    log: Logger,
}

/// What the transfer measured.
struct Report {
    /// From the leechers' start to each one's completion, in leecher order.
    finished: Vec<Duration>,
    /// User and system CPU time of the process during the transfer.
    cpu_user: Duration,
    cpu_sys: Duration,
    /// Peak resident memory of the process, in bytes.
    peak_rss: u64,
    /// Pieces that failed their hash check at a leecher.
    hash_failures: u64,
}

/// Tags each engine's alerts with the engine's index (0 is the seeder).
struct Forwarder {
    engine: usize,
    tx: mpsc::UnboundedSender<(usize, Alert)>,
}

impl Actor for Forwarder {
    type Context = Context<Self>;
}

impl Handler<Alert> for Forwarder {
    type Result = ();

    fn handle(&mut self, alert: Alert, _ctx: &mut Context<Self>) {
        let _ = self.tx.send((self.engine, alert));
    }
}

/// Starts the engines, runs the transfer and shuts every engine down, whether
/// it succeeded or not.
async fn transfer(setup: Setup) -> Result<Report, BenchError> {
    let (tx, mut alerts) = mpsc::unbounded_channel();
    let mut engines = Vec::new();
    let result = run_engines(&setup, &tx, &mut alerts, &mut engines).await;
    for engine in &engines {
        let _ = engine.send(Shutdown).await;
    }
    result
}

/// Name of engine `index` in messages.
fn who(index: usize) -> String {
    match index {
        0 => "seeder".into(),
        i => format!("leecher {i}"),
    }
}

/// The transfer itself: the seeder checks its data, then the leechers start
/// together and the clock runs until the last one is complete. Engines are
/// pushed onto `engines` as they start so the caller can shut them down.
async fn run_engines(
    setup: &Setup,
    tx: &mpsc::UnboundedSender<(usize, Alert)>,
    alerts: &mut mpsc::UnboundedReceiver<(usize, Alert)>,
    engines: &mut Vec<Addr<Engine>>,
) -> Result<Report, BenchError> {
    let deadline = tokio::time::Instant::now() + setup.timeout;
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut start_engine = |index: usize| -> Result<Addr<Engine>, BenchError> {
        let config = EngineConfig {
            listen: loopback,
            ..EngineConfig::default()
        };
        let engine = Engine::start(config, setup.log.new(o!("engine" => who(index))))?;
        engine.do_send(Subscribe(
            Forwarder {
                engine: index,
                tx: tx.clone(),
            }
            .start()
            .recipient(),
        ));
        engines.push(engine.clone());
        Ok(engine)
    };
    let gone = |_| BenchError::EnginesGone;

    // The seeder checks its data first, so the leechers' clock measures the
    // transfer only.
    let seeder = start_engine(0)?;
    let add = AddTorrent {
        meta: setup.meta.clone(),
        download_dir: setup.seed_dir.clone(),
        peers: Vec::new(),
    };
    let seed_id = seeder.send(add).await.map_err(gone)??;
    let mut ids: Vec<TorrentId> = vec![seed_id];
    loop {
        match next_alert(alerts, (deadline, setup.timeout), &[], &[]).await? {
            (
                0,
                Alert::Checked {
                    valid_pieces,
                    total_pieces,
                    ..
                },
            ) => {
                if valid_pieces != total_pieces {
                    return Err(BenchError::SeederIncomplete {
                        valid: valid_pieces,
                        total: total_pieces,
                    });
                }
                break;
            }
            (index, Alert::TorrentError { error, .. }) => {
                return Err(BenchError::Torrent {
                    who: who(index),
                    error,
                })
            }
            _ => {}
        }
    }
    let seed_addr = seeder.send(GetListenAddr).await.map_err(gone)?;

    let leechers: Vec<Addr<Engine>> = (1..=setup.leech_dirs.len())
        .map(&mut start_engine)
        .collect::<Result<_, _>>()?;
    let usage_before = getrusage(UsageWho::RUSAGE_SELF).ok();
    let started = Instant::now();
    for (engine, dir) in leechers.iter().zip(&setup.leech_dirs) {
        let add = AddTorrent {
            meta: setup.meta.clone(),
            download_dir: dir.clone(),
            peers: vec![seed_addr],
        };
        ids.push(engine.send(add).await.map_err(gone)??);
    }

    let mut finished: Vec<Option<Duration>> = vec![None; leechers.len()];
    let mut hash_failures = 0;
    while finished.iter().any(Option::is_none) {
        match next_alert(alerts, (deadline, setup.timeout), &leechers, &ids).await? {
            (index @ 1.., Alert::TorrentComplete { id }) if ids.get(index) == Some(&id) => {
                finished[index - 1].get_or_insert_with(|| started.elapsed());
            }
            (_, Alert::HashFailed { .. }) => hash_failures += 1,
            (index, Alert::TorrentError { error, .. }) => {
                return Err(BenchError::Torrent {
                    who: who(index),
                    error,
                })
            }
            _ => {}
        }
    }
    let usage_after = getrusage(UsageWho::RUSAGE_SELF).ok();

    let (cpu_user, cpu_sys, peak_rss) = match (usage_before, usage_after) {
        (Some(before), Some(after)) => (
            timeval(after.user_time()).saturating_sub(timeval(before.user_time())),
            timeval(after.system_time()).saturating_sub(timeval(before.system_time())),
            // Linux reports ru_maxrss in KiB.
            u64::try_from(after.max_rss()).unwrap_or(0) * 1024,
        ),
        _ => (Duration::ZERO, Duration::ZERO, 0),
    };
    Ok(Report {
        finished: finished.into_iter().flatten().collect(),
        cpu_user,
        cpu_sys,
        peak_rss,
        hash_failures,
    })
}

/// A `timeval` as a `Duration` (negative values, which getrusage never
/// returns, as zero).
fn timeval(t: nix::sys::time::TimeVal) -> Duration {
    let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
    let micros = u64::try_from(t.tv_usec()).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

/// The next alert, or a timeout error describing how far the `leechers` (with
/// torrent `ids[1..]`) got, or [`BenchError::Interrupted`] on Ctrl-C.
async fn next_alert(
    alerts: &mut mpsc::UnboundedReceiver<(usize, Alert)>,
    (deadline, limit): (tokio::time::Instant, Duration),
    leechers: &[Addr<Engine>],
    ids: &[TorrentId],
) -> Result<(usize, Alert), BenchError> {
    tokio::select! {
        alert = alerts.recv() => alert.ok_or(BenchError::EnginesGone),
        _ = tokio::time::sleep_until(deadline) => {
            let mut progress = Vec::new();
            for (i, (engine, id)) in leechers.iter().zip(ids.iter().skip(1)).enumerate() {
                if let Ok(Ok(s)) = engine.send(GetStats(*id)).await {
                    progress.push(format!("leecher {}: {} of {} pieces", i + 1, s.pieces_have, s.pieces_total));
                }
            }
            let progress = if progress.is_empty() { "the seeder was still checking its data".into() } else { progress.join(", ") };
            Err(BenchError::Timeout { secs: limit.as_secs(), progress })
        }
        _ = tokio::signal::ctrl_c() => Err(BenchError::Interrupted),
    }
}

fn print_report(report: &Report, size: u64) {
    let mib = (1u64 << 20) as f64;
    let last = report.finished.iter().max().copied().unwrap_or_default();
    println!(
        "transfer:    {:.2} s from the leechers' start to the last one complete",
        last.as_secs_f64()
    );
    for (i, t) in report.finished.iter().enumerate() {
        let secs = t.as_secs_f64().max(1e-9);
        println!(
            "leecher {:<3} {} in {secs:.2} s, {:.1} MiB/s",
            i + 1,
            units::bytes(size),
            size as f64 / secs / mib
        );
    }
    let delivered = size.saturating_mul(report.finished.len() as u64);
    println!(
        "aggregate:   {:.1} MiB/s ({} delivered)",
        delivered as f64 / last.as_secs_f64().max(1e-9) / mib,
        units::bytes(delivered)
    );
    let cpu = report.cpu_user + report.cpu_sys;
    println!(
        "cpu:         {:.2} s user + {:.2} s system during the transfer ({:.0}% of one core)",
        report.cpu_user.as_secs_f64(),
        report.cpu_sys.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / last.as_secs_f64().max(1e-9),
    );
    println!("peak rss:    {}", units::bytes(report.peak_rss));
    if report.hash_failures > 0 {
        println!(
            "hash fails:  {} pieces failed their check and were fetched again",
            report.hash_failures
        );
    }
    println!("note:        the seeder and the leechers share this process: CPU and memory are for all of them together");
}

/// Creates `path`.
fn make_dir(path: &Path) -> Result<(), BenchError> {
    fs::create_dir(path).map_err(|source| BenchError::Io {
        what: "cannot create",
        path: path.to_owned(),
        source,
    })
}

/// Writes `size` deterministic pseudo-random bytes to `path` (splitmix64:
/// fast, and incompressible enough that no layer can cheat).
fn write_payload(path: &Path, size: u64) -> Result<(), BenchError> {
    let io_err = |source| BenchError::Io {
        what: "cannot write",
        path: path.to_owned(),
        source,
    };
    let mut out = BufWriter::with_capacity(CHUNK, File::create(path).map_err(io_err)?);
    let mut rng = SplitMix64(SEED);
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        rng.fill(&mut buf);
        let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        out.write_all(&buf[..n]).map_err(io_err)?;
        left -= n as u64;
    }
    out.into_inner()
        .map_err(|e| io_err(e.into_error()))?
        .sync_all()
        .map_err(io_err)
}

/// The splitmix64 generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fills `buf` (a multiple of 8 bytes long) with the next outputs.
    fn fill(&mut self, buf: &mut [u8]) {
        for word in buf.chunks_exact_mut(8) {
            word.copy_from_slice(&self.next().to_le_bytes());
        }
    }
}

/// The offset of the first byte where `a` and `b` differ (a missing or
/// shorter file differs where it ends), or `None` if they are identical.
/// Streams both in chunks.
fn first_difference(a: &Path, b: &Path) -> Result<Option<u64>, BenchError> {
    let open = |path: &Path| {
        File::open(path).map_err(|source| BenchError::Io {
            what: "cannot read",
            path: path.to_owned(),
            source,
        })
    };
    let mut fa = open(a)?;
    let mut fb = match File::open(b) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(0)),
        Err(source) => {
            return Err(BenchError::Io {
                what: "cannot read",
                path: b.to_owned(),
                source,
            })
        }
    };
    let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut offset = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(|source| BenchError::Io {
            what: "cannot read",
            path: a.to_owned(),
            source,
        })?;
        let nb = read_full(&mut fb, &mut bb).map_err(|source| BenchError::Io {
            what: "cannot read",
            path: b.to_owned(),
            source,
        })?;
        if let Some(i) = ba[..na.min(nb)]
            .iter()
            .zip(&bb[..na.min(nb)])
            .position(|(x, y)| x != y)
        {
            return Ok(Some(offset + i as u64));
        }
        if na != nb {
            return Ok(Some(offset + na.min(nb) as u64));
        }
        if na == 0 {
            return Ok(None);
        }
        offset += na as u64;
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A fresh directory under the system's temporary directory, removed on drop
/// unless kept.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(keep: bool) -> Result<Self, BenchError> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut attempt = 0u32;
        loop {
            let path = base.join(format!(
                "torrix-bench-{}-{}",
                std::process::id(),
                nanos.wrapping_add(attempt)
            ));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path, keep }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(source) => {
                    return Err(BenchError::Io {
                        what: "cannot create",
                        path,
                        source,
                    })
                }
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_deterministic_and_exactly_sized() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        write_payload(&a, 3 * CHUNK as u64 + 5).unwrap();
        write_payload(&b, 3 * CHUNK as u64 + 5).unwrap();
        assert_eq!(fs::metadata(&a).unwrap().len(), 3 * CHUNK as u64 + 5);
        assert_eq!(first_difference(&a, &b).unwrap(), None);
        // Not a constant pattern: the first two chunks differ.
        let data = fs::read(&a).unwrap();
        assert_ne!(data[..CHUNK], data[CHUNK..2 * CHUNK]);
    }

    #[test]
    fn finds_the_first_difference() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let data: Vec<u8> = (0..(CHUNK * 2 + 100)).map(|i| i as u8).collect();
        fs::write(&a, &data).unwrap();
        let mut other = data.clone();
        other[CHUNK + 17] ^= 1;
        fs::write(&b, &other).unwrap();
        assert_eq!(first_difference(&a, &b).unwrap(), Some(CHUNK as u64 + 17));
        fs::write(&b, &data[..CHUNK + 3]).unwrap();
        assert_eq!(first_difference(&a, &b).unwrap(), Some(CHUNK as u64 + 3));
        assert_eq!(
            first_difference(&a, &dir.path().join("none")).unwrap(),
            Some(0)
        );
    }
}
