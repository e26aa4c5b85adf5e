#!/usr/bin/env bash
# DNS stage throughput: `mxtls resolve` over N domains (each an MX query and an A query for its
# own MX host) against nsd serving a generated zone on loopback, and against the farm's DNS;
# dnsperf against the same servers in the same run as the reference for what they can answer.
# Lookups per second (wall) and scanner CPU microseconds per lookup. Runs in its own network
# namespace. Usage: bench/dns.sh [BUILD_DIR] [DOMAINS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-100000}
exec unshare -n bash -s "$build" "$n" <<'INNER'
set -euo pipefail
build=$1 n=$2
ip link set lo up
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
Z=bench.example
{
    printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns admin 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n' $Z
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "d%d IN MX 10 mx.d%d\nmx.d%d IN A 127.%d.%d.%d\n", i, i, i, 4 + int(i / 65536), int(i / 256) % 256, i % 256 }'
} >"$tmp/zone"
cat >"$tmp/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1
    port: 5399
    username: ""
    chroot: ""
    zonesdir: "$tmp"
    pidfile: "$tmp/nsd.pid"
    database: ""
    zonelistfile: "$tmp/zone.list"
    xfrdfile: "$tmp/xfrd.state"
    xfrdir: "$tmp"
    logfile: "$tmp/nsd.log"
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: $Z
    zonefile: "$tmp/zone"
CONF
nsd -d -c "$tmp/nsd.conf" &
until dig +short +tries=1 +time=1 -p 5399 @127.0.0.1 ns.$Z A | grep -q 127; do sleep 0.2; done
awk -v n="$n" -v z=$Z 'BEGIN { for (i = 0; i < n; i++) printf "d%d.%s\n", i, z }' >"$tmp/list"
awk -v n="$n" -v z=$Z 'BEGIN { for (i = 0; i < n; i++) printf "d%d.%s MX\nmx.d%d.%s A\n", i, z, i, z }' >"$tmp/queries"

run() { # label resolver list
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$build/mxtls" resolve --resolver "$2" --allow 127.0.0.0/8 \
        "$3" >"$tmp/out.csv" 2>"$tmp/err"
    t1=$(date +%s.%N)
    read -r user sys rss <"$tmp/time"
    queries=$(grep -o '[0-9]* queries' "$tmp/err" | cut -d' ' -f1)
    timeouts=$(grep -o '[0-9]* timed out' "$tmp/err" | cut -d' ' -f1)
    awk -v l="$1" -v q="$queries" -v to="$timeouts" -v u="$user" -v s="$sys" -v a="$t0" -v b="$t1" -v r="$rss" 'BEGIN {
        printf "%-22s %7d queries in %5.2f s: %7.0f lookups/s, %5.1f us CPU per lookup, %d timed out, peak RSS %d MB\n",
            l, q, b - a, q / (b - a), 1e6 * (u + s) / q, to, r / 1024 }'
}
echo "== nsd, $n domains"
run "mxtls resolve (nsd)" 127.0.0.1:5399 "$tmp/list"
dnsperf -s 127.0.0.1 -p 5399 -d "$tmp/queries" -n 1 -c 4 -q 2000 2>&1 | grep -E "Queries per second|Queries completed" | sed 's/^ */dnsperf (nsd): /'
echo "== farm DNS, $n domains"
rm -f "$tmp/ready"
"$build/mxtls-farm" serve --domains "$n" --dns 127.0.0.1:5398 --smtp-port 2598 --ready-file "$tmp/ready" 2>/dev/null &
while [[ ! -f $tmp/ready ]]; do sleep 0.05; done
"$build/mxtls-farm" list --domains "$n" >"$tmp/farmlist"
run "mxtls resolve (farm)" 127.0.0.1:5398 "$tmp/farmlist"
cut -d, -f2 "$tmp/farmlist" | awk '{ print $1 " MX" }' >"$tmp/farmq"
dnsperf -s 127.0.0.1 -p 5398 -d "$tmp/farmq" -n 1 -c 4 -q 2000 2>&1 | grep -E "Queries per second|Queries completed" | sed 's/^ */dnsperf (farm): /'
INNER
