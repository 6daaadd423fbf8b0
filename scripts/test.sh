#!/usr/bin/env bash
# The whole test suite: what CI runs, and what to run before pushing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Every feature set the crate supports: none, each feature alone (the
# backends and the adapters), all.
sets=(
  "--no-default-features"
  "--no-default-features --features tokio"
  "--no-default-features --features async-std"
  "--no-default-features --features smol"
  "--no-default-features --features backon"
  "--no-default-features --features hyper"
  "--all-features"
)

step "cargo fmt --check"
cargo fmt --check

for set in "${sets[@]}"; do
  step "cargo clippy --all-targets $set"
  # shellcheck disable=SC2086
  cargo clippy --locked --all-targets $set -- -D warnings
done

# The whole suite for every set: unit, integration, examples and doc tests
# (the README's with tokio), so a doc example naming another feature's type
# fails here.
for set in "${sets[@]}"; do
  step "cargo test $set (unit, integration, examples, doc tests)"
  # shellcheck disable=SC2086
  cargo test --locked $set
done

step "cargo doc --all-features (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --all-features --no-deps

# As docs.rs builds them: `--cfg docsrs` turns on the `doc(cfg)` feature
# badges, a nightly feature; RUSTC_BOOTSTRAP lets stable rustdoc check them.
step "cargo doc --all-features --cfg docsrs (as docs.rs builds)"
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
  cargo doc --locked --all-features --no-deps --target-dir target/docsrs

step "cargo bench --no-run --all-features"
cargo bench --locked --no-run --all-features

printf '\nAll checks passed.\n'
