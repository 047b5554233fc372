#!/usr/bin/env bash
# How long the README's run command takes on this machine: from a fresh clone including set-up,
# then a second (cached) run. Prints both times. Not a test: wall times are measured, not asserted.
#   bash benchmarks/bench_fresh_clone.sh [RUN_ARGS...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
start=$(date +%s.%N)
make run RUN_ARGS="$*" > "$work/first.log" 2>&1
first=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
make run RUN_ARGS="$*" > "$work/second.log" 2>&1
second=$(echo "$(date +%s.%N) - $start" | bc)
echo "nproc: $(nproc); pip cache: $(pip cache dir 2>/dev/null || echo n/a)"
echo "fresh clone, set-up + make run: ${first} s"
echo "second make run (ledger cached): ${second} s"
grep -E "^(dices350|RQ1|  local|results|report)" "$work/second.log" || true
