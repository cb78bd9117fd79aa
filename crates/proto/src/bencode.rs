//! A small, panic-free bencode *scanner* (BEP 3).
//!
//! It does not build values: it only checks that bytes are well-formed bencode
//! and reports where values start and end. Its main job is to locate the raw
//! bytes of a torrent's `info` dictionary so that the info-hash can be computed
//! over them exactly as they appear in the file — re-encoding a decoded value
//! would silently produce a different hash for any torrent that is not in
//! canonical form (unsorted keys, for instance).
//!
//! Nesting is bounded by [`MAX_DEPTH`], so hostile input cannot overflow the
//! stack, and every length is checked against the input before it is used.
//!
//! Accepted syntax: integers `i<n>e` without leading zeros or `-0` that fit an
//! `i64`; byte strings `<len>:<bytes>`; lists `l…e`; dictionaries `d…e` whose
//! keys are byte strings. Dictionary keys need not be sorted (real torrents are
//! not always canonical), but a key the caller looks up must not be repeated.

use std::ops::Range;

use thiserror::Error;

/// Deepest nesting of lists and dictionaries the scanner accepts. Real torrents
/// use fewer than 10 levels; the limit only exists to keep recursion bounded.
pub const MAX_DEPTH: usize = 64;

/// Why a buffer is not the bencode the caller asked for. Offsets are byte
/// positions in the scanned buffer.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BencodeError {
    /// The input ended in the middle of a value.
    #[error("unexpected end of data at byte {offset}")]
    UnexpectedEnd {
        /// Where more data was needed.
        offset: usize,
    },
    /// A byte that cannot start or continue a value at this position.
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    UnexpectedByte {
        /// Position of the byte.
        offset: usize,
        /// The byte found.
        byte: u8,
    },
    /// An integer that is empty, has leading zeros, is `-0` or does not fit an `i64`.
    #[error("malformed integer at byte {offset}")]
    BadInteger {
        /// Position of the `i` that starts the integer.
        offset: usize,
    },
    /// A byte-string length prefix that is malformed or larger than the input.
    #[error("malformed or oversized string length at byte {offset}")]
    BadStringLength {
        /// Position of the length prefix.
        offset: usize,
    },
    /// A dictionary key that is not a byte string.
    #[error("dictionary key at byte {offset} is not a byte string")]
    NonStringKey {
        /// Position of the offending key.
        offset: usize,
    },
    /// Lists and dictionaries nested deeper than [`MAX_DEPTH`].
    #[error("values nested deeper than {MAX_DEPTH} levels at byte {offset}")]
    TooDeep {
        /// Position of the list or dictionary that exceeded the limit.
        offset: usize,
    },
    /// Bytes left over after the single top-level value.
    #[error("{len} bytes of trailing data after the value, starting at byte {offset}")]
    TrailingData {
        /// Where the trailing data starts.
        offset: usize,
        /// How many bytes are left over.
        len: usize,
    },
    /// The top-level value is not a dictionary.
    #[error("the top-level value is not a dictionary")]
    NotADictionary,
    /// A looked-up dictionary key appears more than once (which copy would be
    /// meant is ambiguous, so this is refused rather than guessed).
    #[error("dictionary key repeated at byte {offset}")]
    DuplicateKey {
        /// Position of the second occurrence of the key.
        offset: usize,
    },
}

/// Checks that `buf` holds exactly one well-formed bencode value and nothing else.
pub fn validate(buf: &[u8]) -> Result<(), BencodeError> {
    let end = value_end(buf, 0)?;
    expect_no_trailing(buf, end)
}

/// Returns the end (exclusive) of the bencode value starting at `start`,
/// checking it is well-formed. Bytes after the value are not examined.
pub fn value_end(buf: &[u8], start: usize) -> Result<usize, BencodeError> {
    skip_value(buf, start, 0)
}

/// In a buffer holding exactly one bencoded dictionary (checked, including
/// for trailing data), finds the byte range of the value stored under `key`.
///
/// Returns `Ok(None)` when the key is absent and
/// [`BencodeError::DuplicateKey`] when it occurs more than once. The whole
/// buffer is validated even after the key is found.
pub fn find_dict_value(buf: &[u8], key: &[u8]) -> Result<Option<Range<usize>>, BencodeError> {
    match buf.first() {
        Some(b'd') => {}
        Some(_) => {
            // Distinguish "not a dictionary" from "not bencode at all".
            validate(buf)?;
            return Err(BencodeError::NotADictionary);
        }
        None => return Err(BencodeError::UnexpectedEnd { offset: 0 }),
    }
    let mut found = None;
    let mut pos = 1;
    loop {
        match buf.get(pos) {
            None => return Err(BencodeError::UnexpectedEnd { offset: pos }),
            Some(b'e') => break,
            Some(b) if !b.is_ascii_digit() => {
                return Err(BencodeError::NonStringKey { offset: pos });
            }
            Some(_) => {
                let key_start = pos;
                let key_span = string_span(buf, pos)?;
                let value_start = key_span.end;
                let value_end = skip_value(buf, value_start, 1)?;
                if buf.get(key_span.clone()) == Some(key) {
                    if found.is_some() {
                        return Err(BencodeError::DuplicateKey { offset: key_start });
                    }
                    found = Some(value_start..value_end);
                }
                pos = value_end;
            }
        }
    }
    expect_no_trailing(buf, pos + 1)?;
    Ok(found)
}

fn expect_no_trailing(buf: &[u8], end: usize) -> Result<(), BencodeError> {
    if end < buf.len() {
        Err(BencodeError::TrailingData {
            offset: end,
            len: buf.len() - end,
        })
    } else {
        Ok(())
    }
}

/// Skips the value at `pos`; `depth` is the number of enclosing containers.
fn skip_value(buf: &[u8], pos: usize, depth: usize) -> Result<usize, BencodeError> {
    match buf.get(pos) {
        None => Err(BencodeError::UnexpectedEnd { offset: pos }),
        Some(b'i') => skip_integer(buf, pos),
        Some(b'0'..=b'9') => string_span(buf, pos).map(|span| span.end),
        Some(&c @ (b'l' | b'd')) => {
            if depth >= MAX_DEPTH {
                return Err(BencodeError::TooDeep { offset: pos });
            }
            let mut p = pos + 1;
            loop {
                match buf.get(p) {
                    None => return Err(BencodeError::UnexpectedEnd { offset: p }),
                    Some(b'e') => return Ok(p + 1),
                    Some(_) => {
                        if c == b'd' {
                            if !buf[p].is_ascii_digit() {
                                return Err(BencodeError::NonStringKey { offset: p });
                            }
                            p = string_span(buf, p)?.end;
                        }
                        p = skip_value(buf, p, depth + 1)?;
                    }
                }
            }
        }
        Some(&byte) => Err(BencodeError::UnexpectedByte { offset: pos, byte }),
    }
}

/// Validates `i<digits>e` at `pos` and returns the position after the `e`.
fn skip_integer(buf: &[u8], pos: usize) -> Result<usize, BencodeError> {
    let bad = BencodeError::BadInteger { offset: pos };
    let body_start = pos + 1;
    let rest = buf.get(body_start..).unwrap_or_default();
    let Some(len) = rest.iter().position(|&b| b == b'e') else {
        return Err(BencodeError::UnexpectedEnd { offset: buf.len() });
    };
    let body = &rest[..len];
    let digits = body.strip_prefix(b"-").unwrap_or(body);
    let well_formed = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || digits[0] != b'0')
        && body != b"-0";
    if !well_formed {
        return Err(bad);
    }
    // All ASCII digits (and maybe a sign), so this is valid UTF-8.
    let text = std::str::from_utf8(body).map_err(|_| bad)?;
    text.parse::<i64>().map_err(|_| bad)?;
    Ok(body_start + len + 1)
}

/// Returns the range of the string *contents* of `<len>:<bytes>` at `pos`.
fn string_span(buf: &[u8], pos: usize) -> Result<Range<usize>, BencodeError> {
    let bad = BencodeError::BadStringLength { offset: pos };
    let mut len: usize = 0;
    let mut p = pos;
    loop {
        match buf.get(p) {
            None => return Err(BencodeError::UnexpectedEnd { offset: p }),
            Some(b':') if p > pos => break,
            Some(&d @ b'0'..=b'9') => {
                len = len
                    .checked_mul(10)
                    .and_then(|l| l.checked_add(usize::from(d - b'0')))
                    .ok_or(bad)?;
                p += 1;
            }
            Some(&byte) => return Err(BencodeError::UnexpectedByte { offset: p, byte }),
        }
    }
    let start = p + 1;
    let end = start.checked_add(len).ok_or(bad)?;
    if end > buf.len() {
        return Err(BencodeError::UnexpectedEnd { offset: buf.len() });
    }
    Ok(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_well_formed_values() {
        for ok in [
            &b"i0e"[..],
            b"i-12e",
            b"i9223372036854775807e",
            b"i-9223372036854775808e",
            b"0:",
            b"4:spam",
            b"le",
            b"de",
            b"l4:spami42ee",
            b"d3:bar4:spam3:fooi42ee",
            b"d1:zi1e1:ai2ee", // unsorted keys are tolerated
        ] {
            assert_eq!(validate(ok), Ok(()), "{:?}", String::from_utf8_lossy(ok));
        }
    }

    #[test]
    fn rejects_malformed_values() {
        let cases: &[(&[u8], BencodeError)] = &[
            (b"", BencodeError::UnexpectedEnd { offset: 0 }),
            (b"i03e", BencodeError::BadInteger { offset: 0 }),
            (b"i-0e", BencodeError::BadInteger { offset: 0 }),
            (b"ie", BencodeError::BadInteger { offset: 0 }),
            (b"i-e", BencodeError::BadInteger { offset: 0 }),
            (b"i1x2e", BencodeError::BadInteger { offset: 0 }),
            (
                b"i9223372036854775808e",
                BencodeError::BadInteger { offset: 0 },
            ),
            (b"i12", BencodeError::UnexpectedEnd { offset: 3 }),
            (b"5:abc", BencodeError::UnexpectedEnd { offset: 5 }),
            (
                b"3abc",
                BencodeError::UnexpectedByte {
                    offset: 1,
                    byte: b'a',
                },
            ),
            (
                b"99999999999999999999999:x",
                BencodeError::BadStringLength { offset: 0 },
            ),
            (b"l", BencodeError::UnexpectedEnd { offset: 1 }),
            (b"di1ei2ee", BencodeError::NonStringKey { offset: 1 }),
            (
                b"d3:fooe",
                BencodeError::UnexpectedByte {
                    offset: 6,
                    byte: b'e',
                },
            ),
            (
                b"x",
                BencodeError::UnexpectedByte {
                    offset: 0,
                    byte: b'x',
                },
            ),
            (b"i1ei2e", BencodeError::TrailingData { offset: 3, len: 3 }),
        ];
        for (input, err) in cases {
            assert_eq!(
                validate(input),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert_eq!(validate(&ok), Ok(()));
        let deep = [vec![b'l'; MAX_DEPTH + 1], vec![b'e'; MAX_DEPTH + 1]].concat();
        assert_eq!(
            validate(&deep),
            Err(BencodeError::TooDeep { offset: MAX_DEPTH })
        );
        // A million unterminated lists must neither overflow the stack nor pass.
        assert!(validate(&vec![b'l'; 1_000_000]).is_err());
    }

    #[test]
    fn finds_raw_value_span() {
        let buf = b"d1:ai1e4:infod1:zi1e1:ai2ee1:b0:e";
        let span = find_dict_value(buf, b"info").unwrap().unwrap();
        assert_eq!(&buf[span], b"d1:zi1e1:ai2ee");
        assert_eq!(find_dict_value(buf, b"nope"), Ok(None));
        // A key equal to a *value* elsewhere must not match.
        assert_eq!(find_dict_value(b"d1:a4:infoe", b"info"), Ok(None));
    }

    #[test]
    fn find_rejects_bad_containers() {
        assert_eq!(
            find_dict_value(b"li1ee", b"info"),
            Err(BencodeError::NotADictionary)
        );
        assert_eq!(
            find_dict_value(b"lxe", b"info"),
            Err(BencodeError::UnexpectedByte {
                offset: 1,
                byte: b'x'
            })
        );
        assert_eq!(
            find_dict_value(b"d4:infode", b"info"),
            Err(BencodeError::UnexpectedEnd { offset: 9 })
        );
        assert_eq!(
            find_dict_value(b"di1e4:infoe", b"info"),
            Err(BencodeError::NonStringKey { offset: 1 })
        );
        assert_eq!(
            find_dict_value(b"d4:infode4:infoi1ee", b"info"),
            Err(BencodeError::DuplicateKey { offset: 9 })
        );
        assert_eq!(
            find_dict_value(b"d4:infodeeXY", b"info"),
            Err(BencodeError::TrailingData { offset: 10, len: 2 })
        );
        // Malformed data after the key is still reported.
        assert_eq!(
            find_dict_value(b"d4:infode1:ai01ee", b"info"),
            Err(BencodeError::BadInteger { offset: 12 })
        );
    }
}
