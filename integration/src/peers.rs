//! libtorrent peers: `peers/lt_seed.py` and `peers/lt_leech.py` as owned processes.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::{describe, Proc};
use crate::torrent::TorrentMeta;
use crate::util::{peers_dir, python, secs};

/// A half of a torrent's pieces, as `lt_seed.py --half` defines it: with `n` pieces,
/// `First` = `0..n/2` and `Second` = `n/2..n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    First,
    Second,
}

/// The piece range of `h` for this torrent.
pub fn half(meta: &TorrentMeta, h: Half) -> Range<u32> {
    let mid = meta.num_pieces / 2;
    match h {
        Half::First => 0..mid,
        Half::Second => mid..meta.num_pieces,
    }
}

/// Options for [`LtSeeder::start_with`].
#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// Peers the seeder dials itself (retried each second until connected once).
    pub peers: Vec<SocketAddr>,
    /// Re-announce to the torrent's trackers every this many seconds.
    pub tracker_reannounce: Option<u32>,
    /// Partial mode: the save dir holds exactly these pieces (see
    /// [`write_partial`](crate::write_partial)); the peer serves them and never downloads.
    pub pieces: Option<Range<u32>>,
}

/// A libtorrent peer serving a torrent (`lt_seed.py`); killed on drop.
pub struct LtSeeder {
    proc: Proc,
    /// Where it listens (the real port, also when started with port 0).
    pub addr: SocketAddr,
}

/// How long a peer may take to check its data and start listening.
const READY_TIMEOUT: u64 = 120;

impl LtSeeder {
    /// A full seeder of `torrent` whose content is in `save_dir`, listening on `listen`
    /// (port 0 = any). Returns once it is seeding; panics with its stderr if it fails.
    pub fn start(torrent: &Path, save_dir: &Path, listen: SocketAddr) -> LtSeeder {
        Self::start_with(torrent, save_dir, listen, &SeedOptions::default())
    }

    /// A partial peer holding exactly `pieces` (prepare its dir with
    /// [`write_partial`](crate::write_partial)).
    pub fn start_partial(
        torrent: &Path,
        save_dir: &Path,
        listen: SocketAddr,
        pieces: Range<u32>,
    ) -> LtSeeder {
        let opts = SeedOptions {
            pieces: Some(pieces),
            ..SeedOptions::default()
        };
        Self::start_with(torrent, save_dir, listen, &opts)
    }

    pub fn start_with(
        torrent: &Path,
        save_dir: &Path,
        listen: SocketAddr,
        opts: &SeedOptions,
    ) -> LtSeeder {
        let mut cmd = Command::new(python());
        cmd.arg(peers_dir().join("lt_seed.py"))
            .arg(torrent)
            .arg(save_dir)
            .arg("--listen")
            .arg(listen.to_string());
        for p in &opts.peers {
            cmd.arg("--peer").arg(p.to_string());
        }
        if let Some(s) = opts.tracker_reannounce {
            cmd.arg("--tracker-reannounce").arg(s.to_string());
        }
        let kind = match &opts.pieces {
            Some(r) => {
                assert!(r.start < r.end, "empty piece range {r:?}");
                cmd.arg("--partial")
                    .arg("--pieces")
                    .arg(format!("{}-{}", r.start, r.end - 1));
                format!("lt partial peer [{r:?}]")
            }
            None => "lt seeder".to_string(),
        };
        let mut proc = Proc::spawn(format!("{kind} on {listen}"), cmd);
        let line = proc.expect_line("READY ", secs(READY_TIMEOUT));
        let port: u16 = match line["READY ".len()..].trim().parse() {
            Ok(p) => p,
            Err(_) => proc.fail(&format!("bad READY line {line:?}")),
        };
        LtSeeder {
            proc,
            addr: SocketAddr::new(listen.ip(), port),
        }
    }

    /// The underlying process (stderr tail, kill9, …).
    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }

    /// Panic if the seeder has exited (it should serve until killed).
    pub fn assert_alive(&mut self) {
        if let Some(st) = self.proc.try_status() {
            self.proc
                .fail(&format!("exited unexpectedly ({})", describe(Some(st))));
        }
    }
}

/// A libtorrent downloader (`lt_leech.py`); killed on drop.
pub struct LtLeecher {
    proc: Proc,
    /// Where it listens, so a seeder can also dial it.
    pub addr: SocketAddr,
    timeout: Duration,
}

impl LtLeecher {
    /// Start downloading `torrent` into `out_dir` from `peers` (and from the torrent's
    /// trackers), listening on `listen`. Returns once it listens; call [`wait`](Self::wait).
    pub fn spawn(
        torrent: &Path,
        out_dir: &Path,
        peers: &[SocketAddr],
        listen: SocketAddr,
        timeout: Duration,
    ) -> LtLeecher {
        let mut cmd = Command::new(python());
        cmd.arg(peers_dir().join("lt_leech.py"))
            .arg(torrent)
            .arg(out_dir)
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--timeout")
            .arg(format!("{:.1}", timeout.as_secs_f64()));
        for p in peers {
            cmd.arg("--peer").arg(p.to_string());
        }
        let mut proc = Proc::spawn(format!("lt leecher on {listen}"), cmd);
        let line = proc.expect_line("LISTENING ", secs(READY_TIMEOUT));
        let port: u16 = match line["LISTENING ".len()..].trim().parse() {
            Ok(p) => p,
            Err(_) => proc.fail(&format!("bad LISTENING line {line:?}")),
        };
        LtLeecher {
            proc,
            addr: SocketAddr::new(listen.ip(), port),
            timeout,
        }
    }

    /// Wait until the download is complete and the leecher has exited 0; returns the
    /// download time it measured. Panics (with its stderr) on timeout or failure.
    pub fn wait(mut self) -> Duration {
        let line = self
            .proc
            .expect_line("DONE ", self.timeout + Duration::from_secs(30));
        let secs: f64 = match line["DONE ".len()..].trim().parse() {
            Ok(s) => s,
            Err(_) => self.proc.fail(&format!("bad DONE line {line:?}")),
        };
        match self.proc.wait_exit(Duration::from_secs(30)) {
            Some(st) if st.success() => Duration::from_secs_f64(secs),
            st => self
                .proc
                .fail(&format!("printed DONE but then {}", describe(st))),
        }
    }

    /// [`spawn`](Self::spawn) + [`wait`](Self::wait).
    pub fn run(
        torrent: &Path,
        out_dir: &Path,
        peers: &[SocketAddr],
        listen: SocketAddr,
        timeout: Duration,
    ) -> Duration {
        Self::spawn(torrent, out_dir, peers, listen, timeout).wait()
    }

    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }
}
