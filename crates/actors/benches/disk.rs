//! Throughput of the Disk hot paths on 1 MiB pieces (64 blocks of 16 KiB) split
//! over two files: verifying a piece's blocks, writing it with `pwritev`
//! through the page cache and with `O_DIRECT`, rehashing it from disk (page
//! cache) and reading it back.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use sha1::{Digest, Sha1};
use torrix::disk::Storage;
use torrix_proto::layout::{Layout, BLOCK_LEN};

const PIECE: u32 = 1 << 20;
const PIECES: u32 = 32;

fn disk(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let total = u64::from(PIECE) * u64::from(PIECES);
    // The file boundary falls inside a piece and inside a block.
    let first = total / 2 + 1234;
    let layout = Layout::new(PIECE, [first, total - first]);
    let storage = Storage::new(
        layout,
        dir.path().to_path_buf(),
        vec!["a".into(), "b".into()],
    )
    .unwrap();
    let mut data = vec![0u8; PIECE as usize];
    StdRng::seed_from_u64(1).fill_bytes(&mut data);
    let data = Bytes::from(data);
    let blocks: Vec<Bytes> = (0..PIECE)
        .step_by(BLOCK_LEN as usize)
        .map(|o| data.slice(o as usize..(o + BLOCK_LEN) as usize))
        .collect();
    for p in 0..PIECES {
        storage.write_piece(p, &blocks).unwrap();
    }

    let mut g = c.benchmark_group("disk");
    g.throughput(Throughput::Bytes(u64::from(PIECE)));
    g.sample_size(20);
    g.bench_function("sha1_blocks", |b| {
        b.iter(|| {
            let mut h = Sha1::new();
            for block in &blocks {
                h.update(block);
            }
            black_box(h.finalize())
        })
    });
    let mut p = 0;
    g.bench_function("write_piece", |b| {
        b.iter(|| {
            p = (p + 1) % PIECES;
            storage.write_piece(p, &blocks).unwrap()
        })
    });
    // The same writes with O_DIRECT (the engine's default): each one reaches
    // the device before it returns, so this is the device's speed, bought with
    // far less CPU than the page-cache copy.
    let direct = Storage::new(
        Layout::new(PIECE, [first, total - first]),
        dir.path().join("direct"),
        vec!["a".into(), "b".into()],
    )
    .unwrap()
    .with_direct_writes(true);
    g.bench_function("write_piece_direct", |b| {
        b.iter(|| {
            p = (p + 1) % PIECES;
            direct.write_piece(p, &blocks).unwrap()
        })
    });
    g.bench_function("hash_piece", |b| {
        b.iter(|| {
            p = (p + 1) % PIECES;
            black_box(storage.hash_piece(p).unwrap())
        })
    });
    g.bench_function("read_piece", |b| {
        b.iter(|| {
            p = (p + 1) % PIECES;
            black_box(storage.read_piece(p).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, disk);
criterion_main!(benches);
