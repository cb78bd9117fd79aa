#!/usr/bin/python3
"""A rate-limited libtorrent seeder for torrix's resume tests.

usage: lt_seeder.py TORRENT SAVE_DIR LISTEN_IP UPLOAD_LIMIT

Seeds TORRENT from SAVE_DIR, listening on LISTEN_IP with a port the OS picks,
sending at most UPLOAD_LIMIT bytes/s (0: unlimited). Prints "READY <port>" on
stdout once the data is checked and seeding, then runs until killed or until
stdin is closed (so it cannot outlive a test that died without killing it).
Exits non-zero, with the reason on stderr, if it cannot seed.
"""

import sys
import time

import libtorrent as lt


def main():
    torrent, save_dir, ip, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ses = lt.session({
        "listen_interfaces": f"{ip}:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "upload_rate_limit": limit,
        "alert_mask": lt.alert.category_t.error_notification,
    })
    handle = ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_dir})
    # Loopback peers are in libtorrent's "local" peer class, which the
    # session-wide limit skips; a torrent's own limit applies to every peer.
    handle.set_upload_limit(limit)
    deadline = time.monotonic() + 120
    while handle.status().state != lt.torrent_status.seeding:
        if time.monotonic() > deadline:
            sys.exit(f"lt_seeder: not seeding after 120 s: {handle.status().state}")
        for alert in ses.pop_alerts():
            print(f"lt_seeder: {alert.message()}", file=sys.stderr)
        time.sleep(0.05)
    if not ses.is_listening():
        sys.exit("lt_seeder: not listening")
    print("READY", ses.listen_port(), flush=True)
    # libtorrent seeds on its own threads; wait for the test to go away.
    sys.stdin.read()


if __name__ == "__main__":
    main()
