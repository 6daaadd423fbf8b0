#!/usr/bin/env bash
# The whole test suite: what CI runs, and what to run before pushing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Every feature set the crate supports: each backend alone, all, none.
sets=(
  "--no-default-features"
  "--no-default-features --features tokio"
  "--no-default-features --features async-std"
  "--no-default-features --features smol"
  "--all-features"
)

step "cargo fmt --check"
cargo fmt --check

for set in "${sets[@]}"; do
  step "cargo clippy --all-targets $set"
  # shellcheck disable=SC2086
  cargo clippy --locked --all-targets $set -- -D warnings
done

for set in "${sets[@]}"; do
  step "cargo test $set (unit, integration, examples)"
  # shellcheck disable=SC2086
  cargo test --locked --lib --bins --tests --examples $set
done

# Doc tests: with every backend (README included), and with none.
step "cargo test --doc --all-features"
cargo test --locked --doc --all-features
step "cargo test --doc --no-default-features"
cargo test --locked --doc --no-default-features

step "cargo doc --all-features (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --all-features --no-deps

step "cargo bench --no-run --all-features"
cargo bench --locked --no-run --all-features

printf '\nAll checks passed.\n'
