#!/bin/sh
# docker-entrypoint.sh: runs torrix with its flags taken from the environment.
#
#   METAINFO_PATH  the .torrent file (required)
#   DOWNLOAD_DIR   where the data goes or is served from (default /downloads)
#   LISTEN         address for incoming peers (default 0.0.0.0:6881)
#   SEEDS          peers to connect to, comma separated (optional)
#   MODE           download or seed (default download)
#   TORRIX_BIN     the binary (default /usr/local/bin/torrix; for tests)
#
# Arguments are appended to the torrix command line (e.g. `--seed`,
# `--quiet`). If the first argument is a torrix subcommand or option
# (`create`, `info`, `bench`, `--help`, ...), torrix runs with exactly the
# given arguments and the environment is ignored.
set -eu

TORRIX_BIN="${TORRIX_BIN:-/usr/local/bin/torrix}"

die() {
    echo "docker-entrypoint: $*" >&2
    exit 2
}

case "${1:-}" in
    download | seed | create | info | bench | help | -h | --help | -V | --version)
        exec "$TORRIX_BIN" "$@"
        ;;
esac

[ -n "${METAINFO_PATH:-}" ] ||
    die "METAINFO_PATH is not set: set it to the .torrent file's path in the container, e.g. -e METAINFO_PATH=/torrents/file.torrent"

MODE="${MODE:-download}"
case "$MODE" in
    download | seed) ;;
    *) die "MODE must be 'download' or 'seed', not '$MODE'" ;;
esac

if [ -n "${SEEDS:-}" ]; then
    set -- --seeds "$SEEDS" "$@"
fi
exec "$TORRIX_BIN" "$MODE" \
    --metainfo "$METAINFO_PATH" \
    --download-dir "${DOWNLOAD_DIR:-/downloads}" \
    --listen "${LISTEN:-0.0.0.0:6881}" \
    "$@"
