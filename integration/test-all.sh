#!/bin/bash
# The project's one test command (run from anywhere; works in the repo root):
# dependencies, formatting, lints, release build of the CLI, every test, doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s (%s) ===\n' "$*" "$(date '+%H:%M:%S')"; }

step "install-deps"
integration/install-deps.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "release build of torrix"
cargo build --release --locked -p torrix-cli
export TORRIX_BIN="$PWD/target/release/torrix"

step "cargo nextest (profile ci)"
cargo nextest run --workspace --locked --profile ci --no-fail-fast

step "doc tests"
cargo test --workspace --locked --doc

step "all passed"
