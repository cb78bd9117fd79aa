//! Helpers shared by the CLI tests: run the real `torrix` binary with a time
//! limit and check it failed (or succeeded) the way a person should see.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const TORRIX: &str = env!("CARGO_BIN_EXE_torrix");

/// Runs `torrix args...` in `cwd` with the extra environment `env`, killing
/// it (and failing the test) if it takes longer than `limit`.
pub fn torrix_in(cwd: &Path, args: &[&str], env: &[(&str, &Path)], limit: Duration) -> Output {
    let mut child = Command::new(TORRIX)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .env_remove("TORRIX_LOG")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn torrix");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for torrix") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("torrix {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

/// [`torrix_in`] with a 60 s limit.
pub fn torrix(cwd: &Path, args: &[&str]) -> Output {
    torrix_in(cwd, args, &[], Duration::from_secs(60))
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts `o` exited with `code`, that stderr contains every one of
/// `needles`, and that nothing panicked.
pub fn assert_fails(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status; stderr:\n{err}\nstdout:\n{}",
        stdout(o)
    );
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
    assert_no_panic(o);
}

/// Asserts `o` exited 0 without panicking; returns stdout.
pub fn assert_ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "exit status; stderr:\n{}\nstdout:\n{}",
        stderr(o),
        stdout(o)
    );
    assert_no_panic(o);
    stdout(o)
}

/// No panic message or backtrace hint on stderr.
pub fn assert_no_panic(o: &Output) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "panic:\n{err}"
    );
}

/// Writes `data` at `root/rel`, creating directories.
pub fn write(root: &Path, rel: &str, data: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dirs");
    std::fs::write(path, data).expect("write file");
}

/// `len` bytes that differ from file to file (by `seed`) and from piece to piece.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
