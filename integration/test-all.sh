#!/bin/bash
# The project's one test command (run from anywhere): dependencies, formatting, lints,
# release build of the CLI, every test (nextest), doc tests, torrix-proto's API docs. Every step runs even if an
# earlier one failed (except install-deps, without which nothing can work), so one run
# shows every problem; the exit status is non-zero if any step failed.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
step() {
  local name=$1
  shift
  printf '\n=== %s (%s) ===\n' "$name" "$(date '+%H:%M:%S')"
  local t0=$SECONDS
  if "$@"; then
    printf '=== %s: ok (%ds)\n' "$name" $((SECONDS - t0))
  else
    printf '=== %s: FAILED, exit %d (%ds)\n' "$name" $? $((SECONDS - t0))
    failed+=("$name")
  fi
}

printf '=== install-deps (%s) ===\n' "$(date '+%H:%M:%S')"
integration/install-deps.sh

step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "release build of torrix" cargo build --release --locked -p torrix-cli
export TORRIX_BIN="$PWD/target/release/torrix"
step "cargo nextest" cargo nextest run --workspace --locked --profile ci --no-fail-fast
step "doc tests" cargo test --workspace --locked --doc
step "API docs (torrix-proto)" env RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p torrix-proto

echo
if ((${#failed[@]})); then
  printf 'test-all: FAILED steps: %s\n' "$(IFS=,; echo "${failed[*]}")"
  exit 1
fi
echo "test-all: all steps passed"
