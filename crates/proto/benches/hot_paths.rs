//! Criterion benches of the per-byte hot paths: decoding a stream of 16 KiB
//! `piece` messages, encoding requests, and SHA-1 over a 256 KiB piece.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha1::{Digest, Sha1};
use torrix_proto::wire::{encode, Decoder, Message};
use torrix_proto::BlockRef;

fn piece_stream(blocks: usize) -> BytesMut {
    let data = Bytes::from(vec![7u8; 16384]);
    let mut wire = BytesMut::with_capacity(blocks * (16384 + 13));
    for i in 0..blocks {
        let msg = Message::Piece {
            piece: (i / 16) as u32,
            offset: (i % 16) as u32 * 16384,
            data: data.clone(),
        };
        encode(&msg, &mut wire);
    }
    wire
}

fn decode(c: &mut Criterion) {
    let blocks = 256;
    let wire = piece_stream(blocks).freeze();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("256 piece messages (4 MiB)", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&wire[..]);
            let mut decoder = Decoder::default();
            let mut n = 0;
            while let Some(msg) = decoder.decode(&mut buf).expect("valid stream") {
                if let Message::Piece { data, .. } = msg {
                    n += data.len();
                }
            }
            assert_eq!(n, blocks * 16384);
        })
    });
    group.finish();
}

fn encode_requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000 requests", |b| {
        let mut buf = BytesMut::with_capacity(17 * 1000);
        b.iter(|| {
            buf.clear();
            for i in 0..1000u32 {
                encode(
                    &Message::Request(BlockRef {
                        piece: i / 16,
                        offset: (i % 16) * 16384,
                        len: 16384,
                    }),
                    &mut buf,
                );
            }
        })
    });
    group.finish();
}

fn hash(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha1");
    for size in [16 * 1024usize, 256 * 1024, 4 << 20] {
        let data = vec![3u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| {
            b.iter(|| Sha1::digest(data))
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode_requests, hash);
criterion_main!(benches);
