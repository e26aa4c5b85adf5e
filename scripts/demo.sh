#!/usr/bin/env bash
# The survey on the simulated internet: installs what is missing, builds, starts mxtls-farm
# (20,000 domains with modest latency) in a private network namespace that has only a loopback
# interface, scans it with mxtls scan (progress line on the terminal), stops the farm and
# prints mxtls stats of the result. Output: demo-output/scan.csv.gz and its manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. /etc/os-release
opts=()
[[ ${ID:-} == ubuntu ]] && opts+=(-DMXTLS_SYSTEM_MBEDTLS=ON)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" >/dev/null
cmake --build build -j "$(nproc)" -- --no-print-directory >/dev/null
mkdir -p demo-output
out=$(pwd)/demo-output

inner='set -euo pipefail
ip link set lo up
if ip -o link show | grep -vq " lo:"; then echo "demo: not a private namespace" >&2; exit 1; fi
build=$1 out=$2 n=20000
rm -f "$out/ready"
echo "== mxtls-farm: $n domains on 127.0.0.0/8 (DNS 127.0.0.1:5300, SMTP port 2525)"
"$build/mxtls-farm" serve --domains $n --seed 2026 --dns 127.0.0.1:5300 --smtp-port 2525 \
    --latency lognormal:100:0.6 --ca-out "$out/farm-ca.pem" --ready-file "$out/ready" \
    2>"$out/farm.log" &
farm=$!
trap "kill $farm 2>/dev/null || true" EXIT
while [[ ! -f $out/ready ]]; do sleep 0.1; done
"$build/mxtls-farm" list --domains $n --seed 2026 >"$out/list.txt"
echo "== mxtls scan"
"$build/mxtls" scan "$out/list.txt" -o "$out/scan.csv.gz" --resolver 127.0.0.1:5300 \
    --allow 127.0.0.0/8 --port 2525 --ehlo demo.mxtls.invalid --ca-file "$out/farm-ca.pem"
kill $farm; wait $farm 2>/dev/null || true
trap - EXIT'

if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
    unshare -n bash -c "$inner" _ "$(pwd)/build" "$out"
else
    unshare -rn bash -c "$inner" _ "$(pwd)/build" "$out"
fi

echo "== the scan file"
build/mxtls check "$out/scan.csv.gz"
echo "== mxtls stats (shares with 95 % Wilson intervals; definitions in docs/usage.md)"
build/mxtls stats "$out/scan.csv.gz"
