#!/usr/bin/python3
"""One torrix seeder, many concurrent torrix leechers, on loopback.

  integration/bench/many_leechers.py [--leechers 50] [--size-mb 256] [--piece-kb 256]
                                     [--torrix target/release/torrix] [--workdir DIR]

Every leecher is its own `torrix download` process on its own 127.0.1.x address and
knows only the seeder (no tracker, so leechers do not trade with each other: this
measures how fairly one seeder shares its upload). Reports each leecher's time, the
fastest, the median and the slowest (and slowest / fastest), the seeder's peak RSS,
and checks every copy byte for byte. A measurement, not a test.
"""
import argparse
import filecmp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import PY, PEERS, ROOT, listen_port, make_payload, start_server  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leechers", type=int, default=50)
    ap.add_argument("--size-mb", type=int, default=256)
    ap.add_argument("--piece-kb", type=int, default=256)
    ap.add_argument("--torrix", default=os.path.join(ROOT, "target", "release", "torrix"))
    ap.add_argument("--workdir", default="/tmp/torrix-bench-many")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    if a.leechers > 250:
        sys.exit("at most 250 leechers (one 127.0.1.x address each)")

    os.makedirs(os.path.join(a.workdir, "seed"), exist_ok=True)
    payload = os.path.join(a.workdir, "seed", "payload.bin")
    make_payload(payload, a.size_mb << 20)
    torrent = os.path.join(a.workdir, "payload.torrent")
    subprocess.run([PY, os.path.join(PEERS, "lt_make_torrent.py"), payload, torrent,
                    "--piece-size", str(a.piece_kb << 10)], check=True, stdout=subprocess.DEVNULL)
    seeder = start_server([a.torrix, "seed", torrent, "-d", os.path.join(a.workdir, "seed"),
                           "-l", "127.0.0.4:0", "--quiet"], "listening on", stream="stderr")
    port = listen_port(seeder.pid, "127.0.0.4")

    leechers = []
    start = time.monotonic()
    for i in range(a.leechers):
        out = os.path.join(a.workdir, f"out{i}")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        cmd = [a.torrix, "download", torrent, "-d", out, "-s", f"127.0.0.4:{port}",
               "-l", f"127.0.1.{i + 1}:0", "--quiet"]
        leechers.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out))
    times = [None] * a.leechers
    while any(t is None for t in times):
        if time.monotonic() - start > a.timeout:
            for p, _ in leechers:
                p.kill()
            sys.exit(f"timeout: {sum(t is None for t in times)} leechers unfinished")
        for i, (p, _) in enumerate(leechers):
            if times[i] is None and p.poll() is not None:
                if p.returncode != 0:
                    sys.exit(f"leecher {i} failed: {p.stderr.read().decode()[-2000:]}")
                times[i] = time.monotonic() - start
        time.sleep(0.01)
    total = time.monotonic() - start
    seeder.send_signal(signal.SIGTERM)
    _, _, ru = os.wait4(seeder.pid, 0)
    for i, (_, out) in enumerate(leechers):
        if not filecmp.cmp(payload, os.path.join(out, "payload.bin"), shallow=False):
            sys.exit(f"leecher {i}: data differs")
        shutil.rmtree(out, ignore_errors=True)
    fastest, slowest = min(times), max(times)
    print(f"{a.leechers} leechers x {a.size_mb} MiB from one torrix seeder: all complete and verified")
    print(f"fastest {fastest:.2f} s, median {statistics.median(times):.2f} s, slowest {slowest:.2f} s "
          f"(slowest / fastest = {slowest / fastest:.2f}), all done in {total:.2f} s "
          f"({a.leechers * a.size_mb / total:.0f} MiB/s aggregate)")
    print(f"seeder peak RSS {ru.ru_maxrss / 1024:.1f} MiB, seeder CPU {ru.ru_utime + ru.ru_stime:.2f} s")


if __name__ == "__main__":
    main()
