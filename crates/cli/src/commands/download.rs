//! `torrix download`: fetch a torrent, verify every piece, exit when the files
//! are complete and flushed (or keep seeding with `--seed`).
//!
//! Progress survives restarts: the engine keeps resume data next to the
//! download (`<dir>/.torrix/<info-hash>.resume`, see `torrix::resume`), saved
//! every few seconds, on completion, on errors and when Ctrl-C or SIGTERM
//! stops the command (exit code 0). After a crash or `kill -9`, running the
//! same command again trusts the pieces recorded there whose files are
//! unchanged, re-checks the rest of what is on disk, and fetches only what
//! is missing.

use std::time::{Duration, Instant};

use slog::Logger;
use torrix::Alert;

use crate::args::DownloadArgs;
use crate::error::CliError;
use crate::progress::Progress;
use crate::session::{load_torrent, Session, Signals};
use crate::units;

/// Runs the command.
pub fn run(args: DownloadArgs, log: Logger) -> Result<(), CliError> {
    let meta = load_torrent(&args.peer.torrent_path())?;
    actix_rt::System::new().block_on(async move {
        let started = Instant::now();
        let mut session = Session::start(&args.peer, meta, log, true).await?;
        let mut progress = Progress::new(args.peer.quiet, session.meta.total_length);
        let mut signals = Signals::new();
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        let mut completed_at = None;
        let outcome = loop {
            tokio::select! {
                alert = session.alerts.recv() => match alert {
                    Some(Alert::TorrentComplete { id }) if id == session.id => {
                        completed_at = Some(started.elapsed());
                        if !args.seed {
                            break Ok(());
                        }
                        progress.println("download complete; seeding until interrupted");
                    }
                    Some(Alert::TorrentError { id, error }) if id == session.id => {
                        break Err(CliError::Torrent(error));
                    }
                    Some(_) => {}
                    None => break Err(CliError::Torrent("the engine stopped".into())),
                },
                _ = ticker.tick() => {
                    if let Some(stats) = session.stats().await {
                        progress.update(&stats);
                    }
                }
                _ = signals.recv() => {
                    progress.println("interrupted: stopping peers and flushing files");
                    break Ok(());
                }
            }
        };
        let stats = session.stats().await;
        session.shutdown().await;
        progress.finish();
        // Printed on errors too: how much was verified (and is kept) matters
        // most when a download stops early.
        if let Some(s) = stats {
            let secs = completed_at.unwrap_or_else(|| started.elapsed()).as_secs_f64().max(1e-6);
            let verb = if completed_at.is_some() { "downloaded" } else { "stopped after" };
            // Payload verified in this run (what was already on disk excluded);
            // `received` also counts endgame duplicates and discarded data.
            let fetched = s.verified_bytes - s.checked_bytes;
            println!(
                "{verb} {}: {} bytes in {:.2} s ({:.1} MiB/s), {} bytes received from peers, {} of {} pieces verified ({})",
                s.name,
                fetched,
                secs,
                fetched as f64 / secs / (1024.0 * 1024.0),
                s.downloaded,
                s.pieces_have,
                s.pieces_total,
                units::bytes(s.verified_bytes),
            );
        }
        outcome
    })
}
