//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::units;

/// A fast, frugal BitTorrent client.
#[derive(Parser, Debug)]
#[command(name = "torrix", version, about, propagate_version = true)]
pub struct Cli {
    /// Log level for the engine's log on stderr: error, warn, info, debug,
    /// trace. Also read from the TORRIX_LOG environment variable.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download a torrent, verifying every piece.
    Download(DownloadArgs),
    /// Serve a torrent's complete data to other peers.
    Seed(SeedArgs),
    /// Show what a .torrent file contains.
    Info(InfoArgs),
    /// Make a .torrent from a file or a directory.
    Create(CreateArgs),
    /// Measure transfer speed on this machine: a seeder and leechers over loopback.
    Bench(BenchArgs),
}

/// Options shared by commands that run a peer.
#[derive(Args, Debug, Clone)]
pub struct PeerArgs {
    /// The .torrent file (may also be given positionally).
    #[arg(short, long = "metainfo", value_name = "FILE")]
    pub metainfo_flag: Option<PathBuf>,

    /// The .torrent file.
    #[arg(value_name = "FILE", required_unless_present = "metainfo_flag")]
    pub metainfo: Option<PathBuf>,

    /// Directory that holds the torrent's file or folder.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub download_dir: PathBuf,

    /// Peers to connect to, comma separated (e.g. 127.0.0.2:6881,10.0.0.5:51413).
    #[arg(short, long, value_name = "ADDR", value_delimiter = ',')]
    pub seeds: Vec<SocketAddr>,

    /// Address to accept peer connections on (port 0 picks a free port).
    #[arg(short, long, value_name = "ADDR", default_value = "0.0.0.0:6881")]
    pub listen: SocketAddr,

    /// Print only errors and the final line.
    #[arg(short, long)]
    pub quiet: bool,

    /// Write downloaded pieces through the page cache instead of with O_DIRECT:
    /// they stay cached for whoever reads them next, at several times the CPU cost.
    #[arg(long)]
    pub buffered_writes: bool,
}

impl PeerArgs {
    /// The torrent path, from the flag or the positional argument.
    pub fn torrent_path(&self) -> PathBuf {
        self.metainfo_flag
            .clone()
            .or_else(|| self.metainfo.clone())
            .unwrap_or_default()
    }
}

/// `torrix download`.
#[derive(Args, Debug)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub peer: PeerArgs,

    /// Keep serving the data after the download completes (until Ctrl-C).
    #[arg(long)]
    pub seed: bool,
}

/// `torrix seed`.
#[derive(Args, Debug)]
pub struct SeedArgs {
    #[command(flatten)]
    pub peer: PeerArgs,

    /// Kept for compatibility with cratetorrent: `seed` (default) or
    /// `download` (same as `torrix download --seed`).
    #[arg(long, value_parser = ["seed", "download"], default_value = "seed")]
    pub mode: String,
}

/// `torrix info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The .torrent file.
    #[arg(value_name = "FILE")]
    pub metainfo: PathBuf,

    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

/// `torrix create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The file or directory to share.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// Where to write the .torrent [default: NAME.torrent in the current directory].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Tracker announce URL (http, https or udp). Repeat for backup trackers:
    /// each one is its own tier, tried in the order given (BEP 12).
    #[arg(short = 't', long = "tracker", value_name = "URL", value_parser = parse_tracker)]
    pub trackers: Vec<String>,

    /// Piece size: a power of two from 16K to 256M, e.g. 256K or 4M
    /// [default: chosen from the total size, aiming at 1000-2000 pieces].
    #[arg(long, value_name = "SIZE", value_parser = parse_piece_size)]
    pub piece_size: Option<u32>,

    /// Mark the torrent private (BEP 27): peers come only from its trackers.
    #[arg(long)]
    pub private: bool,

    /// A free-form comment stored in the torrent.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,

    /// Record the creation date. Off by default so that the same data and
    /// options always give the same .torrent, byte for byte.
    #[arg(long)]
    pub date: bool,
}

/// `torrix bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Size of the generated payload, e.g. 64M or 2G.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_payload_size)]
    pub size: u64,

    /// Number of leechers downloading from the one seeder at the same time.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub leechers: u16,

    /// Piece size, as for `create` [default: chosen from the size].
    #[arg(long, value_name = "SIZE", value_parser = parse_piece_size)]
    pub piece_size: Option<u32>,

    /// Give up when the leechers are not done after this many seconds
    /// [default: 60 plus one second per 10 MiB].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,

    /// Keep the temporary directory (payload, torrent, downloaded copies).
    #[arg(long)]
    pub keep: bool,
}

/// A piece size: a power of two between one 16 KiB block and the 256 MiB the
/// metainfo parser accepts (clients handle nothing else well).
fn parse_piece_size(s: &str) -> Result<u32, String> {
    let min = u64::from(torrix_proto::BLOCK_LEN);
    let max = u64::from(torrix_proto::metainfo::MAX_PIECE_LENGTH);
    let n = units::parse_size(s)?;
    if !n.is_power_of_two() || !(min..=max).contains(&n) {
        return Err(format!("'{s}' is not a power of two between 16K and 256M"));
    }
    u32::try_from(n).map_err(|_| format!("'{s}' is too large"))
}

/// A payload size for `bench`: at least one byte.
fn parse_payload_size(s: &str) -> Result<u64, String> {
    match units::parse_size(s)? {
        0 => Err("the payload must be at least 1 byte".into()),
        n => Ok(n),
    }
}

/// A tracker URL with a scheme torrix and other clients can announce to.
fn parse_tracker(s: &str) -> Result<String, String> {
    let url = s.trim();
    let rest = ["http://", "https://", "udp://"].iter().find_map(|scheme| {
        let head = url.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| url.get(scheme.len()..))
            .flatten()
    });
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(url.to_owned()),
        Some(_) => Err(format!("'{s}' has no host")),
        None => Err(format!("'{s}' is not an http://, https:// or udp:// URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_sizes_must_be_powers_of_two_in_range() {
        assert_eq!(parse_piece_size("16K"), Ok(16 << 10));
        assert_eq!(parse_piece_size("4M"), Ok(4 << 20));
        assert_eq!(parse_piece_size("256M"), Ok(256 << 20));
        for bad in ["8K", "100K", "512M", "0", "1G", "x"] {
            assert!(parse_piece_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trackers_need_a_known_scheme_and_a_host() {
        assert!(parse_tracker("udp://tracker.example:6969/announce").is_ok());
        assert!(parse_tracker("HTTPS://t.example/a").is_ok());
        for bad in [
            "tracker.example",
            "ftp://t.example",
            "http://",
            "http:///a",
            "é",
        ] {
            assert!(parse_tracker(bad).is_err(), "{bad}");
        }
    }
}
