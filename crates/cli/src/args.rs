//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
