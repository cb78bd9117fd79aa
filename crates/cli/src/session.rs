//! What `download` and `seed` share: loading the torrent, starting the engine,
//! receiving alerts, and Ctrl-C / SIGTERM handling.

use std::path::Path;
use std::sync::Arc;

use actix::prelude::*;
use slog::Logger;
use tokio::sync::mpsc;
use torrix::{
    AddTorrent, Alert, Engine, EngineConfig, GetStats, Shutdown, Subscribe, TorrentId, TorrentStats,
};
use torrix_proto::Metainfo;

use crate::args::PeerArgs;
use crate::error::CliError;

/// Reads and validates a .torrent file.
pub fn load_torrent(path: &Path) -> Result<Arc<Metainfo>, CliError> {
    if path.to_string_lossy().starts_with("magnet:") {
        return Err(CliError::Magnet);
    }
    let bytes = std::fs::read(path).map_err(|source| CliError::ReadTorrent {
        path: path.to_owned(),
        source,
    })?;
    let meta = Metainfo::from_bytes(&bytes).map_err(|source| CliError::InvalidTorrent {
        path: path.to_owned(),
        source,
    })?;
    Ok(Arc::new(meta))
}

/// Forwards the engine's alerts into a channel the command's loop reads.
struct AlertForwarder(mpsc::UnboundedSender<Alert>);

impl Actor for AlertForwarder {
    type Context = Context<Self>;
}

impl Handler<Alert> for AlertForwarder {
    type Result = ();

    fn handle(&mut self, alert: Alert, _ctx: &mut Context<Self>) {
        let _ = self.0.send(alert);
    }
}

/// A running engine with one torrent in it.
pub struct Session {
    /// The engine.
    pub engine: Addr<Engine>,
    /// The torrent's id.
    pub id: TorrentId,
    /// The torrent.
    pub meta: Arc<Metainfo>,
    /// Alerts, in order.
    pub alerts: mpsc::UnboundedReceiver<Alert>,
}

impl Session {
    /// Starts an engine listening where `args` says and adds the torrent.
    /// Must run inside an actix system.
    /// `create_dir`: make the download directory if it is missing (a seed's
    /// data directory must already exist).
    pub async fn start(
        args: &PeerArgs,
        meta: Arc<Metainfo>,
        log: Logger,
        create_dir: bool,
    ) -> Result<Session, CliError> {
        check_download_dir(&args.download_dir, create_dir)?;
        let config = EngineConfig {
            listen: args.listen,
            direct_writes: !args.buffered_writes,
            ..EngineConfig::default()
        };
        let engine = Engine::start(config, log)?;
        let (tx, alerts) = mpsc::unbounded_channel();
        let forwarder = AlertForwarder(tx).start();
        engine.do_send(Subscribe(forwarder.recipient()));
        let id = engine
            .send(AddTorrent {
                meta: meta.clone(),
                download_dir: args.download_dir.clone(),
                peers: args.seeds.clone(),
            })
            .await
            .map_err(|_| torrix::EngineError::ShuttingDown)??;
        Ok(Session {
            engine,
            id,
            meta,
            alerts,
        })
    }

    /// The torrent's current statistics.
    pub async fn stats(&self) -> Option<TorrentStats> {
        self.engine.send(GetStats(self.id)).await.ok()?.ok()
    }

    /// Graceful stop: close connections, flush files.
    pub async fn shutdown(self) {
        let _ = self.engine.send(Shutdown).await;
    }
}

fn check_download_dir(dir: &Path, create: bool) -> Result<(), CliError> {
    let err = |reason: String| CliError::DownloadDir {
        path: dir.to_owned(),
        reason,
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(err("not a directory".into())),
        Ok(m) if create && m.permissions().readonly() => Err(err("not writable".into())),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create it: {e}")))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(err("it does not exist".into())),
        Err(e) => Err(err(e.to_string())),
    }
}

/// Ctrl-C and SIGTERM. The first asks for a graceful stop; a second Ctrl-C
/// exits at once.
pub struct Signals {
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers.
    pub fn new() -> Self {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        Signals { term }
    }

    /// Resolves at the first Ctrl-C or SIGTERM, and arms the second Ctrl-C.
    pub async fn recv(&mut self) {
        let term = async {
            match self.term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("torrix: interrupted twice, exiting now");
                std::process::exit(130);
            }
        });
    }
}
