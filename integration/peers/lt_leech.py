#!/usr/bin/python3
"""Download a torrent with libtorrent from loopback peers, in the foreground.

usage: lt_leech.py TORRENT OUT_DIR [--peer ADDR:PORT]... [--listen 127.0.0.x:PORT] [--timeout S]

Peers come from --peer (dialled as soon as the torrent is checked, and again every
half second while no peer is connected) and/or from the tracker URLs inside the torrent,
and any peer may connect in: with neither --peer nor a tracker the leecher only waits to
be dialled (e.g. by `lt_seed.py --peer`). --listen defaults to 127.0.0.1:0 (any port).

Protocol on stdout (each line flushed):
  LISTENING <port>   once the listen socket is up
  DONE <seconds>     when every piece is downloaded and verified; <seconds> runs from
                     add_torrent to completion. The files are flushed and closed before
                     this line is printed, then the process exits 0.
Exit 1 with a message on stderr on timeout (default 300 s), listen failure or torrent
error; exit 2 on bad arguments (including any address outside 127.0.0.0/8).
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtorrent as lt  # noqa: E402
import ltpeer as P  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("torrent")
    ap.add_argument("out_dir")
    ap.add_argument("--peer", action="append", default=[], metavar="ADDR:PORT")
    ap.add_argument("--listen", default="127.0.0.1:0", metavar="127.0.0.x:PORT")
    ap.add_argument("--timeout", type=float, default=300, metavar="SECONDS")
    a = ap.parse_args()

    ip, port = P.endpoint(a.listen, "--listen address")
    peers = [P.endpoint(p, "--peer address") for p in a.peer]
    ti = P.load_torrent(a.torrent)
    os.makedirs(a.out_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    ses = P.session(ip, port)
    atp = P.torrent_params(ti, os.path.abspath(a.out_dir))
    t0 = time.monotonic()
    h = ses.add_torrent(atp)
    P.log(f"leeching {ti.name()!r} ({ti.total_size()} bytes, {ti.num_pieces()} pieces) into {atp.save_path}")
    if not peers and not ti.trackers():
        P.log("no --peer and no tracker: waiting for peers to connect in")
    announced_port = False
    last_dial = last_stat = 0.0
    elapsed = None
    while elapsed is None:
        alerts = P.pump(ses, 50)
        err = P.listen_error(alerts)
        if err:
            P.die(f"listen on {ip}:{port} failed: {err}", 1)
        if not announced_port and ses.listen_port():
            announced_port = True
            P.say(f"LISTENING {ses.listen_port()}")
        st = h.status()
        now = time.monotonic()
        if st.errc.value():
            P.die(f"torrent error: {st.errc.message()}", 1)
        checking = st.state in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
        if not checking and (st.is_finished or st.is_seeding):
            elapsed = now - t0
            break
        if peers and not checking and st.num_peers == 0 and now - last_dial >= 0.5:
            last_dial = now
            for p in peers:
                h.connect_peer(p)
        if now - last_stat >= 2:
            last_stat = now
            P.log(f"{now - t0:6.1f}s {st.progress * 100:6.2f}% peers={st.num_peers} "
                  f"down={st.download_rate / 1048576:.1f}MiB/s")
        if now - t0 > a.timeout:
            P.die(f"timeout after {a.timeout}s at {st.progress * 100:.2f}% "
                  f"({st.num_pieces}/{ti.num_pieces()} pieces, {st.num_peers} peers)", 1)
    size = ti.total_size()
    P.log(f"complete: {size} bytes in {elapsed:.3f}s ({size / max(elapsed, 1e-9) / 1048576:.1f} MiB/s)")
    # make sure every block is on disk and every file is closed before saying DONE
    h.save_resume_data(lt.save_resume_flags_t.flush_disk_cache)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alerts = P.pump(ses, 100)
        if any(isinstance(x, (lt.save_resume_data_alert, lt.save_resume_data_failed_alert)) for x in alerts):
            break
    ses.remove_torrent(h)
    del h
    del ses
    P.say(f"DONE {elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
