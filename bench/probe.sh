#!/usr/bin/env bash
# Probe cost: client CPU per completed probe (greeting, EHLO, STARTTLS, TLS 1.3 handshake with
# X25519 and an ECDSA P-256 certificate, certificate summary and verification, EHLO, QUIT)
# against the farm, next to a bare mbedTLS handshake of the same kind measured in the same run;
# and memory per connection while waiting for greetings. Runs in its own network namespace.
# Usage: bench/probe.sh [BUILD_DIR] [PROBES]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-2000}
here=$(cd "$(dirname "$0")" && pwd)
exec unshare -n bash -s "$build" "$n" "$here" <<'INNER'
set -euo pipefail
build=$1 n=$2 here=$3
ip link set lo up
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
start_farm() { # latency_ms port
    rm -f "$tmp/ready"
    "$build/mxtls-farm" serve --domains "$n" --model "$here/farm-cheap.conf" --dns 127.0.0.1:$(($2 + 1)) \
        --smtp-port "$2" --ca-out "$tmp/ca.pem" --latency-ms "$1" --ready-file "$tmp/ready" 2>/dev/null &
    while [[ ! -f $tmp/ready ]]; do sleep 0.05; done
}
targets() { for ((i = 0; i < $1; i++)); do printf 'mx.d%d.example@127.%d.%d.%d ' $i $((4 + (8 * i >> 16))) $(((8 * i >> 8) & 255)) $((8 * i & 255)); done; }
probe() { # port targets...
    local port=$1; shift
    "$build/mxtls" probe --allow 127.0.0.0/8 --port "$port" --ehlo bench.example --ca-file "$tmp/ca.pem" \
        --timeout-read 30 --deadline 60 "$@"
}
echo "== bare handshake, same kind (client CPU)"
"$build/bench/bench_handshake" 300 ec | tail -1
echo "== bare handshake and chain verification (the cryptography a probe does)"
"$build/bench/bench_handshake" 300 ec verify | tail -1
echo "== $n probes, farm without latency"
start_farm 0 2700
/usr/bin/time -f "%U %S %M" -o "$tmp/time" "$build/mxtls" probe --allow 127.0.0.0/8 --port 2700 \
    --ehlo bench.example --ca-file "$tmp/ca.pem" --timeout-read 30 --deadline 60 $(targets "$n") >"$tmp/out.csv"
read -r user sys maxrss <"$tmp/time"
ok=$(awk -F, 'NR>1 && $11=="ok"' "$tmp/out.csv" | wc -l)
awk -v u="$user" -v s="$sys" -v n="$n" -v ok="$ok" -v m="$maxrss" 'BEGIN {
    printf "completed TLS probes: %d of %d\nclient CPU: %.2f s user + %.2f s sys = %.3f ms per probe\n",
        ok, n, u, s, 1000 * (u + s) / n
    printf "peak RSS of the run (all %d handshaking at once): %d KiB\n", n, m }'
kill %1; wait %1 2>/dev/null || true
echo "== memory: $n connections waiting for a greeting (farm latency 10 s)"
start_farm 10000 2710
rss() { grep VmRSS "/proc/$1/status" | awk '{print $2}'; }
probe 2710 $(targets 1) >/dev/null & p1=$!; sleep 2; base=$(rss $p1); wait $p1 || true
echo "baseline RSS (1 connection): $base KiB; per connection during a handshake, at most: $(( (maxrss - base) / n )) KiB"
probe 2710 $(targets "$n") >/dev/null & pn=$!; sleep 4; full=$(rss $pn); kill $pn; wait $pn 2>/dev/null || true
awk -v b="$base" -v f="$full" -v n="$n" 'BEGIN {
    printf "RSS with 1 connection %d KiB, with %d: %d KiB: %.2f KiB per connection idle in the greeting\n", b, n, f, (f - b) / (n - 1) }'
INNER
