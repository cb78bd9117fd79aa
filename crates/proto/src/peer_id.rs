//! Peer ids in the Azureus style: `-TX0100-` followed by 12 random characters.

use rand::Rng;

/// A 20-byte peer id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub [u8; 20]);

/// The two-letter client code torrix uses in its peer ids.
pub const CLIENT_CODE: &[u8; 2] = b"TX";

impl PeerId {
    /// A fresh random id for this crate's version: `-TXvvvv-` then 12 random
    /// alphanumerics, where `vvvv` is major, minor (two digits) and patch.
    pub fn generate() -> Self {
        Self::generate_with_version(env!("CARGO_PKG_VERSION"))
    }

    /// A fresh random id with the version digits taken from `version` ("1.2.3").
    pub fn generate_with_version(version: &str) -> Self {
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor, patch) = (
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        );
        let prefix = format!("-TX{}{:02}{}-", major % 10, minor % 100, patch % 10);
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(prefix.as_bytes());
        let mut rng = rand::thread_rng();
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for b in &mut id[8..] {
            *b = ALPHABET[rng.gen_range(0..ALPHABET.len())];
        }
        PeerId(id)
    }

    /// The Azureus-style client code and version (`("TX", "0100")`), if the id has one.
    pub fn azureus_client(&self) -> Option<(String, String)> {
        let id = &self.0;
        if id[0] == b'-' && id[7] == b'-' && id[1..7].iter().all(|b| b.is_ascii_alphanumeric()) {
            let code = String::from_utf8_lossy(&id[1..3]).into_owned();
            let version = String::from_utf8_lossy(&id[3..7]).into_owned();
            Some((code, version))
        } else {
            None
        }
    }
}

impl std::fmt::Debug for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerId({})", self)
    }
}

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for &b in &self.0 {
            if b.is_ascii_graphic() {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "%{b:02x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azureus_style() {
        let id = PeerId::generate_with_version("1.2.3");
        assert_eq!(&id.0[..8], b"-TX1023-");
        assert!(id.0[8..].iter().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(id.azureus_client(), Some(("TX".into(), "1023".into())));
        assert_ne!(PeerId::generate().0[8..], PeerId::generate().0[8..]);
    }
}
