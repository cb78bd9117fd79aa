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

pub mod alert;
pub mod config;
pub mod disk;
pub mod engine;
pub mod error;
pub mod peer;
pub mod resume;
pub mod torrent;

pub use alert::{Alert, TorrentId};
pub use config::EngineConfig;
pub use engine::{
    AddTorrent, ConnectPeers, Engine, GetListenAddr, GetStats, ListTorrents, PauseTorrent,
    RemoveTorrent, ResumeTorrent, Shutdown, Subscribe,
};
pub use error::EngineError;
pub use torrent::{TorrentState, TorrentStats};
