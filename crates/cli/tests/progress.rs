//! Progress output when stdout is not a terminal: a plain status line every few
//! seconds, then the summary; nothing but the summary with `--quiet`.
//! (The terminal progress bar is checked by hand in tmux.)

mod resume_support;

use std::time::Duration;

use resume_support::{Payload, Seeder, Torrix};

/// Parses the percentage of a status line like `[    3.0s]  41.2% 10.0 MiB/24.0 MiB down ...`.
fn percent(line: &str) -> f64 {
    let after = line.split(']').nth(1).expect("status line has a ] ");
    after
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

#[test]
fn plain_status_lines_when_stdout_is_not_a_terminal() {
    // 24 MiB at 3 MB/s: about 8 s, so several 3-second status lines.
    let payload = Payload::new(&[("slow.bin", 24 << 20)], 41);
    let seeder = Seeder::start(&payload, "127.0.0.151", 3_000_000);
    let done = Torrix::download_with(&payload, &seeder, 1, &[]).wait(Duration::from_secs(120));
    assert!(done.status.success(), "torrix failed: {}", done.stderr);
    payload.assert_downloaded();

    assert!(
        !done.stdout.contains('\x1b'),
        "escape codes in non-terminal output:\n{}",
        done.stdout
    );
    let status: Vec<&str> = done.stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert!(
        status.len() >= 2,
        "expected several status lines, got:\n{}",
        done.stdout
    );
    for line in &status {
        for word in ["%", "down", "up", "peers", "eta"] {
            assert!(line.contains(word), "status line without {word:?}: {line}");
        }
    }
    let percents: Vec<f64> = status.iter().map(|l| percent(l)).collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "progress went backwards: {percents:?}"
    );
    assert!(
        percents.iter().any(|&p| p > 0.0 && p < 100.0),
        "no intermediate progress: {percents:?}"
    );
    let last = done.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("downloaded t: 25165824 bytes"),
        "summary line: {last}"
    );
}

#[test]
fn quiet_prints_only_the_summary() {
    let payload = Payload::new(&[("quiet.bin", 4 << 20)], 42);
    let seeder = Seeder::start(&payload, "127.0.0.152", 2_000_000);
    let done =
        Torrix::download_with(&payload, &seeder, 1, &["--quiet"]).wait(Duration::from_secs(120));
    assert!(done.status.success(), "torrix failed: {}", done.stderr);
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "quiet output:\n{}", done.stdout);
    assert!(
        lines[0].starts_with("downloaded t: 4194304 bytes"),
        "{}",
        lines[0]
    );
}
