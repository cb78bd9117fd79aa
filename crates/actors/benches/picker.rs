//! Cost of choosing pieces in a large torrent (100,000 pieces, 20 peers that
//! have everything): one `pick` of 4 pieces at several points of the download,
//! and a whole download's worth of picks.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use torrix::torrent::Picker;
use torrix_proto::Bitfield;

const PIECES: u32 = 100_000;
const PEERS: u64 = 20;

/// A picker with `PEERS` seeds connected and the first `done` pieces verified.
fn picker_at(done: u32) -> Picker {
    let mut have = Bitfield::new(PIECES);
    for p in 0..done {
        have.set(p);
    }
    let mut picker = Picker::new(have);
    let all = Bitfield::full(PIECES);
    for _ in 0..PEERS {
        picker.peer_bitfield(&Bitfield::new(PIECES), &all);
    }
    picker
}

fn pick(c: &mut Criterion) {
    let all = Bitfield::full(PIECES);
    let mut group = c.benchmark_group("picker");
    for done in [0, PIECES / 2, PIECES - 100] {
        group.bench_function(format!("pick 4 of 100k pieces, {done} done"), |b| {
            b.iter_batched_ref(
                || picker_at(done),
                |picker| black_box(picker.pick(1, &all, 4, 0)),
                BatchSize::LargeInput,
            )
        });
    }
    group.bench_function("a seed's bitfield arrives, 100k pieces", |b| {
        b.iter_batched_ref(
            || picker_at(0),
            |picker| picker.peer_bitfield(&Bitfield::new(PIECES), &all),
            BatchSize::LargeInput,
        )
    });
    group.sample_size(10);
    group.bench_function("whole download of 100k pieces, 4 at a time", |b| {
        b.iter_batched_ref(
            || picker_at(0),
            |picker| {
                let mut key = 0;
                loop {
                    key = (key + 1) % PEERS;
                    let got = picker.pick(key, &all, 4, 0);
                    if got.is_empty() {
                        break;
                    }
                    for a in got {
                        picker.piece_verified(a.piece);
                    }
                }
                assert!(picker.is_complete());
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, pick);
criterion_main!(benches);
