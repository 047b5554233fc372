#!/usr/bin/env bash
# How long the README's run command takes on this machine: fresh clone -> finished `make run`
# (set-up included), then a second, cached run. Not a test: wall times are measured, not asserted.
#   bash benchmarks/bench_fresh_clone.sh [--cold] [RUN_ARGS...]
# --cold: empty caches (pip's, annalign's llama-cpp-python wheel cache, the F16 model copy), as on
#         a new machine; the packages still come from the registry. Default: the caches as they are.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mode=warm
if [[ ${1:-} == --cold ]]; then
    mode=cold
    shift
    export PIP_CACHE_DIR=$work/pip-cache ANNALIGN_WHEEL_CACHE=$work/wheels XDG_CACHE_HOME=$work/xdg
fi
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
start=$(date +%s.%N)
make setup > "$work/setup.log" 2>&1
setup=$(echo "$(date +%s.%N) - $start" | bc)
make run RUN_ARGS="$*" > "$work/first.log" 2>&1
first=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
make run RUN_ARGS="$*" > "$work/second.log" 2>&1
second=$(echo "$(date +%s.%N) - $start" | bc)
echo "nproc: $(nproc); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); caches: $mode"
echo "fresh clone -> set-up done: ${setup} s"
echo "fresh clone -> make run done (set-up included): ${first} s"
echo "second make run (ledger cached): ${second} s"
grep -E "^(dices350|RQ1|  local|results|report)" "$work/second.log" || true
