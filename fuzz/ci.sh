#!/usr/bin/env bash
# CI's fuzz step: every target for $FUZZ_SECONDS (default 30) on nightly,
# two at a time (these machines have 2 cores); fails on any crash.
# Builds without a sanitizer: the core is forbid(unsafe_code), so the
# oracles in src/ (panics) find what matters, at 3x the speed of ASan.
set -euo pipefail
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-30}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz build -O -s none
# Seeds from the vectors (fuzz/seeds/TARGET/tcId), copied into each corpus.
cargo run -q --example seeds -- seeds  # built by the cargo test step
targets=($(cargo +nightly fuzz list))
mkdir -p logs
run() {
    local t=$1
    mkdir -p corpus/"$t"
    if [ -d seeds/"$t" ]; then cp -n seeds/"$t"/* corpus/"$t"/ 2>/dev/null || true; fi
    cargo +nightly fuzz run -O -s none "$t" corpus/"$t" -- \
        -max_total_time="$secs" -dict=fuzz.dict -print_final_stats=1 >logs/"$t".log 2>&1
}
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    pids=()
    for t in "${targets[@]:i:2}"; do run "$t" & pids+=($!); done
    for j in "${!pids[@]}"; do
        t=${targets[$((i + j))]}
        if wait "${pids[$j]}"; then
            echo "fuzz $t: ok, $(grep -Eo 'stat::number_of_executed_units: [0-9]+' logs/"$t".log | grep -Eo '[0-9]+$') runs"
        else
            echo "fuzz $t: FAILED"; tail -40 logs/"$t".log; status=1
        fi
    done
done
echo "fuzz step took ${SECONDS}s"
exit $status
