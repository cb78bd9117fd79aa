//! The `Tracker` actor against a real opentracker on 127.0.0.1, over HTTP and
//! UDP: two clients announce one torrent and the second learns the first.
//!
//! opentracker must be installed (`apt-get install opentracker`); without it
//! these tests fail with a message saying so. Debian builds it with a
//! whitelist, so the launcher writes one holding the test's info-hash.

mod tracker_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use torrix::tracker::{Scrape, Stop};
use torrix_proto::{InfoHash, PeerId};
use tracker_support::*;

/// A running opentracker bound to 127.0.0.1 on one port for TCP and UDP,
/// serving only the whitelisted info-hashes. Killed on drop.
pub struct OpenTracker {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl OpenTracker {
    /// The binary: `$OPENTRACKER`, else `opentracker` on `PATH`.
    fn binary() -> PathBuf {
        std::env::var_os("OPENTRACKER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("opentracker"))
    }

    /// Starts opentracker allowing `hashes`, and waits until it serves them.
    /// Panics with a clear message if it cannot be started.
    pub fn start(hashes: &[InfoHash]) -> OpenTracker {
        let mut last_error = String::new();
        for _ in 0..5 {
            match Self::try_start(hashes) {
                Ok(tracker) => return tracker,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "could not start opentracker (is the `opentracker` package installed?): {last_error}"
        );
    }

    fn try_start(hashes: &[InfoHash]) -> Result<OpenTracker, String> {
        use std::os::unix::fs::PermissionsExt;
        let port = free_port();
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Running as root, opentracker chroots into `tracker.rootdir` and drops
        // to `nobody`, who must be able to read the directory and whitelist;
        // the whitelist path is then relative to the chroot.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let whitelist: String = hashes.iter().map(|h| h.to_hex() + "\n").collect();
        std::fs::write(dir.path().join("whitelist"), whitelist).map_err(|e| e.to_string())?;
        let config = format!(
            "listen.tcp 127.0.0.1:{port}\nlisten.udp 127.0.0.1:{port}\n\
             access.whitelist /whitelist\ntracker.rootdir {}\n",
            dir.path().display()
        );
        let config_path = dir.path().join("opentracker.conf");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("log")).map_err(|e| e.to_string())?;
        let child = Command::new(Self::binary())
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", Self::binary().display()))?;
        let mut tracker = OpenTracker { child, port, dir };
        tracker.wait_ready(hashes.first().copied())?;
        Ok(tracker)
    }

    /// Polls with a `stopped` announce from a throw-away peer id (which adds
    /// no peer) until opentracker accepts the hash: the whitelist is loaded
    /// by a thread of its own, a little after the port opens.
    fn wait_ready(&mut self, hash: Option<InfoHash>) -> Result<(), String> {
        let hash = hash.unwrap_or(InfoHash([0; 20]));
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("opentracker exited with {status}: {}", self.log()));
            }
            let encoded: String = hash.0.iter().map(|b| format!("%{b:02X}")).collect();
            let request = format!(
                "GET /announce?info_hash={encoded}&peer_id=-XX0000-readinessxxx&port=1\
                 &uploaded=0&downloaded=0&left=0&compact=1&event=stopped HTTP/1.0\r\n\r\n"
            );
            match http_exchange(self.port, &request) {
                Ok(body) if body.contains("d8:complete") || body.contains("interval") => {
                    return Ok(())
                }
                Ok(body) => last = body,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "opentracker not ready: {last}; log: {}",
            self.log()
        ))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>/announce`
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.port)
    }

    /// `udp://127.0.0.1:<port>`
    pub fn udp_url(&self) -> String {
        format!("udp://127.0.0.1:{}", self.port)
    }
}

impl Drop for OpenTracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both TCP and UDP on 127.0.0.1 right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One blocking HTTP/1.0 exchange with 127.0.0.1:`port`; returns the response.
fn http_exchange(port: u16, request: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

const HASH: InfoHash = InfoHash([0x0c; 20]);

/// Two actors announce `url`; the second must learn the first's address,
/// a scrape must count both, and after the first stops, only one.
async fn two_clients_meet(url: String) {
    let first_id = PeerId(*b"-TX0100-first0000001");
    let second_id = PeerId(*b"-TX0100-second000002");
    let first_addr: SocketAddr = "127.0.0.1:40001".parse().unwrap();

    let (first, _rx1) = spawn_tracker_with_stats(
        fast_config(),
        vec![vec![url.clone()]],
        HASH,
        first_id,
        first_addr.port(),
        torrix::tracker::UpdateStats {
            left: 1000,
            ..Default::default()
        },
    );
    wait_status(&first, 5, |s| s[0].announced || s[0].last_error.is_some()).await;
    let status = wait_status(&first, 1, |_| true).await;
    assert!(status[0].announced, "first client not accepted: {status:?}");

    let (second, mut rx2) = spawn_tracker_with_stats(
        fast_config(),
        vec![vec![url.clone()]],
        HASH,
        second_id,
        40002,
        torrix::tracker::UpdateStats {
            left: 1000,
            ..Default::default()
        },
    );
    let peers = next_peers(&mut rx2, 5).await;
    assert!(
        peers.contains(&first_addr),
        "second client did not learn {first_addr}: {peers:?}"
    );
    let stats = second.send(Scrape).await.unwrap().unwrap();
    assert_eq!((stats.leechers, stats.seeders), (2, 0), "{stats:?}");

    first.send(Stop).await.unwrap();
    let stats = second.send(Scrape).await.unwrap().unwrap();
    assert_eq!(
        stats.leechers, 1,
        "opentracker removed the stopped peer: {stats:?}"
    );
    second.send(Stop).await.unwrap();
}

#[actix_rt::test]
async fn opentracker_http_second_client_learns_the_first() {
    let tracker = OpenTracker::start(&[HASH]);
    two_clients_meet(tracker.http_url()).await;
}

#[actix_rt::test]
async fn opentracker_udp_second_client_learns_the_first() {
    let tracker = OpenTracker::start(&[HASH]);
    two_clients_meet(tracker.udp_url()).await;
}

#[actix_rt::test]
async fn opentracker_refuses_a_hash_not_whitelisted() {
    let tracker = OpenTracker::start(&[HASH]);
    let (client, _rx) = spawn_tracker(
        fast_config(),
        vec![vec![tracker.http_url()]],
        InfoHash([0x0d; 20]),
        PeerId::generate(),
        40003,
    );
    let status = wait_status(&client, 5, |s| s[0].last_error.is_some()).await;
    let err = status[0].last_error.as_deref().unwrap();
    assert!(err.starts_with("tracker failure: "), "{err}");
}
