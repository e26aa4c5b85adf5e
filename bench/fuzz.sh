#!/usr/bin/env bash
# Every fuzz target under libFuzzer with ASan+UBSan, for a fixed budget each: executions,
# coverage (libFuzzer's cov: edges), corpus size and crashes, one table row per target.
# Usage: bench/fuzz.sh [BUILD_DIR] [RUNS_PER_TARGET] [TARGET...]
#   bash bench/fuzz.sh build-fuzz 10000000            (every target, 10 M executions each)
# The corpus grows in a copy (the seeds in tests/fuzz/corpus stay as they are); a crash leaves
# its input in BUILD_DIR/fuzz-crashes/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
runs=${2:-10000000}
shift $(( $# > 2 ? 2 : $# ))
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMXTLS_FUZZ=ON \
    -DMXTLS_TESTS=OFF >/dev/null
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c | cut -c6-)"); done
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" -- --no-print-directory \
    >/dev/null
echo "| target | executions | wall | exec/s | coverage (edges) | corpus | crashes |"
echo "|---|---|---|---|---|---|---|"
status=0
for t in "${targets[@]}"; do
    work=$build/fuzz-corpus/$t crashes=$build/fuzz-crashes/$t
    mkdir -p "$work" "$crashes"
    cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
    log=$build/fuzz-$t.log
    start=$(date +%s)
    rc=0
    "$build/tests/fuzz/fuzz_$t" "$work" -runs="$runs" -artifact_prefix="$crashes/" \
        -print_final_stats=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || rc=$?
    wall=$(( $(date +%s) - start ))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    found=$(find "$crashes" -type f | wc -l)
    [[ $rc -eq 0 && $found -eq 0 ]] || status=1
    printf '| %s | %s | %d s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "$wall" \
        "$(( ${execs:-0} / (wall > 0 ? wall : 1) ))" "${cov:-?}" "$(ls "$work" | wc -l)" "$found"
done
exit $status
