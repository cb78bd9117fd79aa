//! # torrix
//!
//! A BitTorrent engine built from actix actors that exchange typed messages:
//! the [`Engine`] (one per process: the listening socket, the torrents, the
//! disk pool), a `Torrent` per torrent (piece picker, peers, choker, stats), a
//! `Peer` per connection (the wire protocol, request pipeline, uploads), the
//! [`Disk`](disk::Disk) pool (positioned vectored I/O and SHA-1 on their own
//! threads) and a `Tracker` per torrent.
//!
//! A program starts an actix `System`, starts the engine, sends it messages
//! ([`AddTorrent`], [`GetStats`], [`Subscribe`], [`Shutdown`], …) and receives
//! [`Alert`]s. See docs/DESIGN.md for the message flow.
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix::prelude::*;
//! use torrix::{AddTorrent, Alert, Engine, EngineConfig, GetStats, Shutdown, Subscribe};
//! use torrix_proto::Metainfo;
//!
//! struct Printer;
//! impl Actor for Printer {
//!     type Context = Context<Self>;
//! }
//! impl Handler<Alert> for Printer {
//!     type Result = ();
//!     fn handle(&mut self, alert: Alert, _: &mut Context<Self>) {
//!         println!("{alert:?}");
//!     }
//! }
//!
//! #[actix::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let log = slog::Logger::root(slog::Discard, slog::o!());
//!     let engine = Engine::start(EngineConfig::default(), log)?;
//!     engine.send(Subscribe(Printer.start().recipient())).await?;
//!
//!     let meta = Arc::new(Metainfo::from_bytes(&std::fs::read("file.torrent")?)?);
//!     let id = engine
//!         .send(AddTorrent { meta, download_dir: "downloads".into(), peers: vec![] })
//!         .await??;
//!     let stats = engine.send(GetStats(id)).await??;
//!     println!("{} of {} bytes verified", stats.verified_bytes, stats.total_bytes);
//!     engine.send(Shutdown).await?;
//!     Ok(())
//! }
//! ```

pub mod alert;
pub mod config;
pub mod disk;
pub mod engine;
pub mod error;
pub mod peer;
pub mod resume;
pub mod torrent;
pub mod tracker;

pub use alert::{Alert, TorrentId};
pub use config::EngineConfig;
pub use engine::{
    AddTorrent, ConnectPeers, Engine, GetListenAddr, GetStats, ListTorrents, PauseTorrent,
    RemoveTorrent, ResumeTorrent, Scrape, Shutdown, Subscribe,
};
pub use error::EngineError;
pub use torrent::{TorrentState, TorrentStats};
