//! The I/O half of tracker exchanges: HTTP(S) through `awc`, UDP through a
//! tokio socket. Each function is a self-contained future (it borrows nothing
//! from the actor), so the actor can spawn it and fold the result back in.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use slog::{debug, warn, Logger};
use tokio::net::UdpSocket;
use torrix_proto::tracker::{
    http, udp, AnnounceRequest, AnnounceResponse, ScrapeStats, TrackerError as ProtoError,
};
use torrix_proto::InfoHash;

use super::{TrackerConfig, TrackerError};

/// The transport a tracker URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `http://` or `https://`: the whole URL is the announce base.
    Http,
    /// `udp://host:port[/…]`: the `host:port` part.
    Udp(String),
    /// Anything else (`wss://`, typos); never contacted.
    Unsupported,
}

impl Kind {
    /// Classifies a tracker URL by scheme (case-insensitively).
    pub(crate) fn of(url: &str) -> Kind {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Kind::Http
        } else if lower.starts_with("udp://") {
            let rest = &url["udp://".len()..];
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            if authority.is_empty() {
                Kind::Unsupported
            } else {
                Kind::Udp(authority.to_owned())
            }
        } else {
            Kind::Unsupported
        }
    }
}

/// A UDP connection id and when it was obtained (BEP 15: valid for a minute).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionId {
    pub(crate) id: u64,
    pub(crate) obtained: Instant,
}

/// Root certificates from the system bundle, read once. Without a
/// `webpki-roots`/`rustls-native-certs` dependency we read the PEM bundle
/// ourselves from the usual locations (or `SSL_CERT_FILE`); with none found,
/// HTTPS trackers fail certificate verification and HTTP/UDP still work.
fn root_store() -> Arc<rustls::RootCertStore> {
    static ROOTS: OnceLock<Arc<rustls::RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let mut store = rustls::RootCertStore::empty();
            let candidates = std::env::var_os("SSL_CERT_FILE")
                .map(std::path::PathBuf::from)
                .into_iter()
                .chain(
                    [
                        "/etc/ssl/certs/ca-certificates.crt",
                        "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/ssl/cert.pem",
                    ]
                    .map(std::path::PathBuf::from),
                );
            for path in candidates {
                if let Ok(certs) = CertificateDer::pem_file_iter(&path) {
                    for cert in certs.flatten() {
                        let _ = store.add(cert);
                    }
                    if !store.is_empty() {
                        break;
                    }
                }
            }
            Arc::new(store)
        })
        .clone()
}

/// An HTTP client for tracker requests: rustls with the *ring* provider named
/// explicitly (awc's rustls feature alone has no provider and would panic on
/// the first HTTPS request), a request timeout, few redirects.
pub(crate) fn http_client(config: &TrackerConfig, log: &Logger) -> awc::Client {
    let mut connector = awc::Connector::new().timeout(config.announce_timeout);
    if let Some(ip) = config.local_ip {
        connector = connector.local_address(ip);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => {
            let mut tls = builder
                .with_root_certificates(root_store())
                .with_no_client_auth();
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            connector = connector.rustls_0_23(Arc::new(tls));
        }
        Err(e) => warn!(log, "TLS unavailable; HTTPS trackers will fail"; "error" => %e),
    }
    awc::Client::builder()
        .connector(connector)
        .timeout(config.announce_timeout)
        .max_redirects(3)
        .add_default_header(("User-Agent", concat!("torrix/", env!("CARGO_PKG_VERSION"))))
        .finish()
}

/// GETs `url` and returns status and body within `config.announce_timeout`
/// (head and body together), refusing bodies over `config.max_response_size`
/// bytes (checked against `Content-Length` first, then while reading).
async fn http_get(
    client: &awc::Client,
    url: &str,
    config: &TrackerConfig,
) -> Result<(awc::http::StatusCode, bytes::Bytes), TrackerError> {
    let exchange = async {
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| TrackerError::Http(e.to_string()))?;
        let status = response.status();
        let body = response
            .body()
            .limit(config.max_response_size)
            .await
            .map_err(|e| TrackerError::Http(e.to_string()))?;
        Ok((status, body))
    };
    tokio::time::timeout(config.announce_timeout, exchange)
        .await
        .map_err(|_| TrackerError::Timeout)?
}

/// One HTTP announce.
pub(crate) async fn http_announce(
    client: awc::Client,
    base: String,
    req: AnnounceRequest,
    config: Arc<TrackerConfig>,
) -> Result<AnnounceResponse, TrackerError> {
    let url = http::announce_url(&base, &req);
    let (status, body) = http_get(&client, &url, &config).await?;
    // Trackers often send a bencoded `failure reason` with a 4xx/5xx status;
    // prefer that message, else report the status.
    let parsed = http::parse_announce_response_with_limit(&body, config.max_peers);
    match (status.is_success(), parsed) {
        (true, Ok(resp)) => Ok(resp),
        (_, Err(e @ ProtoError::Failure(_))) => Err(e.into()),
        (false, _) => Err(TrackerError::HttpStatus(status.as_u16())),
        (true, Err(e)) => Err(e.into()),
    }
}

/// One HTTP scrape for `info_hash`.
pub(crate) async fn http_scrape(
    client: awc::Client,
    announce: String,
    info_hash: InfoHash,
    config: Arc<TrackerConfig>,
) -> Result<ScrapeStats, TrackerError> {
    let url = http::scrape_url(&announce, &[info_hash])?;
    let (status, body) = http_get(&client, &url, &config).await?;
    if !status.is_success() {
        return Err(TrackerError::HttpStatus(status.as_u16()));
    }
    http::parse_scrape_response(&body)?
        .into_iter()
        .find(|(hash, _)| *hash == info_hash)
        .map(|(_, stats)| stats)
        .ok_or(ProtoError::NotInScrape.into())
}

/// A UDP socket "connected" to the tracker (so the kernel drops datagrams
/// from anyone else) and the tracker's address.
async fn udp_socket(
    authority: &str,
    local_ip: Option<std::net::IpAddr>,
) -> Result<(UdpSocket, SocketAddr), TrackerError> {
    let addr = tokio::net::lookup_host(authority)
        .await
        .map_err(|e| TrackerError::Resolve(format!("{authority}: {e}")))?
        .next()
        .ok_or_else(|| TrackerError::Resolve(format!("{authority}: no address")))?;
    let bind: SocketAddr = if let Some(ip) = local_ip.filter(|ip| ip.is_ipv4() == addr.is_ipv4()) {
        // Announce from the address peers should dial: trackers record the
        // source address of the packet.
        (ip, 0).into()
    } else if addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(addr).await?;
    Ok((socket, addr))
}

/// Sends `packet` and waits for the response that `parse` accepts, with the
/// BEP 15 schedule: wait `base × 2ⁿ` after the n-th send, resend, up to
/// `max_retries` resends. Packets for another transaction are logged and
/// ignored; the wait goes on.
async fn udp_transact<T>(
    socket: &UdpSocket,
    packet: &[u8],
    config: &TrackerConfig,
    log: &Logger,
    parse: impl Fn(&[u8]) -> Result<T, ProtoError>,
) -> Result<T, TrackerError> {
    let mut buf = vec![0u8; udp::MAX_PACKET_LEN];
    for attempt in 0..=config.udp_max_retries {
        socket.send(packet).await?;
        let wait = udp::retransmit_timeout(config.udp_retransmit_base, attempt);
        let deadline = tokio::time::Instant::now()
            .checked_add(wait)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
        loop {
            let received = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_elapsed) => break,
                Ok(result) => result?,
            };
            match parse(&buf[..received]) {
                Err(ProtoError::TransactionMismatch { expected, got }) => {
                    warn!(log, "ignoring UDP tracker packet for another transaction";
                        "expected" => expected, "got" => got);
                }
                other => return other.map_err(TrackerError::from),
            }
        }
        debug!(log, "UDP tracker did not answer; retransmitting"; "attempt" => attempt + 1);
    }
    Err(TrackerError::Timeout)
}

/// Returns a usable connection id: the cached one if younger than the
/// configured lifetime, else a fresh one from a connect exchange.
async fn udp_connection_id(
    socket: &UdpSocket,
    cached: Option<ConnectionId>,
    config: &TrackerConfig,
    log: &Logger,
) -> Result<ConnectionId, TrackerError> {
    if let Some(c) = cached.filter(|c| c.obtained.elapsed() < config.connection_id_lifetime) {
        return Ok(c);
    }
    let tid = udp::transaction_id();
    let id = udp_transact(socket, &udp::encode_connect(tid), config, log, |p| {
        udp::parse_connect_response(p, tid)
    })
    .await?;
    Ok(ConnectionId {
        id,
        obtained: Instant::now(),
    })
}

/// One UDP announce (connect if needed, then announce). Returns the
/// connection id to cache alongside the result; a failed announce drops the
/// cached id, since a stale id is a common cause of tracker errors.
pub(crate) async fn udp_announce(
    authority: String,
    cached: Option<ConnectionId>,
    req: AnnounceRequest,
    config: Arc<TrackerConfig>,
    log: Logger,
) -> (Result<AnnounceResponse, TrackerError>, Option<ConnectionId>) {
    let attempt = async {
        let (socket, addr) = udp_socket(&authority, config.local_ip).await?;
        let conn = udp_connection_id(&socket, cached, &config, &log).await?;
        let tid = udp::transaction_id();
        let packet = udp::encode_announce(conn.id, tid, &req);
        let ipv6 = udp::is_ipv6(&addr);
        let max = config.max_peers;
        let resp = udp_transact(&socket, &packet, &config, &log, |p| {
            udp::parse_announce_response_with_limit(p, tid, ipv6, max)
        })
        .await?;
        Ok::<_, TrackerError>((resp, conn))
    };
    match attempt.await {
        Ok((resp, conn)) => (Ok(resp), Some(conn)),
        Err(e) => (Err(e), None),
    }
}

/// One UDP scrape for `info_hash`.
pub(crate) async fn udp_scrape(
    authority: String,
    cached: Option<ConnectionId>,
    info_hash: InfoHash,
    config: Arc<TrackerConfig>,
    log: Logger,
) -> Result<ScrapeStats, TrackerError> {
    let (socket, _) = udp_socket(&authority, config.local_ip).await?;
    let conn = udp_connection_id(&socket, cached, &config, &log).await?;
    let tid = udp::transaction_id();
    let packet = udp::encode_scrape(conn.id, tid, &[info_hash])?;
    let stats = udp_transact(&socket, &packet, &config, &log, |p| {
        udp::parse_scrape_response(p, tid, 1)
    })
    .await?;
    stats
        .into_iter()
        .next()
        .ok_or(ProtoError::NotInScrape.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_urls() {
        assert_eq!(Kind::of("http://a/announce"), Kind::Http);
        assert_eq!(Kind::of("HTTPS://a/announce"), Kind::Http);
        assert_eq!(
            Kind::of("udp://tracker.example:6969/announce"),
            Kind::Udp("tracker.example:6969".into())
        );
        assert_eq!(Kind::of("udp://[::1]:80"), Kind::Udp("[::1]:80".into()));
        assert_eq!(Kind::of("udp://"), Kind::Unsupported);
        assert_eq!(Kind::of("wss://a/announce"), Kind::Unsupported);
        assert_eq!(Kind::of(""), Kind::Unsupported);
    }
}
