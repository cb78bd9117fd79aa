#!/bin/sh
# Tests docker/entrypoint.sh without docker: TORRIX_BIN points at a stub that
# prints its arguments one per line, and each case compares them (and the
# exit status) with what the environment should map to.
# Usage: sh docker/test-entrypoint.sh   (exit 0 when every case passes)
set -u

here=$(cd "$(dirname "$0")" && pwd)
entrypoint="$here/entrypoint.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

stub="$work/torrix"
cat >"$stub" <<'STUB'
#!/bin/sh
for arg in "$@"; do printf '%s\n' "$arg"; done
STUB
chmod +x "$stub"

failures=0
cases=0

# check NAME EXPECTED_STATUS EXPECTED_STDOUT [VAR=value ...] RUN [ARGS ...]
# Runs the entrypoint, with ARGS, in a clean environment holding only PATH,
# TORRIX_BIN and the given variables (values may contain spaces).
check() {
    name=$1 want_status=$2 want_out=$3
    shift 3
    cases=$((cases + 1))
    # Rebuild "$@" with RUN replaced by the entrypoint command, keeping every
    # word intact.
    n=$#
    while [ "$n" -gt 0 ]; do
        word=$1
        shift
        if [ "$word" = RUN ]; then
            set -- "$@" sh "$entrypoint"
        else
            set -- "$@" "$word"
        fi
        n=$((n - 1))
    done
    out=$(env -i PATH="$PATH" TORRIX_BIN="$stub" "$@" 2>"$work/stderr")
    status=$?
    if [ "$status" != "$want_status" ] || [ "$out" != "$want_out" ]; then
        failures=$((failures + 1))
        echo "FAIL: $name"
        echo "  status: got $status, want $want_status"
        printf '  got:\n%s\n  want:\n%s\n  stderr:\n%s\n' "$out" "$want_out" "$(cat "$work/stderr")"
    else
        echo "ok:   $name"
    fi
}

# expect_stderr NAME TEXT: the last case's stderr contains TEXT.
expect_stderr() {
    if ! grep -qF "$2" "$work/stderr"; then
        failures=$((failures + 1))
        echo "FAIL: $1: stderr lacks '$2': $(cat "$work/stderr")"
    fi
}

nl='
'
lines() {
    out=""
    for l in "$@"; do out="$out$l$nl"; done
    printf '%s' "${out%"$nl"}"
}

check "defaults" 0 "$(lines download --metainfo /t/a.torrent --download-dir /downloads --listen 0.0.0.0:6881)" \
    METAINFO_PATH=/t/a.torrent RUN

check "every variable" 0 "$(lines seed --metainfo /t/a.torrent --download-dir /data --listen 127.0.0.2:7000 \
    --seeds 10.0.0.1:6881,10.0.0.2:51413)" \
    METAINFO_PATH=/t/a.torrent DOWNLOAD_DIR=/data LISTEN=127.0.0.2:7000 \
    SEEDS=10.0.0.1:6881,10.0.0.2:51413 MODE=seed RUN

check "extra arguments are passed through" 0 "$(lines download --metainfo /t/a.torrent --download-dir /downloads \
    --listen 0.0.0.0:6881 --seeds 1.2.3.4:5 --seed --quiet)" \
    METAINFO_PATH=/t/a.torrent SEEDS=1.2.3.4:5 RUN --seed --quiet

check "empty SEEDS adds no flag" 0 "$(lines download --metainfo /t/a.torrent --download-dir /downloads \
    --listen 0.0.0.0:6881)" \
    METAINFO_PATH=/t/a.torrent SEEDS= RUN

check "spaces stay inside one argument" 0 "$(lines download --metainfo '/t/my file.torrent' \
    --download-dir '/my downloads' --listen 0.0.0.0:6881 --log-level 'debug')" \
    METAINFO_PATH='/t/my file.torrent' DOWNLOAD_DIR='/my downloads' RUN --log-level debug

check "missing METAINFO_PATH is an error" 2 "" DOWNLOAD_DIR=/data RUN --seed
expect_stderr "missing METAINFO_PATH" "METAINFO_PATH is not set"

check "empty METAINFO_PATH is an error" 2 "" METAINFO_PATH= RUN
expect_stderr "empty METAINFO_PATH" "METAINFO_PATH is not set"

check "bad MODE is an error" 2 "" METAINFO_PATH=/t/a.torrent MODE=upload RUN
expect_stderr "bad MODE" "MODE must be 'download' or 'seed'"

check "a subcommand runs torrix as given" 0 "$(lines info /t/a.torrent --json)" \
    METAINFO_PATH=/ignored.torrent RUN info /t/a.torrent --json

check "bench needs no METAINFO_PATH" 0 "$(lines bench --size 64M)" RUN bench --size 64M

# Without TORRIX_BIN the entrypoint runs /usr/local/bin/torrix: in the image
# it prints the version, elsewhere the shell reports that path missing.
cases=$((cases + 1))
out=$(env -i PATH="$PATH" sh "$entrypoint" --version 2>"$work/stderr")
if [ -x /usr/local/bin/torrix ]; then
    case "$out" in torrix\ *) echo "ok:   default TORRIX_BIN" ;; *)
        failures=$((failures + 1))
        echo "FAIL: default TORRIX_BIN: $out"
        ;;
    esac
elif grep -qF /usr/local/bin/torrix "$work/stderr"; then
    echo "ok:   default TORRIX_BIN"
else
    failures=$((failures + 1))
    echo "FAIL: default TORRIX_BIN: $(cat "$work/stderr")"
fi

echo "$((cases - failures)) of $cases cases passed"
[ "$failures" -eq 0 ]
