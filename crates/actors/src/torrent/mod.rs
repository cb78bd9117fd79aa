//! The Torrent actor: one per torrent.
//!
//! It owns the piece picker, the set of peer connections, what we have, the
//! choker and the statistics. Peers ask it for work and report what they
//! learn; it never touches block data (that goes from Peer to Disk directly).

mod choker;
pub mod messages;
mod persist;
mod picker;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use slog::{debug, info, o, warn, Logger};
use torrix_proto::{Bitfield, InfoHash, Layout, Metainfo};

use crate::alert::{Alert, TorrentId};
use crate::config::EngineConfig;
use crate::disk::{CheckPieces, DiskPool, Storage};
use crate::peer::{Connection, Peer, PeerSetup, TorrentShared};
use crate::tracker::{self, Tracker, TrackerPeers};
use choker::Candidate;
use messages::*;
use persist::ResumeState;
pub use picker::Picker;

/// What a torrent is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum TorrentState {
    /// Hashing existing data.
    Checking {
        /// Pieces checked so far.
        checked: u32,
    },
    /// Fetching missing pieces.
    Downloading,
    /// Every piece verified; serving.
    Seeding,
    /// Stopped by the user; no connections.
    Paused,
    /// Stopped by an error (verified data is kept).
    Error(String),
}

/// A snapshot of a torrent's progress and traffic.
#[derive(Clone, Debug)]
pub struct TorrentStats {
    /// Engine-wide id.
    pub id: TorrentId,
    /// Torrent name.
    pub name: String,
    /// Info-hash.
    pub info_hash: InfoHash,
    /// What it is doing.
    pub state: TorrentState,
    /// Payload size.
    pub total_bytes: u64,
    /// Bytes of verified pieces.
    pub verified_bytes: u64,
    /// Of those, bytes found valid on disk when the torrent was added.
    pub checked_bytes: u64,
    /// Pieces in the torrent.
    pub pieces_total: u32,
    /// Pieces verified.
    pub pieces_have: u32,
    /// Payload bytes received from peers (including data later discarded).
    pub downloaded: u64,
    /// Payload bytes sent to peers.
    pub uploaded: u64,
    /// Bytes of pieces that failed the hash check.
    pub wasted: u64,
    /// Receive rate, bytes/s.
    pub download_rate: f64,
    /// Send rate, bytes/s.
    pub upload_rate: f64,
    /// Connections with a completed handshake.
    pub peers_connected: usize,
    /// Of those, peers that have every piece.
    pub seeds_connected: usize,
    /// Addresses known (from the user, trackers and incoming connections).
    pub peers_known: usize,
    /// Seeders in the swarm, as the trackers last reported (largest answer).
    pub tracker_seeders: Option<u32>,
    /// Leechers in the swarm, as the trackers last reported (largest answer).
    pub tracker_leechers: Option<u32>,
}

/// Tick period of a torrent with peers or a download under way.
const ACTIVE_TICK: Duration = Duration::from_secs(1);
/// Tick period of a torrent with nothing to do (a seed nobody is connected to).
const IDLE_TICK: Duration = Duration::from_secs(5);

/// A seed's upload slot rotates after this many pieces' worth of data.
const SEED_QUOTA_PIECES: u64 = 20;

/// Engine → Torrent: a snapshot of the statistics.
#[derive(Message)]
#[rtype(result = "TorrentStats")]
pub struct GetTorrentStats;

/// Engine → Torrent: addresses to try.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddPeers {
    /// The addresses.
    pub peers: Vec<SocketAddr>,
}

/// Engine → Torrent: close every connection and stop fetching, or resume.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetPaused(pub bool);

/// Engine → Torrent: stop for good: close connections, flush the files.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopTorrent;

/// Engine → Torrent: the most connections this torrent may hold.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetPeerLimit(pub usize);

/// Everything a Torrent actor is started with.
pub struct TorrentSetup {
    /// Engine-wide id.
    pub id: TorrentId,
    /// The parsed torrent.
    pub meta: Arc<Metainfo>,
    /// The resume file (see [`resume`](crate::resume)).
    pub resume_path: PathBuf,
    /// The torrent's files.
    pub storage: Arc<Storage>,
    /// The disk pool.
    pub disk: DiskPool,
    /// Limits and timeouts.
    pub config: Arc<EngineConfig>,
    /// Arbiters that run peer connections.
    pub arbiters: Arc<Vec<ArbiterHandle>>,
    /// Where alerts go (the engine, which fans them out).
    pub alerts: Recipient<Alert>,
    /// Our listening address, never dialled.
    pub listen_addr: SocketAddr,
    /// Addresses to try first.
    pub peers: Vec<SocketAddr>,
    /// Parent logger.
    pub log: Logger,
}

struct PeerEntry {
    addr: Addr<Peer>,
    sock: SocketAddr,
    connected_at: Option<Instant>,
    bitfield: Bitfield,
    interested: bool,
    unchoked: bool,
    /// When it last got or lost an upload slot.
    slot_changed_at: Instant,
    /// Payload sent since it got its slot (the seeding round-robin quota).
    sent_since_unchoke: u64,
    downloaded_rate: f64,
}

#[derive(Default)]
struct AddrInfo {
    connected: bool,
    failures: u32,
    retry_at: Option<Instant>,
}

/// One torrent.
pub struct Torrent {
    id: TorrentId,
    meta: Arc<Metainfo>,
    shared: Arc<TorrentShared>,
    storage: Arc<Storage>,
    disk: DiskPool,
    config: Arc<EngineConfig>,
    arbiters: Arc<Vec<ArbiterHandle>>,
    alerts: Recipient<Alert>,
    listen_addr: SocketAddr,
    log: Logger,

    state: TorrentState,
    picker: Picker,
    peers: HashMap<PeerKey, PeerEntry>,
    next_key: PeerKey,
    addrs: HashMap<SocketAddr, AddrInfo>,
    banned: HashSet<IpAddr>,
    hash_failures: HashMap<IpAddr, u32>,
    peer_limit: usize,
    optimistic: Option<PeerKey>,
    last_optimistic: Instant,
    next_rechoke: Instant,
    next_resume_save: Instant,
    flushing: bool,
    checked_bytes: u64,
    tracker: Option<Addr<Tracker>>,
    swarm: (Option<u32>, Option<u32>),
    /// Outstanding `CheckPieces` messages of the check on start.
    checks_left: usize,
    resume: ResumeState,

    downloaded: u64,
    uploaded: u64,
    wasted: u64,
    tick_downloaded: u64,
    tick_uploaded: u64,
    download_rate: f64,
    upload_rate: f64,
    last_tick: Instant,
}

impl Torrent {
    /// A torrent that will check existing data, then connect, once started.
    pub fn new(setup: TorrentSetup) -> Self {
        let layout = Layout::from_metainfo(&setup.meta);
        let pieces = layout.piece_count();
        let shared = Arc::new(TorrentShared {
            info_hash: setup.meta.info_hash,
            layout,
            hashes: Arc::new(setup.meta.pieces.clone()),
        });
        let (choke_interval, resume_save_interval) = (
            setup.config.choke_interval,
            setup.config.resume_save_interval,
        );
        let log = setup.log.new(o!("torrent" => setup.meta.name.clone()));
        let mut addrs = HashMap::new();
        for p in setup.peers {
            addrs.insert(p, AddrInfo::default());
        }
        Torrent {
            id: setup.id,
            meta: setup.meta,
            shared,
            storage: setup.storage,
            disk: setup.disk,
            peer_limit: setup.config.max_peers_per_torrent,
            config: setup.config,
            arbiters: setup.arbiters,
            alerts: setup.alerts,
            listen_addr: setup.listen_addr,
            log,
            state: TorrentState::Checking { checked: 0 },
            picker: Picker::new(Bitfield::new(pieces)),
            peers: HashMap::new(),
            next_key: 0,
            addrs,
            banned: HashSet::new(),
            hash_failures: HashMap::new(),
            optimistic: None,
            last_optimistic: Instant::now(),
            next_rechoke: Instant::now() + choke_interval,
            next_resume_save: Instant::now() + resume_save_interval,
            flushing: false,
            checked_bytes: 0,
            tracker: None,
            swarm: (None, None),
            checks_left: 0,
            resume: ResumeState::new(setup.resume_path),
            downloaded: 0,
            uploaded: 0,
            wasted: 0,
            tick_downloaded: 0,
            tick_uploaded: 0,
            download_rate: 0.0,
            upload_rate: 0.0,
            last_tick: Instant::now(),
        }
    }

    fn alert(&self, alert: Alert) {
        self.alerts.do_send(alert);
    }

    fn active(&self) -> bool {
        matches!(
            self.state,
            TorrentState::Downloading | TorrentState::Seeding
        )
    }

    // ----- checking existing data ---------------------------------------------

    /// Takes the pieces the resume data vouches for, then hashes the ones
    /// it does not (see [`resume`](crate::resume) for the trust rules).
    fn start_check(&mut self, ctx: &mut Context<Self>) {
        let plan = self.plan_check();
        for piece in plan.trusted.ones() {
            self.picker.piece_verified(piece);
        }
        if plan.check.is_empty() {
            return self.finish_check(ctx);
        }
        // What was hashed is worth recording, so the next start need not.
        self.resume.mark_changed();
        let total = self.shared.layout.piece_count();
        info!(self.log, "checking existing data";
            "pieces" => plan.check.len(), "trusted" => plan.trusted.count());
        let not_hashed = total.saturating_sub(u32::try_from(plan.check.len()).unwrap_or(total));
        self.state = TorrentState::Checking {
            checked: not_hashed,
        };
        const CHUNK: u32 = 16;
        let ranges = persist::piece_ranges(&plan.check, CHUNK);
        self.checks_left = ranges.len();
        for pieces in ranges {
            let count = pieces.len() as u32;
            self.disk
                .send(CheckPieces {
                    storage: self.storage.clone(),
                    pieces,
                    expected: self.shared.hashes.clone(),
                })
                .into_actor(self)
                .map(move |result, act, ctx| {
                    match result {
                        Ok(Ok(results)) => {
                            for (piece, ok) in results {
                                if ok {
                                    act.picker.piece_verified(piece);
                                }
                            }
                        }
                        Ok(Err(e)) => warn!(act.log, "check failed"; "error" => %e),
                        Err(_) => warn!(act.log, "disk pool stopped during check"),
                    }
                    act.checks_left = act.checks_left.saturating_sub(1);
                    if let TorrentState::Checking { checked } = &mut act.state {
                        *checked = (*checked + count).min(total);
                        if act.checks_left == 0 {
                            act.finish_check(ctx);
                        }
                    }
                })
                .spawn(ctx);
        }
        debug!(self.log, "check queued"; "chunks" => self.checks_left);
    }

    fn finish_check(&mut self, ctx: &mut Context<Self>) {
        let have = self.picker.have().count();
        let layout = &self.shared.layout;
        self.checked_bytes = self
            .picker
            .have()
            .ones()
            .map(|p| u64::from(layout.piece_len(p)))
            .sum();
        self.alert(Alert::Checked {
            id: self.id,
            valid_pieces: have,
            total_pieces: self.picker.have().len(),
        });
        if self.picker.is_complete() {
            self.state = TorrentState::Seeding;
            self.on_complete(ctx);
        } else {
            self.state = TorrentState::Downloading;
        }
        self.start_tracker(ctx);
        self.connect_more(ctx);
    }

    // ----- connections ---------------------------------------------------------

    fn is_self(&self, addr: SocketAddr) -> bool {
        let ours = self.listen_addr;
        addr == ours
            || (addr.port() == ours.port() && ours.ip().is_unspecified() && addr.ip().is_loopback())
    }

    fn connect_more(&mut self, ctx: &mut Context<Self>) {
        if !self.active() {
            return;
        }
        let now = Instant::now();
        let connecting = self
            .peers
            .values()
            .filter(|p| p.connected_at.is_none())
            .count();
        let mut budget = self.peer_limit.saturating_sub(self.peers.len()).min(
            self.config
                .max_connecting_per_torrent
                .saturating_sub(connecting),
        );
        if budget == 0 {
            return;
        }
        let candidates: Vec<SocketAddr> = self
            .addrs
            .iter()
            .filter(|(addr, info)| {
                !info.connected
                    && info.retry_at.is_none_or(|t| t <= now)
                    && !self.banned.contains(&addr.ip())
            })
            .map(|(addr, _)| *addr)
            .collect();
        for addr in candidates {
            if budget == 0 {
                break;
            }
            budget -= 1;
            self.spawn_peer(Connection::Outgoing(addr), addr, ctx);
        }
    }

    fn spawn_peer(&mut self, connection: Connection, sock: SocketAddr, ctx: &mut Context<Self>) {
        let key = self.next_key;
        self.next_key += 1;
        let arbiter = &self.arbiters[key as usize % self.arbiters.len()];
        let setup = PeerSetup {
            key,
            torrent: ctx.address(),
            disk: self.disk.clone(),
            storage: self.storage.clone(),
            shared: self.shared.clone(),
            config: self.config.clone(),
            have: self.picker.have().clone(),
            connection,
            log: self.log.clone(),
        };
        let addr = Peer::start_in_arbiter(arbiter, move |_| Peer::new(setup));
        self.addrs.entry(sock).or_default().connected = true;
        self.peers.insert(
            key,
            PeerEntry {
                addr,
                sock,
                connected_at: None,
                bitfield: Bitfield::new(self.shared.layout.piece_count()),
                interested: false,
                unchoked: false,
                slot_changed_at: Instant::now(),
                sent_since_unchoke: 0,
                downloaded_rate: 0.0,
            },
        );
    }

    fn disconnect_all(&mut self, reason: &str) {
        for peer in self.peers.values() {
            peer.addr.do_send(Disconnect {
                reason: reason.to_string(),
            });
        }
    }

    // ----- choking ---------------------------------------------------------------

    fn rechoke(&mut self, rotate: bool) {
        let candidates: Vec<Candidate> = self
            .peers
            .iter()
            .filter_map(|(&key, p)| {
                Some(Candidate {
                    key,
                    interested: p.interested,
                    download_rate: p.downloaded_rate,
                    connected_at: p.connected_at?,
                    unchoked: p.unchoked,
                    slot_changed_at: p.slot_changed_at,
                    sent_since_unchoke: p.sent_since_unchoke,
                })
            })
            .collect();
        let now = Instant::now();
        let seeding = self.picker.is_complete();
        let quota = seeding.then(|| self.seed_quota());
        let unchoke = if let Some(quota) = quota {
            choker::choose_seeding(&candidates, self.config.upload_slots + 1, quota)
        } else {
            let (unchoke, optimistic) = choker::choose_downloading(
                &candidates,
                self.config.upload_slots,
                self.optimistic,
                rotate,
                now,
            );
            self.optimistic = optimistic;
            unchoke
        };
        for (key, peer) in self.peers.iter_mut() {
            let want = unchoke.contains(key);
            if want != peer.unchoked {
                peer.unchoked = want;
                peer.slot_changed_at = now;
                peer.sent_since_unchoke = 0;
                peer.addr.do_send(SetChoke {
                    choke: !want,
                    quota,
                });
            }
        }
    }

    /// A seed's upload slot rotates once its peer has had this much.
    fn seed_quota(&self) -> u64 {
        SEED_QUOTA_PIECES * u64::from(self.shared.layout.piece_length())
    }

    fn left(&self) -> u64 {
        let layout = &self.shared.layout;
        self.picker
            .have()
            .zeros()
            .map(|p| u64::from(layout.piece_len(p)))
            .sum()
    }

    /// Starts announcing to the torrent's trackers, if it has any.
    fn start_tracker(&mut self, ctx: &mut Context<Self>) {
        let tiers = self.meta.tiers();
        if tiers.is_empty() || self.tracker.is_some() {
            return;
        }
        let mut config = self.config.tracker.clone();
        let listen_ip = self.listen_addr.ip();
        if config.local_ip.is_none() && !listen_ip.is_unspecified() {
            config.local_ip = Some(listen_ip);
        }
        let tracker = Tracker::new(
            config,
            tiers,
            self.meta.info_hash,
            self.config.peer_id,
            self.listen_addr.port(),
            ctx.address().recipient(),
            self.log.clone(),
        )
        .with_stats(tracker::UpdateStats {
            uploaded: self.uploaded,
            downloaded: self.downloaded,
            left: self.left(),
        });
        self.tracker = Some(tracker.start());
    }

    fn poll_tracker(&mut self, ctx: &mut Context<Self>) {
        let Some(tracker) = &self.tracker else { return };
        tracker.do_send(tracker::UpdateStats {
            uploaded: self.uploaded,
            downloaded: self.downloaded,
            left: self.left(),
        });
        tracker
            .send(tracker::GetStatus)
            .into_actor(self)
            .map(|status, act, _ctx| {
                if let Ok(status) = status {
                    act.swarm = (
                        status.iter().filter_map(|s| s.seeders).max(),
                        status.iter().filter_map(|s| s.leechers).max(),
                    );
                }
            })
            .spawn(ctx);
    }

    /// One timer per torrent, not one per duty: a thousand idle torrents
    /// should cost next to nothing. It runs every second while the torrent
    /// has peers or is downloading, every five seconds otherwise.
    fn schedule_tick(&mut self, ctx: &mut Context<Self>) {
        let idle = self.peers.is_empty() && self.state != TorrentState::Downloading;
        let delay = if idle { IDLE_TICK } else { ACTIVE_TICK };
        ctx.run_later(delay, |act, ctx| {
            act.tick(ctx);
            act.schedule_tick(ctx);
        });
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.poll_tracker(ctx);
        let now = Instant::now();
        if now >= self.next_rechoke {
            self.next_rechoke = now + self.config.choke_interval;
            let rotate =
                now.duration_since(self.last_optimistic) >= self.config.optimistic_interval;
            if rotate {
                self.last_optimistic = now;
            }
            self.rechoke(rotate);
        }
        if now >= self.next_resume_save {
            self.next_resume_save = now + self.config.resume_save_interval;
            self.save_resume_if_changed(ctx);
        }
        let secs = now.duration_since(self.last_tick).as_secs_f64().max(1e-3);
        self.last_tick = now;
        let alpha = 0.5;
        self.download_rate =
            alpha * (self.tick_downloaded as f64 / secs) + (1.0 - alpha) * self.download_rate;
        self.upload_rate =
            alpha * (self.tick_uploaded as f64 / secs) + (1.0 - alpha) * self.upload_rate;
        self.tick_downloaded = 0;
        self.tick_uploaded = 0;
        self.connect_more(ctx);
    }

    // ----- completion ------------------------------------------------------------

    fn on_complete(&mut self, ctx: &mut Context<Self>) {
        if self.flushing {
            return;
        }
        self.flushing = true;
        self.state = TorrentState::Seeding;
        if self.checked_bytes < self.shared.layout.total_length() {
            if let Some(tracker) = &self.tracker {
                tracker.do_send(tracker::Completed);
            }
        }
        info!(self.log, "download complete; flushing");
        // Flushes the files, then records every piece in the resume data.
        self.save_resume()
            .into_actor(self)
            .map(|result, act, ctx| match act.finish_save(result) {
                Ok(()) => act.alert(Alert::TorrentComplete { id: act.id }),
                Err(e) => act.fail(e, ctx),
            })
            .wait(ctx);
        // Seeds have nothing to gain from each other.
        for peer in self.peers.values() {
            if peer.bitfield.is_full() {
                peer.addr.do_send(Disconnect {
                    reason: "both sides are seeds".into(),
                });
            }
        }
    }

    /// Stops the torrent on an error. Peers are dropped at once; then what is
    /// verified is saved as resume data and the error is reported, saying
    /// whether the verified pieces will be trusted on the next start.
    fn fail(&mut self, error: String, ctx: &mut Context<Self>) {
        warn!(self.log, "torrent stopped by an error"; "error" => &error);
        self.state = TorrentState::Error(error.clone());
        self.disconnect_all("torrent error");
        self.save_resume()
            .into_actor(self)
            .map(move |result, act, _ctx| {
                let have = act.picker.have();
                let kept = format!("{} of {} pieces verified", have.count(), have.len());
                let note = match &result {
                    Ok(()) => "resume data saved".to_owned(),
                    Err(e) => format!(
                        "resume data not saved, so they will be re-checked on the next start: {e}"
                    ),
                };
                // Only logs: the torrent has failed already.
                let _ = act.finish_save(result);
                let error = format!("{error} ({kept}; {note})");
                act.alert(Alert::TorrentError { id: act.id, error });
            })
            .spawn(ctx);
    }

    fn stats(&self) -> TorrentStats {
        let layout = &self.shared.layout;
        let have = self.picker.have();
        let verified_bytes = have.ones().map(|p| u64::from(layout.piece_len(p))).sum();
        TorrentStats {
            id: self.id,
            name: self.meta.name.clone(),
            info_hash: self.meta.info_hash,
            state: self.state.clone(),
            total_bytes: layout.total_length(),
            verified_bytes,
            checked_bytes: self.checked_bytes,
            pieces_total: layout.piece_count(),
            pieces_have: have.count(),
            downloaded: self.downloaded,
            uploaded: self.uploaded,
            wasted: self.wasted,
            download_rate: self.download_rate,
            upload_rate: self.upload_rate,
            peers_connected: self
                .peers
                .values()
                .filter(|p| p.connected_at.is_some())
                .count(),
            seeds_connected: self.peers.values().filter(|p| p.bitfield.is_full()).count(),
            peers_known: self.addrs.len(),
            tracker_seeders: self.swarm.0,
            tracker_leechers: self.swarm.1,
        }
    }
}

impl Actor for Torrent {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule_tick(ctx);
        self.start_check(ctx);
    }
}

impl Handler<PeerConnected> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PeerConnected, _ctx: &mut Context<Self>) {
        let Some(peer) = self.peers.get_mut(&msg.key) else {
            return;
        };
        peer.connected_at = Some(Instant::now());
        let sock = peer.sock;
        if let Some(info) = self.addrs.get_mut(&sock) {
            info.failures = 0;
        }
        self.alert(Alert::PeerConnected {
            id: self.id,
            addr: sock,
        });
    }
}

impl Handler<PeerBitfield> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PeerBitfield, _ctx: &mut Context<Self>) {
        let Some(peer) = self.peers.get_mut(&msg.key) else {
            return;
        };
        self.picker.peer_bitfield(&peer.bitfield, &msg.bitfield);
        peer.bitfield = msg.bitfield;
    }
}

impl Handler<PeerHave> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PeerHave, _ctx: &mut Context<Self>) {
        let Some(peer) = self.peers.get_mut(&msg.key) else {
            return;
        };
        if peer.bitfield.set(msg.piece) {
            self.picker.peer_have(msg.piece);
        }
    }
}

impl Handler<PeerInterest> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PeerInterest, _ctx: &mut Context<Self>) {
        let Some(peer) = self.peers.get_mut(&msg.key) else {
            return;
        };
        peer.interested = msg.interested;
        // Fill a free slot at once rather than waiting for the next round.
        let unchoked = self.peers.values().filter(|p| p.unchoked).count();
        if msg.interested && unchoked <= self.config.upload_slots {
            self.rechoke(false);
        }
    }
}

impl Handler<RequestPieces> for Torrent {
    type Result = MessageResult<RequestPieces>;

    fn handle(&mut self, msg: RequestPieces, _ctx: &mut Context<Self>) -> Self::Result {
        if self.state != TorrentState::Downloading {
            return MessageResult(Vec::new());
        }
        let Some(peer) = self.peers.get(&msg.key) else {
            return MessageResult(Vec::new());
        };
        let assignments = match &msg.only {
            None => self
                .picker
                .pick(msg.key, &peer.bitfield, msg.max, msg.inflight),
            Some(only) => {
                let mut allowed = Bitfield::new(peer.bitfield.len());
                for &piece in only.iter().filter(|&&p| peer.bitfield.get(p)) {
                    allowed.set(piece);
                }
                self.picker.pick(msg.key, &allowed, msg.max, msg.inflight)
            }
        };
        MessageResult(assignments)
    }
}

impl Handler<ReleasePieces> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: ReleasePieces, _ctx: &mut Context<Self>) {
        self.picker.release(msg.key, msg.pieces);
    }
}

impl Handler<PeerTick> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PeerTick, _ctx: &mut Context<Self>) {
        self.downloaded += msg.downloaded;
        self.uploaded += msg.uploaded;
        self.tick_downloaded += msg.downloaded;
        self.tick_uploaded += msg.uploaded;
        if let Some(peer) = self.peers.get_mut(&msg.key) {
            peer.downloaded_rate = 0.5 * msg.downloaded as f64 + 0.5 * peer.downloaded_rate;
            peer.sent_since_unchoke += msg.uploaded;
        }
    }
}

impl Handler<PeerGone> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PeerGone, ctx: &mut Context<Self>) {
        let Some(peer) = self.peers.remove(&msg.key) else {
            return;
        };
        self.picker.peer_gone(msg.key, &peer.bitfield, msg.partials);
        let backoff = self.config.reconnect_backoff;
        if let Some(info) = self.addrs.get_mut(&peer.sock) {
            info.connected = false;
            if !msg.was_connected {
                info.failures += 1;
            }
            let factor = 1u32 << info.failures.min(6);
            info.retry_at = Some(Instant::now() + backoff * factor);
        }
        if self.optimistic == Some(msg.key) {
            self.optimistic = None;
        }
        if msg.was_connected {
            debug!(self.log, "peer gone"; "peer" => %peer.sock, "reason" => &msg.reason);
            self.alert(Alert::PeerDisconnected {
                id: self.id,
                addr: peer.sock,
                reason: msg.reason,
            });
        }
        if peer.unchoked {
            self.rechoke(false);
        }
        self.connect_more(ctx);
    }
}

impl Handler<PieceWritten> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: PieceWritten, ctx: &mut Context<Self>) {
        self.downloaded += msg.downloaded;
        self.tick_downloaded += msg.downloaded;
        match msg.result {
            Ok(true) => {
                if !self.picker.piece_verified(msg.piece) {
                    return;
                }
                self.resume.mark_changed();
                for peer in self.peers.values() {
                    peer.addr.do_send(WeHave { piece: msg.piece });
                }
                self.alert(Alert::PieceVerified {
                    id: self.id,
                    piece: msg.piece,
                });
                if self.picker.is_complete() {
                    self.on_complete(ctx);
                }
            }
            Ok(false) => {
                self.picker.piece_failed(msg.piece);
                self.wasted += u64::from(self.shared.layout.piece_len(msg.piece));
                self.alert(Alert::HashFailed {
                    id: self.id,
                    piece: msg.piece,
                    peer: msg.addr,
                });
                let ip = msg.addr.ip();
                let failures = self.hash_failures.entry(ip).or_insert(0);
                *failures += 1;
                warn!(self.log, "piece failed its hash check"; "piece" => msg.piece, "peer" => %msg.addr, "failures" => *failures);
                if *failures >= self.config.max_hash_failures {
                    self.banned.insert(ip);
                    for peer in self.peers.values().filter(|p| p.sock.ip() == ip) {
                        peer.addr.do_send(Disconnect {
                            reason: "sent corrupt data repeatedly".into(),
                        });
                    }
                }
            }
            Err(error) => {
                if self.active() {
                    self.fail(error, ctx);
                }
            }
        }
    }
}

impl Handler<IncomingPeer> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: IncomingPeer, ctx: &mut Context<Self>) {
        if !self.active()
            || self.peers.len() >= self.peer_limit
            || self.banned.contains(&msg.addr.ip())
        {
            return;
        }
        let sock = msg.addr;
        self.addrs.entry(sock).or_default();
        self.spawn_peer(
            Connection::Incoming {
                stream: msg.stream,
                addr: msg.addr,
                handshake: msg.handshake,
            },
            sock,
            ctx,
        );
    }
}

impl Handler<GetTorrentStats> for Torrent {
    type Result = MessageResult<GetTorrentStats>;

    fn handle(&mut self, _msg: GetTorrentStats, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats())
    }
}

impl Handler<AddPeers> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: AddPeers, ctx: &mut Context<Self>) {
        for addr in msg.peers {
            if !self.is_self(addr) {
                self.addrs.entry(addr).or_default();
            }
        }
        self.connect_more(ctx);
    }
}

impl Handler<SetPaused> for Torrent {
    type Result = ();

    fn handle(&mut self, SetPaused(pause): SetPaused, ctx: &mut Context<Self>) {
        match (pause, &self.state) {
            (true, TorrentState::Downloading | TorrentState::Seeding) => {
                self.state = TorrentState::Paused;
                self.disconnect_all("paused");
            }
            (false, TorrentState::Paused) => {
                self.state = if self.picker.is_complete() {
                    TorrentState::Seeding
                } else {
                    TorrentState::Downloading
                };
                self.connect_more(ctx);
            }
            _ => {}
        }
    }
}

impl Handler<SetPeerLimit> for Torrent {
    type Result = ();

    fn handle(&mut self, SetPeerLimit(limit): SetPeerLimit, _ctx: &mut Context<Self>) {
        self.peer_limit = limit.min(self.config.max_peers_per_torrent);
    }
}

impl Handler<StopTorrent> for Torrent {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _msg: StopTorrent, _ctx: &mut Context<Self>) -> Self::Result {
        let checking = matches!(self.state, TorrentState::Checking { .. });
        self.state = TorrentState::Paused;
        self.disconnect_all("shutting down");
        // Flush the files and record what is verified (while checking nothing
        // has been written, and the resume file on disk is still accurate);
        // meanwhile tell the trackers we leave.
        let save = (!checking).then(|| self.save_resume());
        let tracker = self.tracker.take();
        Box::pin(
            async move {
                let stopped = async {
                    if let Some(tracker) = tracker {
                        let _ = tracker.send(tracker::Stop).await;
                    }
                };
                let saved = async {
                    match save {
                        Some(save) => Some(save.await),
                        None => None,
                    }
                };
                let (saved, ()) = futures_util::future::join(saved, stopped).await;
                saved
            }
            .into_actor(self)
            .map(|result, act, ctx| {
                if let Some(Err(e)) = result.map(|r| act.finish_save(r)) {
                    warn!(act.log, "flush at stop failed"; "error" => e);
                }
                ctx.stop()
            }),
        )
    }
}

impl Handler<QuotaReached> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: QuotaReached, _ctx: &mut Context<Self>) {
        let quota = self.seed_quota();
        if let Some(peer) = self.peers.get_mut(&msg.key) {
            peer.sent_since_unchoke = peer.sent_since_unchoke.max(quota);
        }
        if self.state == TorrentState::Seeding {
            self.rechoke(false); // hand the slot on now, not at the next tick
        }
    }
}

impl Handler<TrackerPeers> for Torrent {
    type Result = ();

    fn handle(&mut self, msg: TrackerPeers, ctx: &mut Context<Self>) {
        for addr in msg.peers {
            if !self.is_self(addr) {
                self.addrs.entry(addr).or_default();
            }
        }
        self.connect_more(ctx);
    }
}

/// Engine → Torrent: ask the trackers for swarm counts.
#[derive(Message)]
#[rtype(result = "Result<tracker::ScrapeStats, tracker::TrackerError>")]
pub struct ScrapeTrackers;

impl Handler<ScrapeTrackers> for Torrent {
    type Result = ResponseFuture<Result<tracker::ScrapeStats, tracker::TrackerError>>;

    fn handle(&mut self, _msg: ScrapeTrackers, _ctx: &mut Context<Self>) -> Self::Result {
        let tracker = self.tracker.clone();
        Box::pin(async move {
            let Some(tracker) = tracker else {
                return Err(tracker::TrackerError::NoTrackers);
            };
            tracker
                .send(tracker::Scrape)
                .await
                .unwrap_or(Err(tracker::TrackerError::NoTrackers))
        })
    }
}
