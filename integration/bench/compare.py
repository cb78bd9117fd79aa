#!/usr/bin/python3
"""Loopback transfer benchmark: torrix against libtorrent, in one run, alternating.

  integration/bench/compare.py [--size-mb 1024] [--piece-kb 256] [--runs 5]
                               [--torrix target/release/torrix] [--workdir DIR]
                               [--only lt->torrix,torrix->lt]

Scenarios, each run once per round, rounds repeated --runs times in alternation so a
noisy machine hits every contender alike:

  lt->lt        libtorrent seeder -> libtorrent leecher (the reference)
  lt->torrix    the same libtorrent seeder -> torrix leecher
  torrix->lt    torrix seeder -> libtorrent leecher
  torrix->torrix

Wall time is measured from the leecher's process start to its exit (start-up
included, for both programs alike); after each run, untimed, the download is deleted
and `sync` run, so one run's pending writeback does not land on the next. CPU (user+sys) and peak RSS of each leecher come
from wait4(). The seeders' peak RSS is read when they are stopped at the end. Every
download is compared byte for byte with the payload. Prints medians and ratios
against lt->lt. Timing is never asserted: this is a measurement, not a test.

Uses the project's own peer scripts in integration/peers (libtorrent 2.0 via Debian's
python3-libtorrent, for /usr/bin/python3). Loopback addresses only.
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
PEERS = os.path.join(HERE, "..", "peers")
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"

LT_SEED_ADDR = "127.0.0.2"
TX_SEED_ADDR = "127.0.0.4"
LEECH_ADDR = "127.0.0.3"


def make_payload(path, size):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    chunk = 1 << 20
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n


def run_measured(cmd, timeout=600):
    """Runs cmd; returns (wall seconds, cpu seconds, peak RSS KiB, stdout)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = start + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"timeout: {' '.join(cmd)}")
        time.sleep(0.005)
    wall = time.monotonic() - start
    out = proc.stdout.read().decode(errors="replace")
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n{out}\n{err[-2000:]}")
    return wall, (ru.ru_utime, ru.ru_stime), ru.ru_maxrss, out


def start_server(cmd, ready_word, stream="stdout", timeout=900):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    deadline = time.monotonic() + timeout
    for line in pipe:
        if ready_word in line:
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    sys.exit(f"server did not become ready: {' '.join(cmd)}")


def stop_server(proc):
    """Stops a server; returns its peak RSS in KiB."""
    proc.send_signal(signal.SIGTERM)
    _, _, ru = os.wait4(proc.pid, 0)
    return ru.ru_maxrss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--piece-kb", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--torrix", default=os.path.join(ROOT, "target", "release", "torrix"))
    ap.add_argument("--workdir", default="/tmp/torrix-bench")
    ap.add_argument("--only", default="", help="comma-separated scenarios to run (lt->lt always runs)")
    a = ap.parse_args()
    # Plaintext out for libtorrent too (torrix has no MSE): like for like.
    os.environ["TORRIX_LT_OUT_ENC"] = "plaintext"
    if not os.access(a.torrix, os.X_OK):
        sys.exit(f"no torrix binary at {a.torrix}: cargo build --release -p torrix-cli")

    os.makedirs(os.path.join(a.workdir, "seed"), exist_ok=True)
    payload = os.path.join(a.workdir, "seed", "payload.bin")
    make_payload(payload, a.size_mb << 20)
    torrent = os.path.join(a.workdir, "payload.torrent")
    subprocess.run([PY, os.path.join(PEERS, "lt_make_torrent.py"), payload, torrent,
                    "--piece-size", str(a.piece_kb << 10)], check=True, stdout=subprocess.DEVNULL)

    seed_dir = os.path.join(a.workdir, "seed")
    lt_seed = start_server([PY, os.path.join(PEERS, "lt_seed.py"), torrent, seed_dir,
                            "--listen", f"{LT_SEED_ADDR}:0"], "READY")
    tx_seed = start_server([a.torrix, "seed", torrent, "-d", seed_dir, "-l", f"{TX_SEED_ADDR}:0", "--quiet"],
                           "listening on", stream="stderr")
    # Both listen on port 0: ask the kernel which port each one got.
    lt_port = listen_port(lt_seed.pid, LT_SEED_ADDR)
    tx_port = listen_port(tx_seed.pid, TX_SEED_ADDR)

    out_dir = os.path.join(a.workdir, "out")
    scenarios = {
        "lt->lt": lambda: [PY, os.path.join(PEERS, "lt_leech.py"), torrent, out_dir,
                           "--peer", f"{LT_SEED_ADDR}:{lt_port}", "--listen", f"{LEECH_ADDR}:0"],
        "lt->torrix": lambda: [a.torrix, "download", torrent, "-d", out_dir,
                               "-s", f"{LT_SEED_ADDR}:{lt_port}", "-l", f"{LEECH_ADDR}:0", "--quiet"],
        "torrix->lt": lambda: [PY, os.path.join(PEERS, "lt_leech.py"), torrent, out_dir,
                               "--peer", f"{TX_SEED_ADDR}:{tx_port}", "--listen", f"{LEECH_ADDR}:0"],
        "torrix->torrix": lambda: [a.torrix, "download", torrent, "-d", out_dir,
                                   "-s", f"{TX_SEED_ADDR}:{tx_port}", "-l", f"{LEECH_ADDR}:0", "--quiet"],
    }
    if a.only:
        wanted = {"lt->lt", *a.only.split(",")}
        unknown = wanted - scenarios.keys()
        if unknown:
            sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
        scenarios = {k: v for k, v in scenarios.items() if k in wanted}
    results = {name: [] for name in scenarios}
    try:
        for r in range(a.runs):
            for name, cmd in scenarios.items():
                shutil.rmtree(out_dir, ignore_errors=True)
                os.makedirs(out_dir)
                wall, (user, sys_s), rss, _ = run_measured(cmd())
                cpu = user + sys_s
                got = os.path.join(out_dir, "payload.bin")
                if not filecmp.cmp(payload, got, shallow=False):
                    sys.exit(f"{name}: downloaded data differs from the payload")
                results[name].append((wall, cpu, rss))
                # Untimed: write back what this run left dirty (libtorrent never
                # fsyncs), so it does not slow whichever scenario comes next.
                shutil.rmtree(out_dir, ignore_errors=True)
                os.sync()
                print(f"round {r + 1} {name:15} wall {wall:6.2f} s  cpu {cpu:5.2f} s (user {user:4.2f} sys {sys_s:4.2f})  rss {rss / 1024:7.1f} MiB",
                      flush=True)
    finally:
        lt_rss = stop_server(lt_seed)
        tx_rss = stop_server(tx_seed)
        shutil.rmtree(out_dir, ignore_errors=True)

    ref = statistics.median(w for w, _, _ in results["lt->lt"])
    ref_cpu = statistics.median(c for _, c, _ in results["lt->lt"])
    print(f"\n{a.size_mb} MiB, {a.piece_kb} KiB pieces, {a.runs} alternating rounds; medians:")
    print(f"{'scenario':16} {'wall s':>7} {'vs lt->lt':>9} {'leecher cpu s':>13} {'cpu vs lt':>9} {'leecher rss MiB':>15}")
    for name, rows in results.items():
        wall = statistics.median(w for w, _, _ in rows)
        cpu = statistics.median(c for _, c, _ in rows)
        rss = statistics.median(m for _, _, m in rows) / 1024
        print(f"{name:16} {wall:7.2f} {wall / ref:9.2f} {cpu:13.2f} {cpu / ref_cpu:9.2f} {rss:15.1f}")
    print(f"seeder peak RSS: libtorrent {lt_rss / 1024:.1f} MiB, torrix {tx_rss / 1024:.1f} MiB")


def listen_port(pid, addr):
    """The TCP port process `pid` listens on at `addr` (from /proc/net/tcp)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    want = "".join(f"{int(x):02X}" for x in reversed(addr.split(".")))
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            ip, port = local.split(":")
            if state == "0A" and ip == want and inode in inodes:
                return int(port, 16)
    sys.exit(f"process {pid} does not listen on {addr}")


if __name__ == "__main__":
    main()
