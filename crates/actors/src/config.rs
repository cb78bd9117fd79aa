//! Engine configuration: limits, timeouts and thread counts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use torrix_proto::PeerId;

use crate::tracker::TrackerConfig;

/// Everything an [`Engine`](crate::Engine) needs to know before it starts.
/// `EngineConfig::default()` suits a desktop client; tests shorten timeouts.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where the one listening socket binds (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Our peer id.
    pub peer_id: PeerId,
    /// Arbiters (threads) that run peer connections. Default: one per core.
    pub peer_threads: usize,
    /// Disk worker threads (I/O and SHA-1). Default: one per core.
    pub disk_threads: usize,
    /// Bytes of whole pieces the disk keeps cached for uploads.
    pub read_cache_bytes: usize,
    /// Connections across all torrents.
    pub max_connections: usize,
    /// Connections per torrent.
    pub max_peers_per_torrent: usize,
    /// Half-open outgoing connections per torrent at once.
    pub max_connecting_per_torrent: usize,
    /// Longest peer message accepted (length prefix excluded).
    pub max_message_len: u32,
    /// Peers we upload to at once (tit-for-tat slots), plus one optimistic.
    pub upload_slots: usize,
    /// How often the choker re-evaluates.
    pub choke_interval: Duration,
    /// How often the optimistic unchoke rotates.
    pub optimistic_interval: Duration,
    /// Outstanding requests to a peer that deliver nothing for this long are
    /// handed to other peers.
    pub request_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed for the handshake.
    pub handshake_timeout: Duration,
    /// A connection that receives nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A keep-alive is sent after this long without sending anything.
    pub keepalive_interval: Duration,
    /// Upper bound on requests in flight to one peer.
    pub max_requests_per_peer: u32,
    /// How much data the pipeline keeps in flight, expressed as time at the
    /// peer's measured rate (the bandwidth-delay product).
    pub request_window: Duration,
    /// Received piece data per peer waiting for the disk before we stop
    /// requesting more: the bounded write buffer.
    pub max_disk_backlog_per_peer: usize,
    /// Requests we queue from one peer before we consider it a flood.
    pub max_upload_queue: usize,
    /// A peer whose data failed the hash check this many times is banned.
    pub max_hash_failures: u32,
    /// Socket send and receive buffer sizes (None: the OS default).
    pub socket_buffer: Option<usize>,
    /// How long to wait after a failed connection attempt before retrying.
    pub reconnect_backoff: Duration,
    /// Tracker timeouts, intervals and back-off.
    pub tracker: TrackerConfig,
    /// Directory for resume data (`<info-hash-hex>.resume` files). `None`:
    /// `<download_dir>/.torrix`, next to each torrent's data. See
    /// [`resume`](crate::resume).
    pub resume_dir: Option<PathBuf>,
    /// How often a torrent that verified new pieces saves its resume data.
    /// Each save `fdatasync`s the files written since the last one, so very
    /// short intervals cost throughput; long ones cost re-checking after a
    /// crash.
    pub resume_save_interval: Duration,
    /// Write verified pieces with `O_DIRECT` where the file system allows it,
    /// bypassing the page cache (see [`Storage`](crate::disk::Storage)). On by
    /// default: downloaded data is not read back soon, and a buffered write
    /// costs several times more CPU than a direct one. Turn off to leave
    /// freshly downloaded data in the page cache.
    pub direct_writes: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        EngineConfig {
            listen: "0.0.0.0:6881".parse().expect("valid address"),
            peer_id: PeerId::generate(),
            peer_threads: cores,
            disk_threads: cores,
            read_cache_bytes: 16 << 20,
            max_connections: 500,
            max_peers_per_torrent: 80,
            max_connecting_per_torrent: 16,
            max_message_len: torrix_proto::wire::DEFAULT_MAX_MESSAGE_LEN,
            upload_slots: 4,
            choke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(150),
            keepalive_interval: Duration::from_secs(60),
            max_requests_per_peer: 1000,
            request_window: Duration::from_millis(500),
            max_disk_backlog_per_peer: 16 << 20,
            max_upload_queue: 2000,
            max_hash_failures: 2,
            socket_buffer: Some(1 << 20),
            reconnect_backoff: Duration::from_secs(10),
            tracker: TrackerConfig::default(),
            resume_dir: None,
            resume_save_interval: Duration::from_secs(5),
            direct_writes: true,
        }
    }
}
