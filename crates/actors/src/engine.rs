//! The Engine actor: one per process, and the library's public API.
//!
//! It owns the one listening socket shared by every torrent, the Disk pool,
//! the arbiters that run peer connections, and the torrents. An incoming
//! connection is routed to its torrent by the info-hash in its handshake;
//! unknown info-hashes are dropped. Alerts from torrents are fanned out to
//! subscribers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use actix::prelude::*;
use futures_util::future::join_all;
use futures_util::Stream;
use slog::{debug, info, o, Logger};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use torrix_proto::wire::{Handshake, HANDSHAKE_LEN};
use torrix_proto::{InfoHash, Metainfo};

use crate::alert::{Alert, TorrentId};
use crate::config::EngineConfig;
use crate::disk::{Disk, DiskPool, Storage};
use crate::error::EngineError;
use crate::resume::resume_path;
use crate::torrent::messages::IncomingPeer;
use crate::torrent::{
    AddPeers, GetTorrentStats, SetPaused, SetPeerLimit, StopTorrent, Torrent, TorrentSetup,
    TorrentStats,
};

struct TorrentHandle {
    addr: Addr<Torrent>,
    info_hash: InfoHash,
    name: String,
}

/// The engine.
pub struct Engine {
    config: Arc<EngineConfig>,
    listener: Option<std::net::TcpListener>,
    listen_addr: SocketAddr,
    disk: DiskPool,
    arbiters: Vec<Arbiter>,
    arbiter_handles: Arc<Vec<ArbiterHandle>>,
    torrents: HashMap<TorrentId, TorrentHandle>,
    by_hash: HashMap<InfoHash, TorrentId>,
    next_id: u64,
    subscribers: Vec<Recipient<Alert>>,
    handshakes_in_progress: usize,
    log: Logger,
}

impl Engine {
    /// Binds the listening socket and starts the engine with its disk pool and
    /// peer arbiters. Must be called from within a running actix `System`.
    pub fn start(config: EngineConfig, log: Logger) -> Result<Addr<Engine>, EngineError> {
        let listener = bind(config.listen).map_err(|source| EngineError::Listen {
            addr: config.listen,
            source,
        })?;
        let listen_addr = listener
            .local_addr()
            .map_err(|source| EngineError::Listen {
                addr: config.listen,
                source,
            })?;
        let disk = Disk::start(config.disk_threads.max(1), config.read_cache_bytes);
        let arbiters: Vec<Arbiter> = (0..config.peer_threads.max(1))
            .map(|_| Arbiter::new())
            .collect();
        let arbiter_handles = Arc::new(arbiters.iter().map(Arbiter::handle).collect());
        info!(log, "engine listening"; "addr" => %listen_addr,
            "disk_threads" => config.disk_threads.max(1), "direct_writes" => config.direct_writes);
        Ok(Engine {
            config: Arc::new(config),
            listener: Some(listener),
            listen_addr,
            disk,
            arbiters,
            arbiter_handles,
            torrents: HashMap::new(),
            by_hash: HashMap::new(),
            next_id: 1,
            subscribers: Vec::new(),
            handshakes_in_progress: 0,
            log,
        }
        .start())
    }

    fn rebalance_peer_limits(&self) {
        let n = self.torrents.len().max(1);
        let share = (self.config.max_connections / n).max(1);
        for t in self.torrents.values() {
            t.addr.do_send(SetPeerLimit(share));
        }
    }

    fn torrent(&self, id: TorrentId) -> Result<&TorrentHandle, EngineError> {
        self.torrents
            .get(&id)
            .ok_or(EngineError::UnknownTorrent(id))
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Accepted connections as a stream the engine handles.
struct Incoming(TcpListener);

impl Stream for Incoming {
    type Item = std::io::Result<(TcpStream, SocketAddr)>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_accept(cx).map(Some)
    }
}

/// Internal: an incoming connection's handshake arrived (or failed).
#[derive(Message)]
#[rtype(result = "()")]
struct HandshakeRead(Option<(TcpStream, SocketAddr, Handshake)>);

impl Actor for Engine {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(std_listener) = self.listener.take() else {
            return;
        };
        match TcpListener::from_std(std_listener) {
            Ok(listener) => {
                ctx.add_stream(Incoming(listener));
            }
            Err(e) => slog::error!(self.log, "listener unusable"; "error" => %e),
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl StreamHandler<std::io::Result<(TcpStream, SocketAddr)>> for Engine {
    fn handle(&mut self, item: std::io::Result<(TcpStream, SocketAddr)>, ctx: &mut Context<Self>) {
        let (mut stream, addr) = match item {
            Ok(conn) => conn,
            Err(e) => {
                debug!(self.log, "accept failed"; "error" => %e);
                return;
            }
        };
        if self.handshakes_in_progress >= self.config.max_connections {
            return; // dropped: too many half-open incoming connections
        }
        self.handshakes_in_progress += 1;
        let timeout = self.config.handshake_timeout;
        let me = ctx.address();
        actix::spawn(async move {
            let mut buf = [0u8; HANDSHAKE_LEN];
            let read = tokio::time::timeout(timeout, stream.read_exact(&mut buf)).await;
            let result = match read {
                Ok(Ok(_)) => Handshake::parse(&buf).ok().map(|hs| (stream, addr, hs)),
                _ => None,
            };
            me.do_send(HandshakeRead(result));
        });
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<HandshakeRead> for Engine {
    type Result = ();

    fn handle(&mut self, msg: HandshakeRead, _ctx: &mut Context<Self>) {
        self.handshakes_in_progress -= 1;
        let Some((stream, addr, handshake)) = msg.0 else {
            return;
        };
        let Some(id) = self.by_hash.get(&handshake.info_hash) else {
            debug!(self.log, "incoming connection for an unknown torrent"; "peer" => %addr);
            return;
        };
        let Ok(stream) = stream.into_std() else {
            return;
        };
        if let Some(t) = self.torrents.get(id) {
            t.addr.do_send(IncomingPeer {
                stream,
                addr,
                handshake,
            });
        }
    }
}

impl Handler<Alert> for Engine {
    type Result = ();

    fn handle(&mut self, alert: Alert, _ctx: &mut Context<Self>) {
        self.subscribers.retain(|s| s.connected());
        for s in &self.subscribers {
            s.do_send(alert.clone());
        }
    }
}

/// Adds a torrent; replies with its id. Existing data in `download_dir` is
/// checked first — pieces recorded in the torrent's [resume data](crate::resume)
/// whose files are unchanged are trusted, the rest of what is present is
/// hashed — then missing pieces are fetched from `peers` (and later from
/// trackers).
#[derive(Message)]
#[rtype(result = "Result<TorrentId, EngineError>")]
pub struct AddTorrent {
    /// The parsed torrent.
    pub meta: Arc<Metainfo>,
    /// Directory that holds (or will hold) the torrent's file or folder.
    pub download_dir: PathBuf,
    /// Peers to connect to.
    pub peers: Vec<SocketAddr>,
}

impl Handler<AddTorrent> for Engine {
    type Result = Result<TorrentId, EngineError>;

    fn handle(&mut self, msg: AddTorrent, ctx: &mut Context<Self>) -> Self::Result {
        if self.by_hash.contains_key(&msg.meta.info_hash) {
            return Err(EngineError::DuplicateTorrent(msg.meta.name.clone()));
        }
        let storage = Arc::new(
            Storage::from_metainfo(&msg.meta, &msg.download_dir)?
                .with_direct_writes(self.config.direct_writes),
        );
        let resume_path = resume_path(
            self.config.resume_dir.as_deref(),
            &msg.download_dir,
            &msg.meta.info_hash,
        );
        let id = TorrentId(self.next_id);
        self.next_id += 1;
        let setup = TorrentSetup {
            id,
            meta: msg.meta.clone(),
            resume_path,
            storage,
            disk: self.disk.clone(),
            config: self.config.clone(),
            arbiters: self.arbiter_handles.clone(),
            alerts: ctx.address().recipient(),
            listen_addr: self.listen_addr,
            peers: msg.peers,
            log: self.log.new(o!("id" => id.0)),
        };
        let addr = Torrent::new(setup).start();
        self.torrents.insert(
            id,
            TorrentHandle {
                addr,
                info_hash: msg.meta.info_hash,
                name: msg.meta.name.clone(),
            },
        );
        self.by_hash.insert(msg.meta.info_hash, id);
        self.rebalance_peer_limits();
        ctx.notify(Alert::TorrentAdded {
            id,
            name: msg.meta.name.clone(),
            info_hash: msg.meta.info_hash,
        });
        Ok(id)
    }
}

/// Removes a torrent: closes its connections and flushes its files (the files
/// stay on disk).
#[derive(Message)]
#[rtype(result = "Result<(), EngineError>")]
pub struct RemoveTorrent(pub TorrentId);

impl Handler<RemoveTorrent> for Engine {
    type Result = ResponseFuture<Result<(), EngineError>>;

    fn handle(
        &mut self,
        RemoveTorrent(id): RemoveTorrent,
        _ctx: &mut Context<Self>,
    ) -> Self::Result {
        let Some(handle) = self.torrents.remove(&id) else {
            return Box::pin(async move { Err(EngineError::UnknownTorrent(id)) });
        };
        self.by_hash.remove(&handle.info_hash);
        self.rebalance_peer_limits();
        Box::pin(async move {
            handle
                .addr
                .send(StopTorrent)
                .await
                .map_err(|_| EngineError::ShuttingDown)
        })
    }
}

/// Pauses (closes every connection of) a torrent.
#[derive(Message)]
#[rtype(result = "Result<(), EngineError>")]
pub struct PauseTorrent(pub TorrentId);

impl Handler<PauseTorrent> for Engine {
    type Result = Result<(), EngineError>;

    fn handle(&mut self, PauseTorrent(id): PauseTorrent, _ctx: &mut Context<Self>) -> Self::Result {
        self.torrent(id)?.addr.do_send(SetPaused(true));
        Ok(())
    }
}

/// Resumes a paused torrent.
#[derive(Message)]
#[rtype(result = "Result<(), EngineError>")]
pub struct ResumeTorrent(pub TorrentId);

impl Handler<ResumeTorrent> for Engine {
    type Result = Result<(), EngineError>;

    fn handle(
        &mut self,
        ResumeTorrent(id): ResumeTorrent,
        _ctx: &mut Context<Self>,
    ) -> Self::Result {
        self.torrent(id)?.addr.do_send(SetPaused(false));
        Ok(())
    }
}

/// Gives a torrent more peer addresses to try.
#[derive(Message)]
#[rtype(result = "Result<(), EngineError>")]
pub struct ConnectPeers {
    /// The torrent.
    pub id: TorrentId,
    /// Addresses.
    pub peers: Vec<SocketAddr>,
}

impl Handler<ConnectPeers> for Engine {
    type Result = Result<(), EngineError>;

    fn handle(&mut self, msg: ConnectPeers, _ctx: &mut Context<Self>) -> Self::Result {
        self.torrent(msg.id)?
            .addr
            .do_send(AddPeers { peers: msg.peers });
        Ok(())
    }
}

/// A snapshot of one torrent's statistics.
#[derive(Message)]
#[rtype(result = "Result<TorrentStats, EngineError>")]
pub struct GetStats(pub TorrentId);

impl Handler<GetStats> for Engine {
    type Result = ResponseFuture<Result<TorrentStats, EngineError>>;

    fn handle(&mut self, GetStats(id): GetStats, _ctx: &mut Context<Self>) -> Self::Result {
        let addr = self.torrent(id).map(|t| t.addr.clone());
        Box::pin(async move {
            addr?
                .send(GetTorrentStats)
                .await
                .map_err(|_| EngineError::ShuttingDown)
        })
    }
}

/// The torrents in the engine: id, name and info-hash.
#[derive(Message)]
#[rtype(result = "Vec<(TorrentId, String, InfoHash)>")]
pub struct ListTorrents;

impl Handler<ListTorrents> for Engine {
    type Result = MessageResult<ListTorrents>;

    fn handle(&mut self, _msg: ListTorrents, _ctx: &mut Context<Self>) -> Self::Result {
        let mut list: Vec<_> = self
            .torrents
            .iter()
            .map(|(id, t)| (*id, t.name.clone(), t.info_hash))
            .collect();
        list.sort_by_key(|(id, _, _)| *id);
        MessageResult(list)
    }
}

/// Registers a recipient for every future [`Alert`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<Alert>);

impl Handler<Subscribe> for Engine {
    type Result = ();

    fn handle(&mut self, Subscribe(r): Subscribe, _ctx: &mut Context<Self>) {
        self.subscribers.push(r);
    }
}

/// The address the engine listens on (with the real port when 0 was asked).
#[derive(Message)]
#[rtype(result = "SocketAddr")]
pub struct GetListenAddr;

impl Handler<GetListenAddr> for Engine {
    type Result = MessageResult<GetListenAddr>;

    fn handle(&mut self, _msg: GetListenAddr, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.listen_addr)
    }
}

/// Graceful shutdown: every torrent closes its connections and flushes its
/// files; then the engine and its peer threads stop. Replies when done.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for Engine {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Context<Self>) -> Self::Result {
        let stops: Vec<_> = self
            .torrents
            .values()
            .map(|t| t.addr.send(StopTorrent))
            .collect();
        self.torrents.clear();
        self.by_hash.clear();
        Box::pin(
            async move {
                join_all(stops).await;
            }
            .into_actor(self)
            .map(|_, _act, ctx| ctx.stop()),
        )
    }
}

/// Swarm counts (seeders, leechers, completed) from the torrent's trackers.
#[derive(Message)]
#[rtype(result = "Result<crate::tracker::ScrapeStats, EngineError>")]
pub struct Scrape(pub TorrentId);

impl Handler<Scrape> for Engine {
    type Result = ResponseFuture<Result<crate::tracker::ScrapeStats, EngineError>>;

    fn handle(&mut self, Scrape(id): Scrape, _ctx: &mut Context<Self>) -> Self::Result {
        let addr = self.torrent(id).map(|t| t.addr.clone());
        Box::pin(async move {
            let stats = addr?
                .send(crate::torrent::ScrapeTrackers)
                .await
                .map_err(|_| EngineError::ShuttingDown)?;
            stats.map_err(EngineError::Tracker)
        })
    }
}
