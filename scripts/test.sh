#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test. The tests run inside a private network
# namespace that has only a loopback interface, so that no test can send a packet off this
# machine, whatever bug it hits. Exit status: 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

build=${MXTLS_BUILD_DIR:-build}
opts=()
# shellcheck disable=SC1091
. /etc/os-release
[[ ${ID:-} == ubuntu ]] && opts+=(-DMXTLS_SYSTEM_MBEDTLS=ON)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${opts[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" -- --no-print-directory >/dev/null
# The scan engine again with ThreadSanitizer, for tests/e2e/net_scan_threads.py.
# The sanitizer builds at -O1 with line tables only: their reports need lines, not variables,
# and they are two of the suite's three builds.
san=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
cmake -S . -B "$build-tsan" "${san[@]}" -DMXTLS_TSAN=ON -DMXTLS_TESTS=OFF "${opts[@]}" >/dev/null
cmake --build "$build-tsan" -j "$(nproc)" --target mxtls -- --no-print-directory >/dev/null
export MXTLS_TSAN_BIN=$PWD/$build-tsan/mxtls
# And with AddressSanitizer and UndefinedBehaviorSanitizer: the unit tests and the fuzz corpora
# run from it below, and tests/e2e/net_scan_sanitizers.py scans the farm with it.
cmake -S . -B "$build-asan" "${san[@]}" -DMXTLS_SANITIZE=ON "${opts[@]}" >/dev/null
asan_targets=(mxtls)
for t in tests/unit/test_*.c; do asan_targets+=("$(basename "$t" .c)"); done
for t in tests/fuzz/fuzz_*.c; do asan_targets+=("fuzzcheck_$(basename "$t" .c | cut -c6-)"); done
cmake --build "$build-asan" -j "$(nproc)" --target "${asan_targets[@]}" -- --no-print-directory \
    >/dev/null
export MXTLS_ASAN_BIN=$PWD/$build-asan/mxtls

# In the namespace: bring loopback up, refuse to go on if any other interface exists.
inner='set -e
ip link set lo up
if ip -o link show | grep -vq " lo:"; then echo "test.sh: namespace has a non-loopback interface" >&2; exit 1; fi
cd "$1"; shift
ctest --output-on-failure -j 4 "$@"
# The unit tests and fuzz corpora again under ASan+UBSan, leaks included.
cd "../$(basename "$PWD")-asan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 MXTLS_CUT_SPARSE=1 \
    ctest --output-on-failure -j 2 -L "unit|fuzz"'

if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
    MXTLS_NETNS=1 unshare -n bash -c "$inner" _ "$build" "$@"
elif unshare -rn true 2>/dev/null; then
    MXTLS_NETNS=1 unshare -rn bash -c "$inner" _ "$build" "$@"
else
    echo "test.sh: no private network namespace here (unshare -n and unshare -rn both failed);" \
        "tests labelled 'net' are skipped, never run on the host's network" >&2
    (cd "$build" && ctest --output-on-failure -j 4 -LE net "$@")
    (cd "$build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 MXTLS_CUT_SPARSE=1 \
        ctest --output-on-failure -j 2 -L "unit|fuzz")
fi
