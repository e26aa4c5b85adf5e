#!/usr/bin/env bash
# A container image of mxtls built from this repository and Debian's package archive alone: a
# minimal Debian 12 root file system (debootstrap --variant=minbase) with the package of
# scripts/package.sh installed in it, written as a tarball and, when podman is installed,
# imported as localhost/mxtls:VERSION (the Kubernetes template's image; push it to your
# registry). Without podman the root file system can be run with chroot.
# Usage: scripts/image.sh [OUT_DIR]   (default build-image: OUT_DIR/rootfs, OUT_DIR/mxtls-image.tar)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-build-image}" && cd "${1:-build-image}" && pwd)
[[ $(id -u) -eq 0 ]] || { echo "image.sh: run as root (debootstrap and chroot need it)" >&2; exit 1; }
deb=$(bash scripts/package.sh | tail -1)
version=$(dpkg-deb -f "$deb" Version)
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[[ -n $mirror ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
root=$out/rootfs
rm -rf "$root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
    { echo "image.sh: debootstrap failed (see $out/debootstrap.log)" >&2; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/mxtls.deb"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends /tmp/mxtls.deb >"$out/apt.log" 2>&1 ||
    { echo "image.sh: installing the package failed (see $out/apt.log)" >&2; exit 1; }
chroot "$root" apt-get clean
rm -rf "$root/tmp/mxtls.deb" "$root"/var/lib/apt/lists/*
: >"$root/etc/resolv.conf"
tar -C "$root" -cf "$out/mxtls-image.tar" .
if command -v podman >/dev/null; then
    podman import --change 'ENTRYPOINT ["mxtls"]' "$out/mxtls-image.tar" "localhost/mxtls:$version" >/dev/null
    echo "localhost/mxtls:$version"
fi
echo "$out/mxtls-image.tar"
