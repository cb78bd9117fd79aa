//! Shared by the resume and ENOSPC tests: a deterministic multi-file payload
//! and its torrent, a rate-limited libtorrent seeder on loopback (see
//! `lt_seeder.py`), and helpers to run the real `torrix` binary.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};
use tempfile::TempDir;
use torrix::resume::{resume_path, ResumeData};
use torrix_proto::{Layout, Metainfo, TorrentBuilder};

/// Piece length of every test torrent.
pub const PIECE_LEN: u32 = 256 * 1024;

/// The Python interpreter that has the `libtorrent` module.
const PYTHON: &str = "/usr/bin/python3";

/// A multi-file torrent named `t`, its data in `<tmp>/seed/t/...`, and an
/// empty download directory `<tmp>/dl`.
pub struct Payload {
    pub tmp: TempDir,
    pub files: Vec<(String, Vec<u8>)>,
    pub torrent: PathBuf,
    pub meta: Metainfo,
    pub layout: Layout,
}

impl Payload {
    /// Files of the given relative paths and lengths, filled with a
    /// deterministic pseudo-random stream (splitmix64 from `seed`).
    pub fn new(files: &[(&str, usize)], seed: u64) -> Payload {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let mut state = seed;
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|&(path, len)| {
                let mut data = Vec::with_capacity(len + 8);
                while data.len() < len {
                    data.extend_from_slice(&splitmix64(&mut state).to_le_bytes());
                }
                data.truncate(len);
                (path.to_owned(), data)
            })
            .collect();
        let mut hashes = Vec::new();
        let mut piece = Sha1::new();
        let mut in_piece = 0usize;
        for (path, data) in &files {
            let on_disk = tmp.path().join("seed/t").join(path);
            fs::create_dir_all(on_disk.parent().unwrap()).unwrap();
            fs::write(&on_disk, data).unwrap();
            let mut rest = &data[..];
            while !rest.is_empty() {
                let take = rest.len().min(PIECE_LEN as usize - in_piece);
                piece.update(&rest[..take]);
                rest = &rest[take..];
                in_piece += take;
                if in_piece == PIECE_LEN as usize {
                    hashes.push(piece.finalize_reset().into());
                    in_piece = 0;
                }
            }
        }
        if in_piece > 0 {
            hashes.push(piece.finalize().into());
        }
        let entries = files.iter().map(|(path, data)| {
            let parts = path.split('/').map(str::to_owned).collect();
            (parts, data.len() as u64)
        });
        let bytes = TorrentBuilder::multi_file("t", entries, PIECE_LEN, hashes)
            .build()
            .unwrap();
        let torrent = tmp.path().join("t.torrent");
        fs::write(&torrent, &bytes).unwrap();
        let meta = Metainfo::from_bytes(&bytes).unwrap();
        let layout = Layout::from_metainfo(&meta);
        fs::create_dir_all(tmp.path().join("dl")).unwrap();
        Payload {
            tmp,
            files,
            torrent,
            meta,
            layout,
        }
    }

    pub fn total(&self) -> u64 {
        self.layout.total_length()
    }

    pub fn seed_dir(&self) -> PathBuf {
        self.tmp.path().join("seed")
    }

    pub fn download_dir(&self) -> PathBuf {
        self.tmp.path().join("dl")
    }

    /// Where file `index` is downloaded to.
    pub fn downloaded(&self, index: usize) -> PathBuf {
        self.download_dir().join("t").join(&self.files[index].0)
    }

    /// The torrent's resume file in the default location.
    pub fn resume_file(&self) -> PathBuf {
        resume_path(None, &self.download_dir(), &self.meta.info_hash)
    }

    /// Loads the resume file; `None` if it does not exist yet. Any decoding
    /// error fails the test: saves are atomic, so a reader never sees a
    /// partial file.
    pub fn resume(&self) -> Option<ResumeData> {
        ResumeData::load(&self.resume_file()).expect("resume data readable and well-formed")
    }

    /// Payload bytes of the pieces in `data`.
    pub fn bytes_of(&self, data: &ResumeData) -> u64 {
        data.have
            .ones()
            .map(|p| u64::from(self.layout.piece_len(p)))
            .sum()
    }

    /// Asserts every downloaded file equals the original, byte for byte.
    pub fn assert_downloaded(&self) {
        for (i, (path, data)) in self.files.iter().enumerate() {
            let got = fs::read(self.downloaded(i))
                .unwrap_or_else(|e| panic!("reading downloaded {path}: {e}"));
            assert!(got == *data, "{path} differs from the original");
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The libtorrent seeder process, killed on drop.
pub struct Seeder {
    child: Child,
    pub addr: SocketAddr,
}

impl Seeder {
    /// Starts seeding `payload` on `ip` at most `limit` bytes/s (0:
    /// unlimited) and waits for it to be ready. Panics, with the seeder's
    /// output, if it cannot start: the tests cannot run without it.
    pub fn start(payload: &Payload, ip: &str, limit: u64) -> Seeder {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resume_support/lt_seeder.py");
        let log = payload.tmp.path().join(format!("seeder-{ip}.log"));
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(&payload.torrent)
            .arg(payload.seed_dir())
            .arg(ip)
            .arg(limit.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PYTHON} {}: {e}", script.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = rx.recv_timeout(Duration::from_secs(120)).ok();
        let port = ready
            .as_deref()
            .and_then(|l| l.strip_prefix("READY "))
            .and_then(|p| p.trim().parse::<u16>().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the libtorrent seeder did not start (said {ready:?}); its log:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Seeder {
            child,
            addr: SocketAddr::new(ip.parse().unwrap(), port),
        }
    }
}

impl Drop for Seeder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `torrix download`, killed on drop; stdout and stderr go to
/// files so the child can never block on a full pipe.
pub struct Torrix {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// How a `torrix` run ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Torrix {
    /// `torrix download` of `payload` from `seeder`, listening on a free
    /// loopback port. `run` numbers the output files.
    pub fn download(payload: &Payload, seeder: &Seeder, run: u32) -> Torrix {
        Self::download_with(payload, seeder, run, &["-q"])
    }

    /// Like [`Torrix::download`], with `extra` arguments instead of `-q`.
    pub fn download_with(payload: &Payload, seeder: &Seeder, run: u32, extra: &[&str]) -> Torrix {
        let out = |kind: &str| payload.tmp.path().join(format!("torrix-{run}.{kind}"));
        let (stdout, stderr) = (out("out"), out("err"));
        let child = Command::new(env!("CARGO_BIN_EXE_torrix"))
            .arg("download")
            .arg(&payload.torrent)
            .arg("-d")
            .arg(payload.download_dir())
            .arg("-s")
            .arg(seeder.addr.to_string())
            .args(["-l", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("start torrix");
        Torrix {
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL torrix");
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "torrix survived SIGKILL: {status}");
    }

    /// Sends SIGTERM (with kill(1), a real signal from another process).
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the exit (at most `limit`, then the test fails).
    pub fn wait(mut self, limit: Duration) -> Finished {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "torrix still running after {limit:?}; stderr:\n{}",
                    fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        let finished = Finished {
            status,
            stdout: fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: fs::read_to_string(&self.stderr).unwrap_or_default(),
            elapsed: start.elapsed(),
        };
        assert!(
            !finished.stderr.contains("panicked"),
            "torrix panicked:\n{}",
            finished.stderr
        );
        finished
    }
}

impl Drop for Torrix {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The numbers of `torrix download`'s summary line: `<verb> t: N bytes … M bytes
/// received from peers, {X} of {Y} pieces verified (…)`.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    /// `downloaded` or `stopped after`.
    pub verb: String,
    /// Payload bytes received by this run.
    pub received: u64,
    /// Pieces verified at the end.
    pub verified: u32,
    /// Pieces in the torrent.
    pub pieces: u32,
}

/// Parses the summary line from a run's stdout; fails the test if absent.
pub fn summary(finished: &Finished) -> Summary {
    // `{verb} t: {N} bytes in {S} s ({R} MiB/s), {M} bytes received from peers,
    // {X} of {Y} pieces verified ({size})`
    let parse = |line: &str| -> Option<Summary> {
        let (head, rest) = line.split_once(" t: ")?;
        let (before, _) = rest.split_once(" bytes received from peers, ")?;
        let received = before.rsplit(' ').next()?.parse().ok()?;
        let (_, tail) = rest.split_once(" bytes received from peers, ")?;
        let mut words = tail.split(' ');
        let verified = words.next()?.parse().ok()?;
        let pieces = words.nth(1)?.parse().ok()?;
        Some(Summary {
            verb: head.to_owned(),
            received,
            verified,
            pieces,
        })
    };
    finished
        .stdout
        .lines()
        .find_map(parse)
        .unwrap_or_else(|| panic!("no summary line in {finished:#?}"))
}

/// Polls until `cond` holds (every 20 ms, at most `limit`).
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
