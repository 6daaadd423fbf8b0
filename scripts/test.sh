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
cargo fmt --all --check

# The declared rust-version: clippy's incompatible_msrv lint (on by default,
# an error below) checks stagger's own code; this, its dependencies.
step "rust-version holds for every dependency"
python3 scripts/msrv.py

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

# The loom models of the concurrency core (src/loom_models/): every
# interleaving of each race, up to the preemption bound each model sets
# (LOOM_MAX_PREEMPTIONS overrides it). A target directory of their own: the
# `--cfg loom` build of every dependency does not overwrite the normal one.
step "loom models (RUSTFLAGS=--cfg loom cargo test --release --lib loom)"
RUSTFLAGS="--cfg loom" cargo test --locked --release --lib \
  --target-dir "${CARGO_TARGET_DIR:-target}/loom" loom

# The tour is a package of its own (so that running it builds only what it
# needs): linted with every backend, and run on each.
step "cargo clippy -p stagger-tour --all-targets --all-features"
cargo clippy --locked -p stagger-tour --all-targets --all-features -- -D warnings

step "examples, run"
cargo run --locked -p stagger-tour --example tour -- --runtime sim --n 1000 --max-delay 60
cargo run --locked -p stagger-tour --example tour --all-features -- --runtime tokio
cargo run --locked -p stagger-tour --example tour --all-features -- --runtime async-std
cargo run --locked -p stagger-tour --example tour --all-features -- --runtime smol
cargo run --locked --no-default-features --example custom_backend
cargo run --locked --no-default-features --example load -- --duration 60
cargo run --locked --no-default-features --features backon --example retry

step "cargo doc --all-features (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --all-features --no-deps

# rustdoc renders some unresolved links (a path through a module named like
# a crate, a re-exported crate) as literal text without a warning. What
# remains allowed comes from other crates' trait docs shown on our types.
step "docs: no intra-doc link left as literal [text]"
if grep -rhoE '\[<code>[^<]*</code>\]' target/doc/stagger |
  grep -vE '^\[<code>(Self::sample(_fill)?|Sink|TryFuture|(Stream|StreamExt|Iterator|TryFuture)::[a-z_]+(\(\))?)</code>\]$'; then
  echo "unresolved intra-doc links above" >&2
  exit 1
fi

# As docs.rs builds them: `--cfg docsrs` turns on the `doc(cfg)` feature
# badges, a nightly feature; RUSTC_BOOTSTRAP lets stable rustdoc check them.
step "cargo doc --all-features --cfg docsrs (as docs.rs builds)"
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
  cargo doc --locked --all-features --no-deps --target-dir target/docsrs

# What crates.io would get: the package's files, built on their own.
step "cargo package (verified)"
cargo package --locked --allow-dirty

step "cargo bench --no-run --all-features"
cargo bench --locked --no-run --all-features

printf '\nAll checks passed.\n'
