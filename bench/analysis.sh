#!/usr/bin/env bash
# mxtls stats and mxtls diff on million-domain snapshots: two farm truth files six months apart
# (mxtls-farm truth; about 1.5 M rows each), CPU seconds and peak RSS from GNU time.
#   bash bench/analysis.sh build 1000000
set -euo pipefail
build=${1:?build dir} n=${2:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/mxtls-farm" truth --domains "$n" --seed 1 -o "$tmp/a.csv.gz" 2>/dev/null
"$build/mxtls-farm" truth --domains "$n" --seed 1 --epoch 6 -o "$tmp/b.csv.gz" 2>/dev/null
rows=$(zcat "$tmp/a.csv.gz" | wc -l)
echo "rows per snapshot: $((rows - 1)); compressed: $(stat -c %s "$tmp/a.csv.gz") bytes"
t() { /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak RSS" "$@"; }
echo "zcat alone:"; t sh -c "zcat '$tmp/a.csv.gz' >/dev/null"
echo "mxtls stats:"; t "$build/mxtls" stats --at 2026-11-28 "$tmp/a.csv.gz" >/dev/null
echo "mxtls diff:"; t "$build/mxtls" diff --at 2026-11-28 --changes "$tmp/c.csv.gz" "$tmp/a.csv.gz" -- "$tmp/b.csv.gz" >/dev/null
echo "changed domains: $(($(zcat "$tmp/c.csv.gz" | wc -l) - 1))"
