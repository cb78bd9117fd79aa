#!/usr/bin/python3
"""Print what libtorrent reads from a .torrent, as one JSON object on stdout.

usage: lt_info.py TORRENT

{"info_hash": "<v1 hex>", "name": ..., "files": [{"path": "dir/sub/file", "size": N}, ...],
 "piece_length": N, "num_pieces": N, "total_size": N, "trackers": [url, ...]}

"files" is in torrent order (the order pieces run through them); paths are relative to
the save directory and include the torrent's name as first component for multi-file
torrents. BEP 47 pad files are left out.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtorrent as lt  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        ti = lt.torrent_info(sys.argv[1])
    except RuntimeError as e:
        print(f"lt_info.py: error: cannot load {sys.argv[1]!r}: {e}", file=sys.stderr)
        return 1
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        files.append({"path": fs.file_path(i), "size": fs.file_size(i)})
    ih = ti.info_hashes()
    json.dump({
        "info_hash": str(ih.v1) if ih.has_v1() else None,
        "name": ti.name(),
        "files": files,
        "piece_length": ti.piece_length(),
        "num_pieces": ti.num_pieces(),
        "total_size": ti.total_size(),
        "trackers": [t.url for t in ti.trackers()],
    }, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
