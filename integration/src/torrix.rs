//! The torrix binary as an owned process, its output captured to files in the test dir.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::process::describe;
use crate::util::{secs, workspace_root};

/// The torrix binary under test: `$TORRIX_BIN` if set (it must exist), else
/// `<target>/release/torrix` if it exists, else `<target>/debug/torrix`, where
/// `<target>` is `$CARGO_TARGET_DIR` or `<workspace>/target`. Release wins even when a
/// newer debug build exists: set `TORRIX_BIN` to choose. Panics if none is found.
pub fn torrix_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TORRIX_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "TORRIX_BIN={} does not exist; build it first: cargo build --release -p torrix-cli",
            p.display()
        );
        return p;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    for profile in ["release", "debug"] {
        let p = target.join(profile).join("torrix");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "no torrix binary in {}/{{release,debug}} and TORRIX_BIN unset; \
         build it first: cargo build --release -p torrix-cli",
        target.display()
    );
}

/// What a finished torrix run printed.
#[derive(Debug, Clone)]
pub struct TorrixOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl TorrixOutput {
    /// The last non-empty stdout line ("" if none).
    pub fn last_stdout_line(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    }
}

/// A running `torrix` process; SIGKILLed and reaped on drop. stdout and stderr go to
/// `torrix-N.stdout` / `torrix-N.stderr` in the directory given to [`spawn`](Self::spawn).
pub struct Torrix {
    label: String,
    child: Child,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    status: Option<ExitStatus>,
    reported: bool,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

impl Torrix {
    /// Run `torrix ARGS…` with its output in files under `dir`. `RUST_BACKTRACE=1`.
    pub fn spawn<I, S>(dir: &Path, args: I) -> Torrix
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let bin = torrix_bin();
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let stdout_path = dir.join(format!("torrix-{n}.stdout"));
        let stderr_path = dir.join(format!("torrix-{n}.stderr"));
        let mut cmd = Command::new(&bin);
        cmd.args(args)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create torrix stdout file"))
            .stderr(File::create(&stderr_path).expect("create torrix stderr file"));
        let label = format!("{cmd:?}");
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        Torrix {
            label,
            child,
            stdout_path,
            stderr_path,
            status: None,
            reported: false,
        }
    }

    /// `torrix download TORRENT -d OUT_DIR [-s SEED[,SEED…]] -l LISTEN --quiet` (the CLI
    /// contract in integration/README.md; no `-s` when `seeds` is empty: peers then come
    /// from the torrent's trackers). Follow with [`expect_success`](Self::expect_success)
    /// and [`assert_download_summary`].
    pub fn download(
        dir: &Path,
        torrent: &Path,
        out_dir: &Path,
        seeds: &[SocketAddr],
        listen: SocketAddr,
    ) -> Torrix {
        Torrix::download_with(dir, torrent, out_dir, seeds, listen, &[])
    }

    /// [`download`](Self::download) with `extra` arguments appended.
    pub fn download_with(
        dir: &Path,
        torrent: &Path,
        out_dir: &Path,
        seeds: &[SocketAddr],
        listen: SocketAddr,
        extra: &[&str],
    ) -> Torrix {
        let mut args: Vec<OsString> = vec![
            "download".into(),
            torrent.into(),
            "-d".into(),
            out_dir.into(),
        ];
        if !seeds.is_empty() {
            let seeds: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
            args.extend(["-s".into(), seeds.join(",").into()]);
        }
        args.extend(["-l".into(), listen.to_string().into(), "--quiet".into()]);
        args.extend(extra.iter().map(OsString::from));
        Torrix::spawn(dir, args)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stdout_path).unwrap_or_default()).into_owned()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stderr_path).unwrap_or_default()).into_owned()
    }

    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait torrix");
        }
        self.status
    }

    /// Wait up to `timeout` for exit: `Some(output)` if it exited, `None` if still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<TorrixOutput> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(TorrixOutput {
                    status,
                    stdout: self.stdout(),
                    stderr: self.stderr(),
                });
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for exit status 0 within `timeout`; panics with the output otherwise (a
    /// process still running at the deadline is killed first).
    pub fn expect_success(mut self, timeout: Duration) -> TorrixOutput {
        match self.wait_timeout(timeout) {
            Some(out) if out.status.success() => out,
            Some(out) => {
                let st = describe(Some(out.status));
                self.fail(&format!("failed ({st})"))
            }
            None => self.fail(&format!("still running after {timeout:?}, killed")),
        }
    }

    /// The first stdout-or-stderr line containing `needle`, waiting up to `timeout`.
    /// `None` if the process exits or the time runs out first.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let exited = self.try_status().is_some();
            for text in [self.stdout(), self.stderr()] {
                if let Some(l) = text.lines().find(|l| l.contains(needle)) {
                    return Some(l.to_string());
                }
            }
            if exited || Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (if running) and reap.
    pub fn kill9(&mut self) -> ExitStatus {
        if let Some(st) = self.try_status() {
            return st;
        }
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let st = self.child.wait().expect("wait torrix");
        self.status = Some(st);
        st
    }

    /// Send SIGTERM (no wait; follow with [`wait_timeout`](Self::wait_timeout)).
    pub fn sigterm(&mut self) {
        if self.try_status().is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        }
    }

    /// Kill, then panic with `msg` and the tails of stdout and stderr.
    pub fn fail(&mut self, msg: &str) -> ! {
        self.kill9();
        self.reported = true;
        panic!("{}: {msg}\n{}", self.label, self.report());
    }

    fn report(&self) -> String {
        format!(
            "--- torrix stdout (last lines; {}) ---\n{}\n--- torrix stderr (last lines; {}) ---\n{}\n--- end ---",
            self.stdout_path.display(),
            tail(&self.stdout(), 20),
            self.stderr_path.display(),
            tail(&self.stderr(), 60)
        )
    }
}

impl Drop for Torrix {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() && !self.reported {
            eprintln!("{} at test failure:\n{}", self.label, self.report());
        }
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Check the contract's completion line: the last non-empty stdout line of a download
/// names the byte count as `<total_bytes> bytes` and a rate in `MiB/s`, with the time in
/// seconds, e.g. `67108864 bytes in 1.234 s (51.9 MiB/s)`. Returns that line.
#[track_caller]
pub fn assert_download_summary(out: &TorrixOutput, total_bytes: u64) -> String {
    let line = out.last_stdout_line();
    let bytes = format!("{total_bytes} bytes");
    // "{total} bytes" as a whole number (not the tail of a longer one)
    let has_bytes = line.match_indices(&bytes).any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
    });
    let has_seconds = line
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .any(|w| {
            w.strip_suffix('s')
                .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok())
        })
        || line.contains(" s ")
        || line.contains(" s,")
        || line.contains(" s)")
        || line.contains("second");
    assert!(
        has_bytes && line.contains("MiB/s") && has_seconds,
        "last stdout line of torrix download should read like \
         \"{bytes} in 1.234 s (51.9 MiB/s)\", got {line:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    line.to_string()
}

/// `torrix seed TORRENT -d DATA_DIR -l LISTEN`, started and waited for until it prints a
/// line containing `listening on <addr>` (stdout or stderr). Killed on drop.
pub struct TorrixSeeder {
    pub torrix: Torrix,
    /// The address from the "listening on" line.
    pub addr: SocketAddr,
}

impl TorrixSeeder {
    /// `dir` receives the output files. `listen` should have a fixed port (see
    /// [`free_port`](crate::free_port)); port 0 works too if torrix reports the real one.
    pub fn start(dir: &Path, torrent: &Path, data_dir: &Path, listen: SocketAddr) -> TorrixSeeder {
        let mut torrix = Torrix::spawn(
            dir,
            [
                OsStr::new("seed"),
                torrent.as_os_str(),
                OsStr::new("-d"),
                data_dir.as_os_str(),
                OsStr::new("-l"),
                OsStr::new(&listen.to_string()),
            ],
        );
        let Some(line) = torrix.wait_for_line("listening on ", secs(120)) else {
            let why = match torrix.try_status() {
                Some(st) => format!("exited ({}) without", describe(Some(st))),
                None => "no".to_string(),
            };
            torrix.fail(&format!("{why} \"listening on <addr>\" line within 120 s"))
        };
        let addr = match parse_listening(&line) {
            Some(a) => a,
            None => torrix.fail(&format!("cannot parse an address from {line:?}")),
        };
        if addr.ip() != listen.ip() || (listen.port() != 0 && addr.port() != listen.port()) {
            torrix.fail(&format!("asked to listen on {listen}, says {line:?}"));
        }
        TorrixSeeder { torrix, addr }
    }
}

/// The socket address after "listening on " in `line` (trailing punctuation ignored).
pub(crate) fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let word = rest.split_whitespace().next()?;
    word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || "[]:.".contains(c)))
        .trim_end_matches(['.', ':'])
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn output(stdout: &str) -> TorrixOutput {
        TorrixOutput {
            status: ExitStatus::from_raw(0),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn download_summary_lines() {
        for ok in [
            "67108864 bytes in 1.234 s (51.9 MiB/s)",
            "done: 67108864 bytes in 1.2s, 51.9 MiB/s",
            "67108864 bytes 1.234 seconds 51.9 MiB/s",
        ] {
            assert_download_summary(&output(&format!("progress\n{ok}\n\n")), 67108864);
        }
        for bad in [
            "67108864 bytes in 1.234 s",        // no rate
            "6710886 bytes in 1.2 s (5 MiB/s)", // wrong size
            "67108864 bytes (51.9 MiB/s)",      // no time
            "167108864 bytes in 1 s (9 MiB/s)", // a longer number
        ] {
            let r = std::panic::catch_unwind(|| assert_download_summary(&output(bad), 67108864));
            assert!(r.is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn listening_lines() {
        let a = "127.0.0.2:6881".parse().unwrap();
        assert_eq!(parse_listening("listening on 127.0.0.2:6881"), Some(a));
        assert_eq!(
            parse_listening("INFO seed: listening on 127.0.0.2:6881, 1 torrent"),
            Some(a)
        );
        assert_eq!(parse_listening("listening on 127.0.0.2:6881."), Some(a));
        assert_eq!(parse_listening("listening on (127.0.0.2:6881)"), Some(a));
        assert_eq!(parse_listening("listening on soon"), None);
        assert_eq!(parse_listening("nothing here"), None);
    }
}
