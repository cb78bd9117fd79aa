#!/bin/bash
# Install what the integration tests need, on Debian (bookworm) as root. Idempotent:
# installs only what is missing, runs apt-get update only if something is.
#
#   python3-libtorrent  libtorrent 2.0 for Debian's /usr/bin/python3 (the peer scripts)
#   opentracker         the tracker of the tracker tests
#   mktorrent           a second, independent torrent maker (for manual use)
#   cargo-nextest       the test runner of integration/test-all.sh
#
# Fails loudly (non-zero, with the reason) if anything is still missing afterwards.
set -euo pipefail

say() { echo "install-deps: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

export DEBIAN_FRONTEND=noninteractive
packages=(python3-libtorrent opentracker mktorrent)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    sudo=(sudo -E)
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "debian packages present: ${packages[*]}"
fi

if cargo nextest --version >/dev/null 2>&1; then
  say "cargo-nextest present: $(cargo nextest --version 2>/dev/null | head -n1)"
else
  say "installing cargo-nextest"
  cargo install cargo-nextest --locked
  cargo nextest --version >/dev/null 2>&1 || die "cargo nextest still not runnable (is ~/.cargo/bin on PATH?)"
fi

# the peer scripts run under Debian's interpreter, not whatever python3 is first on PATH
ver=$(/usr/bin/python3 -c 'import libtorrent; print(libtorrent.__version__)' 2>&1) \
  || die "/usr/bin/python3 cannot import libtorrent: $ver"
case "$ver" in
  2.*) say "/usr/bin/python3 has libtorrent $ver" ;;
  *) die "libtorrent $ver found, the peer scripts need 2.x" ;;
esac
command -v opentracker >/dev/null || die "opentracker not on PATH"
command -v mktorrent >/dev/null || die "mktorrent not on PATH"
for tool in fmt clippy; do
  cargo "$tool" --version >/dev/null 2>&1 || die "cargo $tool missing (rustup component add ${tool/fmt/rustfmt})"
done
say "ok"
