#!/usr/bin/env bash
# Curve arithmetic (issue: elliptic curves at OpenSSL's speed), in one run:
#  1. client CPU per handshake, in memory: mbedTLS's own curve code (MXTLS_CURVES=mbedtls), the
#     project's (Nettle through patch 0004), and OpenSSL (bench_handshake_openssl);
#  2. `mxtls probe` CPU per host over every TLS host of a default-model farm (5,000 domains,
#     seed 3), each setting twice, alternating, so that the machine's drift shows.
# BEFORE_BUILD names a build of an earlier commit (Everest's X25519 in TLS 1.2, mbedTLS's code for
# the rest) to measure beside them. Runs in its own network namespace.
# Usage: [BEFORE_BUILD=DIR] bench/curves.sh [BUILD_DIR] [DOMAINS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-5000}
cmake --build "$build" --target mxtls mxtls-farm bench_handshake bench_handshake_openssl \
    -j "$(nproc)" >/dev/null
exec unshare -n bash -s "$build" "$n" "${BEFORE_BUILD:-}" <<'INNER'
set -euo pipefail
build=$1 n=$2 before=$3
ip link set lo up
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
echo "== client CPU per handshake (ms): ${before:+earlier build / }mbedTLS's curves / Nettle's / OpenSSL"
ms() { tail -2 | awk '{print $(NF-7)}'; }
for kind in "" "ec" "ec verify"; do
    z=$(if [[ -n $before ]]; then "$before/bench/bench_handshake" 300 $kind | ms; else printf '0\n0\n'; fi)
    a=$(MXTLS_CURVES=mbedtls "$build/bench/bench_handshake" 300 $kind | ms)
    b=$("$build/bench/bench_handshake" 300 $kind | ms)
    c=$("$build/bench/bench_handshake_openssl" 300 $kind | tail -2 | awk '{print $(NF-4)}')
    paste <(echo "$z") <(echo "$a") <(echo "$b") <(echo "$c") | awk -v k="${kind:-rsa}" '{
        v = NR == 1 ? "TLS 1.2" : "TLS 1.3"
        printf "%-8s %-10s %s%.3f / %.3f / %.3f   Nettle/OpenSSL %.2f\n", v, k,
            ($1 > 0 ? sprintf("%.3f / ", $1) : ""), $2, $3, $4, $3 / $4 }'
done
echo "== mxtls probe over every TLS host of a $n-domain farm (seed 3, default model)"
"$build/mxtls-farm" serve --domains "$n" --seed 3 --dns 127.0.0.1:2701 --smtp-port 2700 \
    --ca-out "$tmp/ca.pem" --ready-file "$tmp/ready" 2>/dev/null &
while [[ ! -f $tmp/ready ]]; do sleep 0.1; done
"$build/mxtls-farm" list --domains "$n" --seed 3 >"$tmp/list.txt"
"$build/mxtls" scan "$tmp/list.txt" -o "$tmp/scan.csv.gz" --resolver 127.0.0.1:2701 \
    --allow 127.0.0.0/8 --port 2700 --ehlo bench.example --ca-file "$tmp/ca.pem" --quiet
python3 - "$tmp/scan.csv.gz" >"$tmp/targets" <<'PY'
import csv, gzip, sys
seen = set()
for r in csv.DictReader(gzip.open(sys.argv[1], "rt", newline="")):
    if r["tls"] in ("ok", "legacy") and (r["mx_host"], r["ip"]) not in seen:
        seen.add((r["mx_host"], r["ip"]))
        print("%s@%s" % (r["mx_host"], r["ip"]))
PY
hosts=$(wc -l <"$tmp/targets")
for round in 1 2; do
    for curves in ${before:+before} mbedtls nettle; do
        bin=$build/mxtls
        [[ $curves == before ]] && bin=$before/mxtls
        MXTLS_CURVES=$curves /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin" probe \
            --allow 127.0.0.0/8 --port 2700 --ehlo bench.example --ca-file "$tmp/ca.pem" \
            --timeout-read 30 --deadline 60 $(cat "$tmp/targets") >"$tmp/out.csv"
        read -r user sys <"$tmp/time"
        ok=$(python3 -c "import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if r['tls'] in ('ok','legacy')))" "$tmp/out.csv")
        awk -v c="$curves" -v r="$round" -v u="$user" -v s="$sys" -v h="$hosts" -v ok="$ok" 'BEGIN {
            printf "round %d, curves %-7s: %d of %d TLS hosts completed TLS, %.2f s CPU, %.3f ms per host\n",
                r, c, ok, h, u + s, 1000 * (u + s) / h }'
    done
done
INNER
