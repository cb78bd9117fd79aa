#!/usr/bin/python3
"""Create a v1 .torrent with libtorrent's create_torrent.

usage: lt_make_torrent.py PATH OUT.torrent [--piece-size BYTES] [--tracker URL]...

PATH is a file (single-file torrent) or a directory (multi-file torrent named after it).
Files are listed in sorted path order, symlinks skipped, zero-length files kept; the
torrent is v1-only (no BEP 47 pad files) and carries no creation date, so the same input
always gives the same info-hash. --piece-size must be a power of two >= 16384 (default:
libtorrent's choice). Tracker URLs must point into 127.0.0.0/8.
Prints the v1 info-hash (40 lowercase hex digits) on stdout.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtorrent as lt  # noqa: E402
import ltpeer as P  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("out")
    ap.add_argument("--piece-size", type=int, default=0, metavar="BYTES")
    ap.add_argument("--tracker", action="append", default=[], metavar="URL")
    a = ap.parse_args()
    ps = a.piece_size
    if ps and (ps < 16384 or ps & (ps - 1)):
        P.die(f"--piece-size {ps} is not a power of two >= 16384")
    for url in a.tracker:
        P.loopback_url(url)
    target = os.path.abspath(a.path.rstrip("/"))
    root = os.path.basename(target)
    fs = lt.file_storage()
    if os.path.isfile(target):
        fs.add_file(root, os.path.getsize(target))
    elif os.path.isdir(target):
        entries = []
        for dirpath, dirnames, filenames in os.walk(target):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for fn in filenames:
                full = os.path.join(dirpath, fn)
                if os.path.isfile(full) and not os.path.islink(full):
                    entries.append(os.path.relpath(full, target))
        # sort by path components so "a/b" < "a b" ordering does not depend on '/' vs ' '
        for rel in sorted(entries, key=lambda r: r.split(os.sep)):
            fs.add_file(os.path.join(root, rel), os.path.getsize(os.path.join(target, rel)))
    else:
        P.die(f"{a.path!r} is neither a file nor a directory")
    if fs.num_files() == 0:
        P.die(f"no files under {a.path!r}")
    ct = lt.create_torrent(fs, ps, flags=lt.create_torrent.v1_only)
    for tier, url in enumerate(a.tracker):
        ct.add_tracker(url, tier)
    ct.set_creator(f"torrix-integration (libtorrent {lt.__version__})")
    lt.set_piece_hashes(ct, os.path.dirname(target))
    entry = ct.generate()
    entry.pop(b"creation date", None)
    with open(a.out, "wb") as f:
        f.write(lt.bencode(entry))
    print(str(lt.torrent_info(a.out).info_hashes().v1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
