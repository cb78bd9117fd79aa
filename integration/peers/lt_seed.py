#!/usr/bin/python3
"""Serve a torrent with libtorrent on a loopback address, in the foreground.

usage: lt_seed.py TORRENT SAVE_DIR --listen 127.0.0.x:PORT [--peer ADDR:PORT]...
                  [--tracker-reannounce SECONDS] [--partial (--pieces RANGES | --half first|second)]

SAVE_DIR is the directory that contains the torrent's content (the single file, or the
top directory of a multi-file torrent). PORT may be 0 for any free port.

Protocol: once libtorrent has checked the data and it is being served, exactly one line
"READY <port>" goes to stdout (flushed); <port> is the port actually listened on.
Everything else (logs, errors) goes to stderr. The process then serves until it is
killed (SIGTERM/SIGINT stop it cleanly with exit 0). Exit codes: 1 = the data is not what
was promised (incomplete, or a partial peer holding pieces outside its range), listen
failure, torrent error or ready timeout; 2 = bad arguments (including any address outside
127.0.0.0/8).

Full mode (default): READY only when libtorrent reports the torrent as seeding.

Partial mode (--pieces or --half, optionally spelled with --partial): the peer holds
exactly the listed pieces. After the check it verifies that it has all of them and none
other, then prints READY. Every other piece gets priority 0, so this peer NEVER downloads:
it stays a fixed partial peer that serves what it has, which is what a test needs to
prove that a downloader combined pieces from several peers.
  --pieces RANGES   e.g. "0-99" or "0-9,20-29" (inclusive, 0-based piece indices)
  --half first      pieces [0, n/2)   (n = number of pieces, integer division)
  --half second     pieces [n/2, n)

--peer ADDR:PORT    connect out to this peer (retried every second until the first
                    connection succeeds); may repeat.
--tracker-reannounce S   re-announce to the torrent's trackers every S seconds, ignoring
                    the tracker's minimum interval (so it learns of new leechers quickly).
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtorrent as lt  # noqa: E402
import ltpeer as P  # noqa: E402


def parse_ranges(spec, num_pieces):
    want = set()
    for part in spec.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            P.die(f"bad --pieces range {part!r}: expected A-B")
        if not 0 <= a <= b < num_pieces:
            P.die(f"--pieces range {part!r} outside 0-{num_pieces - 1}")
        want.update(range(a, b + 1))
    return want


def describe(pieces):
    """Compact 'a-b,c' rendering of a set of piece indices (for error messages)."""
    out, run = [], None
    for i in sorted(pieces):
        if run and i == run[1] + 1:
            run[1] = i
        else:
            if run:
                out.append(run)
            run = [i, i]
    if run:
        out.append(run)
    text = ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in out[:8])
    return text + (",..." if len(out) > 8 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--listen", required=True, metavar="127.0.0.x:PORT")
    ap.add_argument("--peer", action="append", default=[], metavar="ADDR:PORT")
    ap.add_argument("--tracker-reannounce", type=float, default=0, metavar="SECONDS")
    ap.add_argument("--partial", action="store_true", help="partial mode (implied by --pieces/--half)")
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--pieces", metavar="RANGES")
    part.add_argument("--half", choices=["first", "second"])
    ap.add_argument("--ready-timeout", type=float, default=300, metavar="SECONDS")
    a = ap.parse_args()

    ip, port = P.endpoint(a.listen, "--listen address")
    peers = [P.endpoint(p, "--peer address") for p in a.peer]
    if a.partial and not (a.pieces or a.half):
        P.die("--partial needs --pieces RANGES or --half first|second")
    if not os.path.isdir(a.save_dir):
        P.die(f"save dir {a.save_dir!r} does not exist")
    ti = P.load_torrent(a.torrent)
    n = ti.num_pieces()

    want = None
    if a.pieces:
        want = parse_ranges(a.pieces, n)
    elif a.half:
        want = set(range(0, n // 2)) if a.half == "first" else set(range(n // 2, n))
    if want is not None and not want:
        P.die("partial mode with an empty piece set")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ses = P.session(ip, port)
    atp = P.torrent_params(ti, os.path.abspath(a.save_dir))
    if want is not None:
        atp.piece_priorities = [4 if i in want else 0 for i in range(n)]
    h = ses.add_torrent(atp)
    mode = f"partial ({len(want)}/{n} pieces: {describe(want)})" if want is not None else "full"
    P.log(f"{mode} seed of {ti.name()!r} ih={ti.info_hashes().v1} from {atp.save_path} on {ip}:{port}")

    t0 = time.monotonic()
    checked = False
    ready = False
    pending_peers = list(peers)
    last_dial = last_announce = last_stat = 0.0
    while not stop:
        alerts = P.pump(ses)
        err = P.listen_error(alerts)
        if err:
            P.die(f"listen on {ip}:{port} failed: {err}", 1)
        if any(isinstance(x, lt.torrent_checked_alert) for x in alerts):
            checked = True
        st = h.status()
        if st.errc.value():
            P.die(f"torrent error: {st.errc.message()} (save dir {atp.save_path})", 1)
        now = time.monotonic()
        if not ready:
            if not checked or st.state in (lt.torrent_status.checking_files,
                                           lt.torrent_status.checking_resume_data):
                if now - t0 > a.ready_timeout:
                    P.die(f"not ready after {a.ready_timeout}s (state {st.state})", 1)
                continue
            have = {i for i, b in enumerate(st.pieces) if b}
            if want is None:
                if not st.is_seeding:
                    missing = set(range(n)) - have
                    P.die(f"data incomplete in {atp.save_path}: {len(have)}/{n} pieces pass the hash "
                          f"check (missing {describe(missing)})", 1)
            else:
                if want - have:
                    P.die(f"partial data incomplete in {atp.save_path}: missing wanted pieces "
                          f"{describe(want - have)}", 1)
                if have - want:
                    P.die(f"partial peer holds pieces outside its range: {describe(have - want)} "
                          f"(the harness wrote too much data)", 1)
            if ses.listen_port() == 0:
                continue
            ready = True
            P.log(f"ready after {now - t0:.2f}s on {ip}:{ses.listen_port()}")
            P.say(f"READY {ses.listen_port()}")
            continue
        if pending_peers and now - last_dial >= 1.0:
            last_dial = now
            connected = {(p.ip[0], p.ip[1]) for p in h.get_peer_info()}
            pending_peers = [p for p in pending_peers if p not in connected]
            for p in pending_peers:
                h.connect_peer(p)
        if a.tracker_reannounce > 0 and now - last_announce >= a.tracker_reannounce:
            last_announce = now
            h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
        if now - last_stat >= 5:
            last_stat = now
            if st.num_peers or st.upload_rate:
                P.log(f"peers={st.num_peers} up={st.upload_rate / 1048576:.1f}MiB/s "
                      f"uploaded={st.total_payload_upload}")
    P.log("stopping")
    ses.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
