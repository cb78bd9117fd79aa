//! HTTP tracker protocol (BEP 3, BEP 23 compact peers, BEP 7 `peers6`, BEP 48
//! scrape): building request URLs and parsing bencoded response bodies.

use std::net::{IpAddr, SocketAddr};

use super::bdecode::{self, Value};
use super::{
    clamp_count, clamp_interval, parse_compact_peers, AnnounceRequest, AnnounceResponse,
    ScrapeStats, TrackerError, MAX_PEERS,
};
use crate::InfoHash;

/// Appends `bytes` to `out` percent-encoded per RFC 3986: the unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) stay, every other byte becomes `%XX`.
pub fn percent_encode_into(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// `base` without its fragment, followed by the separator a new query
/// parameter needs (`?`, `&` or nothing if it already ends in one).
fn query_prefix(base: &str) -> String {
    let base = base.split('#').next().unwrap_or(base);
    let mut url = String::with_capacity(base.len() + 256);
    url.push_str(base);
    if !base.contains('?') {
        url.push('?');
    } else if !base.ends_with('?') && !base.ends_with('&') {
        url.push('&');
    }
    url
}

/// The full announce URL for `req` at the tracker whose announce URL is
/// `base`. A query string already in `base` (a passkey, say) is kept and the
/// parameters appended after `&`.
pub fn announce_url(base: &str, req: &AnnounceRequest) -> String {
    let mut url = query_prefix(base);
    url.push_str("info_hash=");
    percent_encode_into(&req.info_hash.0, &mut url);
    url.push_str("&peer_id=");
    percent_encode_into(&req.peer_id.0, &mut url);
    url.push_str(&format!(
        "&port={}&uploaded={}&downloaded={}&left={}&compact={}",
        req.port,
        req.uploaded,
        req.downloaded,
        req.left,
        u8::from(req.compact)
    ));
    if let Some(event) = req.event {
        url.push_str("&event=");
        url.push_str(event.as_str());
    }
    if let Some(numwant) = req.numwant {
        url.push_str(&format!("&numwant={numwant}"));
    }
    url.push_str(&format!("&key={:08X}", req.key));
    if let Some(id) = &req.tracker_id {
        url.push_str("&trackerid=");
        percent_encode_into(id.as_bytes(), &mut url);
    }
    if let Some(ip) = req.ip {
        url.push_str("&ip=");
        percent_encode_into(ip.to_string().as_bytes(), &mut url);
    }
    url
}

/// The scrape URL for a tracker's announce URL, by the convention of BEP 48:
/// the last path segment must begin with `announce`, which becomes `scrape`
/// (`/x/announce.php?k=1` → `/x/scrape.php?k=1`). Anything else cannot be
/// scraped.
pub fn scrape_base_url(announce: &str) -> Result<String, TrackerError> {
    let announce = announce.split('#').next().unwrap_or(announce);
    let (path, query) = match announce.find('?') {
        Some(i) => announce.split_at(i),
        None => (announce, ""),
    };
    let slash = path.rfind('/').ok_or(TrackerError::ScrapeUnsupported)?;
    let (head, last) = path.split_at(slash + 1);
    // `http://host` has its last '/' in the scheme: there is no path at all.
    if head.ends_with("//") {
        return Err(TrackerError::ScrapeUnsupported);
    }
    let rest = last
        .strip_prefix("announce")
        .ok_or(TrackerError::ScrapeUnsupported)?;
    Ok(format!("{head}scrape{rest}{query}"))
}

/// The full scrape URL for `info_hashes` at the tracker whose announce URL
/// is `announce`.
pub fn scrape_url(announce: &str, info_hashes: &[InfoHash]) -> Result<String, TrackerError> {
    let base = scrape_base_url(announce)?;
    let mut url = query_prefix(&base);
    for (i, hash) in info_hashes.iter().enumerate() {
        if i > 0 {
            url.push('&');
        }
        url.push_str("info_hash=");
        percent_encode_into(&hash.0, &mut url);
    }
    Ok(url)
}

/// Parses an announce response body, keeping at most [`MAX_PEERS`] peers.
pub fn parse_announce_response(body: &[u8]) -> Result<AnnounceResponse, TrackerError> {
    parse_announce_response_with_limit(body, MAX_PEERS)
}

/// Parses an announce response body, keeping at most `max_peers` peers
/// (IPv4 first, then IPv6); the rest are dropped.
///
/// A `failure reason` becomes [`TrackerError::Failure`]. `peers` may be the
/// compact string (BEP 23) or the original list of dictionaries; entries of
/// the list with a host name rather than an address, or a bad port, are
/// skipped (resolving names is the caller's business, and one bad entry
/// should not cost the others).
pub fn parse_announce_response_with_limit(
    body: &[u8],
    max_peers: usize,
) -> Result<AnnounceResponse, TrackerError> {
    let root = top_level_dict(body)?;
    let mut resp = AnnounceResponse {
        warning: opt_string(&root, b"warning message", "warning message")?,
        tracker_id: opt_string(&root, b"tracker id", "tracker id")?,
        interval: opt_int(&root, b"interval", "interval")?.map(clamp_interval),
        min_interval: opt_int(&root, b"min interval", "min interval")?.map(clamp_interval),
        seeders: opt_int(&root, b"complete", "complete")?.map(clamp_count),
        leechers: opt_int(&root, b"incomplete", "incomplete")?.map(clamp_count),
        peers: Vec::new(),
    };
    match root.get(b"peers") {
        None => {}
        Some(Value::Bytes(compact)) => parse_compact_peers(compact, 6, max_peers, &mut resp.peers)?,
        Some(Value::List(entries)) => {
            for entry in entries {
                if resp.peers.len() >= max_peers {
                    break;
                }
                if let Some(peer) = dict_peer(entry) {
                    resp.peers.push(peer);
                }
            }
        }
        Some(_) => return Err(TrackerError::InvalidField("peers")),
    }
    match root.get(b"peers6") {
        None => {}
        Some(Value::Bytes(compact)) => {
            parse_compact_peers(compact, 18, max_peers, &mut resp.peers)?
        }
        Some(_) => return Err(TrackerError::InvalidField("peers6")),
    }
    Ok(resp)
}

/// Parses a scrape response body into the stats of every torrent it lists.
/// Entries whose key is not a 20-byte info-hash or whose value is not a
/// dictionary are skipped; missing counts read as 0.
pub fn parse_scrape_response(body: &[u8]) -> Result<Vec<(InfoHash, ScrapeStats)>, TrackerError> {
    let root = top_level_dict(body)?;
    let Some(Value::Dict(files)) = root.get(b"files") else {
        return Err(TrackerError::InvalidField("files"));
    };
    let mut out = Vec::with_capacity(files.len());
    for (key, value) in files {
        let (Ok(hash), Value::Dict(_)) = (<[u8; 20]>::try_from(*key), value) else {
            continue;
        };
        let count = |k: &[u8]| match value.get(k) {
            Some(Value::Int(n)) => clamp_count(*n),
            _ => 0,
        };
        let stats = ScrapeStats {
            seeders: count(b"complete"),
            leechers: count(b"incomplete"),
            completed: count(b"downloaded"),
        };
        out.push((InfoHash(hash), stats));
    }
    Ok(out)
}

/// Decodes `body`, requires a dictionary and turns `failure reason` into an error.
fn top_level_dict(body: &[u8]) -> Result<Value<'_>, TrackerError> {
    let root = bdecode::decode(body)?;
    if !matches!(root, Value::Dict(_)) {
        return Err(TrackerError::NotADictionary);
    }
    if let Some(reason) = root.get(b"failure reason") {
        let Value::Bytes(reason) = reason else {
            return Err(TrackerError::InvalidField("failure reason"));
        };
        return Err(TrackerError::Failure(
            String::from_utf8_lossy(reason).into_owned(),
        ));
    }
    Ok(root)
}

fn opt_int(root: &Value<'_>, key: &[u8], name: &'static str) -> Result<Option<i64>, TrackerError> {
    match root.get(key) {
        None => Ok(None),
        Some(Value::Int(n)) => Ok(Some(*n)),
        Some(_) => Err(TrackerError::InvalidField(name)),
    }
}

fn opt_string(
    root: &Value<'_>,
    key: &[u8],
    name: &'static str,
) -> Result<Option<String>, TrackerError> {
    match root.get(key) {
        None => Ok(None),
        Some(Value::Bytes(b)) => Ok(Some(String::from_utf8_lossy(b).into_owned())),
        Some(_) => Err(TrackerError::InvalidField(name)),
    }
}

/// One peer of the dictionary form: `{ip: "1.2.3.4" or "::1", port: n}`.
fn dict_peer(entry: &Value<'_>) -> Option<SocketAddr> {
    let Some(Value::Bytes(ip)) = entry.get(b"ip") else {
        return None;
    };
    let Some(Value::Int(port)) = entry.get(b"port") else {
        return None;
    };
    let port = u16::try_from(*port).ok().filter(|&p| p != 0)?;
    let ip: IpAddr = std::str::from_utf8(ip).ok()?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::{Event, MAX_INTERVAL};
    use crate::PeerId;
    use std::time::Duration;

    fn request() -> AnnounceRequest {
        let mut hash = [0u8; 20];
        hash[..6].copy_from_slice(&[0x00, 0x7e, 0x41, 0x2d, 0xff, b' ']);
        let mut req = AnnounceRequest::new(InfoHash(hash), PeerId(*b"-TX0100-abcdefghij~."), 6881);
        req.uploaded = 1;
        req.downloaded = 2;
        req.left = 3;
        req.key = 0xdead_beef;
        req
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        let mut s = String::new();
        percent_encode_into(b"aZ09-._~ /%?&=\x00\xff", &mut s);
        assert_eq!(s, "aZ09-._~%20%2F%25%3F%26%3D%00%FF");
    }

    #[test]
    fn announce_url_has_every_parameter() {
        let mut req = request();
        req.event = Some(Event::Started);
        req.numwant = Some(50);
        req.tracker_id = Some("a b".into());
        req.ip = Some("10.1.2.3".parse().unwrap());
        let url = announce_url("http://t.example:6969/announce", &req);
        assert_eq!(
            url,
            "http://t.example:6969/announce?info_hash=%00~A-%FF%20%00%00%00%00%00%00%00%00%00%00%00%00%00%00\
             &peer_id=-TX0100-abcdefghij~.&port=6881&uploaded=1&downloaded=2&left=3&compact=1\
             &event=started&numwant=50&key=DEADBEEF&trackerid=a%20b&ip=10.1.2.3"
        );
    }

    #[test]
    fn announce_url_appends_to_existing_query_and_drops_fragment() {
        let req = request();
        let url = announce_url("http://t.example/announce.php?passkey=abc#frag", &req);
        assert!(url.starts_with("http://t.example/announce.php?passkey=abc&info_hash=%00~"));
        assert!(!url.contains("frag"));
        assert!(!url.contains("event="));
        let url = announce_url("http://t.example/a?", &req);
        assert!(url.starts_with("http://t.example/a?info_hash="));
    }

    #[test]
    fn scrape_urls_follow_the_convention() {
        let ok = [
            ("http://e.com/announce", "http://e.com/scrape"),
            ("http://e.com/x/announce", "http://e.com/x/scrape"),
            ("http://e.com/announce.php", "http://e.com/scrape.php"),
            (
                "http://e.com/announce?x2%0644",
                "http://e.com/scrape?x2%0644",
            ),
        ];
        for (a, s) in ok {
            assert_eq!(scrape_base_url(a).unwrap(), s, "{a}");
        }
        for bad in [
            "http://e.com/a",
            "http://e.com/announce/",
            "http://e.com/x%064announce",
            "http://announce",
            "announce",
        ] {
            assert_eq!(
                scrape_base_url(bad),
                Err(TrackerError::ScrapeUnsupported),
                "{bad}"
            );
        }
        let url = scrape_url("http://e.com/announce?k=1", &[InfoHash([0xaa; 20])]).unwrap();
        assert_eq!(
            url,
            format!("http://e.com/scrape?k=1&info_hash={}", "%AA".repeat(20))
        );
    }

    #[test]
    fn parses_compact_response_with_all_fields() {
        let body = b"d8:completei5e10:incompletei3e8:intervali1800e12:min intervali60e\
            10:tracker id3:xyz15:warning message4:slow\
            5:peers12:\x7f\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x00\x50\
            6:peers618:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe2e";
        let r = parse_announce_response(body).unwrap();
        assert_eq!(r.interval, Some(Duration::from_secs(1800)));
        assert_eq!(r.min_interval, Some(Duration::from_secs(60)));
        assert_eq!(r.seeders, Some(5));
        assert_eq!(r.leechers, Some(3));
        assert_eq!(r.tracker_id.as_deref(), Some("xyz"));
        assert_eq!(r.warning.as_deref(), Some("slow"));
        assert_eq!(
            r.peers,
            vec![
                "127.0.0.1:6881".parse().unwrap(),
                "10.0.0.2:80".parse().unwrap(),
                "[::1]:6882".parse().unwrap(),
            ]
        );
    }

    #[test]
    fn parses_dictionary_peers_skipping_bad_entries() {
        let body = b"d8:intervali900e5:peersl\
            d2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee\
            d2:ip3:::14:porti7000ee\
            d2:ip11:example.com4:porti1ee\
            d2:ip8:10.0.0.14:porti70000ee\
            d2:ip8:10.0.0.14:porti0ee\
            i5e\
            d4:porti1ee\
            ee";
        let r = parse_announce_response(body).unwrap();
        assert_eq!(
            r.peers,
            vec![
                "127.0.0.1:6881".parse().unwrap(),
                "[::1]:7000".parse().unwrap()
            ]
        );
    }

    #[test]
    fn failure_reason_is_a_typed_error() {
        assert_eq!(
            parse_announce_response(b"d14:failure reason8:not fonde"),
            Err(TrackerError::Failure("not fond".into()))
        );
        assert_eq!(
            parse_announce_response(b"d14:failure reasoni1ee"),
            Err(TrackerError::InvalidField("failure reason"))
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(matches!(
            parse_announce_response(b"<html>oops</html>"),
            Err(TrackerError::InvalidBencode { .. })
        ));
        assert!(matches!(
            parse_announce_response(b"d8:intervali1800e5:peers"),
            Err(TrackerError::InvalidBencode { .. })
        ));
        assert_eq!(
            parse_announce_response(b"li1ee"),
            Err(TrackerError::NotADictionary)
        );
        assert_eq!(
            parse_announce_response(b"d8:interval2:10e"),
            Err(TrackerError::InvalidField("interval"))
        );
        assert_eq!(
            parse_announce_response(b"d5:peersi1ee"),
            Err(TrackerError::InvalidField("peers"))
        );
        assert_eq!(
            parse_announce_response(b"d5:peers5:abcdee"),
            Err(TrackerError::CompactPeersLength { len: 5, entry: 6 })
        );
        assert_eq!(
            parse_announce_response(b"d6:peers66:abcdefe"),
            Err(TrackerError::CompactPeersLength { len: 6, entry: 18 })
        );
    }

    #[test]
    fn peers_are_capped_and_intervals_clamped() {
        let mut body = b"d8:intervali99999999999e12:min intervali-5e5:peers6000:".to_vec();
        for i in 0..1000u32 {
            body.extend_from_slice(&[10, 0, (i >> 8) as u8, i as u8, 0x1a, 0xe1]);
        }
        body.push(b'e');
        let r = parse_announce_response_with_limit(&body, 100).unwrap();
        assert_eq!(r.peers.len(), 100);
        assert_eq!(r.interval, Some(MAX_INTERVAL));
        assert_eq!(r.min_interval, Some(Duration::ZERO));
        assert_eq!(parse_announce_response(&body).unwrap().peers.len(), 1000);
    }

    #[test]
    fn parses_scrape_responses() {
        let body =
            b"d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei5e10:downloadedi50e10:incompletei10ee\
            3:badd8:completei1ee\
            20:bbbbbbbbbbbbbbbbbbbbd8:completei-1eee\
            e";
        let r = parse_scrape_response(body).unwrap();
        assert_eq!(
            r,
            vec![
                (
                    InfoHash(*b"aaaaaaaaaaaaaaaaaaaa"),
                    ScrapeStats {
                        seeders: 5,
                        leechers: 10,
                        completed: 50
                    }
                ),
                (InfoHash(*b"bbbbbbbbbbbbbbbbbbbb"), ScrapeStats::default()),
            ]
        );
        assert_eq!(
            parse_scrape_response(b"de"),
            Err(TrackerError::InvalidField("files"))
        );
        assert_eq!(
            parse_scrape_response(b"d14:failure reason2:noe"),
            Err(TrackerError::Failure("no".into()))
        );
    }
}
