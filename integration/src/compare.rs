//! Byte-for-byte comparison of files and directory trees, with messages that say
//! where the first difference is.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Panic unless files `expected` and `actual` have the same size and bytes.
#[track_caller]
pub fn assert_same_file(expected: &Path, actual: &Path) {
    if let Err(e) = compare_files(expected, actual) {
        panic!("{e}");
    }
}

/// Panic unless the trees `expected` and `actual` hold the same relative paths, each
/// of the same kind (file/dir/symlink), and every file has the same bytes.
#[track_caller]
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    if let Err(e) = compare_trees(expected, actual) {
        panic!("{e}");
    }
}

/// [`assert_same_file`] as a `Result` (the error is the message).
pub fn compare_files(expected: &Path, actual: &Path) -> Result<(), String> {
    let open = |p: &Path| File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display()));
    let (mut fa, mut fb) = (open(expected)?, open(actual)?);
    let (la, lb) = (
        fa.metadata().map_err(|e| e.to_string())?.len(),
        fb.metadata().map_err(|e| e.to_string())?.len(),
    );
    let mut ba = vec![0u8; 1 << 20];
    let mut bb = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let na =
            read_full(&mut fa, &mut ba).map_err(|e| format!("read {}: {e}", expected.display()))?;
        let nb =
            read_full(&mut fb, &mut bb).map_err(|e| format!("read {}: {e}", actual.display()))?;
        let n = na.min(nb);
        if let Some(i) = (0..n).find(|&i| ba[i] != bb[i]) {
            let at = off + i as u64;
            return Err(format!(
                "{} differs from {}: first difference at byte offset {at} (0x{at:x}, 16 KiB block {}), \
                 expected {:#04x} got {:#04x}; sizes {la} and {lb}{}",
                actual.display(),
                expected.display(),
                at / 16384,
                ba[i],
                bb[i],
                count_diff_note(&ba[i..n], &bb[i..n]),
            ));
        }
        if na != nb {
            return Err(format!(
                "{} differs from {}: sizes differ (expected {la} bytes, got {lb}); the first {} bytes are equal",
                actual.display(),
                expected.display(),
                off + n as u64
            ));
        }
        if na == 0 {
            return Ok(());
        }
        off += na as u64;
    }
}

fn count_diff_note(a: &[u8], b: &[u8]) -> String {
    let d = a.iter().zip(b).filter(|(x, y)| x != y).count();
    format!(" ({d} of the next {} bytes differ)", a.len())
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File(u64),
    Symlink,
    Other,
}

fn walk(root: &Path) -> Result<BTreeMap<PathBuf, Kind>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let rd = fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for ent in rd {
            let ent = ent.map_err(|e| e.to_string())?;
            let r = rel.join(ent.file_name());
            let md = fs::symlink_metadata(ent.path()).map_err(|e| e.to_string())?;
            let kind = if md.is_dir() {
                stack.push(r.clone());
                Kind::Dir
            } else if md.is_file() {
                Kind::File(md.len())
            } else if md.file_type().is_symlink() {
                Kind::Symlink
            } else {
                Kind::Other
            };
            out.insert(r, kind);
        }
    }
    Ok(out)
}

/// [`assert_same_tree`] as a `Result`. Lists every missing, extra and mismatched entry.
pub fn compare_trees(expected: &Path, actual: &Path) -> Result<(), String> {
    for p in [expected, actual] {
        if !p.is_dir() {
            return Err(format!("{} is not a directory", p.display()));
        }
    }
    let a = walk(expected)?;
    let b = walk(actual)?;
    let mut problems = Vec::new();
    for (rel, ka) in &a {
        match b.get(rel) {
            None => problems.push(format!("missing: {} ({ka:?})", rel.display())),
            Some(kb) if std::mem::discriminant(ka) != std::mem::discriminant(kb) => {
                problems.push(format!("{}: expected {ka:?}, found {kb:?}", rel.display()))
            }
            Some(Kind::File(_)) => {
                if let Err(e) = compare_files(&expected.join(rel), &actual.join(rel)) {
                    problems.push(e);
                }
            }
            Some(_) => {}
        }
    }
    for (rel, kb) in &b {
        if !a.contains_key(rel) {
            problems.push(format!("unexpected: {} ({kb:?})", rel.display()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tree {} differs from {} ({} of {} entries):\n  {}",
            actual.display(),
            expected.display(),
            problems.len(),
            a.len(),
            problems.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{make_multi_tree, make_payload};

    #[test]
    fn equal_files_and_trees_pass() {
        let d = tempfile::tempdir().unwrap();
        let x = make_multi_tree(&d.path().join("x"));
        let y = make_multi_tree(&d.path().join("y"));
        compare_trees(&x, &y).unwrap();
        compare_files(&x.join("a.bin"), &y.join("a.bin")).unwrap();
        compare_files(&x.join("empty"), &y.join("empty")).unwrap();
    }

    #[test]
    fn one_flipped_byte_is_found_at_its_offset() {
        let d = tempfile::tempdir().unwrap();
        let a = make_payload(d.path(), "a", 3 << 20, 5);
        let b = make_payload(d.path(), "b", 3 << 20, 5);
        let mut bytes = fs::read(&b).unwrap();
        let at = (2 << 20) + 12345;
        bytes[at] ^= 0x40;
        fs::write(&b, &bytes).unwrap();
        let e = compare_files(&a, &b).unwrap_err();
        assert!(e.contains(&format!("byte offset {at} ")), "{e}");
        assert!(e.contains("1 of the next"), "{e}");
    }

    #[test]
    fn truncation_is_a_size_difference() {
        let d = tempfile::tempdir().unwrap();
        let a = make_payload(d.path(), "a", 100_000, 5);
        let b = make_payload(d.path(), "b", 99_999, 5);
        let e = compare_files(&a, &b).unwrap_err();
        assert!(e.contains("expected 100000 bytes, got 99999"), "{e}");
        assert!(e.contains("first 99999 bytes are equal"), "{e}");
    }

    #[test]
    fn missing_extra_and_changed_entries_are_all_reported() {
        let d = tempfile::tempdir().unwrap();
        let x = make_multi_tree(&d.path().join("x"));
        let y = make_multi_tree(&d.path().join("y"));
        fs::remove_file(y.join("empty")).unwrap();
        fs::write(y.join("sub/extra.part"), b"").unwrap();
        fs::write(y.join("sub/tiny.txt"), b"not the same!").unwrap();
        let e = compare_trees(&x, &y).unwrap_err();
        assert!(e.contains("missing: empty"), "{e}");
        assert!(e.contains("unexpected: sub/extra.part"), "{e}");
        assert!(
            e.contains("tiny.txt differs") && e.contains("byte offset 0 "),
            "{e}"
        );
        assert!(e.contains("(3 of "), "{e}");
    }
}
