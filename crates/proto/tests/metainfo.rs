//! Metainfo parsing: real torrents made by mktorrent and libtorrent (compared
//! with what those tools report), every validation error, and property tests.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use sha1::{Digest, Sha1};
use torrix_proto::bencode::BencodeError;
use torrix_proto::metainfo::PathProblem;
use torrix_proto::{Metainfo, MetainfoError, TorrentBuilder};

// ---------------------------------------------------------------------------
// Fixtures

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What libtorrent reported about one fixture (see `fixtures/generate.sh`).
#[derive(Debug, Default)]
struct Expected {
    torrent: String,
    info_hash: String,
    name: String,
    piece_length: u32,
    num_pieces: usize,
    total_size: u64,
    private: bool,
    comment: String,
    creator: String,
    creation_date: i64,
    /// (tier, url) in libtorrent's order.
    trackers: Vec<(usize, String)>,
    web_seeds: Vec<String>,
    /// (size, offset, is pad file, full path including the torrent name).
    files: Vec<(u64, u64, bool, String)>,
}

fn expected_fixtures() -> Vec<Expected> {
    let text = String::from_utf8(fixture("expected.txt")).unwrap();
    let mut all: Vec<Expected> = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            all.push(Expected {
                torrent: name.to_owned(),
                ..Expected::default()
            });
            continue;
        }
        let e = all.last_mut().expect("a [section] first");
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "info_hash_v1" => e.info_hash = value.into(),
            "name" => e.name = value.into(),
            "piece_length" => e.piece_length = value.parse().unwrap(),
            "num_pieces" => e.num_pieces = value.parse().unwrap(),
            "total_size" => e.total_size = value.parse().unwrap(),
            "private" => e.private = value == "1",
            "comment" => e.comment = value.into(),
            "creator" => e.creator = value.into(),
            "creation_date" => e.creation_date = value.parse().unwrap(),
            "tracker" => {
                let (tier, url) = value.split_once(' ').unwrap();
                e.trackers.push((tier.parse().unwrap(), url.into()));
            }
            "web_seed" => e.web_seeds.push(value.into()),
            "file" => {
                let mut it = value.splitn(4, ' ');
                let mut next = || it.next().unwrap();
                let (size, offset, pad, path) = (next(), next(), next(), next());
                e.files.push((
                    size.parse().unwrap(),
                    offset.parse().unwrap(),
                    pad == "1",
                    path.into(),
                ));
            }
            other => panic!("unknown key {other}"),
        }
    }
    assert_eq!(all.len(), 6, "all fixtures are described");
    all
}

#[test]
fn fixtures_match_what_libtorrent_reports() {
    for e in expected_fixtures() {
        let ctx = &e.torrent;
        let meta = Metainfo::from_bytes(&fixture(ctx)).unwrap_or_else(|err| panic!("{ctx}: {err}"));
        assert_eq!(meta.info_hash.to_hex(), e.info_hash, "{ctx}");
        assert_eq!(meta.name, e.name, "{ctx}");
        assert_eq!(meta.piece_length, e.piece_length, "{ctx}");
        assert_eq!(meta.pieces.len(), e.num_pieces, "{ctx}");
        assert_eq!(meta.piece_count() as usize, e.num_pieces, "{ctx}");
        assert_eq!(meta.total_length, e.total_size, "{ctx}");
        assert_eq!(meta.private, e.private, "{ctx}");
        // libtorrent reports absent text as "" and an absent date as 0.
        assert_eq!(meta.comment.clone().unwrap_or_default(), e.comment, "{ctx}");
        assert_eq!(
            meta.created_by.clone().unwrap_or_default(),
            e.creator,
            "{ctx}"
        );
        assert_eq!(meta.creation_date.unwrap_or(0), e.creation_date, "{ctx}");
        assert_eq!(meta.url_list, e.web_seeds, "{ctx}");

        // libtorrent may shuffle URLs within a tier, so compare tiers as sets.
        let ours: Vec<BTreeSet<String>> = meta
            .tiers()
            .into_iter()
            .map(|t| t.into_iter().collect())
            .collect();
        let tier_count = e.trackers.iter().map(|(t, _)| t + 1).max().unwrap_or(0);
        let theirs: Vec<BTreeSet<String>> = (0..tier_count)
            .map(|tier| {
                e.trackers
                    .iter()
                    .filter(|(t, _)| *t == tier)
                    .map(|(_, u)| u.clone())
                    .collect()
            })
            .collect();
        assert_eq!(ours, theirs, "{ctx}");

        let single = e.files.len() == 1 && e.files[0].3 == e.name;
        assert_eq!(meta.single_file, single, "{ctx}");
        assert_eq!(meta.files.len(), e.files.len(), "{ctx}");
        for (ours, (size, offset, _pad, path)) in meta.files.iter().zip(&e.files) {
            let full = if single {
                ours.path.join("/")
            } else {
                format!("{}/{}", meta.name, ours.path.join("/"))
            };
            assert_eq!(&full, path, "{ctx}");
            assert_eq!(ours.length, *size, "{ctx} {path}");
            assert_eq!(ours.offset, *offset, "{ctx} {path}");
        }
    }
}

#[test]
fn hybrid_torrent_keeps_pad_files_with_shared_names() {
    let meta = Metainfo::from_bytes(&fixture("libtorrent_hybrid_multi.torrent")).unwrap();
    let pads: Vec<_> = meta.files.iter().filter(|f| f.path[0] == ".pad").collect();
    assert_eq!(pads.len(), 3);
    // Two pad files with the same path are fine; two real files are not.
    let info = |pad_attr: &[(&'static str, B)]| {
        let file = |len| {
            let mut entries = vec![("length", B::Int(len)), ("path", path(&[".pad", "5"]))];
            entries.extend(pad_attr.iter().cloned());
            B::Dict(entries)
        };
        torrent(vec![
            ("name", B::s("n")),
            ("piece length", B::Int(16)),
            ("pieces", B::Bytes(vec![0; 20])),
            ("files", B::List(vec![file(5), file(5)])),
        ])
    };
    let with_attr = Metainfo::from_bytes(&info(&[("attr", B::s("p"))])).unwrap();
    assert_eq!(with_attr.files.len(), 2);
    assert_eq!(
        Metainfo::from_bytes(&info(&[])),
        Err(MetainfoError::DuplicatePath(".pad/5".into()))
    );
}

#[test]
fn info_hash_is_over_the_raw_bytes_not_a_reencoding() {
    let bytes = fixture("handmade_unsorted.torrent");
    let meta = Metainfo::from_bytes(&bytes).unwrap();
    // The value libtorrent computed (see expected.txt).
    assert_eq!(
        meta.info_hash.to_hex(),
        "fb9fb875da752396dd21a77fda2019fde89f2054"
    );
    // Decoding and re-encoding the info dictionary sorts its keys, which
    // changes the bytes and therefore the hash.
    let value: serde_bencode::value::Value = serde_bencode::from_bytes(&bytes).unwrap();
    let serde_bencode::value::Value::Dict(top) = value else {
        panic!("not a dict")
    };
    let reencoded = serde_bencode::to_bytes(&top[&b"info"[..]]).unwrap();
    let rehash: [u8; 20] = Sha1::digest(&reencoded).into();
    assert_ne!(rehash, meta.info_hash.0);
    // And the unknown field was tolerated.
    assert_eq!(meta.name, "unsorted.bin");
}

// ---------------------------------------------------------------------------
// A tiny bencode writer that keeps keys in the order given, to craft bad input.

#[derive(Clone, Debug)]
enum B {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<B>),
    Dict(Vec<(&'static str, B)>),
}

impl B {
    fn s(s: &str) -> Self {
        B::Bytes(s.as_bytes().to_vec())
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        let bytes = |b: &[u8], out: &mut Vec<u8>| {
            out.extend(format!("{}:", b.len()).as_bytes());
            out.extend(b);
        };
        match self {
            B::Int(i) => out.extend(format!("i{i}e").as_bytes()),
            B::Bytes(b) => bytes(b, out),
            B::List(items) => {
                out.push(b'l');
                items.iter().for_each(|i| i.write(out));
                out.push(b'e');
            }
            B::Dict(entries) => {
                out.push(b'd');
                for (k, v) in entries {
                    bytes(k.as_bytes(), out);
                    v.write(out);
                }
                out.push(b'e');
            }
        }
    }
}

fn path(components: &[&str]) -> B {
    B::List(components.iter().map(|c| B::s(c)).collect())
}

fn file(len: i64, components: &[&str]) -> B {
    B::Dict(vec![("length", B::Int(len)), ("path", path(components))])
}

/// A torrent with the given info entries and an announce URL.
fn torrent(info: Vec<(&'static str, B)>) -> Vec<u8> {
    torrent_with(info, vec![])
}

fn torrent_with(info: Vec<(&'static str, B)>, mut top: Vec<(&'static str, B)>) -> Vec<u8> {
    top.push(("info", B::Dict(info)));
    B::Dict(top).encode()
}

/// A valid single-file info dictionary: 40 bytes in two pieces of 32.
fn single_info() -> Vec<(&'static str, B)> {
    vec![
        ("length", B::Int(40)),
        ("name", B::s("file.bin")),
        ("piece length", B::Int(32)),
        ("pieces", B::Bytes(vec![7; 40])),
    ]
}

/// A valid multi-file info dictionary with the given files, all pieces of 1 MiB.
fn multi_info(files: Vec<B>, pieces: usize) -> Vec<(&'static str, B)> {
    vec![
        ("files", B::List(files)),
        ("name", B::s("dir")),
        ("piece length", B::Int(1 << 20)),
        ("pieces", B::Bytes(vec![1; 20 * pieces])),
    ]
}

fn set(mut info: Vec<(&'static str, B)>, key: &'static str, value: B) -> Vec<(&'static str, B)> {
    info.retain(|(k, _)| *k != key);
    info.push((key, value));
    info
}

fn without(mut info: Vec<(&'static str, B)>, key: &str) -> Vec<(&'static str, B)> {
    info.retain(|(k, _)| *k != key);
    info
}

fn parse(info: Vec<(&'static str, B)>) -> Result<Metainfo, MetainfoError> {
    Metainfo::from_bytes(&torrent(info))
}

// ---------------------------------------------------------------------------
// Valid hand-made torrents

#[test]
fn single_file_layout() {
    let meta = parse(single_info()).unwrap();
    assert!(meta.single_file);
    assert_eq!(meta.name, "file.bin");
    assert_eq!(meta.piece_length, 32);
    assert_eq!(meta.pieces, vec![[7; 20]; 2]);
    assert_eq!(meta.total_length, 40);
    assert_eq!(meta.files.len(), 1);
    assert_eq!(meta.files[0].path, vec!["file.bin".to_owned()]);
    assert_eq!((meta.files[0].length, meta.files[0].offset), (40, 0));
    assert!(!meta.private);
    assert_eq!(meta.tiers(), Vec::<Vec<String>>::new());
}

#[test]
fn multi_file_offsets_are_running_sums() {
    let files = vec![
        file(10, &["a", "x"]),
        file(0, &["empty"]),
        file(1 << 20, &["a", "y"]),
        file(5, &["Episode 1: colons are fine"]),
    ];
    let meta = parse(multi_info(files, 2)).unwrap();
    assert!(!meta.single_file);
    let got: Vec<_> = meta
        .files
        .iter()
        .map(|f| (f.path.join("/"), f.length, f.offset))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a/x".into(), 10, 0),
            ("empty".into(), 0, 10),
            ("a/y".into(), 1 << 20, 10),
            ("Episode 1: colons are fine".into(), 5, (1 << 20) + 10),
        ]
    );
    assert_eq!(meta.total_length, (1 << 20) + 15);
}

#[test]
fn a_multi_file_torrent_with_one_file_is_still_multi_file() {
    let meta = parse(multi_info(vec![file(3, &["only"])], 1)).unwrap();
    assert!(!meta.single_file);
    assert_eq!(meta.files[0].path, vec!["only".to_owned()]);
}

#[test]
fn private_flag() {
    for (value, private) in [(0, false), (1, true), (2, true)] {
        let meta = parse(set(single_info(), "private", B::Int(value))).unwrap();
        assert_eq!(meta.private, private, "private={value}");
    }
}

#[test]
fn utf8_variants_are_preferred() {
    let info = set(single_info(), "name.utf-8", B::s("naïve.bin"));
    assert_eq!(parse(info).unwrap().name, "naïve.bin");
    // A non-UTF-8 legacy name is fine when a valid `.utf-8` twin exists ...
    let info = set(single_info(), "name", B::Bytes(b"na\xefve.bin".to_vec()));
    let info = set(info, "name.utf-8", B::s("naïve.bin"));
    assert_eq!(parse(info).unwrap().name, "naïve.bin");
    // ... and the same for paths.
    let f = B::Dict(vec![
        ("length", B::Int(1)),
        ("path", B::List(vec![B::Bytes(b"\xff".to_vec())])),
        ("path.utf-8", path(&["ÿ"])),
    ]);
    assert_eq!(parse(multi_info(vec![f], 1)).unwrap().files[0].path, ["ÿ"]);
}

#[test]
fn tracker_and_descriptive_fields() {
    let top = vec![
        ("announce", B::s("http://main.example/announce")),
        (
            "announce-list",
            B::List(vec![
                B::List(vec![B::s("http://a.example/"), B::s(""), B::Int(3)]),
                B::List(vec![]),
                B::s("not a tier"),
                B::List(vec![B::s(" udp://b.example:80 "), B::Bytes(vec![0xff])]),
            ]),
        ),
        ("url-list", B::s("http://seed.example/file.bin")),
        ("comment", B::Bytes(b"caf\xe9".to_vec())),
        ("created by", B::s("hand")),
        ("creation date", B::Int(1_700_000_000)),
        (
            "x-unknown",
            B::Dict(vec![("deep", B::List(vec![B::Int(1)]))]),
        ),
    ];
    let meta = Metainfo::from_bytes(&torrent_with(single_info(), top)).unwrap();
    assert_eq!(
        meta.announce.as_deref(),
        Some("http://main.example/announce")
    );
    let expected_tiers = vec![
        vec!["http://a.example/".to_owned()],
        vec!["udp://b.example:80".to_owned()],
    ];
    assert_eq!(meta.announce_list, expected_tiers);
    assert_eq!(meta.tiers(), expected_tiers);
    assert_eq!(
        meta.url_list,
        vec!["http://seed.example/file.bin".to_owned()]
    );
    assert_eq!(meta.comment.as_deref(), Some("caf\u{fffd}"));
    assert_eq!(meta.created_by.as_deref(), Some("hand"));
    assert_eq!(meta.creation_date, Some(1_700_000_000));
}

#[test]
fn wrongly_typed_optional_fields_are_ignored() {
    let top = vec![
        ("announce", B::Int(1)),
        ("announce-list", B::s("http://x.example/")),
        (
            "url-list",
            B::List(vec![B::s("http://s1.example/"), B::Int(2), B::s("")]),
        ),
        ("comment.utf-8", B::s("preferred")),
        ("comment", B::s("legacy")),
        ("creation date", B::s("yesterday")),
    ];
    let meta = Metainfo::from_bytes(&torrent_with(single_info(), top)).unwrap();
    assert_eq!(meta.announce, None);
    assert!(meta.announce_list.is_empty());
    assert_eq!(meta.url_list, vec!["http://s1.example/".to_owned()]);
    assert_eq!(meta.comment.as_deref(), Some("preferred"));
    assert_eq!(meta.creation_date, None);
}

#[test]
fn tiers_fall_back_to_announce() {
    let top = vec![
        ("announce", B::s("http://only.example/a")),
        ("announce-list", B::List(vec![B::List(vec![B::s("")])])),
    ];
    let meta = Metainfo::from_bytes(&torrent_with(single_info(), top)).unwrap();
    assert!(meta.announce_list.is_empty());
    assert_eq!(meta.tiers(), vec![vec!["http://only.example/a".to_owned()]]);
}

// ---------------------------------------------------------------------------
// Every error variant

#[test]
fn not_bencode_or_trailing_garbage() {
    assert!(matches!(
        Metainfo::from_bytes(b"hello"),
        Err(MetainfoError::Bencode(BencodeError::UnexpectedByte {
            offset: 0,
            ..
        }))
    ));
    assert_eq!(
        Metainfo::from_bytes(b""),
        Err(MetainfoError::Bencode(BencodeError::UnexpectedEnd {
            offset: 0
        }))
    );
    let mut bytes = torrent(single_info());
    let len = bytes.len();
    bytes.extend_from_slice(b"\n\n");
    assert_eq!(
        Metainfo::from_bytes(&bytes),
        Err(MetainfoError::Bencode(BencodeError::TrailingData {
            offset: len,
            len: 2
        }))
    );
    assert_eq!(
        Metainfo::from_bytes(b"li1ee"),
        Err(MetainfoError::Bencode(BencodeError::NotADictionary))
    );
    // Two `info` keys: which one is hashed would be ambiguous.
    let mut twice = b"d4:info".to_vec();
    twice.extend(B::Dict(single_info()).encode());
    twice.extend(b"4:info");
    twice.extend(B::Dict(single_info()).encode());
    twice.push(b'e');
    assert!(matches!(
        Metainfo::from_bytes(&twice),
        Err(MetainfoError::Bencode(BencodeError::DuplicateKey { .. }))
    ));
}

#[test]
fn missing_fields() {
    assert_eq!(
        Metainfo::from_bytes(b"d8:announce3:urle"),
        Err(MetainfoError::MissingField("info"))
    );
    for key in ["name", "piece length", "pieces"] {
        assert_eq!(
            parse(without(single_info(), key)),
            Err(MetainfoError::MissingField(key))
        );
    }
    assert_eq!(
        parse(without(single_info(), "length")),
        Err(MetainfoError::MissingField("length"))
    );
    let no_length = B::Dict(vec![("path", path(&["a"]))]);
    assert_eq!(
        parse(multi_info(vec![file(1, &["b"]), no_length], 1)),
        Err(MetainfoError::MissingFileField {
            index: 1,
            field: "length"
        })
    );
    let no_path = B::Dict(vec![("length", B::Int(1))]);
    assert_eq!(
        parse(multi_info(vec![no_path], 1)),
        Err(MetainfoError::MissingFileField {
            index: 0,
            field: "path"
        })
    );
}

#[test]
fn info_of_the_wrong_shape() {
    let bytes = B::Dict(vec![("info", B::List(vec![]))]).encode();
    assert_eq!(
        Metainfo::from_bytes(&bytes),
        Err(MetainfoError::InfoNotADictionary)
    );
    let err = parse(set(single_info(), "piece length", B::s("32"))).unwrap_err();
    assert!(matches!(err, MetainfoError::Structure(_)), "{err:?}");
    let err = parse(set(single_info(), "files", B::Int(3))).unwrap_err();
    assert!(matches!(err, MetainfoError::Structure(_)), "{err:?}");
}

#[test]
fn non_utf8_names_and_paths() {
    let info = set(single_info(), "name", B::Bytes(b"caf\xe9".to_vec()));
    assert_eq!(
        parse(info),
        Err(MetainfoError::NonUtf8 {
            field: "name".into()
        })
    );
    let bad = B::Dict(vec![
        ("length", B::Int(1)),
        ("path", B::List(vec![B::Bytes(b"\xc3".to_vec())])),
    ]);
    assert_eq!(
        parse(multi_info(vec![file(1, &["ok"]), bad], 1)),
        Err(MetainfoError::NonUtf8 {
            field: "path of file 1".into()
        })
    );
}

#[test]
fn bad_piece_lengths() {
    for bad in [0, -1, i64::from(256 * 1024 * 1024 + 1), 1 << 40] {
        assert_eq!(
            parse(set(single_info(), "piece length", B::Int(bad))),
            Err(MetainfoError::InvalidPieceLength(bad)),
            "{bad}"
        );
    }
    // The maximum itself is allowed.
    let info = set(single_info(), "piece length", B::Int(256 * 1024 * 1024));
    let info = set(info, "pieces", B::Bytes(vec![0; 20]));
    assert_eq!(parse(info).unwrap().piece_length, 256 * 1024 * 1024);
}

#[test]
fn piece_hashes_not_a_multiple_of_20() {
    let err = parse(set(single_info(), "pieces", B::Bytes(vec![0; 1234]))).unwrap_err();
    assert_eq!(err, MetainfoError::PiecesNotMultipleOf20(1234));
    assert_eq!(
        err.to_string(),
        "piece hashes are 1234 bytes, not a multiple of 20"
    );
}

#[test]
fn piece_count_must_match_the_size() {
    for (hashes, expected_err) in [(1, true), (2, false), (3, true)] {
        let result = parse(set(single_info(), "pieces", B::Bytes(vec![0; 20 * hashes])));
        if expected_err {
            assert_eq!(
                result,
                Err(MetainfoError::PieceCountMismatch {
                    actual: hashes,
                    expected: 2,
                    total_length: 40,
                    piece_length: 32
                })
            );
        } else {
            assert!(result.is_ok());
        }
    }
}

#[test]
fn too_many_pieces_for_a_u32_index() {
    let info = set(single_info(), "length", B::Int(1 << 32));
    let info = set(info, "piece length", B::Int(1));
    assert_eq!(parse(info), Err(MetainfoError::TooManyPieces(1 << 32)));
}

#[test]
fn layout_must_be_unambiguous_and_non_empty() {
    let both = set(single_info(), "files", B::List(vec![file(40, &["a"])]));
    assert_eq!(parse(both), Err(MetainfoError::AmbiguousLayout));
    assert_eq!(parse(multi_info(vec![], 0)), Err(MetainfoError::NoFiles));
    assert_eq!(
        parse(multi_info(vec![file(0, &["a"]), file(0, &["b"])], 0)),
        Err(MetainfoError::EmptyTorrent)
    );
    assert_eq!(
        parse(set(single_info(), "length", B::Int(0))),
        Err(MetainfoError::EmptyTorrent)
    );
}

#[test]
fn negative_lengths() {
    assert_eq!(
        parse(set(single_info(), "length", B::Int(-40))),
        Err(MetainfoError::NegativeLength {
            index: 0,
            length: -40
        })
    );
    assert_eq!(
        parse(multi_info(vec![file(1, &["a"]), file(-1, &["b"])], 1)),
        Err(MetainfoError::NegativeLength {
            index: 1,
            length: -1
        })
    );
}

#[test]
fn total_length_overflow() {
    let files = (0..3).map(|i| file(i64::MAX, &[&i.to_string()])).collect();
    assert_eq!(
        parse(multi_info(files, 1)),
        Err(MetainfoError::TotalLengthOverflow)
    );
}

const BAD_COMPONENTS: [(&str, PathProblem); 9] = [
    ("", PathProblem::Empty),
    (".", PathProblem::CurrentDir),
    ("..", PathProblem::ParentDir),
    ("a/b", PathProblem::Separator),
    ("/etc", PathProblem::Separator),
    ("a\\b", PathProblem::Separator),
    ("a\0b", PathProblem::Nul),
    ("C:", PathProblem::DrivePrefix),
    ("c:windows", PathProblem::DrivePrefix),
];

#[test]
fn unsafe_names() {
    for (name, problem) in BAD_COMPONENTS {
        assert_eq!(
            parse(set(single_info(), "name", B::s(name))),
            Err(MetainfoError::InvalidName {
                name: name.into(),
                problem
            }),
            "{name:?}"
        );
        // The same rule applies to a multi-file torrent's root directory.
        let info = set(multi_info(vec![file(1, &["a"])], 1), "name", B::s(name));
        assert!(
            matches!(parse(info), Err(MetainfoError::InvalidName { .. })),
            "{name:?}"
        );
    }
}

#[test]
fn unsafe_paths() {
    for (component, problem) in BAD_COMPONENTS {
        let files = vec![file(1, &["fine"]), file(1, &["dir", component, "x"])];
        assert_eq!(
            parse(multi_info(files, 1)),
            Err(MetainfoError::InvalidPath {
                index: 1,
                path: format!("dir/{component}/x"),
                problem
            }),
            "{component:?}"
        );
    }
    assert_eq!(
        parse(multi_info(vec![file(1, &["a"]), file(1, &[])], 1)),
        Err(MetainfoError::EmptyPath { index: 1 })
    );
}

#[test]
fn duplicate_and_conflicting_paths() {
    let dup = vec![file(1, &["a", "b"]), file(1, &["c"]), file(1, &["a", "b"])];
    assert_eq!(
        parse(multi_info(dup, 1)),
        Err(MetainfoError::DuplicatePath("a/b".into()))
    );
    let file_then_dir = vec![file(1, &["a"]), file(1, &["b"]), file(1, &["a", "b", "c"])];
    assert_eq!(
        parse(multi_info(file_then_dir, 1)),
        Err(MetainfoError::PathConflict {
            file: "a".into(),
            other: "a/b/c".into()
        })
    );
    let dir_then_file = vec![
        file(1, &["a", "b", "c"]),
        file(1, &["a", "c"]),
        file(1, &["a"]),
    ];
    assert_eq!(
        parse(multi_info(dir_then_file, 1)),
        Err(MetainfoError::PathConflict {
            file: "a".into(),
            other: "a/b/c".into()
        })
    );
    // Sharing a directory, or a name that merely starts the same way, is fine.
    let ok = vec![file(1, &["a", "b"]), file(1, &["a", "c"]), file(1, &["ab"])];
    assert!(parse(multi_info(ok, 1)).is_ok());
}

// ---------------------------------------------------------------------------
// Property tests

/// Structural invariants of any successfully parsed torrent.
fn assert_consistent(meta: &Metainfo) {
    let mut offset = 0u64;
    for f in &meta.files {
        assert_eq!(f.offset, offset);
        offset += f.length;
        assert!(!f.path.is_empty());
    }
    assert_eq!(offset, meta.total_length);
    assert!(meta.total_length > 0);
    assert!(meta.piece_length > 0);
    assert_eq!(
        meta.pieces.len() as u64,
        meta.total_length.div_ceil(u64::from(meta.piece_length))
    );
    assert!(meta.announce_list.iter().all(|t| !t.is_empty()));
}

#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(meta) = Metainfo::from_bytes(&bytes) {
            assert_consistent(&meta);
        }
    }

    #[test]
    fn bencode_shaped_bytes_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(&b"d"[..]), Just(&b"l"[..]), Just(&b"e"[..]), Just(&b"i12e"[..]),
                Just(&b"i-1e"[..]), Just(&b"4:info"[..]), Just(&b"4:name"[..]),
                Just(&b"5:files"[..]), Just(&b"6:length"[..]), Just(&b"4:path"[..]),
                Just(&b"12:piece length"[..]), Just(&b"6:pieces"[..]), Just(&b"20:"[..]),
                Just(&b"0:"[..]), Just(&b"2:.."[..]),
            ],
            0..64,
        )
    ) {
        let bytes = parts.concat();
        if let Ok(meta) = Metainfo::from_bytes(&bytes) {
            assert_consistent(&meta);
        }
    }

    #[test]
    fn mutated_torrents_never_panic(
        which in 0usize..6,
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let names = [
            "mktorrent_single.torrent", "mktorrent_multi.torrent",
            "libtorrent_v1_single.torrent", "libtorrent_v1_multi.torrent",
            "libtorrent_hybrid_multi.torrent", "handmade_unsorted.torrent",
        ];
        let mut bytes = fixture(names[which]);
        for m in mutations {
            let len = bytes.len().max(1);
            match m {
                Mutation::Set(i, b) => if !bytes.is_empty() { bytes[i % len] = b },
                Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
                Mutation::Remove(i) => if !bytes.is_empty() { bytes.remove(i % len); },
                Mutation::Truncate(i) => bytes.truncate(i % len),
            }
        }
        if let Ok(meta) = Metainfo::from_bytes(&bytes) {
            assert_consistent(&meta);
        }
    }

    #[test]
    fn builder_round_trip(
        name in "[A-Za-z0-9 ._-]{0,12}[A-Za-z0-9]",
        raw_files in proptest::collection::vec(
            (proptest::collection::vec("[a-z]{1,3}", 0..3), "[a-z ]{0,6}", 0u64..40_000),
            1..12,
        ),
        single in any::<bool>(),
        piece_shift in 0u32..16,
        tiers in proptest::collection::vec(
            proptest::collection::vec("https?://[a-z]{1,8}\\.example/a", 1..3), 0..3),
        web_seeds in proptest::collection::vec("http://[a-z]{1,8}\\.example/", 0..3),
        comment in proptest::option::of("[ -~]{1,20}"),
        date in proptest::option::of(0i64..4_000_000_000),
        private in any::<bool>(),
    ) {
        // Unique, non-conflicting paths: the file name carries its index and
        // a `-`, which directory components never contain.
        let mut files: Vec<(Vec<String>, u64)> = raw_files
            .into_iter()
            .enumerate()
            .map(|(i, (mut dirs, leaf, len))| {
                dirs.push(format!("{i}-{leaf}"));
                (dirs, len)
            })
            .collect();
        if single {
            files.truncate(1);
        }
        if files.iter().all(|(_, len)| *len == 0) {
            files[0].1 = 1;
        }
        let total: u64 = files.iter().map(|(_, l)| l).sum();
        let piece_length = 1u32 << piece_shift;
        let pieces: Vec<[u8; 20]> = (0..total.div_ceil(u64::from(piece_length)))
            .map(|i| Sha1::digest(i.to_be_bytes()).into())
            .collect();

        let mut builder = if single {
            TorrentBuilder::single_file(&name, total, piece_length, pieces.clone())
        } else {
            TorrentBuilder::multi_file(&name, files.clone(), piece_length, pieces.clone())
        }
        .announce_tiers(tiers.clone())
        .url_list(web_seeds.clone())
        .private(private);
        if let Some(c) = &comment {
            builder = builder.comment(c.clone());
        }
        if let Some(d) = date {
            builder = builder.creation_date(d);
        }
        let bytes = builder.build().unwrap();
        let meta = Metainfo::from_bytes(&bytes).unwrap();

        prop_assert_eq!(&meta.name, &name);
        prop_assert_eq!(meta.single_file, single);
        prop_assert_eq!(meta.piece_length, piece_length);
        prop_assert_eq!(&meta.pieces, &pieces);
        prop_assert_eq!(meta.total_length, total);
        let got: Vec<(Vec<String>, u64)> =
            meta.files.iter().map(|f| (f.path.clone(), f.length)).collect();
        if single {
            prop_assert_eq!(got, vec![(vec![name.clone()], total)]);
        } else {
            prop_assert_eq!(got, files);
        }
        prop_assert_eq!(meta.tiers(), tiers);
        prop_assert_eq!(&meta.url_list, &web_seeds);
        prop_assert_eq!(&meta.comment, &comment);
        prop_assert_eq!(meta.creation_date, date);
        prop_assert_eq!(meta.private, private);
        assert_consistent(&meta);

        // The output is canonical: serde_bencode re-encodes it (sorting every
        // dictionary) to exactly the same bytes.
        let value: serde_bencode::value::Value = serde_bencode::from_bytes(&bytes).unwrap();
        prop_assert_eq!(serde_bencode::to_bytes(&value).unwrap(), bytes);
    }
}
