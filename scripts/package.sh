#!/usr/bin/env bash
# A Debian package of mxtls (CPack): builds in BUILD_DIR (default build-package, Release) and
# writes mxtls_VERSION_ARCH.deb there. Install it with: apt install ./build-package/mxtls_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-package}
bash scripts/setup.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DMXTLS_TESTS=OFF \
    >/dev/null
cmake --build "$build" -j "$(nproc)" --target mxtls mxtls-farm -- --no-print-directory >/dev/null
(cd "$build" && cpack -G DEB >/dev/null)
ls "$build"/mxtls_*.deb
