//! Scripted BitTorrent peers of our own, for the tests libtorrent cannot do: peers that
//! break the protocol on purpose, or serve corrupt data.
//!
//! They speak the wire protocol through `torrix-proto`'s codec over blocking
//! `std::net` sockets with timeouts, one thread per connection, and bind their sockets
//! to their own 127.0.0.x (so the engine under test sees them as separate hosts and can
//! ban them by address). Two kinds:
//!
//! - [`WirePeer`]: one outgoing connection driven step by step by the test (send any
//!   message or raw bytes, wait for a message, wait for the connection to be closed,
//!   download and verify a piece like a well-behaved peer).
//! - [`ScriptedSeeder`]: a listening peer that has the whole torrent and serves it with
//!   a [`SeedBehaviour`]: flip a byte in every block it sends, or push a block nobody
//!   asked for. It counts the connections it accepts and the blocks it sends.

use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sha1::{Digest, Sha1};
use socket2::{Domain, Socket, Type};
use torrix_proto::wire::{encode, Decoder, Handshake, Message, Reserved, HANDSHAKE_LEN};
use torrix_proto::{BlockRef, InfoHash, Layout, Metainfo, PeerId};

/// The largest message a scripted peer accepts (a 16 KiB block or a big bitfield).
const MAX_MESSAGE: u32 = 1 << 20;

/// Reserved bytes advertising the fast extension (BEP 6) and the extension protocol
/// (BEP 10), like torrix and libtorrent.
pub fn fast_reserved() -> Reserved {
    Reserved([0; 8])
        .with_fast(true)
        .with_extension_protocol(true)
}

/// Parse a .torrent with torrix-proto (info-hash, piece hashes, layout).
pub fn load_metainfo(torrent: &Path) -> Metainfo {
    let bytes = fs::read(torrent).unwrap_or_else(|e| panic!("read {}: {e}", torrent.display()));
    Metainfo::from_bytes(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", torrent.display()))
}

/// A random peer id in Azureus style, `-IT0001-` + 12 random characters (distinct per
/// call, and never mistaken for torrix's own `-TX…` ids).
pub fn test_peer_id() -> PeerId {
    let mut id = PeerId::generate();
    id.0[..8].copy_from_slice(b"-IT0001-");
    id
}

/// TCP connection from `local_ip` (port chosen by the kernel) to `remote`.
pub fn connect_from(local_ip: IpAddr, remote: SocketAddr) -> io::Result<TcpStream> {
    assert!(
        local_ip.is_loopback() && remote.ip().is_loopback(),
        "refusing non-loopback {local_ip} -> {remote}"
    );
    let sock = Socket::new(Domain::for_address(remote), Type::STREAM, None)?;
    sock.bind(&SocketAddr::new(local_ip, 0).into())?;
    sock.connect_timeout(&remote.into(), Duration::from_secs(5))?;
    let stream: TcpStream = sock.into();
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// What [`WirePeer::recv`] saw.
#[derive(Debug)]
pub enum Event {
    Msg(Message),
    /// The remote closed the connection (EOF) or reset it; the text says which.
    Closed(String),
    /// Nothing complete arrived within the timeout.
    TimedOut,
}

/// One scripted connection to a peer under test.
pub struct WirePeer {
    stream: TcpStream,
    buf: BytesMut,
    decoder: Decoder,
    /// The remote's handshake.
    pub remote: Handshake,
    /// Our address (the local end of the connection).
    pub local: SocketAddr,
    /// The remote told us `unchoke` (and no `choke` since).
    pub unchoked: bool,
}

impl WirePeer {
    /// Connect from `local_ip` to `remote` and exchange handshakes for `info_hash` with
    /// the fast and extension bits set. Panics if the connection or handshake fails.
    pub fn connect(local_ip: IpAddr, remote: SocketAddr, info_hash: InfoHash) -> WirePeer {
        let stream = connect_from(local_ip, remote)
            .unwrap_or_else(|e| panic!("scripted peer {local_ip} cannot connect to {remote}: {e}"));
        let ours = Handshake {
            reserved: fast_reserved(),
            info_hash,
            peer_id: test_peer_id(),
        };
        Self::handshake(stream, &ours).unwrap_or_else(|e| {
            panic!("scripted peer {local_ip}: handshake with {remote} failed: {e}")
        })
    }

    /// Send `ours` on `stream` and read the remote's handshake (10 s timeout).
    pub fn handshake(mut stream: TcpStream, ours: &Handshake) -> io::Result<WirePeer> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(&ours.to_bytes())?;
        let mut theirs = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut theirs)?;
        let remote = Handshake::parse(&theirs)
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e.to_string()))?;
        if remote.info_hash != ours.info_hash {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("remote answered for info-hash {}", remote.info_hash),
            ));
        }
        let local = stream.local_addr()?;
        Ok(WirePeer {
            stream,
            buf: BytesMut::new(),
            decoder: Decoder::new(MAX_MESSAGE),
            remote,
            local,
            unchoked: false,
        })
    }

    /// Encode and send one message.
    pub fn send(&mut self, msg: &Message) -> io::Result<()> {
        let mut out = BytesMut::new();
        encode(msg, &mut out);
        self.stream.write_all(&out)
    }

    /// Send raw bytes (for malformed frames).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Send many messages in one write (a flood).
    pub fn send_all(&mut self, msgs: &[Message]) -> io::Result<()> {
        let mut out = BytesMut::new();
        for m in msgs {
            encode(m, &mut out);
        }
        self.stream.write_all(&out)
    }

    /// The next message, waiting up to `timeout`. Tracks choke/unchoke.
    pub fn recv(&mut self, timeout: Duration) -> Event {
        let deadline = Instant::now() + timeout;
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(msg)) => {
                    match msg {
                        Message::Unchoke => self.unchoked = true,
                        Message::Choke => self.unchoked = false,
                        _ => {}
                    }
                    return Event::Msg(msg);
                }
                Ok(None) => {}
                Err(e) => return Event::Closed(format!("undecodable message from remote: {e}")),
            }
            let now = Instant::now();
            if now >= deadline {
                return Event::TimedOut;
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            self.stream.set_read_timeout(Some(wait)).unwrap();
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Event::Closed("EOF".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Event::Closed(format!("read error: {e}")),
            }
        }
    }

    /// Read (and discard) until the remote closes the connection. `Ok(how, after)` if it
    /// did within `timeout`; `Err` with what was received if it is still open.
    pub fn wait_closed(&mut self, timeout: Duration) -> Result<(String, Duration), String> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            match self.recv(left) {
                Event::Closed(how) => return Ok((how, start.elapsed())),
                Event::TimedOut => {
                    return Err(format!(
                        "connection {} -> {} still open after {timeout:?}; received meanwhile: {}",
                        self.local,
                        self.stream
                            .peer_addr()
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                        summarize(&seen)
                    ))
                }
                Event::Msg(m) => seen.push(m),
            }
        }
    }

    /// Wait until the remote has unchoked us (messages other than choke/unchoke are
    /// dropped). Panics after `timeout`.
    pub fn wait_unchoke(&mut self, timeout: Duration) {
        let start = Instant::now();
        let mut seen = Vec::new();
        while !self.unchoked {
            let left = timeout.saturating_sub(start.elapsed());
            match self.recv(left) {
                Event::Msg(m) => seen.push(m),
                Event::TimedOut => panic!(
                    "{}: not unchoked within {timeout:?}; received: {}",
                    self.local,
                    summarize(&seen)
                ),
                Event::Closed(how) => panic!(
                    "{}: connection closed ({how}) while waiting for unchoke; received: {}",
                    self.local,
                    summarize(&seen)
                ),
            }
        }
    }

    /// Like a well-behaved leecher: say `interested`, wait for `unchoke`, request every
    /// block of `piece`, collect them and check the piece's SHA-1 against the torrent.
    /// Returns the piece's bytes. Panics on any failure.
    pub fn download_piece(&mut self, meta: &Metainfo, piece: u32, timeout: Duration) -> Vec<u8> {
        let start = Instant::now();
        self.send(&Message::Interested)
            .unwrap_or_else(|e| panic!("{}: send interested: {e}", self.local));
        self.wait_unchoke(timeout);
        let layout = Layout::from_metainfo(meta);
        let blocks: Vec<BlockRef> = layout.blocks(piece).collect();
        let requests: Vec<Message> = blocks.iter().map(|b| Message::Request(*b)).collect();
        self.send_all(&requests)
            .unwrap_or_else(|e| panic!("{}: send requests: {e}", self.local));
        let mut data = vec![0u8; layout.piece_len(piece) as usize];
        let mut got = vec![false; blocks.len()];
        while got.iter().any(|g| !g) {
            let left = timeout.saturating_sub(start.elapsed());
            match self.recv(left) {
                Event::Msg(Message::Piece {
                    piece: p,
                    offset,
                    data: d,
                }) if p == piece => {
                    let i = blocks
                        .iter()
                        .position(|b| b.offset == offset && b.len as usize == d.len())
                        .unwrap_or_else(|| {
                            panic!("unexpected block piece {p} offset {offset} len {}", d.len())
                        });
                    data[offset as usize..offset as usize + d.len()].copy_from_slice(&d);
                    got[i] = true;
                }
                Event::Msg(Message::Reject(b)) => panic!("{}: request rejected: {b:?}", self.local),
                Event::Msg(Message::Choke) => panic!("{}: choked mid-download", self.local),
                Event::Msg(_) => {}
                Event::TimedOut => panic!(
                    "{}: piece {piece} incomplete after {timeout:?} ({} of {} blocks)",
                    self.local,
                    got.iter().filter(|g| **g).count(),
                    blocks.len()
                ),
                Event::Closed(how) => {
                    panic!(
                        "{}: connection closed ({how}) during piece {piece}",
                        self.local
                    )
                }
            }
        }
        let hash: [u8; 20] = Sha1::digest(&data).into();
        assert_eq!(
            hash, meta.pieces[piece as usize],
            "piece {piece} received by the scripted peer fails its SHA-1"
        );
        data
    }
}

fn summarize(msgs: &[Message]) -> String {
    if msgs.is_empty() {
        return "nothing".into();
    }
    let mut names: Vec<String> = msgs
        .iter()
        .take(8)
        .map(|m| match m {
            Message::Piece {
                piece,
                offset,
                data,
            } => format!("Piece({piece}, {offset}, {} bytes)", data.len()),
            Message::Bitfield(b) => format!("Bitfield({} bytes)", b.len()),
            other => format!("{other:?}"),
        })
        .collect();
    if msgs.len() > 8 {
        names.push(format!("… {} messages in all", msgs.len()));
    }
    names.join(", ")
}

/// How a [`ScriptedSeeder`] misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedBehaviour {
    /// Answer every request at once, but with one byte of every block flipped.
    FlipBytes,
    /// Right after the handshake and have-all, send one block of a piece nobody asked
    /// for (then stay choking, answering nothing).
    UnrequestedPiece,
    /// Unchoke, take every request, answer none: requests to it can only time out.
    Silent,
    /// Never unchoke, but offer [`ALLOWED_FAST_PIECES`] as allowed-fast (BEP 6) and
    /// serve those correctly; reject requests for any other piece.
    AllowedFastOnly,
}

/// The pieces a [`SeedBehaviour::AllowedFastOnly`] seeder lets a choked peer
/// download.
pub const ALLOWED_FAST_PIECES: [u32; 3] = [1, 3, 5];

/// A listening peer that has the whole torrent and serves it badly (see
/// [`SeedBehaviour`]). One thread per connection; stopped and joined on drop.
pub struct ScriptedSeeder {
    pub addr: SocketAddr,
    stats: Arc<SeederStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct SeederStats {
    connections: AtomicUsize,
    handshakes: AtomicUsize,
    requests: AtomicUsize,
    blocks_sent: AtomicUsize,
    off_limits_requests: AtomicUsize,
}

impl ScriptedSeeder {
    /// Serve `torrent` (single-file) whose content is `data_file`, listening on `listen`
    /// (port 0 = any).
    pub fn start(
        torrent: &Path,
        data_file: &Path,
        listen: SocketAddr,
        behaviour: SeedBehaviour,
    ) -> ScriptedSeeder {
        assert!(listen.ip().is_loopback(), "refusing non-loopback {listen}");
        let meta = Arc::new(load_metainfo(torrent));
        let data: Arc<Bytes> = Arc::new(
            fs::read(data_file)
                .unwrap_or_else(|e| panic!("read {}: {e}", data_file.display()))
                .into(),
        );
        assert_eq!(
            data.len() as u64,
            meta.total_length,
            "{} is not the torrent's content",
            data_file.display()
        );
        let listener = TcpListener::bind(listen)
            .unwrap_or_else(|e| panic!("scripted seeder bind {listen}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(SeederStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conns = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stats.connections.fetch_add(1, Ordering::SeqCst);
                            let (meta, data, stats, stop) =
                                (meta.clone(), data.clone(), stats.clone(), stop.clone());
                            conns.push(std::thread::spawn(move || {
                                let _ = serve(stream, &meta, &data, behaviour, &stats, &stop);
                            }));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                for c in conns {
                    let _ = c.join();
                }
            })
        };
        ScriptedSeeder {
            addr,
            stats,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Connections that completed a handshake for our torrent.
    pub fn handshakes(&self) -> usize {
        self.stats.handshakes.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Requests for pieces outside the allowed-fast set while choked
    /// ([`SeedBehaviour::AllowedFastOnly`]): each one a protocol error by the leecher.
    pub fn off_limits_requests(&self) -> usize {
        self.stats.off_limits_requests.load(Ordering::SeqCst)
    }

    /// Blocks sent so far (corrupt or unrequested ones, depending on the behaviour).
    pub fn blocks_sent(&self) -> usize {
        self.stats.blocks_sent.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptedSeeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    meta: &Metainfo,
    data: &Bytes,
    behaviour: SeedBehaviour,
    stats: &SeederStats,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut stream = stream;
    // their handshake first (we are the listening side)
    let mut theirs = [0u8; HANDSHAKE_LEN];
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while got < HANDSHAKE_LEN {
        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
            return Ok(());
        }
        match stream.read(&mut theirs[got..]) {
            Ok(0) => return Ok(()),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    let Ok(hs) = Handshake::parse(&theirs) else {
        return Ok(());
    };
    if hs.info_hash != meta.info_hash {
        return Ok(());
    }
    let ours = Handshake {
        reserved: fast_reserved(),
        info_hash: meta.info_hash,
        peer_id: test_peer_id(),
    };
    stream.write_all(&ours.to_bytes())?;
    stats.handshakes.fetch_add(1, Ordering::SeqCst);
    let layout = Layout::from_metainfo(meta);
    let fast = hs.reserved.fast();
    let mut out = BytesMut::new();
    if fast {
        encode(&Message::HaveAll, &mut out);
    } else {
        let full = torrix_proto::Bitfield::full(layout.piece_count());
        encode(
            &Message::Bitfield(Bytes::copy_from_slice(full.as_bytes())),
            &mut out,
        );
    }
    match behaviour {
        SeedBehaviour::FlipBytes | SeedBehaviour::Silent => encode(&Message::Unchoke, &mut out),
        SeedBehaviour::AllowedFastOnly => {
            for piece in ALLOWED_FAST_PIECES {
                encode(&Message::AllowedFast { piece }, &mut out);
            }
        }
        SeedBehaviour::UnrequestedPiece => {
            let piece = layout.piece_count() / 2;
            let b = layout.block(piece, 0);
            let start = (layout.piece_offset(piece) + b.offset as u64) as usize;
            encode(
                &Message::Piece {
                    piece,
                    offset: 0,
                    data: data.slice(start..start + b.len as usize),
                },
                &mut out,
            );
            stats.blocks_sent.fetch_add(1, Ordering::SeqCst);
        }
    }
    stream.write_all(&out)?;

    let mut decoder = Decoder::new(MAX_MESSAGE);
    let mut buf = BytesMut::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e),
        }
        let mut out = BytesMut::new();
        loop {
            let msg = match decoder.decode(&mut buf) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(_) => return Ok(()),
            };
            if let Message::Request(b) = msg {
                stats.requests.fetch_add(1, Ordering::SeqCst);
                if behaviour == SeedBehaviour::AllowedFastOnly
                    && !ALLOWED_FAST_PIECES.contains(&b.piece)
                {
                    stats.off_limits_requests.fetch_add(1, Ordering::SeqCst);
                    encode(&Message::Reject(b), &mut out);
                    continue;
                }
                if !matches!(
                    behaviour,
                    SeedBehaviour::FlipBytes | SeedBehaviour::AllowedFastOnly
                ) {
                    continue;
                }
                if !layout.is_valid_request(b.piece, b.offset, b.len, 1 << 17) {
                    if fast {
                        encode(&Message::Reject(b), &mut out);
                    }
                    continue;
                }
                let start = (layout.piece_offset(b.piece) + b.offset as u64) as usize;
                let mut block = data[start..start + b.len as usize].to_vec();
                if behaviour == SeedBehaviour::FlipBytes {
                    let mid = block.len() / 2;
                    block[mid] ^= 0x5a;
                }
                encode(
                    &Message::Piece {
                        piece: b.piece,
                        offset: b.offset,
                        data: block.into(),
                    },
                    &mut out,
                );
                stats.blocks_sent.fetch_add(1, Ordering::SeqCst);
            }
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
        }
    }
    Ok(())
}
