//! BEP 6 allowed-fast set: the pieces a peer may request from us while choked.
//!
//! The set is a deterministic function of the peer's IPv4 /24 network and the
//! info-hash, so a peer cannot gain more pieces by reconnecting from another
//! address in the same network.

use std::net::Ipv4Addr;

use sha1::{Digest, Sha1};

use crate::InfoHash;

/// The first `k` pieces of the allowed-fast sequence for a peer at `ip`, in a
/// torrent of `piece_count` pieces (fewer if the torrent has fewer pieces).
pub fn allowed_fast_set(
    ip: Ipv4Addr,
    info_hash: &InfoHash,
    piece_count: u32,
    k: usize,
) -> Vec<u32> {
    let k = k.min(piece_count as usize);
    let mut set = Vec::with_capacity(k);
    let masked = u32::from(ip) & 0xffff_ff00;
    let mut x = [0u8; 24];
    x[..4].copy_from_slice(&masked.to_be_bytes());
    x[4..].copy_from_slice(&info_hash.0);
    let mut digest: [u8; 20] = Sha1::digest(x).into();
    while set.len() < k {
        for chunk in digest.chunks_exact(4) {
            if set.len() == k {
                break;
            }
            let y = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let index = y % piece_count;
            if !set.contains(&index) {
                set.push(index);
            }
        }
        digest = Sha1::digest(digest).into();
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_bep_6_example() {
        let ip = Ipv4Addr::new(80, 4, 4, 200);
        let ih = InfoHash([0xaa; 20]);
        assert_eq!(
            allowed_fast_set(ip, &ih, 1313, 7),
            vec![1059, 431, 808, 1217, 287, 376, 1188]
        );
        assert_eq!(
            allowed_fast_set(ip, &ih, 1313, 9),
            vec![1059, 431, 808, 1217, 287, 376, 1188, 353, 508]
        );
        // Same /24, same set.
        assert_eq!(
            allowed_fast_set(Ipv4Addr::new(80, 4, 4, 1), &ih, 1313, 7)[0],
            1059
        );
    }

    #[test]
    fn small_torrents_terminate() {
        let set = allowed_fast_set(Ipv4Addr::LOCALHOST, &InfoHash([1; 20]), 3, 10);
        let mut sorted = set.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2]);
        assert!(allowed_fast_set(Ipv4Addr::LOCALHOST, &InfoHash([1; 20]), 0, 10).is_empty());
    }
}
