//! Torrent creation: rebuilding real tools' torrents bit for bit, and errors.

use std::path::Path;

use torrix_proto::create::{CreateError, PieceHasher, TorrentBuilder};
use torrix_proto::metainfo::PathProblem;
use torrix_proto::{Metainfo, MetainfoError};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A builder describing the same info dictionary as `meta`.
fn rebuild(meta: &Metainfo) -> TorrentBuilder {
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
    builder.private(meta.private).announce_tiers(meta.tiers())
}

#[test]
fn rebuilding_tool_torrents_gives_the_same_info_hash() {
    // These info dictionaries are canonical, so the same content must encode
    // to the same bytes and hash libtorrent reported (see expected.txt).
    for (name, hash) in [
        (
            "mktorrent_single.torrent",
            "c3233fa31d7e9094a2c65c1c057e82117b13733a",
        ),
        (
            "mktorrent_multi.torrent",
            "f2574941dc2a2f367ff73ce4d8240c9525cb5214",
        ),
        (
            "libtorrent_v1_single.torrent",
            "292387a88f4756c69412dedfc81653e9d1c7338f",
        ),
        (
            "libtorrent_v1_multi.torrent",
            "d19d019f0183ef8a54c57ef8c468979d386b964a",
        ),
    ] {
        let original = Metainfo::from_bytes(&fixture(name)).unwrap();
        let bytes = rebuild(&original).build().unwrap();
        let rebuilt = Metainfo::from_bytes(&bytes).unwrap();
        assert_eq!(rebuilt.info_hash.to_hex(), hash, "{name}");
        assert_eq!(rebuilt.tiers(), original.tiers(), "{name}");
    }
}

#[test]
fn output_is_reproducible_and_dateless_by_default() {
    let hashes = vec![[3; 20]; 2];
    let build = || {
        TorrentBuilder::multi_file(
            "album",
            vec![(vec!["a".into()], 10), (vec!["b".into(), "c".into()], 20)],
            16,
            hashes.clone(),
        )
        .created_by("torrix test")
        .build()
        .unwrap()
    };
    let first = build();
    assert_eq!(first, build());
    assert!(!first.windows(13).any(|w| w == b"creation date"));
    let meta = Metainfo::from_bytes(&first).unwrap();
    assert_eq!(meta.creation_date, None);
    assert_eq!(meta.created_by.as_deref(), Some("torrix test"));
    assert_eq!(meta.tiers(), Vec::<Vec<String>>::new());
}

#[test]
fn announce_list_only_when_more_than_one_url() {
    let one = TorrentBuilder::single_file("f", 1, 16, vec![[0; 20]])
        .announce_tiers(vec![
            vec!["".into()],
            vec!["http://t.example/a".into()],
            vec![],
        ])
        .build()
        .unwrap();
    let meta = Metainfo::from_bytes(&one).unwrap();
    assert_eq!(meta.announce.as_deref(), Some("http://t.example/a"));
    assert!(meta.announce_list.is_empty());

    let tiers = vec![
        vec![
            "http://a.example/a".to_owned(),
            "http://b.example/a".to_owned(),
        ],
        vec!["udp://c.example:6969".to_owned()],
    ];
    let two = TorrentBuilder::single_file("f", 1, 16, vec![[0; 20]])
        .announce_tiers(tiers.clone())
        .build()
        .unwrap();
    let meta = Metainfo::from_bytes(&two).unwrap();
    assert_eq!(meta.announce.as_deref(), Some("http://a.example/a"));
    assert_eq!(meta.announce_list, tiers);
}

#[test]
fn hashes_from_piece_hasher_are_accepted() {
    let files: Vec<(Vec<String>, Vec<u8>)> = vec![
        (vec!["a.txt".into()], vec![1; 3000]),
        (vec!["empty".into()], vec![]),
        (vec!["sub".into(), "b.bin".into()], vec![2; 70_000]),
    ];
    let piece_length = 16 * 1024;
    let mut hasher = PieceHasher::new(piece_length).unwrap();
    files.iter().for_each(|(_, data)| hasher.update(data));
    let pieces = hasher.finish();
    assert_eq!(pieces.len(), 73_000usize.div_ceil(16 * 1024));
    let spec = files.iter().map(|(p, d)| (p.clone(), d.len() as u64));
    let bytes = TorrentBuilder::multi_file("root", spec, piece_length, pieces.clone())
        .build()
        .unwrap();
    assert_eq!(Metainfo::from_bytes(&bytes).unwrap().pieces, pieces);
}

#[test]
fn invalid_torrents_are_refused() {
    let err = TorrentBuilder::single_file("../escape", 1, 16, vec![[0; 20]])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        CreateError::Invalid(MetainfoError::InvalidName {
            name: "../escape".into(),
            problem: PathProblem::Separator
        })
    );
    let err = TorrentBuilder::single_file("f", 100, 16, vec![[0; 20]])
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        CreateError::Invalid(MetainfoError::PieceCountMismatch {
            actual: 1,
            expected: 7,
            ..
        })
    ));
    let err = TorrentBuilder::multi_file(
        "d",
        vec![(vec!["x".into()], 1), (vec!["x".into()], 1)],
        16,
        vec![[0; 20]],
    )
    .build()
    .unwrap_err();
    assert_eq!(
        err,
        CreateError::Invalid(MetainfoError::DuplicatePath("x".into()))
    );
    let err = TorrentBuilder::single_file("f", 1, 0, vec![])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        CreateError::Invalid(MetainfoError::InvalidPieceLength(0))
    );
    let err = TorrentBuilder::single_file("f", u64::MAX, 1 << 20, vec![])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        CreateError::LengthTooLarge {
            index: 0,
            length: u64::MAX
        }
    );
    let err = TorrentBuilder::multi_file("d", Vec::new(), 16, vec![])
        .build()
        .unwrap_err();
    assert_eq!(err, CreateError::Invalid(MetainfoError::NoFiles));
}
