//! Fuzzes `.torrent` parsing: no input may panic, and whatever parses must be
//! internally consistent and survive a rebuild with the same info-hash rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torrix_proto::bencode;
use torrix_proto::{Metainfo, TorrentBuilder};

fuzz_target!(|data: &[u8]| {
    // The scanner alone must never panic either.
    let _ = bencode::validate(data);
    let _ = bencode::find_dict_value(data, b"info");

    let Ok(meta) = Metainfo::from_bytes(data) else {
        return;
    };
    let mut offset = 0u64;
    for file in &meta.files {
        assert_eq!(file.offset, offset);
        offset += file.length;
    }
    assert_eq!(offset, meta.total_length);
    assert_eq!(
        meta.pieces.len() as u64,
        meta.total_length.div_ceil(u64::from(meta.piece_length))
    );

    // Whatever we accept, we can write back, and read again identically.
    let builder = if meta.single_file {
        TorrentBuilder::single_file(
            &meta.name,
            meta.total_length,
            meta.piece_length,
            meta.pieces.clone(),
        )
    } else {
        let files = meta.files.iter().map(|f| (f.path.clone(), f.length));
        TorrentBuilder::multi_file(&meta.name, files, meta.piece_length, meta.pieces.clone())
    };
    // Pad files may legitimately repeat a path; a rebuild drops their `attr`,
    // so the builder would (rightly) refuse them as duplicates.
    let has_pad_like = meta
        .files
        .iter()
        .any(|f| f.path.first().is_some_and(|c| c == ".pad"));
    match builder
        .private(meta.private)
        .announce_tiers(meta.tiers())
        .build()
    {
        Ok(bytes) => {
            let again = Metainfo::from_bytes(&bytes).expect("builder output parses");
            assert_eq!(again.files, meta.files);
            assert_eq!(again.pieces, meta.pieces);
            assert_eq!(again.name, meta.name);
            assert_eq!(again.tiers(), meta.tiers());
        }
        Err(e) => assert!(has_pad_like, "rebuild failed: {e}"),
    }
});
