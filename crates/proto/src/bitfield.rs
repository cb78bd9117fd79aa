//! A piece bitfield: bit `i` (most significant bit first) says piece `i` is present.

use thiserror::Error;

/// Why a received bitfield was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BitfieldError {
    /// The byte length does not match the torrent's piece count.
    #[error("bitfield is {actual} bytes, expected {expected} for this torrent")]
    WrongLength {
        /// Bytes the torrent's piece count calls for.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// Bits past the last piece are set, which BEP 3 forbids.
    #[error("bitfield has spare bits set past the last piece")]
    SpareBitsSet,
}

/// A fixed-length set of piece indices, kept with its population count.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
    ones: u32,
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.len)
    }
}

impl Bitfield {
    /// Bytes needed for `len` pieces.
    pub fn byte_len(len: u32) -> usize {
        (len as usize).div_ceil(8)
    }

    /// An empty bitfield for `len` pieces.
    pub fn new(len: u32) -> Self {
        Bitfield {
            bytes: vec![0; Self::byte_len(len)],
            len,
            ones: 0,
        }
    }

    /// A bitfield with every one of `len` pieces set.
    pub fn full(len: u32) -> Self {
        let mut bf = Bitfield {
            bytes: vec![0xff; Self::byte_len(len)],
            len,
            ones: len,
        };
        bf.clear_spare_bits();
        bf
    }

    /// Validates a bitfield received for a torrent of `len` pieces.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Result<Self, BitfieldError> {
        let expected = Self::byte_len(len);
        if bytes.len() != expected {
            return Err(BitfieldError::WrongLength {
                expected,
                actual: bytes.len(),
            });
        }
        let spare = (expected * 8) as u32 - len;
        if spare > 0 {
            let mask = (1u8 << spare) - 1;
            if bytes[expected - 1] & mask != 0 {
                return Err(BitfieldError::SpareBitsSet);
            }
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Ok(Bitfield {
            bytes: bytes.to_vec(),
            len,
            ones,
        })
    }

    fn clear_spare_bits(&mut self) {
        let spare = (self.bytes.len() * 8) as u32 - self.len;
        if spare > 0 {
            let last = self.bytes.len() - 1;
            self.bytes[last] &= !((1u8 << spare) - 1);
        }
    }

    /// Number of pieces the bitfield covers.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True when the torrent has no pieces at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of pieces set.
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// True when every piece is set.
    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    /// True when no piece is set.
    pub fn none(&self) -> bool {
        self.ones == 0
    }

    /// Whether piece `index` is set (false when out of range).
    pub fn get(&self, index: u32) -> bool {
        index < self.len && self.bytes[(index / 8) as usize] & (0x80 >> (index % 8)) != 0
    }

    /// Sets piece `index`; returns true if it was not set before. Out of range: false.
    pub fn set(&mut self, index: u32) -> bool {
        if index >= self.len || self.get(index) {
            return false;
        }
        self.bytes[(index / 8) as usize] |= 0x80 >> (index % 8);
        self.ones += 1;
        true
    }

    /// Clears piece `index`; returns true if it was set before.
    pub fn clear(&mut self, index: u32) -> bool {
        if !self.get(index) {
            return false;
        }
        self.bytes[(index / 8) as usize] &= !(0x80 >> (index % 8));
        self.ones -= 1;
        true
    }

    /// The wire form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The indices that are set, ascending.
    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.bytes.iter().enumerate().flat_map(move |(i, &byte)| {
            (0..8u32)
                .filter(move |bit| byte & (0x80 >> bit) != 0)
                .map(move |bit| i as u32 * 8 + bit)
        })
    }

    /// The indices that are not set, ascending.
    pub fn zeros(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(move |&i| !self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_count() {
        let mut bf = Bitfield::new(10);
        assert!(bf.set(0));
        assert!(!bf.set(0));
        assert!(bf.set(9));
        assert!(!bf.set(10));
        assert_eq!(bf.count(), 2);
        assert_eq!(bf.as_bytes(), &[0x80, 0x40]);
        assert_eq!(bf.ones().collect::<Vec<_>>(), vec![0, 9]);
        assert!(bf.clear(0));
        assert_eq!(bf.count(), 1);
    }

    #[test]
    fn full_has_no_spare_bits() {
        let bf = Bitfield::full(10);
        assert_eq!(bf.as_bytes(), &[0xff, 0xc0]);
        assert!(bf.is_full());
        assert_eq!(Bitfield::from_bytes(bf.as_bytes(), 10).unwrap(), bf);
    }

    #[test]
    fn rejects_spare_bits_and_wrong_length() {
        assert_eq!(
            Bitfield::from_bytes(&[0xff, 0xe0], 10),
            Err(BitfieldError::SpareBitsSet)
        );
        assert_eq!(
            Bitfield::from_bytes(&[0xff], 10),
            Err(BitfieldError::WrongLength {
                expected: 2,
                actual: 1
            })
        );
        assert!(Bitfield::from_bytes(&[0xff, 0xff], 16).is_ok());
    }
}
