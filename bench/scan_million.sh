#!/usr/bin/env bash
# One million farm domains end to end (issue: the scan engine): mxtls-farm serve (default
# model, two processes) and mxtls scan on the same 2 cores. Reports wall time, scanner CPU per
# 1,000 hosts and peak RSS (GNU time), and the scan's own summary line.
#   unshare -n sh -c 'ip link set lo up; bash bench/scan_million.sh build 1000000'
set -euo pipefail
build=${1:?build dir} n=${2:-1000000}
tmp=$(mktemp -d)
farm=
trap '[[ -n $farm ]] && kill $farm 2>/dev/null; rm -rf "$tmp"' EXIT
ulimit -n 20000
"$build/mxtls-farm" serve --domains "$n" --seed 11 --procs 2 --dns 127.0.0.1:5353 \
    --smtp-port 2525 --ca-out "$tmp/ca.pem" --ready-file "$tmp/ready" 2>"$tmp/farm.log" &
farm=$!
while [[ ! -f $tmp/ready ]]; do sleep 0.2; done
"$build/mxtls-farm" list --domains "$n" --seed 11 >"$tmp/list.txt"
/usr/bin/time -f "scanner: %e s wall, %U s user, %S s sys, %M KB peak RSS" \
    "$build/mxtls" scan "$tmp/list.txt" -o "$tmp/scan.csv.gz" --resolver 127.0.0.1:5353 \
    --allow 127.0.0.0/8 --port 2525 --ehlo bench.mxtls.invalid --ca-file "$tmp/ca.pem" \
    --concurrency 2000 --rate 1000 --timeout-read 15 --deadline 60 --grace 5 2>&1 |
    tr '\r' '\n' | grep -E "domains done|scanner:|interrupted" | tail -2
python3 -c "import json; m=json.load(open('$tmp/scan.meta.json')); print('hosts probed:', m['counts']['hosts_probed'], 'rows:', m['counts']['rows'], 'status:', m['status'])"
