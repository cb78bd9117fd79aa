//! Progress display: an indicatif bar on a terminal, a plain status line every
//! few seconds otherwise, nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use torrix::{TorrentState, TorrentStats};

use crate::units;

/// How often the plain status line is printed when stdout is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(3);

enum Mode {
    Quiet,
    Bar(ProgressBar),
    Plain { last: Option<Instant> },
}

/// Shows a torrent's progress.
pub struct Progress {
    mode: Mode,
    started: Instant,
}

impl Progress {
    /// Picks the mode from `quiet` and whether stdout is a terminal.
    pub fn new(quiet: bool, total: u64) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(bar)
        } else {
            Mode::Plain { last: None }
        };
        Progress {
            mode,
            started: Instant::now(),
        }
    }

    /// Shows the latest statistics.
    pub fn update(&mut self, s: &TorrentStats) {
        let state = match &s.state {
            TorrentState::Checking { checked } => format!("checking {checked}/{}", s.pieces_total),
            TorrentState::Downloading => "downloading".into(),
            TorrentState::Seeding => "seeding".into(),
            TorrentState::Paused => "paused".into(),
            TorrentState::Error(e) => format!("error: {e}"),
        };
        let remaining = s.total_bytes - s.verified_bytes;
        let eta = if s.download_rate > 1.0 && remaining > 0 {
            units::duration((remaining as f64 / s.download_rate) as u64)
        } else {
            "-".into()
        };
        let swarm = match (s.tracker_seeders, s.tracker_leechers) {
            (None, None) => String::new(),
            (seeds, leechers) => format!(
                " swarm {} seeds {} leechers",
                seeds.map_or("?".into(), |n| n.to_string()),
                leechers.map_or("?".into(), |n| n.to_string())
            ),
        };
        let detail = format!(
            "down {} up {} peers {}/{}{} eta {} {}",
            units::rate(s.download_rate),
            units::rate(s.upload_rate),
            s.peers_connected,
            s.peers_known,
            swarm,
            eta,
            state
        );
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => {
                bar.set_prefix(s.name.clone());
                bar.set_position(s.verified_bytes);
                bar.set_message(detail);
            }
            Mode::Plain { last } => {
                if last.is_some_and(|t| t.elapsed() < PLAIN_EVERY) {
                    return;
                }
                *last = Some(Instant::now());
                let percent = if s.total_bytes == 0 {
                    100.0
                } else {
                    s.verified_bytes as f64 * 100.0 / s.total_bytes as f64
                };
                println!(
                    "[{:>7.1}s] {:5.1}% {}/{} {}",
                    self.started.elapsed().as_secs_f64(),
                    percent,
                    units::bytes(s.verified_bytes),
                    units::bytes(s.total_bytes),
                    detail
                );
            }
        }
    }

    /// Prints a line without breaking the bar (suppressed when quiet).
    pub fn println(&self, line: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => bar.println(line),
            Mode::Plain { .. } => println!("{line}"),
        }
    }

    /// Removes the bar before the final line.
    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}
