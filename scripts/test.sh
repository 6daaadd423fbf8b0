#!/usr/bin/env bash
# The whole test suite: what CI runs, and what to run before pushing.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n==> [%d s] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
  printf 'scripts/test.sh: %s\n' "$*" >&2
  exit 1
}

# What the script needs besides cargo: rustfmt and clippy come from rustup
# when they are missing; python3 cannot, so it is named.
command -v cargo >/dev/null || fail "needs cargo: install Rust with rustup (https://rustup.rs)"
for component in rustfmt clippy; do
  tool=${component/rustfmt/fmt}
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || fail "needs cargo $tool: install the $component component"
    rustup component add "$component"
  fi
done
command -v python3 >/dev/null || fail "needs python3 (for scripts/msrv.py and reading cargo metadata)"

# Where cargo builds, whatever CARGO_TARGET_DIR or a config says: the checks
# below read the docs there, and the docs.rs-style build goes beside them.
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
[ -d "$target_dir" ] || mkdir -p "$target_dir"

# Every feature set the crate supports: none, each feature alone (the
# backends and the adapters), all.
sets=(
  "--no-default-features"
  "--no-default-features --features tokio"
  "--no-default-features --features async-std"
  "--no-default-features --features smol"
  "--no-default-features --features backon"
  "--no-default-features --features hyper"
  "--no-default-features --features hdrhistogram"
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
  --target-dir "$target_dir/loom" loom

# The tour is a package of its own (so that running it builds only what it
# needs): linted with every backend, and run on each.
step "cargo clippy -p stagger-tour --all-targets --all-features"
cargo clippy --locked -p stagger-tour --all-targets --all-features -- -D warnings

# The load tool is a package of its own too: linted, and its tests (the
# built binaries against a loopback server, a two-process split) run.
step "cargo clippy -p stagger-load --all-targets"
cargo clippy --locked -p stagger-load --all-targets -- -D warnings
step "cargo test -p stagger-load"
cargo test --locked -p stagger-load

step "examples, run"
cargo run --locked -p stagger-tour --example tour -- --runtime sim --n 1000 --max-delay 60
cargo run --locked -p stagger-tour --example tour --all-features -- --runtime tokio
cargo run --locked -p stagger-tour --example tour --all-features -- --runtime async-std
cargo run --locked -p stagger-tour --example tour --all-features -- --runtime smol
cargo run --locked --no-default-features --example custom_backend
cargo run --locked --no-default-features --example load -- --duration 60
cargo run --locked --no-default-features --features backon --example retry
cargo run --locked --no-default-features --features hyper,backon --example sim_service

step "cargo doc --all-features (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --all-features --no-deps

# rustdoc renders some unresolved links (a path through a module named like
# a crate, a re-exported crate) as literal text without a warning. What
# remains allowed comes from other crates' trait docs shown on our types
# (futures' AsyncReadExt and AsyncWriteExt on sim::net::Stream, rand's Rng
# methods on FastRng among them).
# The check fails when it cannot look: no docs where cargo put them, or grep
# failing, is an error, not a pass.
step "docs: no intra-doc link left as literal [text]"
docs="$target_dir/doc/stagger"
pages=$( (find "$docs" -name '*.html' 2>/dev/null || true) | wc -l)
[ "$pages" -gt 100 ] || fail "found $pages pages of docs in $docs: cannot check their links"
literal=$(grep -rhoE '\[<code>[^<]*</code>\]' "$docs") || [ $? -eq 1 ] || fail "grep failed on $docs"
unresolved=$(printf '%s\n' "$literal" | grep -vE '^$|^\[<code>(Self::sample(_fill)?|Fill|Sink|TryFuture|(Stream|StreamExt|Iterator|TryFuture)::[a-z_]+(\(\))?|Stream|AsyncRead|AsyncWrite|(AsyncReadExt::)?read\(\)|(AsyncWriteExt::)?write\(\))</code>\]$') || true
if [ -n "$unresolved" ]; then
  printf '%s\n' "$unresolved" >&2
  fail "unresolved intra-doc links above (in $docs)"
fi
echo "$pages pages checked"

# As docs.rs builds them: `--cfg docsrs` turns on the `doc(cfg)` feature
# badges, a nightly feature; RUSTC_BOOTSTRAP lets stable rustdoc check them.
step "cargo doc --all-features --cfg docsrs (as docs.rs builds)"
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
  cargo doc --locked --all-features --no-deps --target-dir "$target_dir/docsrs"

# What crates.io would get: the package's files, built on their own.
step "cargo package (verified)"
cargo package --locked --allow-dirty

# The benchmarks are not built here: clippy --all-targets --all-features
# above already compiles them (type-checks every line); a release build of
# criterion and every backend took a minute and a gigabyte for nothing more.
printf '\nAll checks passed in %d s.\n' "$((SECONDS - started))"
