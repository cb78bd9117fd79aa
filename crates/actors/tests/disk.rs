//! Disk actor and Storage against real files in temporary directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use sha1::{Digest, Sha1};
use tempfile::TempDir;
use torrix::disk::{
    check_all, CheckPieces, Disk, DiskError, DiskPool, Flush, Forget, GetCacheStats, PieceWrite,
    ReadBlock, ReadPiece, Storage, WritePiece,
};
use torrix_proto::layout::{Layout, BLOCK_LEN};
use torrix_proto::metainfo::{FileEntry, InfoHash};
use torrix_proto::Metainfo;

const PIECE_LEN: u32 = 32 * 1024;

/// Files of the test torrent: nested directories, a zero-length file, a name
/// with a space, files smaller than a block; piece 1 spans five files and the
/// last piece is short.
const FILES: &[(&str, u64)] = &[
    ("a.bin", 40_000),
    ("sub/dir/small one.txt", 100),
    ("sub/empty", 0),
    ("sub/dir/tiny", 7),
    ("b/c/d.dat", 5_000),
    ("z", 70_001),
];

struct Fixture {
    dir: TempDir,
    root: PathBuf,
    payload: Vec<u8>,
    hashes: Arc<Vec<[u8; 20]>>,
    storage: Arc<Storage>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("My Torrent");
        let layout = Layout::new(PIECE_LEN, FILES.iter().map(|&(_, len)| len));
        let mut payload = vec![0u8; layout.total_length() as usize];
        StdRng::seed_from_u64(7).fill_bytes(&mut payload);
        let hashes = (0..layout.piece_count())
            .map(|p| sha1(piece_data(&layout, &payload, p)))
            .collect();
        let storage = Arc::new(storage_at(&root));
        Fixture {
            dir,
            root,
            payload,
            hashes: Arc::new(hashes),
            storage,
        }
    }

    fn layout(&self) -> &Layout {
        self.storage.layout()
    }

    /// A second, independent `Storage` over the same files, as after a restart
    /// (no handles opened yet).
    fn reopen(&self) -> Arc<Storage> {
        Arc::new(storage_at(&self.root))
    }

    fn blocks(&self, piece: u32) -> Vec<Bytes> {
        let data = piece_data(self.layout(), &self.payload, piece);
        data.chunks(BLOCK_LEN as usize)
            .map(Bytes::copy_from_slice)
            .collect()
    }

    fn write_msg(&self, piece: u32) -> WritePiece {
        WritePiece {
            storage: Arc::clone(&self.storage),
            piece,
            expected: self.hashes[piece as usize],
            blocks: self.blocks(piece),
        }
    }

    fn write_all_direct(&self) {
        for piece in 0..self.layout().piece_count() {
            self.storage
                .write_piece(piece, &self.blocks(piece))
                .unwrap();
        }
    }

    /// The payload bytes of file `index`.
    fn file_bytes(&self, index: usize) -> &[u8] {
        let start: u64 = FILES[..index].iter().map(|&(_, len)| len).sum();
        &self.payload[start as usize..(start + FILES[index].1) as usize]
    }

    fn path(&self, index: usize) -> PathBuf {
        self.root.join(FILES[index].0)
    }

    async fn check(&self, disk: &DiskPool, storage: Arc<Storage>) -> Vec<bool> {
        let count = self.layout().piece_count();
        let results = disk
            .send(CheckPieces {
                storage,
                pieces: 0..count,
                expected: Arc::clone(&self.hashes),
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            results.iter().map(|&(p, _)| p).collect::<Vec<_>>(),
            (0..count).collect::<Vec<_>>()
        );
        results.into_iter().map(|(_, ok)| ok).collect()
    }
}

fn storage_at(root: &Path) -> Storage {
    let layout = Layout::new(PIECE_LEN, FILES.iter().map(|&(_, len)| len));
    let paths = FILES.iter().map(|&(p, _)| PathBuf::from(p)).collect();
    // Direct writes on, as the engine has them: 32 KiB pieces are aligned but
    // most file boundaries are not, so both ways of writing are exercised.
    Storage::new(layout, root.to_path_buf(), paths)
        .unwrap()
        .with_direct_writes(true)
}

fn piece_data<'a>(layout: &Layout, payload: &'a [u8], piece: u32) -> &'a [u8] {
    let start = layout.piece_offset(piece) as usize;
    &payload[start..start + layout.piece_len(piece) as usize]
}

fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

#[test]
fn layout_of_fixture_covers_the_interesting_cases() {
    let f = Fixture::new();
    let layout = f.layout();
    assert_eq!(layout.piece_count(), 4);
    assert!(layout.piece_len(3) < PIECE_LEN);
    assert!(layout.piece_spans(1).count() >= 3);
}

#[actix_rt::test]
async fn writes_all_pieces_in_random_order_and_files_match() {
    let f = Fixture::new();
    let disk = Disk::start(2, 1 << 20);
    let mut order: Vec<u32> = (0..f.layout().piece_count()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(42));
    // All in flight at once so both workers write concurrently.
    let replies =
        futures_util::future::join_all(order.iter().map(|&p| disk.send(f.write_msg(p)))).await;
    for reply in replies {
        assert_eq!(reply.unwrap().unwrap(), PieceWrite::Verified);
    }
    f.storage.create_empty_files().unwrap();
    disk.send(Flush {
        storage: Arc::clone(&f.storage),
    })
    .await
    .unwrap()
    .unwrap();

    for (index, &(name, len)) in FILES.iter().enumerate() {
        let on_disk = fs::read(f.path(index)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(on_disk.len() as u64, len, "{name}");
        assert!(on_disk == f.file_bytes(index), "{name} differs");
    }
    assert!(f.dir.path().join("My Torrent/sub/empty").is_file());

    // Every piece hashes correctly from disk, through a fresh storage too.
    for p in 0..f.layout().piece_count() {
        assert_eq!(f.storage.hash_piece(p).unwrap(), Some(f.hashes[p as usize]));
    }
    let mut reports = Vec::new();
    let have = check_all(&disk, f.reopen(), Arc::clone(&f.hashes), 2, |n| {
        reports.push(n)
    })
    .await
    .unwrap();
    assert!(have.is_full());
    assert_eq!(reports.last(), Some(&f.layout().piece_count()));

    let meta = f.storage.file_metadata();
    assert_eq!(meta.len(), FILES.len());
    for (m, &(name, len)) in meta.iter().zip(FILES) {
        assert_eq!(m.map(|(l, _)| l), Some(len), "{name}");
    }
}

#[test]
fn write_piece_accepts_irregular_blocks_and_reads_cross_file_ranges() {
    let f = Fixture::new();
    // Piece 1 spans five files; cut it at odd places, with an empty block.
    let data = piece_data(f.layout(), &f.payload, 1);
    let cuts = [0, 1, 7_000, 7_000, 7_300, 20_000, data.len()];
    let blocks: Vec<Bytes> = cuts
        .windows(2)
        .map(|w| Bytes::copy_from_slice(&data[w[0]..w[1]]))
        .collect();
    f.storage.write_piece(1, &blocks).unwrap();
    assert_eq!(f.storage.hash_piece(1).unwrap(), Some(f.hashes[1]));
    assert_eq!(&f.storage.read_piece(1).unwrap()[..], data);
    // 7_200..7_400 of piece 1 crosses a.bin / small one.txt / tiny / d.dat.
    assert_eq!(
        &f.storage.read(1, 7_200, 200).unwrap()[..],
        &data[7_200..7_400]
    );
    // Piece 0 is now a hole at the start of a.bin: it reads as zeros and
    // fails its hash. Piece 2 lies past the end of z as written so far.
    assert_eq!(&f.storage.read(0, 0, 10).unwrap()[..], [0; 10]);
    assert_ne!(f.storage.hash_piece(0).unwrap(), Some(f.hashes[0]));
    assert_eq!(f.storage.hash_piece(2).unwrap(), None);
    assert!(matches!(
        f.storage.read(2, 0, 10),
        Err(DiskError::Missing { path }) if path == f.path(5)
    ));
    assert!(matches!(
        f.storage.read(1, 32_000, 769),
        Err(DiskError::BadRange { .. })
    ));
    assert!(matches!(
        f.storage.read(4, 0, 1),
        Err(DiskError::BadPiece { piece: 4, .. })
    ));
}

#[actix_rt::test]
async fn hash_mismatch_writes_nothing() {
    let f = Fixture::new();
    let disk = Disk::start(1, 0);
    let mut msg = f.write_msg(1);
    let mut bad = msg.blocks[1].to_vec();
    bad[100] ^= 1;
    msg.blocks[1] = bad.into();
    assert_eq!(
        disk.send(msg).await.unwrap().unwrap(),
        PieceWrite::HashMismatch
    );
    assert!(!f.root.exists(), "nothing may be created for a bad piece");

    // Once piece 0 is written, a bad copy of it leaves the file unchanged.
    assert_eq!(
        disk.send(f.write_msg(0)).await.unwrap().unwrap(),
        PieceWrite::Verified
    );
    let before = fs::read(f.path(0)).unwrap();
    let mut msg = f.write_msg(0);
    msg.blocks[0] = Bytes::from(vec![0u8; BLOCK_LEN as usize]);
    assert_eq!(
        disk.send(msg).await.unwrap().unwrap(),
        PieceWrite::HashMismatch
    );
    assert_eq!(fs::read(f.path(0)).unwrap(), before);
}

#[actix_rt::test]
async fn wrong_length_or_piece_is_an_error_not_a_mismatch() {
    let f = Fixture::new();
    let disk = Disk::start(1, 0);
    let mut msg = f.write_msg(3);
    msg.blocks.pop();
    let err = disk.send(msg).await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            DiskError::BadLength {
                piece: 3,
                expected: 16_804,
                got: 16_384
            }
        ),
        "{err}"
    );
    let mut msg = f.write_msg(0);
    msg.piece = 4;
    assert!(matches!(
        disk.send(msg).await.unwrap(),
        Err(DiskError::BadPiece {
            piece: 4,
            piece_count: 4
        })
    ));
    assert!(!f.root.exists());
}

#[actix_rt::test]
async fn read_block_is_served_from_a_bounded_piece_cache() {
    let f = Fixture::new();
    f.write_all_direct();
    // Room for two full pieces, not three.
    let budget = 2 * PIECE_LEN as usize + 1_000;
    let disk = Disk::start(2, budget);
    let read = |piece: u32, offset: u32, len: u32| {
        disk.send(ReadBlock {
            storage: Arc::clone(&f.storage),
            piece,
            offset,
            len,
        })
    };

    let block = read(1, BLOCK_LEN, BLOCK_LEN).await.unwrap().unwrap();
    let piece1 = piece_data(f.layout(), &f.payload, 1);
    assert_eq!(&block[..], &piece1[BLOCK_LEN as usize..]);
    let stats = disk.send(GetCacheStats).await.unwrap();
    assert_eq!((stats.hits, stats.misses, stats.entries), (0, 1, 1));

    let block = read(1, 0, 100).await.unwrap().unwrap();
    assert_eq!(&block[..], &piece1[..100]);
    let stats = disk.send(GetCacheStats).await.unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));

    // The short last piece's last block.
    let last = read(3, BLOCK_LEN, 420).await.unwrap().unwrap();
    assert_eq!(&last[..], &f.payload[f.payload.len() - 420..]);

    for piece in 0..f.layout().piece_count() {
        let data = disk
            .send(ReadPiece {
                storage: Arc::clone(&f.storage),
                piece,
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&data[..], piece_data(f.layout(), &f.payload, piece));
        let stats = disk.send(GetCacheStats).await.unwrap();
        assert!(stats.bytes <= budget, "{stats:?}");
    }
    let stats = disk.send(GetCacheStats).await.unwrap();
    assert_eq!(stats.entries, 2, "{stats:?}");

    assert!(matches!(
        read(3, BLOCK_LEN, 421).await.unwrap(),
        Err(DiskError::BadRange { .. })
    ));
    assert!(matches!(
        read(0, 0, BLOCK_LEN + 1).await.unwrap(),
        Err(DiskError::BadRange { .. })
    ));
    assert!(matches!(
        read(0, 0, 0).await.unwrap(),
        Err(DiskError::BadRange { .. })
    ));
    assert!(matches!(
        read(9, 0, 1).await.unwrap(),
        Err(DiskError::BadPiece { piece: 9, .. })
    ));

    disk.send(Forget {
        storage_id: f.storage.id(),
    })
    .await
    .unwrap();
    let stats = disk.send(GetCacheStats).await.unwrap();
    assert_eq!((stats.entries, stats.bytes), (0, 0));
}

#[actix_rt::test]
async fn read_block_of_missing_data_names_the_file() {
    let f = Fixture::new();
    let disk = Disk::start(1, 1 << 20);
    let err = disk
        .send(ReadBlock {
            storage: Arc::clone(&f.storage),
            piece: 0,
            offset: 0,
            len: BLOCK_LEN,
        })
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(&err, DiskError::Missing { path } if *path == f.path(0)));
    assert!(err.to_string().contains("a.bin"), "{err}");
    assert_eq!(disk.send(GetCacheStats).await.unwrap().entries, 0);
}

#[actix_rt::test]
async fn check_pieces_finds_missing_truncated_and_corrupt_data() {
    let f = Fixture::new();
    let disk = Disk::start(2, 0);
    assert_eq!(f.check(&disk, f.reopen()).await, [false; 4]);
    f.write_all_direct();
    f.storage.sync_all().unwrap();
    assert_eq!(f.check(&disk, f.reopen()).await, [true; 4]);

    // b/c/d.dat (40_107..45_107) lies in piece 1 only.
    let saved = fs::read(f.path(4)).unwrap();
    fs::remove_file(f.path(4)).unwrap();
    assert_eq!(f.check(&disk, f.reopen()).await, [true, false, true, true]);
    fs::write(f.path(4), &saved).unwrap();

    // z starts at 45_107 and is truncated to end at 70_000 (inside piece 2):
    // pieces 2 and 3 lose data.
    let z = fs::OpenOptions::new().write(true).open(f.path(5)).unwrap();
    z.set_len(70_000 - 45_107).unwrap();
    assert_eq!(f.check(&disk, f.reopen()).await, [true, true, false, false]);
    drop(z);
    fs::write(f.path(5), f.file_bytes(5)).unwrap();
    assert_eq!(f.check(&disk, f.reopen()).await, [true, true, true, true]);

    // One flipped byte at torrent offset 70_000 (piece 2).
    let mut z = fs::read(f.path(5)).unwrap();
    z[70_000 - 45_107] ^= 0x80;
    fs::write(f.path(5), &z).unwrap();
    assert_eq!(f.check(&disk, f.reopen()).await, [true, true, false, true]);

    let have = check_all(&disk, f.reopen(), Arc::clone(&f.hashes), 2, |_| {})
        .await
        .unwrap();
    assert_eq!(have.ones().collect::<Vec<_>>(), [0, 1, 3]);

    // Too few expected hashes is an error, not a silent "false".
    let err = disk
        .send(CheckPieces {
            storage: f.reopen(),
            pieces: 0..4,
            expected: Arc::new(f.hashes[..3].to_vec()),
        })
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, DiskError::BadPiece { piece: 3, .. }), "{err}");
}

#[test]
fn unsafe_paths_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let unsafe_paths = ["../escape", "/etc/passwd", "", "a/../../b", "a/./../b", "."];
    for bad in unsafe_paths {
        let layout = Layout::new(16, [10, 10]);
        let paths = vec![PathBuf::from("ok"), PathBuf::from(bad)];
        let err = Storage::new(layout, dir.path().to_path_buf(), paths).unwrap_err();
        assert!(
            matches!(err, DiskError::UnsafePath { .. }),
            "{bad:?}: {err}"
        );
    }
    let err = Storage::new(
        Layout::new(16, [10, 10]),
        dir.path().to_path_buf(),
        vec![PathBuf::from("one")],
    )
    .unwrap_err();
    assert!(matches!(err, DiskError::FileCount { files: 2, paths: 1 }));

    for (name, path) in [
        ("..", vec!["a"]),
        ("/abs", vec!["a"]),
        ("t", vec!["x", ".."]),
        ("t", vec!["/etc", "passwd"]),
        ("t", vec!["a/../../b"]),
        ("t", vec![]),
    ] {
        let meta = metainfo(name, vec![(path.clone(), 10)], false);
        let err = Storage::from_metainfo(&meta, dir.path()).unwrap_err();
        assert!(
            matches!(err, DiskError::UnsafePath { .. }),
            "{name:?} {path:?}: {err}"
        );
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn files_that_would_share_a_path_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for (files, clash) in [
        (vec!["a/b", "c", "a/b"], "a/b"),
        (vec!["a", "a/b"], "a"),
        (vec!["x/y/z", "x/y"], "x/y"),
    ] {
        let components = files.iter().map(|f| (f.split('/').collect(), 10)).collect();
        let meta = metainfo("t", components, false);
        match Storage::from_metainfo(&meta, dir.path()) {
            Err(DiskError::ConflictingPaths { path }) => {
                assert_eq!(path, Path::new(clash), "{files:?}")
            }
            other => panic!("{files:?}: {other:?}"),
        }
    }
    // Distinct names that merely share a prefix are fine.
    let meta = metainfo("t", vec![(vec!["ab"], 10), (vec!["a"], 10)], false);
    Storage::from_metainfo(&meta, dir.path()).unwrap();
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn from_metainfo_places_files_under_the_download_dir() {
    let dir = tempfile::tempdir().unwrap();
    let single = metainfo("movie.mkv", vec![(vec!["movie.mkv"], 10)], true);
    let s = Storage::from_metainfo(&single, dir.path()).unwrap();
    assert_eq!(s.paths(), [dir.path().join("movie.mkv")]);

    let multi = metainfo(
        "album",
        vec![(vec!["cd 1", "01.flac"], 10), (vec!["cover.jpg"], 5)],
        false,
    );
    let s = Storage::from_metainfo(&multi, dir.path()).unwrap();
    assert_eq!(
        s.paths(),
        [
            dir.path().join("album/cd 1/01.flac"),
            dir.path().join("album/cover.jpg")
        ]
    );
    assert_eq!(s.layout().total_length(), 15);
    assert_ne!(
        s.id(),
        Storage::from_metainfo(&multi, dir.path()).unwrap().id()
    );
}

fn metainfo(name: &str, files: Vec<(Vec<&str>, u64)>, single_file: bool) -> Metainfo {
    let mut offset = 0;
    let files: Vec<FileEntry> = files
        .into_iter()
        .map(|(path, length)| {
            let entry = FileEntry {
                path: path.into_iter().map(String::from).collect(),
                length,
                offset,
            };
            offset += length;
            entry
        })
        .collect();
    Metainfo {
        info_hash: InfoHash([0; 20]),
        name: name.into(),
        piece_length: 16,
        pieces: vec![[0; 20]; offset.div_ceil(16) as usize],
        files,
        single_file,
        private: false,
        announce: None,
        announce_list: Vec::new(),
        url_list: Vec::new(),
        comment: None,
        created_by: None,
        creation_date: None,
        total_length: offset,
    }
}

/// A file system mounted on a temporary directory for the lifetime of the guard.
struct Mounted {
    dir: TempDir,
}

impl Mounted {
    /// A tmpfs of `size` bytes (a `mount -o size=` value).
    fn tmpfs(size: &str) -> Self {
        Mounted::new(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
    }

    /// A ramfs: a file system that refuses `O_DIRECT`.
    fn ramfs() -> Self {
        Mounted::new(&["-t", "ramfs", "ramfs"])
    }

    fn new(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(args)
            .arg(dir.path())
            .output()
            .expect("running mount(8)");
        assert!(
            out.status.success(),
            "this test mounts a file system and needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Mounted { dir }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn full_device_is_reported_as_no_space_with_the_path() {
    for direct in [false, true] {
        full_device_is_reported(direct);
    }
}

fn full_device_is_reported(direct_writes: bool) {
    let fs = Mounted::tmpfs("512k");
    let piece_len = 256 * 1024;
    let layout = Layout::new(piece_len, [100, 1 << 20]);
    let storage = Storage::new(
        layout,
        fs.dir.path().join("t"),
        vec!["small".into(), "big file".into()],
    )
    .unwrap()
    .with_direct_writes(direct_writes);
    let block = Bytes::from(vec![0xa5; BLOCK_LEN as usize]);
    let blocks = vec![block; (piece_len / BLOCK_LEN) as usize];
    let err = (0..storage.layout().piece_count() - 1)
        .find_map(|p| storage.write_piece(p, &blocks).err())
        .expect("1 MiB cannot fit in a 512 KiB tmpfs");
    assert!(matches!(&err, DiskError::NoSpace { path } if path.ends_with("t/big file")));
    let msg = err.to_string();
    assert!(
        msg.starts_with("no space left on device while writing ") && msg.ends_with("t/big file"),
        "{msg}"
    );
}

#[test]
fn write_piece_with_more_blocks_than_iov_max() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(100_000, [30_000, 70_000]);
    let storage = Storage::new(
        layout,
        dir.path().to_path_buf(),
        vec!["x".into(), "y/z".into()],
    )
    .unwrap();
    let mut data = vec![0u8; 100_000];
    StdRng::seed_from_u64(3).fill_bytes(&mut data);
    // 2_500 blocks of 40 bytes: more than one pwritev call per file.
    let blocks: Vec<Bytes> = data.chunks(40).map(Bytes::copy_from_slice).collect();
    storage.write_piece(0, &blocks).unwrap();
    assert_eq!(fs::read(dir.path().join("x")).unwrap(), &data[..30_000]);
    assert_eq!(fs::read(dir.path().join("y/z")).unwrap(), &data[30_000..]);
    assert_eq!(storage.hash_piece(0).unwrap(), Some(sha1(&data)));
}

/// Writes all pieces of a torrent twice, with direct writes on and off, both
/// workers writing at once: the files are the same byte for byte, and the
/// counters show which bytes went around the page cache.
#[actix_rt::test]
async fn direct_and_buffered_writes_give_the_same_files() {
    // 64 KiB pieces over file boundaries that fall anywhere, and a second
    // torrent whose piece length is not a multiple of 4 KiB.
    let cases: [(u32, &[u64]); 2] = [
        (64 * 1024, &[100_000, 300_000, 5, 200_000]),
        (40_000, &[120_000, 1]),
    ];
    let disk = Disk::start(2, 0);
    for (piece_len, lengths) in cases {
        let layout = Layout::new(piece_len, lengths.iter().copied());
        let mut payload = vec![0u8; layout.total_length() as usize];
        StdRng::seed_from_u64(u64::from(piece_len)).fill_bytes(&mut payload);
        let names: Vec<PathBuf> = (0..lengths.len()).map(|i| format!("f{i}").into()).collect();
        for direct in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let storage = Arc::new(
                Storage::new(layout.clone(), dir.path().to_path_buf(), names.clone())
                    .unwrap()
                    .with_direct_writes(direct),
            );
            let writes = (0..layout.piece_count()).rev().map(|piece| {
                let data = piece_data(&layout, &payload, piece);
                disk.send(WritePiece {
                    storage: Arc::clone(&storage),
                    piece,
                    expected: sha1(data),
                    blocks: data
                        .chunks(BLOCK_LEN as usize)
                        .map(Bytes::copy_from_slice)
                        .collect(),
                })
            });
            for reply in futures_util::future::join_all(writes).await {
                assert_eq!(reply.unwrap().unwrap(), PieceWrite::Verified);
            }
            let mut start = 0usize;
            for (name, &len) in names.iter().zip(lengths) {
                let on_disk = fs::read(dir.path().join(name)).unwrap();
                let end = start + len as usize;
                assert!(
                    on_disk == payload[start..end],
                    "{name:?} differs, direct {direct}"
                );
                start = end;
            }
            let written = storage.written_bytes();
            assert_eq!(written.direct + written.buffered, layout.total_length());
            if direct {
                assert!(written.direct > written.buffered, "{written:?}");
                assert!(written.buffered > 0, "unaligned tails go buffered");
            } else {
                assert_eq!(written.direct, 0);
            }
        }
    }
}

/// Seeding from files we may not write: on a read-only mount every piece is
/// still read, hashed and served; a write fails with an error naming the file.
#[actix_rt::test]
async fn files_on_a_read_only_mount_are_read_and_hashed() {
    let fs = Mounted::tmpfs("1m");
    let layout = Layout::new(32 * 1024, [50_000, 0, 30_000]);
    let names: Vec<PathBuf> = vec!["a".into(), "empty".into(), "sub/b".into()];
    let mut payload = vec![0u8; layout.total_length() as usize];
    StdRng::seed_from_u64(11).fill_bytes(&mut payload);
    let hashes: Arc<Vec<[u8; 20]>> = Arc::new(
        (0..layout.piece_count())
            .map(|p| sha1(piece_data(&layout, &payload, p)))
            .collect(),
    );
    let root = fs.dir.path().join("t");
    {
        let writer = Storage::new(layout.clone(), root.clone(), names.clone()).unwrap();
        for piece in 0..layout.piece_count() {
            let data = Bytes::copy_from_slice(piece_data(&layout, &payload, piece));
            writer.write_piece(piece, &[data]).unwrap();
        }
        writer.create_empty_files().unwrap();
    }
    let out = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(fs.dir.path())
        .output()
        .expect("running mount(8)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let disk = Disk::start(2, 1 << 20);
    let storage = Arc::new(
        Storage::new(layout.clone(), root.clone(), names)
            .unwrap()
            .with_direct_writes(true),
    );
    let have = check_all(&disk, Arc::clone(&storage), hashes, 2, |_| {})
        .await
        .unwrap();
    assert!(
        have.is_full(),
        "every piece verifies from the read-only files"
    );
    // Completing a torrent creates its empty files; existing ones are left be.
    storage.create_empty_files().unwrap();
    let piece = disk
        .send(ReadPiece {
            storage: Arc::clone(&storage),
            piece: 1,
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&piece[..], piece_data(&layout, &payload, 1));

    let data = Bytes::copy_from_slice(piece_data(&layout, &payload, 0));
    match storage.write_piece(0, &[data]) {
        Err(DiskError::Io { path, source }) => {
            assert_eq!(path, root.join("a"));
            assert_eq!(source.raw_os_error(), Some(nix::libc::EROFS));
        }
        other => panic!("a write to a read-only mount: {other:?}"),
    }
}

/// On a file system that refuses `O_DIRECT` (ramfs), direct writes fall back to
/// the page cache for every byte and the files come out the same.
#[test]
fn a_file_system_without_o_direct_gets_buffered_writes() {
    let ramfs = Mounted::ramfs();
    let layout = Layout::new(64 * 1024, [200_000, 100_000]);
    let mut payload = vec![0u8; layout.total_length() as usize];
    StdRng::seed_from_u64(13).fill_bytes(&mut payload);
    let storage = Storage::new(
        layout.clone(),
        ramfs.dir.path().to_path_buf(),
        vec!["x".into(), "y".into()],
    )
    .unwrap()
    .with_direct_writes(true);
    for piece in 0..layout.piece_count() {
        let data = Bytes::copy_from_slice(piece_data(&layout, &payload, piece));
        storage.write_piece(piece, &[data]).unwrap();
    }
    assert_eq!(
        fs::read(ramfs.dir.path().join("x")).unwrap(),
        &payload[..200_000]
    );
    assert_eq!(
        fs::read(ramfs.dir.path().join("y")).unwrap(),
        &payload[200_000..]
    );
    let written = storage.written_bytes();
    assert_eq!(written.direct, 0, "{written:?}");
    assert_eq!(written.buffered, layout.total_length());
}
