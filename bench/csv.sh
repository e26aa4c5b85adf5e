#!/usr/bin/env bash
# Writing and reading scan records: CPU per 1.5 M rows (a top-million scan's size), next to
# zcat of the same file as the floor for decompression. Usage: bench/csv.sh [BUILD_DIR] [ROWS]
set -euo pipefail
build=${1:-build}
rows=${2:-1500000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/bench_csv" "$rows" "$tmp/scan.csv.gz"
echo "file: $(stat -c %s "$tmp/scan.csv.gz") bytes"
/usr/bin/time -f "zcat: %U s user, %S s sys" zcat "$tmp/scan.csv.gz" >/dev/null
