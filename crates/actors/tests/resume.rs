//! Resume data through the real engine: real files in a temporary directory,
//! a real Engine with no peers, and the `Checked` alert telling how many
//! pieces a start accepted.
//!
//! The tests tamper with files behind the engine's back to show which pieces
//! were trusted and which hashed: a byte changed *with the mtime restored* is
//! not noticed (its piece was trusted from the resume data, as designed), the
//! same change with a new mtime is.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use torrix::resume::{resume_path, ResumeData};
use torrix::{
    AddTorrent, Alert, Engine, EngineConfig, RemoveTorrent, Shutdown, Subscribe, TorrentId,
};
use torrix_proto::{Layout, Metainfo, TorrentBuilder};

const PIECE_LEN: u32 = 32 * 1024;
/// (name, length): piece 9 spans `a` and `b`, piece 13 spans `b` and `c`.
const FILES: &[(&str, u64)] = &[("a", 300_000), ("b", 123_457), ("c", 200_000)];

/// A multi-file torrent named `t` and its payload, written under a temporary
/// download directory.
struct Fixture {
    dir: tempfile::TempDir,
    meta: Arc<Metainfo>,
    payload: Vec<u8>,
    layout: Layout,
}

impl Fixture {
    fn new() -> Fixture {
        let layout = Layout::new(PIECE_LEN, FILES.iter().map(|f| f.1));
        let mut payload = vec![0; layout.total_length() as usize];
        StdRng::seed_from_u64(42).fill_bytes(&mut payload);
        let hashes = payload
            .chunks(PIECE_LEN as usize)
            .map(|c| Sha1::digest(c).into())
            .collect();
        let files = FILES.iter().map(|&(n, l)| (vec![n.to_owned()], l));
        let bytes = TorrentBuilder::multi_file("t", files, PIECE_LEN, hashes)
            .build()
            .unwrap();
        let meta = Arc::new(Metainfo::from_bytes(&bytes).unwrap());
        let fixture = Fixture {
            dir: tempfile::tempdir().unwrap(),
            meta,
            payload,
            layout,
        };
        fixture.write_all();
        fixture
    }

    fn download_dir(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, index: usize) -> PathBuf {
        self.dir.path().join("t").join(FILES[index].0)
    }

    /// Writes every file with its correct contents.
    fn write_all(&self) {
        fs::create_dir_all(self.dir.path().join("t")).unwrap();
        let mut offset = 0;
        for (i, &(_, len)) in FILES.iter().enumerate() {
            let end = offset + len as usize;
            fs::write(self.file(i), &self.payload[offset..end]).unwrap();
            offset = end;
        }
    }

    fn resume_file(&self) -> PathBuf {
        resume_path(None, self.download_dir(), &self.meta.info_hash)
    }

    /// Flips a byte at `offset` of file `index`; if `keep_mtime`, the file's
    /// modification time is set back to what it was.
    fn corrupt(&self, index: usize, offset: u64, keep_mtime: bool) {
        let path = self.file(index);
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut byte = [0u8];
        f.seek(SeekFrom::Start(offset)).unwrap();
        std::io::Read::read_exact(&mut f, &mut byte).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(&[!byte[0]]).unwrap();
        if keep_mtime {
            f.set_modified(mtime).unwrap();
        }
    }

    /// Pieces holding any byte of file `index`.
    fn pieces_of(&self, index: usize) -> std::ops::Range<u32> {
        self.layout.file_pieces(index)
    }
}

/// Forwards alerts into a channel.
struct Forward(mpsc::UnboundedSender<Alert>);

impl Actor for Forward {
    type Context = Context<Self>;
}

impl Handler<Alert> for Forward {
    type Result = ();

    fn handle(&mut self, alert: Alert, _ctx: &mut Context<Self>) {
        let _ = self.0.send(alert);
    }
}

/// An engine with the fixture's torrent added.
struct Run {
    engine: Addr<Engine>,
    id: TorrentId,
    alerts: mpsc::UnboundedReceiver<Alert>,
}

impl Run {
    async fn start(fixture: &Fixture, config: EngineConfig) -> Run {
        Run::start_in(fixture, fixture.download_dir(), config, Vec::new()).await
    }

    /// The fixture's torrent downloading into `dir` from `peers`.
    async fn start_in(
        fixture: &Fixture,
        dir: &Path,
        config: EngineConfig,
        peers: Vec<std::net::SocketAddr>,
    ) -> Run {
        let config = EngineConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        };
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let engine = Engine::start(config, log).unwrap();
        let (tx, alerts) = mpsc::unbounded_channel();
        engine.do_send(Subscribe(Forward(tx).start().recipient()));
        let id = engine
            .send(AddTorrent {
                meta: fixture.meta.clone(),
                download_dir: dir.to_owned(),
                peers,
            })
            .await
            .unwrap()
            .unwrap();
        Run { engine, id, alerts }
    }

    /// Waits for the first alert `pick` accepts (at most 30 s).
    async fn expect<T>(&mut self, what: &str, mut pick: impl FnMut(&Alert) -> Option<T>) -> T {
        let wait = async {
            loop {
                match self.alerts.recv().await {
                    Some(alert) => {
                        if let Some(found) = pick(&alert) {
                            return found;
                        }
                    }
                    None => panic!("alerts ended while waiting for {what}"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Valid pieces reported by the check on start.
    async fn checked(&mut self) -> u32 {
        let id = self.id;
        self.expect("Checked", |a| match a {
            Alert::Checked {
                id: i,
                valid_pieces,
                ..
            } if *i == id => Some(*valid_pieces),
            _ => None,
        })
        .await
    }

    async fn complete(&mut self) {
        let id = self.id;
        self.expect("TorrentComplete", |a| {
            matches!(a, Alert::TorrentComplete { id: i } if *i == id).then_some(())
        })
        .await
    }

    /// Removes the torrent (which saves its resume data) and stops the engine.
    async fn stop(self) {
        self.engine
            .send(RemoveTorrent(self.id))
            .await
            .unwrap()
            .unwrap();
        self.engine.send(Shutdown).await.unwrap();
    }
}

fn saved(path: &Path) -> ResumeData {
    ResumeData::load(path)
        .unwrap()
        .unwrap_or_else(|| panic!("no resume data at {}", path.display()))
}

#[actix_rt::test]
async fn unchanged_files_are_trusted_changed_ones_rehashed() {
    let fx = Fixture::new();
    let total = fx.layout.piece_count();

    // First start: no resume data, everything is hashed; completion saves it.
    let mut run = Run::start(&fx, EngineConfig::default()).await;
    assert_eq!(run.checked().await, total);
    run.complete().await;
    let data = saved(&fx.resume_file());
    assert_eq!(data.info_hash, fx.meta.info_hash);
    assert!(data.have.is_full());
    run.stop().await;

    // A byte of file `a` changes but its mtime is put back: the resume data
    // vouches for the piece and it is not hashed.
    fx.corrupt(0, 70_000, true);
    let mut run = Run::start(&fx, EngineConfig::default()).await;
    assert_eq!(run.checked().await, total, "unchanged stamps are trusted");
    run.stop().await;

    // Now with a new mtime: file `a`'s pieces are hashed and the bad one found.
    let path = fx.file(0);
    let later = fs::metadata(&path).unwrap().modified().unwrap() + Duration::from_secs(1);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let mut run = Run::start(&fx, EngineConfig::default()).await;
    assert_eq!(run.checked().await, total - 1);
    run.stop().await;
    // The stop saved what the check found.
    let data = saved(&fx.resume_file());
    let bad = (70_000 / PIECE_LEN as usize) as u32;
    assert!(!data.have.get(bad));
    assert_eq!(data.have.count(), total - 1);
}

#[actix_rt::test]
async fn truncated_and_deleted_files_are_detected() {
    let fx = Fixture::new();
    let total = fx.layout.piece_count();
    let mut run = Run::start(&fx, EngineConfig::default()).await;
    assert_eq!(run.checked().await, total);
    run.complete().await;
    run.stop().await;

    // `c` cut to half its length, `a` deleted.
    let c = fx.file(2);
    let half = FILES[2].1 / 2;
    OpenOptions::new()
        .write(true)
        .open(&c)
        .unwrap()
        .set_len(half)
        .unwrap();
    fs::remove_file(fx.file(0)).unwrap();

    let mut run = Run::start(&fx, EngineConfig::default()).await;
    let valid = run.checked().await;
    run.stop().await;
    // Valid: the pieces that lie wholly in `b` or in the first half of `c`.
    let c_start = FILES[0].1 + FILES[1].1;
    let expected = (0..total)
        .filter(|&p| {
            let start = fx.layout.piece_offset(p);
            let end = start + u64::from(fx.layout.piece_len(p));
            start >= FILES[0].1 && end <= c_start + half
        })
        .count() as u32;
    assert!(expected > 0 && expected < total - fx.pieces_of(0).len() as u32);
    assert_eq!(valid, expected);
    let data = saved(&fx.resume_file());
    assert_eq!(data.have.count(), expected);
    assert_eq!(data.files[0], None, "a deleted file is recorded as missing");
}

#[actix_rt::test]
async fn corrupt_or_foreign_resume_data_means_a_full_check() {
    let fx = Fixture::new();
    let total = fx.layout.piece_count();
    // A byte of `b` is wrong; the resume data below would vouch for it.
    fx.corrupt(1, 1_000, false);
    let resume = fx.resume_file();
    fs::create_dir_all(resume.parent().unwrap()).unwrap();

    // Resume data for another torrent, claiming everything with the current
    // stamps: refused, so the bad piece is found by hashing.
    let stamps = torrix::resume::FileStamp::from_metadata(
        &(0..FILES.len())
            .map(|i| {
                let m = fs::metadata(fx.file(i)).unwrap();
                Some((m.len(), m.modified().unwrap()))
            })
            .collect::<Vec<_>>(),
    );
    let foreign = ResumeData {
        info_hash: torrix_proto::InfoHash([1; 20]),
        have: torrix_proto::Bitfield::full(total),
        files: stamps.clone(),
    };
    foreign.save(&resume).unwrap();
    let mut run = Run::start(&fx, EngineConfig::default()).await;
    assert_eq!(run.checked().await, total - 1);
    run.stop().await;

    // Garbage, and a truncated copy of valid data: the same.
    let good = ResumeData {
        info_hash: fx.meta.info_hash,
        have: torrix_proto::Bitfield::full(total),
        files: stamps,
    }
    .to_bytes();
    for junk in [&b"\x00\xffnot bencode at all"[..], &good[..good.len() - 3]] {
        fs::write(&resume, junk).unwrap();
        let mut run = Run::start(&fx, EngineConfig::default()).await;
        assert_eq!(run.checked().await, total - 1);
        run.stop().await;
        // Replaced by a valid file recording what the check found.
        assert_eq!(saved(&resume).have.count(), total - 1);
    }
}

#[actix_rt::test]
async fn resume_dir_setting_moves_the_file() {
    let fx = Fixture::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        resume_dir: Some(elsewhere.path().join("state")),
        ..EngineConfig::default()
    };
    let mut run = Run::start(&fx, config()).await;
    run.checked().await;
    run.complete().await;
    run.stop().await;
    let path = resume_path(
        Some(&elsewhere.path().join("state")),
        fx.download_dir(),
        &fx.meta.info_hash,
    );
    assert!(saved(&path).have.is_full());
    assert!(!fx.resume_file().exists());
    assert!(!fx.download_dir().join(".torrix").exists());

    // And it is the one read back: a change with the mtime kept goes unseen.
    fx.corrupt(2, 10, true);
    let mut run = Run::start(&fx, config()).await;
    assert_eq!(run.checked().await, fx.layout.piece_count());
    run.stop().await;
}

/// A tmpfs mounted for a test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (this test needs root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A full disk stops the torrent; with the resume directory elsewhere, the
/// pieces verified until then are saved, and every one of them really is on
/// disk.
#[actix_rt::test]
async fn full_disk_saves_exactly_what_is_on_disk() {
    let fx = Fixture::new();
    let total = fx.layout.piece_count();
    // A seeding engine serves the fixture's complete data.
    let mut seed = Run::start(&fx, EngineConfig::default()).await;
    assert_eq!(seed.checked().await, total);
    let seed_addr = seed.engine.send(torrix::GetListenAddr).await.unwrap();

    let small = tempfile::tempdir().unwrap();
    let _fs = Tmpfs::mount(small.path(), "256k");
    let state = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        resume_dir: Some(state.path().to_owned()),
        ..EngineConfig::default()
    };
    let mut run = Run::start_in(&fx, small.path(), config, vec![seed_addr]).await;
    let id = run.id;
    let error = run
        .expect("TorrentError", |a| match a {
            Alert::TorrentError { id: i, error } if *i == id => Some(error.clone()),
            _ => None,
        })
        .await;
    assert!(error.contains("no space left on device"), "{error}");
    assert!(error.contains("resume data saved"), "{error}");
    let stats = run
        .engine
        .send(torrix::GetStats(id))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(stats.state, torrix::TorrentState::Error(_)));
    run.stop().await;
    seed.stop().await;

    let data = saved(&resume_path(
        Some(state.path()),
        small.path(),
        &fx.meta.info_hash,
    ));
    assert!(
        data.have.count() > 0 && data.have.count() < total,
        "{:?}",
        data.have
    );
    assert!(data.have.count() >= stats.pieces_have);
    // Every piece the resume data claims is on disk, intact.
    let mut on_disk = Vec::new();
    for &(name, len) in FILES {
        let mut bytes = fs::read(small.path().join("t").join(name)).unwrap_or_default();
        bytes.resize(len as usize, 0);
        on_disk.extend_from_slice(&bytes);
    }
    for piece in data.have.ones() {
        let start = fx.layout.piece_offset(piece) as usize;
        let end = start + fx.layout.piece_len(piece) as usize;
        assert!(
            on_disk[start..end] == fx.payload[start..end],
            "piece {piece} is in the resume data but not on disk"
        );
    }
}
