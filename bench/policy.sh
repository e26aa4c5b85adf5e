#!/usr/bin/env bash
# What measuring policies costs (issue: what a strict sender would do): one farm run
# (mxtls-farm serve, default model, two processes, policy hosts over HTTPS) scanned twice by
# the same binary, with policies (MTA-STS and TLS-RPT records, policy fetches, TLSA, DANE; the
# farm's DNS as --dnssec-resolver) and with --no-policy. Reports per scan: wall time, scanner
# CPU (GNU time), CPU per 1,000 domains, hosts per second, peak RSS, and the farm's counts.
#   unshare -n sh -c 'ip link set lo up; bash bench/policy.sh build 1000000'
set -euo pipefail
build=${1:?build dir} n=${2:-1000000}
tmp=$(mktemp -d)
farm=
trap '[[ -n $farm ]] && kill $farm 2>/dev/null; rm -rf "$tmp"' EXIT
ulimit -n 20000
"$build/mxtls-farm" serve --domains "$n" --seed 11 --procs 2 --dns 127.0.0.1:5353 \
    --smtp-port 2525 --sts-port 8443 --truth-fingerprints no --ca-out "$tmp/ca.pem" \
    --ready-file "$tmp/ready" 2>"$tmp/farm.log" &
farm=$!
while [[ ! -f $tmp/ready ]]; do sleep 0.2; done
"$build/mxtls-farm" list --domains "$n" --seed 11 >"$tmp/list.txt"
run() { # NAME, then the scan's DNS and policy options
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -o "$tmp/$name.time" -f "%U %S %M" \
        "$build/mxtls" scan "$tmp/list.txt" -o "$tmp/$name.csv.gz" "$@" --allow 127.0.0.0/8 \
        --port 2525 --ehlo bench.mxtls.invalid --ca-file "$tmp/ca.pem" --concurrency 2000 \
        --rate 1000 --timeout-read 15 --deadline 60 --grace 5 --quiet 2>/dev/null || true
    t1=$(date +%s.%N)
    python3 - "$tmp/$name" "$t0" "$t1" "$n" <<'PY'
import json, sys
base, t0, t1, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
user, sys_, rss = open(base + ".time").read().split()
m = json.load(open(base + ".meta.json"))
cpu, wall, hosts = float(user) + float(sys_), t1 - t0, m["counts"]["hosts_probed"]
print("| %s | %s | %d | %.0f s | %.0f s (%.0f user + %.0f sys) | %.2f s | %.0f | %d MB |" % (
    base.rsplit("/", 1)[1], m["status"], m["counts"]["rows"], wall, cpu, float(user),
    float(sys_), 1000 * cpu / n, hosts / wall, int(rss) // 1024))
PY
}
echo "| scan | status | rows | wall | scanner CPU | CPU per 1,000 domains | hosts/s | peak RSS |"
echo "|---|---|---|---|---|---|---|---|"
run policies --dnssec-resolver 127.0.0.1:5353 --sts-port 8443
run no-policy --resolver 127.0.0.1:5353 --no-policy
kill -TERM $farm
wait $farm 2>/dev/null || true
farm=
grep "DNS queries" "$tmp/farm.log" || true
