#!/usr/bin/env bash
# Instructions, not time: each key cell of stagger next to its hand-written
# twin, counted by valgrind's callgrind, and their ratio. The count is the
# same from one run to the next whatever else the machine runs, so it can
# tell a 2 % change on a 2-core shared machine where wall-clock ratios swing
# 10-30 %. It is not a ratio of time: cache misses, system calls and time
# spent waiting cost no instructions (see BENCHMARKS.md, "Instructions").
#
# A manual tool, not run by CI:
#
#   bash benches/instructions.sh                 # every pair, n = 100 000
#   N=10000 bash benches/instructions.sh sim     # pairs whose name contains "sim"
#
# Each cell runs once at n (real runtimes: max_delay 0, every timer due, so
# the count does not depend on how fast valgrind runs; Sim: 10 ms, virtual)
# and once at n = 0 (the runtime's set-up alone), and the difference is
# reported: the cost of the call. Needs valgrind; builds the bench
# `instructions` (benches/instructions.rs) with every feature.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
REAL_MAX=${REAL_MAX:-0}
SIM_MAX=${SIM_MAX:-0.01}
FILTER=${1:-}

exe=$(cargo bench --all-features --bench instructions --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$exe" ]; then
    echo "instructions.sh: could not build benches/instructions.rs" >&2
    exit 1
fi

# Instructions of one run of a cell.
count() {
    local out
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$exe" --cell "$1" --n "$2" --max-delay "$3" 2>&1 >/dev/null) || {
        echo "instructions.sh: $1 failed: $out" >&2
        exit 1
    }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out" | tail -n 1
}

# The instructions of a cell's call: a run at n less a run at 0.
cost() {
    local full empty
    full=$(count "$1" "$N" "$2")
    empty=$(count "$1" 0 "$2")
    echo $((full - empty))
}

# stagger cell, hand-written twin, max_delay.
pairs=(
    "tokio-ct/stagger_wait_n tokio-ct/hand_unconstrained_fu $REAL_MAX"
    "tokio-ct/stagger_task_wait_n tokio-ct/hand_join_set $REAL_MAX"
    "tokio-ct/stagger_staggered tokio-ct/hand_fu_work $REAL_MAX"
    "tokio-ct/stagger_ticks tokio-ct/hand_sleep_until $REAL_MAX"
    "async-std/stagger_wait_n async-std/hand_fu_timer $REAL_MAX"
    "async-std/stagger_task_wait_n async-std/hand_spawned $REAL_MAX"
    "async-std/stagger_staggered async-std/hand_fu_work $REAL_MAX"
    "async-std/stagger_ticks async-std/hand_sleep_until $REAL_MAX"
    "smol/stagger_wait_n smol/hand_fu_timer $REAL_MAX"
    "smol/stagger_task_wait_n smol/hand_spawned $REAL_MAX"
    "smol/stagger_staggered smol/hand_fu_work $REAL_MAX"
    "smol/stagger_ticks smol/hand_sleep_until $REAL_MAX"
    "sim/stagger_wait_n tokio-paused/hand_unconstrained_fu $SIM_MAX"
    "sim/stagger_staggered sim/hand_fu_work $SIM_MAX"
    "sim/stagger_ticks_due sim/hand_sleep_until_due $SIM_MAX"
)

echo "n = $N; instructions per item (the call's, set-up subtracted); real runtimes at max_delay ${REAL_MAX} s, Sim at ${SIM_MAX} s"
printf '%-32s %-36s %10s %10s %7s\n' "stagger" "hand-written" "stagger" "hand" "ratio"
for pair in "${pairs[@]}"; do
    read -r mine twin max <<<"$pair"
    case "$pair" in *"$FILTER"*) ;; *) continue ;; esac
    a=$(cost "$mine" "$max")
    b=$(cost "$twin" "$max")
    awk -v m="$mine" -v t="$twin" -v a="$a" -v b="$b" -v n="$N" \
        'BEGIN { printf "%-32s %-36s %10.1f %10.1f %7.2f\n", m, t, a / n, b / n, a / b }'
done
