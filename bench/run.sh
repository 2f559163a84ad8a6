#!/usr/bin/env bash
# Runs every benchmark of bench/ (`ipc`, ...) RUNS times (default 3) pinned to one CPU, then
# prints, for each case, our median, the raw median and the ratio (median
# of the runs' medians, [min..max] across runs), and the allocation count.
#
#   bench/run.sh                         # everything, ~3 min per run
#   RUNS=1 bench/run.sh fd_rt            # criterion filter: selected cases
#   MON_BENCH_QUICK=1 RUNS=1 bench/run.sh  # smoke run, seconds
#   PIN="taskset -c 1" bench/run.sh      # another CPU; PIN= for unpinned
#
# Both ends of every case are threads (or, for Python, a forked process) of
# the pinned process, so a message costs a same-CPU context switch, not a
# cross-CPU wake-up (~20 us on 2-vCPU VMs). See docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
PIN=${PIN-taskset -c 0}
out=${OUT:-$(mktemp -d /tmp/mon-ipc-bench.XXXXXX)}
mkdir -p "$out"

# Every bench target of the crate (ipc, and the others as they come), as
# "name path" lines.
benches=$(cargo bench -q -p mon-ipc-bench --benches --no-run --message-format=json |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])')

echo "machine: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "pinning: ${PIN:-none}; results in $out"
for i in $(seq 1 "$RUNS"); do
    echo "=== run $i/$RUNS, $(date -u +%H:%M:%S), load:$(uptime | sed 's/.*load average://')"
    rm -rf "$out/run$i"
    while read -r name exe; do
        log="$out/log$i-$name"
        (cd bench && CRITERION_HOME="$out/run$i" $PIN "$exe" --bench "$@") >"$log" 2>&1 ||
            { tail -30 "$log"; exit 1; }
        awk '/^[a-z_0-9]+\/[a-z_0-9]+/ { name = $1 } /time:/ { print "  " name, $0 }' "$log" |
            sed 's/  *time:/ time:/' || true
    done <<<"$benches"
done
echo "=== after: load:$(uptime | sed 's/.*load average://')"

echo
echo "=== allocations per frame in steady state (Channel, real sockets)"
cargo test -q --release -p mon-ipc-bench --test alloc -- --nocapture --test-threads 1 2>&1 |
    grep -E 'allocations in|test result'

echo
python3 bench/report.py "$out"/run*
