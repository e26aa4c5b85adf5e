#!/usr/bin/env bash
# Client CPU per TLS handshake: the project's mbedTLS configuration against the same source with
# its stock configuration, measured in one run. Usage: bench/handshake.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}
n=${2:-300}
cmake --build "$build" --target bench_handshake bench_handshake_stock -j "$(nproc)" >/dev/null
"$build/bench/bench_handshake_stock" "$n"
"$build/bench/bench_handshake" "$n"
