use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration/ has a parent")
        .to_path_buf()
}

/// `integration/peers/`, where the libtorrent peer scripts live.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// The Python interpreter that has the `libtorrent` module: `$TORRIX_IT_PYTHON`, else
/// Debian's `/usr/bin/python3` (python3-libtorrent is built for that one only, not for a
/// pyenv/venv `python3` that may come first on `PATH`).
pub fn python() -> PathBuf {
    std::env::var_os("TORRIX_IT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

/// `Duration::from_secs(n)`, multiplied by `$TORRIX_IT_TIMEOUT_SCALE` (a float, default 1)
/// so that every harness timeout can be stretched at once on a slow machine.
pub fn secs(n: u64) -> Duration {
    let scale = std::env::var("TORRIX_IT_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    Duration::from_secs_f64(n as f64 * scale)
}

/// Poll `cond` every 20 ms until it returns true (→ `true`) or `timeout` passes (→ `false`).
pub fn wait_for(mut cond: impl FnMut() -> bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A per-test temporary directory, removed when dropped, except when the test is
/// panicking outside CI (`$CI` unset): then it is kept and its path printed, so the
/// payloads, torrents and torrix logs of a failed run can be inspected.
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("torrix-it-{name}-"))
            .tempdir()
            .expect("create test temp dir");
        let path = dir.path().to_path_buf();
        TestDir {
            dir: Some(dir),
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `self.path().join(rel)` (not created).
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }

    /// Create `rel` (and parents) under the test dir and return its path.
    pub fn mkdir(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.path.join(rel);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os("CI").is_none() {
            if let Some(d) = self.dir.take() {
                let kept = d.keep();
                eprintln!("test failed: keeping {} for inspection", kept.display());
            }
        }
    }
}
