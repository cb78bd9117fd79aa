//! A download into a filesystem too small for it: `torrix download` must stop
//! with a clear "no space left on device" error and exit code 1, without a
//! panic, keeping the pieces it verified; with more room, a second run
//! fetches only the rest.
//!
//! Uses a real 8 MiB tmpfs (needs root, as the test environment provides);
//! if it cannot be mounted the test fails and says why.

mod resume_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use resume_support::{summary, Payload, Seeder, Torrix, PIECE_LEN};

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (this test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_owned())
    }

    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "remount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_stops_the_torrent_with_a_clear_error_and_keeps_verified_pieces() {
    let payload = Payload::new(&[("one.bin", 16 << 20), ("two.bin", (16 << 20) + 777)], 9);
    let total = payload.total();
    let seeder = Seeder::start(&payload, "127.0.0.5", 0);
    let fs = Tmpfs::mount(&payload.download_dir(), "8m");

    let first = Torrix::download(&payload, &seeder, 1).wait(Duration::from_secs(60));
    assert_eq!(first.status.code(), Some(1), "{first:#?}");
    let error = first
        .stderr
        .lines()
        .find(|l| l.starts_with("torrix: "))
        .unwrap_or_else(|| panic!("no error line in stderr:\n{}", first.stderr));
    eprintln!("{error}");
    assert!(error.contains("no space left on device"), "{error}");
    assert!(error.contains("pieces verified"), "{error}");
    // The resume file lives on the full filesystem too, and the error says
    // whether it could be saved.
    assert!(error.contains("resume data"), "{error}");
    let s = summary(&first);
    assert_eq!(s.verb, "stopped after");
    assert!(
        s.verified > 0,
        "nothing verified before the disk filled: {s:?}"
    );
    assert!(
        u64::from(s.verified) * u64::from(PIECE_LEN) <= 8 << 20,
        "{s:?}"
    );

    // With room, the verified pieces are found on disk and not fetched again.
    fs.resize("64m");
    let second = Torrix::download(&payload, &seeder, 2).wait(Duration::from_secs(60));
    assert!(second.status.success(), "{second:#?}");
    payload.assert_downloaded();
    // The fewest bytes `s.verified` pieces can hold: one may be the short last one.
    let last = payload.layout.piece_len(payload.layout.piece_count() - 1);
    let kept = u64::from(s.verified - 1) * u64::from(PIECE_LEN) + u64::from(last);
    let s2 = summary(&second);
    assert!(
        s2.received <= total - kept,
        "received {} of {total}, {kept} were kept",
        s2.received
    );
    drop(fs);
}
