//! The per-torrent connection limit holds for incoming connections: with a limit of
//! two, of five clients that complete a handshake exactly two get torrix's handshake
//! back; the others are closed. Real TCP on 127.0.0.1, a real engine and disk.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use torrix::{AddTorrent, Alert, Engine, EngineConfig, GetListenAddr, Shutdown, Subscribe};
use torrix_proto::wire::{Handshake, HANDSHAKE_LEN};
use torrix_proto::{Metainfo, PeerId, TorrentBuilder};

struct Forward(mpsc::UnboundedSender<Alert>);

impl Actor for Forward {
    type Context = Context<Self>;
}

impl Handler<Alert> for Forward {
    type Result = ();

    fn handle(&mut self, alert: Alert, _: &mut Context<Self>) {
        let _ = self.0.send(alert);
    }
}

/// Connects, sends a handshake, and reports whether a handshake came back
/// (false: the connection was closed without one).
fn handshake_answered(addr: std::net::SocketAddr, meta: &Metainfo) -> bool {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&Handshake::new(meta.info_hash, PeerId::generate()).to_bytes())
        .unwrap();
    let mut theirs = [0u8; HANDSHAKE_LEN];
    let answered = s.read_exact(&mut theirs).is_ok();
    // Keep the answered connections open while the others are tried.
    std::mem::forget(s);
    answered
}

#[actix_rt::test]
async fn incoming_connections_beyond_the_per_torrent_limit_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("f.bin"), &data).unwrap();
    let hashes = data
        .chunks(16 * 1024)
        .map(|c| Sha1::digest(c).into())
        .collect();
    let bytes = TorrentBuilder::single_file("f.bin", data.len() as u64, 16 * 1024, hashes)
        .build()
        .unwrap();
    let meta = Arc::new(Metainfo::from_bytes(&bytes).unwrap());

    let config = EngineConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_peers_per_torrent: 2,
        ..EngineConfig::default()
    };
    let engine = Engine::start(config, slog::Logger::root(slog::Discard, slog::o!())).unwrap();
    let (tx, mut alerts) = mpsc::unbounded_channel();
    engine
        .send(Subscribe(Forward(tx).start().recipient()))
        .await
        .unwrap();
    engine
        .send(AddTorrent {
            meta: meta.clone(),
            download_dir: dir.path().to_owned(),
            peers: vec![],
        })
        .await
        .unwrap()
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), alerts.recv()).await {
            Ok(Some(Alert::TorrentComplete { .. })) => break,
            Ok(Some(_)) => continue,
            other => panic!("the torrent never became a seed: {other:?}"),
        }
    }
    let addr = engine.send(GetListenAddr).await.unwrap();

    let answered = tokio::task::spawn_blocking(move || {
        (0..5).filter(|_| handshake_answered(addr, &meta)).count()
    })
    .await
    .unwrap();
    assert_eq!(
        answered, 2,
        "the limit of 2 connections per torrent did not hold"
    );
    engine.send(Shutdown).await.unwrap();
}
