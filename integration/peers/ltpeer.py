"""Helpers shared by the integration peer scripts (python3-libtorrent 2.0, /usr/bin/python3).

Everything here keeps libtorrent on the loopback network: every address a script is given
is checked to lie in 127.0.0.0/8, and the session is configured with DHT, local service
discovery, UPnP, NAT-PMP and PEX switched off.
"""
import ipaddress
import os
import sys
import time
import urllib.parse

import libtorrent as lt


def die(msg, code=2):
    """Print a one-line error on stderr and exit non-zero."""
    print(f"{prog()}: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def prog():
    return sys.argv[0].rsplit("/", 1)[-1]


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} {prog()}: {msg}", file=sys.stderr, flush=True)


def loopback_ip(host, what="address"):
    """Return HOST if it is an IPv4 address in 127.0.0.0/8, else exit."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        die(f"{what} {host!r} is not an IP address (only 127.0.0.0/8 is allowed)")
    if ip.version != 4 or not ip.is_loopback:
        die(f"refusing non-loopback {what} {host!r}: only 127.0.0.0/8 is allowed")
    return host


def endpoint(text, what="address"):
    """Parse '127.0.0.x:PORT' into (host, port), refusing anything off loopback."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        die(f"bad {what} {text!r}: expected 127.0.0.x:PORT")
    return loopback_ip(host, what), int(port)


def loopback_url(url, what="tracker URL"):
    host = urllib.parse.urlsplit(url).hostname
    if host is None:
        die(f"bad {what} {url!r}")
    loopback_ip(host, what)
    return url


def session(listen_ip, listen_port):
    """A libtorrent session bound to LISTEN_IP:LISTEN_PORT that stays on loopback."""
    settings = {
        "listen_interfaces": f"{listen_ip}:{listen_port}",
        # connect out from the same address, so 127.0.0.2 and 127.0.0.3 look like two hosts
        "outgoing_interfaces": listen_ip,
        # exactly the requested port, or a listen_failed_alert (no silent port+1 retry)
        "max_retry_port_bind": 0,
        "enable_dht": False,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        # TCP only: the torrix engine speaks TCP, uTP would only add noise
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        # encryption allowed, never required. Outgoing connections try MSE first
        # (libtorrent's default) unless TORRIX_LT_OUT_ENC=plaintext: the benchmarks
        # set that so libtorrent-to-libtorrent transfers are not RC4-encrypted
        # while torrix's (which has no MSE) are not.
        "in_enc_policy": int(lt.enc_policy.enabled),
        "out_enc_policy": int(lt.enc_policy.disabled
                              if os.environ.get("TORRIX_LT_OUT_ENC") == "plaintext"
                              else lt.enc_policy.enabled),
        "allowed_enc_level": int(lt.enc_level.both),
        # every harness peer is on 127.x; several may share one address
        "allow_multiple_connections_per_ip": True,
        "auto_manage_startup": 0,
        # on shutdown wait at most 1 s for trackers to acknowledge "stopped" (default 5 s;
        # an unanswered UDP "stopped" would otherwise delay every exit)
        "stop_tracker_timeout": 1,
        "user_agent": f"torrix-integration/libtorrent-{lt.__version__}",
        "alert_mask": int(lt.alert.category_t.error_notification
                          | lt.alert.category_t.status_notification
                          | lt.alert.category_t.storage_notification
                          | lt.alert.category_t.tracker_notification
                          | lt.alert.category_t.connect_notification),
    }
    return lt.session(settings)


def load_torrent(path):
    try:
        ti = lt.torrent_info(path)
    except RuntimeError as e:
        die(f"cannot load torrent {path!r}: {e}")
    for t in ti.trackers():
        loopback_url(t.url, "tracker URL in the torrent")
    return ti


def torrent_params(ti, save_path):
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = save_path
    # not auto-managed (so never queued), started, and no PEX/DHT/LSD for this torrent
    atp.flags = ((atp.flags | lt.torrent_flags.disable_pex | lt.torrent_flags.disable_dht
                  | lt.torrent_flags.disable_lsd)
                 & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused)
    return atp


LOGGED_ALERTS = (
    "listen_succeeded_alert", "listen_failed_alert", "tracker_error_alert",
    "tracker_reply_alert", "torrent_finished_alert", "torrent_checked_alert",
    "peer_connect_alert", "peer_disconnected_alert", "hash_failed_alert",
    "file_error_alert", "torrent_error_alert", "peer_error_alert",
)


def pump(ses, timeout_ms=100):
    """Wait for alerts, log the interesting ones on stderr, return them all."""
    ses.wait_for_alert(timeout_ms)
    alerts = ses.pop_alerts()
    for a in alerts:
        if type(a).__name__ in LOGGED_ALERTS or a.category() & lt.alert.category_t.error_notification:
            log(f"[{type(a).__name__}] {a.message()}")
    return alerts


def listen_error(alerts):
    for a in alerts:
        if isinstance(a, lt.listen_failed_alert):
            return a.message()
    return None


def say(line):
    """One protocol line on stdout for the harness (flushed at once)."""
    print(line, flush=True)
