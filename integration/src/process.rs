//! A child process owned by a test: stdout lines are readable with a timeout, stderr is
//! kept (the last lines) for error messages, and the process is SIGKILLed and reaped
//! when the guard is dropped.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const STDERR_KEEP: usize = 400;

pub struct Proc {
    name: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    reported: bool,
}

impl Proc {
    /// Spawn `cmd` with stdin closed and stdout/stderr captured. `name` labels messages.
    /// With `TORRIX_IT_ECHO=1` in the environment every stderr line is also echoed live
    /// to the test's stderr (see it with `--no-capture`).
    pub fn spawn(name: impl Into<String>, mut cmd: Command) -> Proc {
        let name = name.into();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr);
        let echo = std::env::var_os("TORRIX_IT_ECHO").is_some_and(|v| v != "0");
        let label = name.clone();
        let readers = vec![
            std::thread::spawn(move || {
                for line in lines_lossy(out) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }),
            std::thread::spawn(move || {
                for line in lines_lossy(err) {
                    if echo {
                        eprintln!("[{label}] {line}");
                    }
                    let mut t = tail.lock().unwrap();
                    if t.len() == STDERR_KEEP {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            }),
        ];
        Proc {
            name,
            child,
            stdout,
            stderr,
            readers,
            status: None,
            reported: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line starting with `prefix` (other lines are skipped), within
    /// `timeout`. Panics, with the stderr tail, if the process exits or the time runs out.
    pub fn expect_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no {prefix:?} line on stdout within {timeout:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let st = self.wait_exit(Duration::from_secs(5));
                    self.fail(&format!(
                        "exited ({}) before printing {prefix:?}",
                        describe(st)
                    ))
                }
            }
        }
    }

    /// Wait up to `timeout` for the process to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_status() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exit status if the process has exited (it is reaped then).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// SIGKILL the process (if still running) and reap it.
    pub fn kill9(&mut self) -> ExitStatus {
        if let Some(st) = self.try_status() {
            return st;
        }
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let st = self.child.wait().expect("wait after SIGKILL");
        self.status = Some(st);
        st
    }

    /// Send SIGTERM (no wait).
    pub fn sigterm(&mut self) {
        if self.try_status().is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        }
    }

    /// The last `n` stderr lines, one string. Once the process has exited this waits
    /// for the reader threads, so nothing it wrote is missing.
    pub fn stderr_tail(&mut self, n: usize) -> String {
        if self.try_status().is_some() {
            for r in self.readers.drain(..) {
                let _ = r.join();
            }
        }
        let t = self.stderr.lock().unwrap();
        let skip = t.len().saturating_sub(n);
        t.iter().skip(skip).cloned().collect::<Vec<_>>().join("\n")
    }

    /// Panic with `msg`, naming the process and showing its stderr tail. The process is
    /// killed first, so the panic leaves nothing running.
    pub fn fail(&mut self, msg: &str) -> ! {
        self.kill9();
        self.reported = true;
        let tail = self.stderr_tail(60);
        panic!(
            "{} (pid {}): {msg}\n--- {} stderr (last lines) ---\n{tail}\n--- end ---",
            self.name,
            self.child.id(),
            self.name
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() && !self.reported {
            let tail = self.stderr_tail(30);
            eprintln!(
                "--- {} (pid {}) stderr, last lines, at test failure ---\n{tail}\n--- end ---",
                self.name,
                self.child.id()
            );
        }
    }
}

/// "exit status 1" / "signal 9" for messages.
pub(crate) fn describe(st: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match st {
        None => "still running".into(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => format!("{s}"),
        },
    }
}

fn lines_lossy(r: impl Read) -> impl Iterator<Item = String> {
    let mut r = BufReader::new(r);
    std::iter::from_fn(move || {
        let mut buf = Vec::new();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                Some(String::from_utf8_lossy(&buf).into_owned())
            }
        }
    })
}
