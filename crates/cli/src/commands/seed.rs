//! `torrix seed`: check the data, refuse to start unless it is complete, then
//! serve until Ctrl-C or SIGTERM.

use std::time::Duration;

use slog::Logger;
use torrix::{Alert, GetListenAddr};

use crate::args::{DownloadArgs, SeedArgs};
use crate::error::CliError;
use crate::progress::Progress;
use crate::session::{load_torrent, Session, Signals};
use crate::units;

/// Runs the command.
pub fn run(args: SeedArgs, log: Logger) -> Result<(), CliError> {
    if args.mode == "download" {
        return crate::commands::download::run(
            DownloadArgs {
                peer: args.peer,
                seed: true,
            },
            log,
        );
    }
    let meta = load_torrent(&args.peer.torrent_path())?;
    if !args.peer.download_dir.is_dir() {
        return Err(CliError::MissingDataDir {
            name: meta.name.clone(),
            dir: args.peer.download_dir.clone(),
        });
    }
    actix_rt::System::new().block_on(async move {
        let mut session = Session::start(&args.peer, meta, log, false).await?;
        let mut progress = Progress::new(args.peer.quiet, session.meta.total_length);
        let mut signals = Signals::new();
        let mut ticker = tokio::time::interval(Duration::from_millis(500));
        let mut serving = false;
        let outcome = loop {
            tokio::select! {
                alert = session.alerts.recv() => match alert {
                    Some(Alert::Checked { id, valid_pieces, total_pieces }) if id == session.id => {
                        if valid_pieces < total_pieces {
                            break Err(CliError::IncompleteData {
                                name: session.meta.name.clone(),
                                valid: valid_pieces,
                                total: total_pieces,
                                percent: f64::from(valid_pieces) * 100.0 / f64::from(total_pieces.max(1)),
                                dir: args.peer.download_dir.clone(),
                            });
                        }
                        serving = true;
                        let addr = session.engine.send(GetListenAddr).await.unwrap_or(args.peer.listen);
                        // Scripts wait for this line; it is printed even when quiet.
                        eprintln!("torrix: seeding {} ({}), listening on {addr}", session.meta.name, units::bytes(session.meta.total_length));
                    }
                    Some(Alert::TorrentError { id, error }) if id == session.id => break Err(CliError::Torrent(error)),
                    Some(_) => {}
                    None => break Err(CliError::Torrent("the engine stopped".into())),
                },
                _ = ticker.tick() => {
                    if serving {
                        if let Some(stats) = session.stats().await {
                            progress.update(&stats);
                        }
                    }
                }
                _ = signals.recv() => break Ok(()),
            }
        };
        progress.finish();
        if let Err(e @ CliError::IncompleteData { .. }) = outcome {
            // Nothing was written; leave without the graceful stop, which would
            // record resume data in the user's data directory.
            return Err(e);
        }
        let stats = session.stats().await;
        session.shutdown().await;
        outcome?;
        if let Some(s) = stats {
            println!("seeded {}: {} bytes uploaded", s.name, s.uploaded);
        }
        Ok(())
    })
}
