//! Process limits a torrent client needs raised.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Raises the soft limit on open file descriptors to the hard limit and
/// returns the new soft limit. Every peer connection and every open file of
/// every torrent holds a descriptor, and the usual soft default (1024) is far
/// below what a few hundred peers over a many-file torrent need; the hard
/// limit is what the administrator actually allows. Failure leaves the limit
/// as it was (the engine then reports "too many open files" where it runs out).
pub fn raise_open_files() -> Option<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return Some(soft);
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).ok()?;
    Some(hard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        // Start from a low soft limit, as a login shell would give.
        setrlimit(Resource::RLIMIT_NOFILE, 256.min(hard), hard).unwrap();
        assert_eq!(raise_open_files(), Some(hard));
        assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap(), (hard, hard));
    }
}
