//! A small, bounded bencode reader for tracker responses.
//!
//! Tracker bodies come from the network, so this reader borrows from the input
//! (no copies), limits nesting depth (a body of `llll…` cannot exhaust the
//! stack) and reports errors with the byte offset at which they occur. It is
//! lenient where real trackers are sloppy (dictionary keys need not be sorted;
//! trailing ASCII whitespace is allowed) and strict where being lenient would
//! be a bug (integers must fit in `i64`, lengths must fit in the input).

use super::TrackerError;

/// Deepest nesting accepted. Tracker responses need 4 (dict → list → dict → value).
const MAX_DEPTH: usize = 32;

/// A decoded bencode value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    /// Key/value pairs in input order; lookups take the first match.
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The value under `key` if `self` is a dictionary that has it.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        match self {
            Value::Dict(entries) => entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Decodes exactly one value from `input` (trailing whitespace tolerated).
pub(crate) fn decode(input: &[u8]) -> Result<Value<'_>, TrackerError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.value(0)?;
    if input[reader.pos..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(reader.err("trailing data after the top-level value"));
    }
    Ok(value)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: &'static str) -> TrackerError {
        TrackerError::InvalidBencode {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, TrackerError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'i') => {
                self.pos += 1;
                let n = self.integer(b'e')?;
                Ok(Value::Int(n))
            }
            Some(b'l') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(b'e') => {
                            self.pos += 1;
                            return Ok(Value::List(items));
                        }
                        None => return Err(self.err("unterminated list")),
                        Some(_) => items.push(self.value(depth + 1)?),
                    }
                }
            }
            Some(b'd') => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    match self.peek() {
                        Some(b'e') => {
                            self.pos += 1;
                            return Ok(Value::Dict(entries));
                        }
                        None => return Err(self.err("unterminated dictionary")),
                        Some(b'0'..=b'9') => {
                            let key = self.bytes()?;
                            let value = self.value(depth + 1)?;
                            entries.push((key, value));
                        }
                        Some(_) => return Err(self.err("dictionary key is not a string")),
                    }
                }
            }
            Some(b'0'..=b'9') => Ok(Value::Bytes(self.bytes()?)),
            Some(_) => Err(self.err("unexpected byte")),
        }
    }

    /// Reads a decimal integer up to (and consuming) `terminator`.
    fn integer(&mut self, terminator: u8) -> Result<i64, TrackerError> {
        let start = self.pos;
        let rest = &self.input[start..];
        let Some(len) = rest.iter().position(|&b| b == terminator) else {
            return Err(self.err("unterminated integer"));
        };
        let digits = &rest[..len];
        let (negative, magnitude) = match digits.split_first() {
            Some((b'-', tail)) => (true, tail),
            _ => (false, digits),
        };
        if magnitude.is_empty() || !magnitude.iter().all(u8::is_ascii_digit) {
            return Err(self.err("invalid integer"));
        }
        let mut value: i64 = 0;
        for &d in magnitude {
            let digit = i64::from(d - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| {
                    if negative {
                        v.checked_sub(digit)
                    } else {
                        v.checked_add(digit)
                    }
                })
                .ok_or_else(|| self.err("integer out of range"))?;
        }
        self.pos = start + len + 1;
        Ok(value)
    }

    fn bytes(&mut self) -> Result<&'a [u8], TrackerError> {
        let len = self.integer(b':')?;
        let len = usize::try_from(len).map_err(|_| self.err("negative string length"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| self.err("string longer than the input"))?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_nested_values() {
        let v = decode(b"d3:agei-42e4:listl1:ai7ee1:zi0ee").unwrap();
        assert_eq!(v.get(b"age"), Some(&Value::Int(-42)));
        assert_eq!(
            v.get(b"list"),
            Some(&Value::List(vec![Value::Bytes(b"a"), Value::Int(7)]))
        );
        assert_eq!(v.get(b"missing"), None);
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            &b""[..],
            b"i12",
            b"ie",
            b"i-e",
            b"i1x2e",
            b"5:abc",
            b"l",
            b"d3:abc",
            b"di1ei2ee",
            b"i99999999999999999999e",
            b"-1:a",
            b"x",
            b"i1ei2e",
        ] {
            assert!(
                matches!(decode(bad), Err(TrackerError::InvalidBencode { .. })),
                "{:?} should be rejected",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn extreme_integers_and_whitespace() {
        assert_eq!(
            decode(b"i-9223372036854775808e").unwrap(),
            Value::Int(i64::MIN)
        );
        assert_eq!(decode(b"i7e\r\n").unwrap(), Value::Int(7));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut deep = vec![b'l'; 100_000];
        deep.extend(vec![b'e'; 100_000]);
        assert!(matches!(
            decode(&deep),
            Err(TrackerError::InvalidBencode {
                reason: "nesting too deep",
                ..
            })
        ));
    }
}
