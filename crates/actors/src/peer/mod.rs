//! The Peer actor: one per TCP connection.
//!
//! It owns the socket. After the handshake it decodes messages with
//! torrix-proto's [`Decoder`](torrix_proto::wire::Decoder), keeps the choke and
//! interest state of both sides, runs the request pipeline for the pieces its
//! Torrent assigned to it, sends finished pieces straight to the Disk, and
//! answers the remote's requests from disk reads. Nothing here parses bytes by
//! hand: all protocol parsing lives in torrix-proto.

mod download;
mod io;
mod pipeline;
mod upload;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use slog::{debug, o, Logger};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use torrix_proto::wire::{
    encode, ExtensionHandshake, Handshake, Message, EXTENSION_HANDSHAKE_ID, HANDSHAKE_LEN,
};
use torrix_proto::{Bitfield, BlockRef, InfoHash, Layout};

pub use download::{BlockOutcome, PartialPiece, PieceDownload};
pub use pipeline::Pipeline;

use crate::config::EngineConfig;
use crate::disk::{DiskPool, PieceWrite, Storage, WritePiece};
use crate::torrent::messages::*;
use crate::torrent::Torrent;
use io::{write_all, MessageStream, ReadError};
use upload::UploadQueue;

/// What every connection of a torrent shares, read-only.
#[derive(Debug)]
pub struct TorrentShared {
    /// The torrent's info-hash.
    pub info_hash: InfoHash,
    /// Piece and file layout.
    pub layout: Layout,
    /// Expected SHA-1 of each piece.
    pub hashes: Arc<Vec<[u8; 20]>>,
}

/// How a connection begins.
pub enum Connection {
    /// We dial this address.
    Outgoing(SocketAddr),
    /// The remote dialled us; the engine already read its handshake.
    Incoming {
        /// The socket.
        stream: std::net::TcpStream,
        /// Remote address.
        addr: SocketAddr,
        /// The remote's handshake.
        handshake: Handshake,
    },
}

impl Connection {
    fn addr(&self) -> SocketAddr {
        match self {
            Connection::Outgoing(addr) => *addr,
            Connection::Incoming { addr, .. } => *addr,
        }
    }
}

/// Everything a Peer actor is started with.
pub struct PeerSetup {
    /// Its number within the torrent.
    pub key: PeerKey,
    /// The owning torrent.
    pub torrent: Addr<Torrent>,
    /// The disk pool.
    pub disk: DiskPool,
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// Layout and hashes.
    pub shared: Arc<TorrentShared>,
    /// Limits and timeouts.
    pub config: Arc<EngineConfig>,
    /// The pieces we have when the connection starts.
    pub have: Bitfield,
    /// Dial or accept.
    pub connection: Connection,
    /// Parent logger.
    pub log: Logger,
}

/// Internal: a disk write of ours finished (for the write backlog).
#[derive(Message)]
#[rtype(result = "()")]
struct WriteDone {
    bytes: usize,
}

/// Pieces recently given up, whose late blocks are expected and harmless.
const RECENT_RELEASES: usize = 256;
/// Invalid requests tolerated before the peer is dropped.
const MAX_BAD_REQUESTS: u32 = 64;
/// Unrequested blocks tolerated (late duplicates after rejects) before drop.
const MAX_UNREQUESTED_BLOCKS: u32 = 64;
/// How long a seed waits for a peer that just completed to hang up before
/// closing the connection itself.
const SEED_HANGUP_GRACE: Duration = Duration::from_secs(2);
/// Peers with fewer pieces than this get an allowed-fast set (BEP 6).
const ALLOWED_FAST_THRESHOLD: u32 = 10;
/// Size of the allowed-fast set we offer.
const ALLOWED_FAST_COUNT: usize = 10;
/// Bytes queued for the socket above which we stop serving requests.
const UPLOAD_HIGH_WATER: usize = 4 << 20;
/// Most pieces of a remote's allowed-fast set we keep (BEP 6 suggests 10;
/// anything past this is ignored rather than stored).
const MAX_PEER_ALLOWED_FAST: usize = 32;

/// One peer connection.
pub struct Peer {
    key: PeerKey,
    torrent: Addr<Torrent>,
    disk: DiskPool,
    storage: Arc<Storage>,
    shared: Arc<TorrentShared>,
    config: Arc<EngineConfig>,
    log: Logger,
    remote: SocketAddr,
    connection: Option<Connection>,
    connected: bool,
    close_reason: Option<String>,

    // Socket writing.
    writer: Option<OwnedWriteHalf>,
    ctrl: BytesMut,
    out: VecDeque<Bytes>,
    out_bytes: usize,
    writing: bool,

    // Protocol state.
    fast: bool,
    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_interested: bool,
    peer_has: Bitfield,
    got_bitfield: bool,
    have: Bitfield,
    /// Pieces the peer has and we lack.
    interesting: u32,

    // Downloading.
    downloads: Vec<PieceDownload>,
    inflight: u32,
    pipeline: Pipeline,
    awaiting_work: bool,
    no_work_until: Option<Instant>,
    disk_backlog: usize,
    /// Pieces the remote lets us download while it chokes us (BEP 6).
    peer_allowed_fast: Vec<u32>,
    recently_released: VecDeque<u32>,
    unrequested_blocks: u32,
    last_block_at: Instant,

    // Uploading.
    uploads: UploadQueue,
    /// Pieces we told the peer it may request while choked (BEP 6).
    allowed_fast: Vec<u32>,
    /// Bytes the current upload slot may send before we report it used up.
    upload_quota: Option<u64>,
    /// Payload sent since the peer was last unchoked.
    sent_since_unchoke: u64,
    bad_requests: u32,

    // Accounting.
    downloaded_tick: u64,
    /// Payload received and not yet reported to the torrent.
    unreported_down: u64,
    uploaded_tick: u64,
    last_tick: Instant,
    last_recv: Instant,
    last_send: Instant,
}

impl Peer {
    /// A connection that will start dialling or handshaking once started.
    pub fn new(setup: PeerSetup) -> Self {
        let remote = setup.connection.addr();
        let pieces = setup.shared.layout.piece_count();
        let now = Instant::now();
        Peer {
            key: setup.key,
            torrent: setup.torrent,
            disk: setup.disk,
            storage: setup.storage,
            log: setup.log.new(o!("peer" => remote.to_string())),
            pipeline: Pipeline::new(setup.config.max_requests_per_peer),
            uploads: UploadQueue::new(
                setup.config.max_upload_queue,
                setup.shared.layout.piece_length(),
            ),
            shared: setup.shared,
            config: setup.config,
            remote,
            connection: Some(setup.connection),
            connected: false,
            close_reason: None,
            writer: None,
            ctrl: BytesMut::with_capacity(4096),
            out: VecDeque::new(),
            out_bytes: 0,
            writing: false,
            fast: false,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            peer_has: Bitfield::new(pieces),
            got_bitfield: false,
            have: setup.have,
            interesting: 0,
            downloads: Vec::new(),
            inflight: 0,
            awaiting_work: false,
            no_work_until: None,
            disk_backlog: 0,
            recently_released: VecDeque::with_capacity(RECENT_RELEASES),
            unrequested_blocks: 0,
            last_block_at: now,
            bad_requests: 0,
            allowed_fast: Vec::new(),
            peer_allowed_fast: Vec::new(),
            upload_quota: None,
            sent_since_unchoke: 0,
            downloaded_tick: 0,
            unreported_down: 0,
            uploaded_tick: 0,
            last_tick: now,
            last_recv: now,
            last_send: now,
        }
    }

    fn close(&mut self, ctx: &mut Context<Self>, reason: impl Into<String>) {
        if self.close_reason.is_none() {
            self.close_reason = Some(reason.into());
        }
        ctx.stop();
    }

    // ----- connection set-up -------------------------------------------------

    fn on_handshake(&mut self, stream: TcpStream, remote: Handshake, ctx: &mut Context<Self>) {
        if remote.info_hash != self.shared.info_hash {
            return self.close(ctx, "handshake for another torrent");
        }
        if remote.peer_id == self.config.peer_id {
            return self.close(ctx, "connected to ourselves");
        }
        let _ = stream.set_nodelay(true);
        if let Some(size) = self.config.socket_buffer {
            let sock = socket2::SockRef::from(&stream);
            let _ = sock.set_recv_buffer_size(size);
            let _ = sock.set_send_buffer_size(size);
        }
        self.fast = remote.reserved.fast();
        self.connected = true;
        let (reader, writer) = stream.into_split();
        self.writer = Some(writer);
        ctx.add_stream(MessageStream::new(reader, self.config.max_message_len));
        debug!(self.log, "connected"; "client" => remote.peer_id.to_string(), "fast" => self.fast);
        self.torrent.do_send(PeerConnected {
            key: self.key,
            peer_id: remote.peer_id,
            fast: self.fast,
        });
        self.send_have_state();
        if remote.reserved.extension_protocol() {
            let ours = ExtensionHandshake {
                reqq: Some(i64::try_from(self.config.max_upload_queue).unwrap_or(i64::MAX)),
                v: Some(concat!("torrix ", env!("CARGO_PKG_VERSION")).to_string()),
                ..ExtensionHandshake::default()
            };
            self.send(&Message::Extended {
                id: EXTENSION_HANDSHAKE_ID,
                payload: ours.encode(),
            });
        }
        self.flush(ctx);
        ctx.run_interval(Duration::from_secs(1), |act, ctx| act.tick(ctx));
    }

    fn send_have_state(&mut self) {
        let msg = if self.fast && self.have.is_full() {
            Message::HaveAll
        } else if self.fast && self.have.none() {
            Message::HaveNone
        } else if self.have.none() {
            return;
        } else {
            Message::Bitfield(Bytes::copy_from_slice(self.have.as_bytes()))
        };
        encode(&msg, &mut self.ctrl);
    }

    // ----- writing -------------------------------------------------------------

    fn send(&mut self, msg: &Message) {
        encode(msg, &mut self.ctrl);
    }

    fn push_ctrl(&mut self) {
        if !self.ctrl.is_empty() {
            let bytes = self.ctrl.split().freeze();
            self.out_bytes += bytes.len();
            self.out.push_back(bytes);
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.writing {
            return;
        }
        self.push_ctrl();
        if self.out.is_empty() {
            return;
        }
        let Some(writer) = self.writer.take() else {
            return;
        };
        let queue = std::mem::take(&mut self.out);
        let bytes = self.out_bytes;
        self.writing = true;
        ctx.spawn(write_all(writer, queue).into_actor(self).map(
            move |(writer, queue, result), act, ctx| {
                act.writer = Some(writer);
                act.writing = false;
                act.out_bytes -= bytes;
                if act.out.is_empty() {
                    act.out = queue; // keep the allocation
                }
                match result {
                    Ok(()) => {
                        act.last_send = Instant::now();
                        act.serve_uploads(ctx);
                        act.flush(ctx);
                    }
                    Err(e) => act.close(ctx, format!("write failed: {e}")),
                }
            },
        ));
    }

    // ----- periodic work -----------------------------------------------------

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_tick).as_secs_f64().max(1e-3);
        self.last_tick = now;
        let rate = std::mem::take(&mut self.downloaded_tick) as f64 / elapsed;
        self.pipeline.on_tick(rate, self.config.request_window);
        self.torrent.do_send(PeerTick {
            key: self.key,
            downloaded: std::mem::take(&mut self.unreported_down),
            uploaded: std::mem::take(&mut self.uploaded_tick),
        });
        if now.duration_since(self.last_recv) > self.config.idle_timeout {
            return self.close(ctx, "idle timeout");
        }
        if self.inflight > 0 && now.duration_since(self.last_block_at) > self.config.request_timeout
        {
            debug!(self.log, "requests timed out"; "inflight" => self.inflight);
            self.pipeline.on_congestion();
            self.release_all();
        }
        if now.duration_since(self.last_send) > self.config.keepalive_interval {
            self.send(&Message::KeepAlive);
        }
        self.fill_requests(ctx);
        self.flush(ctx);
    }

    // ----- receiving -----------------------------------------------------------

    fn on_message(&mut self, msg: Message, ctx: &mut Context<Self>) {
        match msg {
            Message::KeepAlive => {}
            Message::Choke => {
                self.peer_choking = true;
                self.release_choked();
            }
            Message::Unchoke => {
                self.peer_choking = false;
                self.fill_requests(ctx);
            }
            Message::Interested => self.set_peer_interested(true),
            Message::NotInterested => self.set_peer_interested(false),
            Message::Have { piece } => self.on_have(piece, ctx),
            Message::Bitfield(bytes) => {
                match Bitfield::from_bytes(&bytes, self.shared.layout.piece_count()) {
                    Ok(bits) => self.on_bitfield(bits, ctx),
                    Err(e) => self.close(ctx, format!("bad bitfield: {e}")),
                }
            }
            Message::HaveAll | Message::HaveNone if !self.fast => {
                self.close(ctx, "fast-extension message without the fast extension")
            }
            Message::HaveAll => {
                self.on_bitfield(Bitfield::full(self.shared.layout.piece_count()), ctx)
            }
            Message::HaveNone => {
                self.on_bitfield(Bitfield::new(self.shared.layout.piece_count()), ctx)
            }
            Message::Request(block) => self.on_request(block, ctx),
            Message::Piece {
                piece,
                offset,
                data,
            } => self.on_block(piece, offset, data, ctx),
            Message::Cancel(block) => self.uploads.cancel(block),
            Message::Reject(block) => {
                if !self.fast {
                    return self.close(ctx, "reject without the fast extension");
                }
                self.on_reject(block);
            }
            Message::AllowedFast { piece } => self.on_allowed_fast(piece, ctx),
            Message::Port(_) | Message::Suggest { .. } => {}
            Message::Extended {
                id: EXTENSION_HANDSHAKE_ID,
                payload,
            } => match ExtensionHandshake::decode(&payload) {
                Ok(theirs) => {
                    if let Some(q) = theirs.request_queue(self.config.max_requests_per_peer) {
                        self.pipeline.limit(q);
                    }
                }
                Err(e) => debug!(self.log, "ignoring extension handshake"; "error" => %e),
            },
            Message::Extended { .. } => {}
        }
    }

    fn set_peer_interested(&mut self, interested: bool) {
        if self.peer_interested != interested {
            self.peer_interested = interested;
            self.torrent.do_send(PeerInterest {
                key: self.key,
                interested,
            });
        }
    }

    fn on_bitfield(&mut self, bits: Bitfield, ctx: &mut Context<Self>) {
        if self.got_bitfield {
            return self.close(ctx, "second bitfield");
        }
        self.got_bitfield = true;
        self.interesting = bits.ones().filter(|&p| !self.have.get(p)).count() as u32;
        self.peer_has = bits.clone();
        self.torrent.do_send(PeerBitfield {
            key: self.key,
            bitfield: bits,
        });
        if self.both_seeds() {
            return self.close(ctx, "both sides are seeds");
        }
        self.offer_allowed_fast();
        self.update_interest();
        self.fill_requests(ctx);
    }

    /// BEP 6: a peer with next to nothing gets a few pieces it may fetch while
    /// choked, so it can start trading sooner.
    fn offer_allowed_fast(&mut self) {
        let std::net::IpAddr::V4(ip) = self.remote.ip() else {
            return;
        };
        if !self.fast || self.peer_has.count() >= ALLOWED_FAST_THRESHOLD {
            return;
        }
        let set = torrix_proto::wire::allowed_fast_set(
            ip,
            &self.shared.info_hash,
            self.shared.layout.piece_count(),
            ALLOWED_FAST_COUNT,
        );
        for piece in set {
            if self.have.get(piece) && !self.peer_has.get(piece) {
                self.allowed_fast.push(piece);
                encode(&Message::AllowedFast { piece }, &mut self.ctrl);
            }
        }
    }

    fn on_have(&mut self, piece: u32, ctx: &mut Context<Self>) {
        if piece >= self.shared.layout.piece_count() {
            return self.close(ctx, format!("have for piece {piece}, out of range"));
        }
        self.got_bitfield = true;
        if !self.peer_has.set(piece) {
            return;
        }
        self.torrent.do_send(PeerHave {
            key: self.key,
            piece,
        });
        if !self.have.get(piece) {
            self.interesting += 1;
            self.no_work_until = None;
            self.update_interest();
            self.fill_requests(ctx);
        }
        if self.both_seeds() {
            // The remote just finished and will hang up itself. Let it: the
            // side that closes first keeps the TIME_WAIT, and on a host that
            // runs both ends a TIME_WAIT left on the listening side can make
            // the next connection from a reused port stall for a second.
            ctx.run_later(SEED_HANGUP_GRACE, |act, ctx| {
                act.close(ctx, "both sides are seeds")
            });
        }
    }

    fn both_seeds(&self) -> bool {
        self.have.is_full() && self.peer_has.is_full()
    }

    fn update_interest(&mut self) {
        let want = self.interesting > 0;
        if want != self.am_interested {
            self.am_interested = want;
            self.send(if want {
                &Message::Interested
            } else {
                &Message::NotInterested
            });
        }
    }

    fn on_block(&mut self, piece: u32, offset: u32, data: Bytes, ctx: &mut Context<Self>) {
        let len = data.len() as u64;
        self.downloaded_tick += len;
        self.unreported_down += len;
        let Some(index) = self.downloads.iter().position(|d| d.piece == piece) else {
            if self.recently_released.contains(&piece) {
                return; // a late block of a piece we gave up or finished elsewhere
            }
            self.unrequested_blocks += 1;
            if self.have.get(piece) && self.unrequested_blocks <= MAX_UNREQUESTED_BLOCKS {
                return; // tolerated, up to a point: some clients send a little unasked
            }
            return self.close(
                ctx,
                format!("sent data of piece {piece}, which nobody asked for"),
            );
        };
        match self.downloads[index].on_block(offset, data) {
            BlockOutcome::Stored => {}
            BlockOutcome::Complete => {
                let download = self.downloads.remove(index);
                self.write_piece(download, ctx);
            }
            BlockOutcome::Unrequested => {
                self.unrequested_blocks += 1;
                if self.unrequested_blocks > MAX_UNREQUESTED_BLOCKS {
                    self.close(ctx, "too many blocks we did not request");
                }
                return;
            }
            BlockOutcome::Malformed => {
                return self.close(
                    ctx,
                    format!("block of piece {piece} at offset {offset} with a wrong size"),
                );
            }
        }
        self.inflight -= 1;
        self.last_block_at = Instant::now();
        self.pipeline.on_block();
        self.fill_requests(ctx);
    }

    fn on_reject(&mut self, block: BlockRef) {
        if self.peer_choking {
            // An allowed-fast piece it rejects while choking is not allowed
            // after all: do not ask for it again until unchoked.
            self.peer_allowed_fast.retain(|&p| p != block.piece);
        }
        if let Some(d) = self.downloads.iter_mut().find(|d| d.piece == block.piece) {
            if d.on_reject(block.offset) {
                self.inflight -= 1;
            }
        }
        // A rejected piece goes back to the torrent so another peer can take it.
        if let Some(index) = self.downloads.iter().position(|d| d.piece == block.piece) {
            let d = self.downloads.remove(index);
            self.inflight -= d.requested();
            self.remember_released(d.piece);
            self.torrent.do_send(ReleasePieces {
                key: self.key,
                pieces: vec![d.into_partial()],
            });
            self.no_work_until = Some(Instant::now() + Duration::from_secs(1));
        }
    }

    fn remember_released(&mut self, piece: u32) {
        if self.recently_released.len() == RECENT_RELEASES {
            self.recently_released.pop_front();
        }
        self.recently_released.push_back(piece);
    }

    /// The remote says we may request `piece` even while choked (BEP 6).
    fn on_allowed_fast(&mut self, piece: u32, ctx: &mut Context<Self>) {
        if !self.fast {
            return self.close(ctx, "allowed-fast without the fast extension");
        }
        if piece >= self.shared.layout.piece_count() {
            return self.close(ctx, format!("allowed-fast for piece {piece}, out of range"));
        }
        if self.peer_allowed_fast.len() < MAX_PEER_ALLOWED_FAST
            && !self.peer_allowed_fast.contains(&piece)
        {
            self.peer_allowed_fast.push(piece);
            if self.peer_choking {
                self.fill_requests(ctx);
            }
        }
    }

    /// The remote choked us: give back the pieces we may no longer download
    /// from it. With the fast extension, pieces in its allowed-fast set stay,
    /// with their requests (it answers or rejects each one); without it, a
    /// choke drops every request, so everything goes back.
    fn release_choked(&mut self) {
        if !self.fast {
            return self.release_all();
        }
        let allowed = std::mem::take(&mut self.peer_allowed_fast);
        self.release_unless(|piece| allowed.contains(&piece));
        self.peer_allowed_fast = allowed;
    }

    /// Gives every assigned piece back to the torrent (choked, timed out).
    fn release_all(&mut self) {
        self.release_unless(|_| false);
    }

    /// Gives back to the torrent, with what arrived of them, the assigned
    /// pieces for which `keep` is false.
    fn release_unless(&mut self, keep: impl Fn(u32) -> bool) {
        let (kept, given): (Vec<_>, Vec<_>) = std::mem::take(&mut self.downloads)
            .into_iter()
            .partition(|d| keep(d.piece));
        self.downloads = kept;
        self.inflight = self.downloads.iter().map(PieceDownload::requested).sum();
        if given.is_empty() {
            return;
        }
        let pieces = given
            .into_iter()
            .map(|d| {
                self.remember_released(d.piece);
                d.into_partial()
            })
            .collect();
        self.torrent.do_send(ReleasePieces {
            key: self.key,
            pieces,
        });
    }

    // ----- downloading -------------------------------------------------------

    fn fill_requests(&mut self, ctx: &mut Context<Self>) {
        if (self.peer_choking && self.peer_allowed_fast.is_empty())
            || !self.am_interested
            || self.disk_backlog > self.config.max_disk_backlog_per_peer
        {
            return;
        }
        let target = self.pipeline.depth();
        if self.inflight >= target {
            return;
        }
        // Send requests in batches rather than one per arriving block.
        let batch = (target / 4).clamp(1, 16);
        if self.inflight > 0 && target - self.inflight < batch {
            return;
        }
        let mut index = 0;
        while self.inflight < target && index < self.downloads.len() {
            if self.peer_choking
                && !self
                    .peer_allowed_fast
                    .contains(&self.downloads[index].piece)
            {
                index += 1;
                continue;
            }
            match self.downloads[index].next_request() {
                Some((offset, len)) => {
                    let piece = self.downloads[index].piece;
                    encode(
                        &Message::Request(BlockRef { piece, offset, len }),
                        &mut self.ctrl,
                    );
                    self.inflight += 1;
                }
                None => index += 1,
            }
        }
        if self.inflight < target && !self.awaiting_work && self.may_get_work() {
            let starved = self.no_work_until.is_some_and(|t| Instant::now() < t);
            if !starved {
                let per_piece = self.shared.layout.block_count(0).max(1);
                let want = (target - self.inflight).div_ceil(per_piece).clamp(1, 64);
                self.request_work(want, ctx);
            }
        }
        self.flush(ctx);
    }

    /// Whether asking the Torrent for pieces can yield any: always when
    /// unchoked; while choked, only if an allowed-fast piece is still missing
    /// and not already being downloaded here.
    fn may_get_work(&self) -> bool {
        !self.peer_choking
            || self
                .peer_allowed_fast
                .iter()
                .any(|&p| !self.have.get(p) && !self.downloads.iter().any(|d| d.piece == p))
    }

    fn request_work(&mut self, max: u32, ctx: &mut Context<Self>) {
        self.awaiting_work = true;
        self.torrent
            .send(RequestPieces {
                key: self.key,
                max,
                inflight: self.inflight,
                only: self.peer_choking.then(|| self.peer_allowed_fast.clone()),
            })
            .into_actor(self)
            .map(|result, act, ctx| {
                act.awaiting_work = false;
                let Ok(assignments) = result else {
                    return act.close(ctx, "torrent stopped");
                };
                if assignments.is_empty() {
                    act.no_work_until = Some(Instant::now() + Duration::from_millis(500));
                    return;
                }
                for a in assignments {
                    if act.have.get(a.piece) || act.downloads.iter().any(|d| d.piece == a.piece) {
                        continue;
                    }
                    act.downloads
                        .push(PieceDownload::new(&act.shared.layout, a.piece, a.partial));
                }
                act.fill_requests(ctx);
            })
            .spawn(ctx);
    }

    fn write_piece(&mut self, download: PieceDownload, ctx: &mut Context<Self>) {
        let piece = download.piece;
        let bytes = self.shared.layout.piece_len(piece) as usize;
        self.disk_backlog += bytes;
        let write = WritePiece {
            storage: self.storage.clone(),
            piece,
            expected: self.shared.hashes[piece as usize],
            blocks: download.into_blocks(),
        };
        let disk = self.disk.clone();
        let torrent = self.torrent.clone();
        let me = ctx.address();
        let (key, addr) = (self.key, self.remote);
        // Report traffic with the piece, so totals are current when it verifies.
        let downloaded = std::mem::take(&mut self.unreported_down);
        // Detached: the torrent learns the result even if this connection dies.
        actix::spawn(async move {
            let result = match disk.send(write).await {
                Ok(Ok(PieceWrite::Verified)) => Ok(true),
                Ok(Ok(PieceWrite::HashMismatch)) => Ok(false),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the disk pool stopped".to_string()),
            };
            me.do_send(WriteDone { bytes });
            torrent.do_send(PieceWritten {
                key,
                addr,
                piece,
                downloaded,
                result,
            });
        });
    }

    // ----- uploading -----------------------------------------------------------

    fn reject(&mut self, block: BlockRef) {
        if self.fast {
            self.send(&Message::Reject(block));
        }
    }

    fn on_request(&mut self, block: BlockRef, ctx: &mut Context<Self>) {
        let layout = &self.shared.layout;
        let valid = layout.is_valid_request(
            block.piece,
            block.offset,
            block.len,
            torrix_proto::BLOCK_LEN,
        ) && self.have.get(block.piece);
        if !valid {
            self.bad_requests += 1;
            self.reject(block);
            if self.bad_requests > MAX_BAD_REQUESTS {
                return self.close(ctx, "too many invalid requests");
            }
            return self.flush(ctx);
        }
        if self.am_choking && !self.allowed_fast.contains(&block.piece) {
            self.bad_requests += 1;
            self.reject(block);
            if self.bad_requests > self.config.max_upload_queue as u32 {
                return self.close(ctx, "request flood while choked");
            }
            return self.flush(ctx);
        }
        if !self.uploads.push(block) {
            return self.close(ctx, "request flood");
        }
        self.serve_uploads(ctx);
    }

    fn serve_uploads(&mut self, ctx: &mut Context<Self>) {
        while self.out_bytes < UPLOAD_HIGH_WATER {
            let Some(block) = self.uploads.front() else {
                break;
            };
            let Some(data) = self.uploads.cached(block) else {
                break;
            };
            self.uploads.pop_front();
            torrix_proto::wire::encode_piece_header(
                block.piece,
                block.offset,
                block.len,
                &mut self.ctrl,
            );
            self.push_ctrl();
            self.out_bytes += data.len();
            self.uploaded_tick += data.len() as u64;
            self.sent_since_unchoke += data.len() as u64;
            self.out.push_back(data);
        }
        if self
            .upload_quota
            .is_some_and(|q| self.sent_since_unchoke >= q)
        {
            self.upload_quota = None;
            self.torrent.do_send(QuotaReached { key: self.key });
        }
        let reads = self.uploads.start_reads();
        if !reads.is_empty() {
            self.read_pieces(reads, ctx);
        }
        self.flush(ctx);
    }

    fn read_pieces(&mut self, pieces: Vec<u32>, ctx: &mut Context<Self>) {
        self.disk
            .send(crate::disk::ReadPieces {
                storage: self.storage.clone(),
                pieces,
            })
            .into_actor(self)
            .map(move |result, act, ctx| {
                let Ok(results) = result else {
                    return act.close(ctx, "the disk pool stopped");
                };
                for (piece, read) in results {
                    match read {
                        Ok(data) => act.uploads.insert(piece, data),
                        Err(e) => {
                            act.uploads.read_failed(piece);
                            return act.close(ctx, format!("disk read failed: {e}"));
                        }
                    }
                }
                act.serve_uploads(ctx);
            })
            .spawn(ctx);
    }
}

impl Actor for Peer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(connection) = self.connection.take() else {
            return ctx.stop();
        };
        let ours = Handshake::new(self.shared.info_hash, self.config.peer_id).to_bytes();
        let connect_timeout = self.config.connect_timeout;
        let handshake_timeout = self.config.handshake_timeout;
        let setup = async move {
            match connection {
                Connection::Outgoing(addr) => {
                    let mut stream =
                        tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
                            .await
                            .map_err(|_| "connect timed out".to_string())?
                            .map_err(|e| format!("connect failed: {e}"))?;
                    let exchange = async {
                        stream.write_all(&ours).await?;
                        let mut theirs = [0u8; HANDSHAKE_LEN];
                        stream.read_exact(&mut theirs).await?;
                        Ok::<_, std::io::Error>(theirs)
                    };
                    let theirs = tokio::time::timeout(handshake_timeout, exchange)
                        .await
                        .map_err(|_| "handshake timed out".to_string())?
                        .map_err(|e| format!("handshake failed: {e}"))?;
                    let handshake = Handshake::parse(&theirs).map_err(|e| e.to_string())?;
                    Ok((stream, handshake))
                }
                Connection::Incoming {
                    stream, handshake, ..
                } => {
                    let mut stream = TcpStream::from_std(stream).map_err(|e| e.to_string())?;
                    tokio::time::timeout(handshake_timeout, stream.write_all(&ours))
                        .await
                        .map_err(|_| "handshake timed out".to_string())?
                        .map_err(|e| format!("handshake failed: {e}"))?;
                    Ok((stream, handshake))
                }
            }
        };
        ctx.wait(
            setup
                .into_actor(self)
                .map(|result: Result<_, String>, act, ctx| match result {
                    Ok((stream, handshake)) => act.on_handshake(stream, handshake, ctx),
                    Err(reason) => act.close(ctx, reason),
                }),
        );
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        let partials = std::mem::take(&mut self.downloads)
            .into_iter()
            .map(PieceDownload::into_partial)
            .filter(|p| p.blocks.iter().any(Option::is_some))
            .collect();
        let reason = self
            .close_reason
            .take()
            .unwrap_or_else(|| "connection closed".into());
        debug!(self.log, "disconnected"; "reason" => &reason);
        self.torrent.do_send(PeerTick {
            key: self.key,
            downloaded: std::mem::take(&mut self.unreported_down),
            uploaded: std::mem::take(&mut self.uploaded_tick),
        });
        self.torrent.do_send(PeerGone {
            key: self.key,
            reason,
            was_connected: self.connected,
            partials,
        });
    }
}

impl StreamHandler<Result<Message, ReadError>> for Peer {
    fn handle(&mut self, item: Result<Message, ReadError>, ctx: &mut Context<Self>) {
        self.last_recv = Instant::now();
        match item {
            Ok(msg) => self.on_message(msg, ctx),
            Err(e) => self.close(ctx, e.to_string()),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.close(ctx, "the peer closed the connection");
    }
}

impl Handler<WriteDone> for Peer {
    type Result = ();

    fn handle(&mut self, msg: WriteDone, ctx: &mut Context<Self>) {
        self.disk_backlog -= msg.bytes;
        self.fill_requests(ctx);
    }
}

impl Handler<WeHave> for Peer {
    type Result = ();

    fn handle(&mut self, msg: WeHave, ctx: &mut Context<Self>) {
        let piece = msg.piece;
        if !self.have.set(piece) {
            return;
        }
        if self.peer_has.get(piece) {
            self.interesting -= 1;
        } else if self.connected {
            self.send(&Message::Have { piece });
        }
        // Endgame: someone else finished a piece we were also fetching.
        if let Some(index) = self.downloads.iter().position(|d| d.piece == piece) {
            let d = self.downloads.remove(index);
            for (offset, len) in d.outstanding() {
                encode(
                    &Message::Cancel(BlockRef { piece, offset, len }),
                    &mut self.ctrl,
                );
            }
            self.inflight -= d.requested();
            self.remember_released(piece);
        }
        if !self.connected {
            return;
        }
        self.update_interest();
        if self.both_seeds() {
            return self.close(ctx, "both sides are seeds");
        }
        self.fill_requests(ctx);
        self.flush(ctx);
    }
}

impl Handler<SetChoke> for Peer {
    type Result = ();

    fn handle(&mut self, msg: SetChoke, ctx: &mut Context<Self>) {
        if msg.choke == self.am_choking || !self.connected {
            return;
        }
        self.am_choking = msg.choke;
        if msg.choke {
            self.send(&Message::Choke);
            self.uploads.clear_cache(); // its memory is better spent on unchoked peers
            for block in self.uploads.drain() {
                if self.allowed_fast.contains(&block.piece) {
                    self.uploads.push(block);
                } else {
                    self.reject(block);
                }
            }
        } else {
            self.bad_requests = 0;
            self.upload_quota = msg.quota;
            self.sent_since_unchoke = 0;
            self.send(&Message::Unchoke);
        }
        self.flush(ctx);
    }
}

impl Handler<Disconnect> for Peer {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, ctx: &mut Context<Self>) {
        self.close(ctx, msg.reason);
    }
}
