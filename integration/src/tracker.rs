//! Debian's opentracker on 127.0.0.1, HTTP and UDP announce on one port.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::net::free_port;
use crate::process::{describe, Proc};
use crate::util::wait_for;

/// A running opentracker; killed on drop.
///
/// Debian builds opentracker with `WANT_ACCESSLIST_WHITE`: it serves only the info-hashes
/// listed in its whitelist and answers "Requested download is not authorized" for any
/// other. There is no open mode, so every torrent is listed at start or via
/// [`allow`](Self::allow). Run as root, opentracker chroots into its directory and drops
/// to `nobody`, so that directory is world-readable and the whitelist path is relative.
pub struct Opentracker {
    proc: Proc,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT/announce`
    pub http_url: String,
    /// `udp://127.0.0.1:PORT/announce`
    pub udp_url: String,
    pub addr: SocketAddr,
}

const WHITELIST: &str = "whitelist.txt";

impl Opentracker {
    /// Start opentracker with its files in `dir` (created), serving `info_hashes` (hex).
    pub fn start(dir: &Path, info_hashes: &[&str]) -> Opentracker {
        fs::create_dir_all(dir).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        let list = dir.join(WHITELIST);
        let mut text = String::new();
        for ih in info_hashes {
            text.push_str(&check_hash(ih));
            text.push('\n');
        }
        fs::write(&list, text).unwrap();
        fs::set_permissions(&list, fs::Permissions::from_mode(0o644)).unwrap();

        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut last_err = String::new();
        // the port is picked free then released, so another process may take it first:
        // retry with a fresh one if opentracker cannot bind
        for _attempt in 0..5 {
            let port = free_port(ip);
            let addr = SocketAddr::new(ip, port);
            let conf = dir.join("opentracker.conf");
            fs::write(
                &conf,
                format!(
                    "listen.tcp {addr}\nlisten.udp {addr}\naccess.whitelist {WHITELIST}\ntracker.rootdir {}\n",
                    dir.display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new("opentracker");
            cmd.arg("-f").arg(&conf).current_dir(dir);
            let mut proc = Proc::spawn(format!("opentracker on {addr}"), cmd);
            let up = wait_for(
                || proc.try_status().is_some() || TcpStream::connect(addr).is_ok(),
                Duration::from_secs(10),
            );
            if up && proc.try_status().is_none() {
                return Opentracker {
                    proc,
                    dir: dir.to_path_buf(),
                    http_url: format!("http://{addr}/announce"),
                    udp_url: format!("udp://{addr}/announce"),
                    addr,
                };
            }
            let st = proc.kill9();
            last_err = format!("{}: {}", describe(Some(st)), proc.stderr_tail(20));
        }
        panic!(
            "opentracker did not start (is it installed? integration/install-deps.sh): {last_err}"
        );
    }

    /// Add an info-hash to the whitelist and make opentracker reload it (SIGHUP).
    pub fn allow(&mut self, info_hash: &str) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join(WHITELIST))
            .unwrap();
        writeln!(f, "{}", check_hash(info_hash)).unwrap();
        drop(f);
        kill(Pid::from_raw(self.proc.pid() as i32), Signal::SIGHUP).expect("SIGHUP opentracker");
    }

    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }
}

fn check_hash(ih: &str) -> String {
    assert!(
        ih.len() == 40 && ih.bytes().all(|b| b.is_ascii_hexdigit()),
        "not a v1 info-hash: {ih:?}"
    );
    ih.to_ascii_lowercase()
}

/// Swarm counts from a tracker scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scrape {
    pub complete: u64,
    pub incomplete: u64,
    pub downloaded: u64,
}

impl Opentracker {
    /// HTTP scrape for one info-hash (hex). Unknown torrents give all zeros.
    pub fn scrape(&self, info_hash: &str) -> Scrape {
        use std::io::Read;
        let ih = check_hash(info_hash);
        let mut q = String::new();
        for i in (0..40).step_by(2) {
            q.push('%');
            q.push_str(&ih[i..i + 2]);
        }
        let mut s = TcpStream::connect(self.addr).expect("connect to opentracker");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /scrape?info_hash={q} HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).expect("read scrape reply");
        let body = String::from_utf8_lossy(&resp);
        let num = |key: &str| -> u64 {
            let pat = format!("{}:{key}i", key.len());
            body.find(&pat)
                .and_then(|at| {
                    let rest = &body[at + pat.len()..];
                    rest[..rest.find('e')?].parse().ok()
                })
                .unwrap_or(0)
        };
        Scrape {
            complete: num("complete"),
            incomplete: num("incomplete"),
            downloaded: num("downloaded"),
        }
    }

    /// Wait until the tracker lists at least `n` seeds for `info_hash`; panics after `timeout`.
    pub fn wait_for_seeds(&self, info_hash: &str, n: u64, timeout: Duration) {
        let mut last = Scrape::default();
        if !wait_for(
            || {
                last = self.scrape(info_hash);
                last.complete >= n
            },
            timeout,
        ) {
            panic!("opentracker at {} never saw {n} seed(s) for {info_hash} within {timeout:?}: {last:?}", self.addr);
        }
    }
}
