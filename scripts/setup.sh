#!/usr/bin/env bash
# Installs everything mxtls needs to build, test and demo on Debian 12/13 (or Ubuntu with a
# system mbedTLS >= 3.6), and fetches the mbedTLS 3.6 source the build compiles with the
# project's own configuration. Safe to run any number of times; silent, with no apt call at all,
# when there is nothing to do.
set -euo pipefail

PKGS=(build-essential cmake pkg-config libuv1-dev libc-ares-dev zlib1g-dev libpsl-dev publicsuffix
    libidn2-dev libssl-dev openssl libcmocka-dev ca-certificates bzip2 xz-utils iproute2 dnsutils
    nsd dnsperf valgrind clang nettle-dev libgmp-dev libclang-rt-dev util-linux git procps python3 patch time
    postfix libgnutls-dane0 libidn12 libnsl2 libdb5.3 libpcre2-8-0 python3-pandas sqlite3 file
    chromium poppler-utils fonts-dejavu-core unbound ldnsutils)
# unbound, ldnsutils: the DNSSEC test signs a zone (ldns-signzone) and validates it (unbound).
# chromium, poppler-utils (pdftotext), fonts-dejavu-core: the report test renders the HTML
# report headless, prints it to PDF and reads the PDF's text back.
# file: CPack reads the binaries with it to work out the package's dependencies (package.sh).
# postfix: the interop tests' OpenSSL MTA, installed unconfigured and never started as a
# service. The libraries after it are Exim's (GnuTLS), whose binary is unpacked into the cache
# instead of installed, because the two MTA packages conflict.

cache=${XDG_CACHE_HOME:-$HOME/.cache}/mxtls
die() { echo "setup.sh: $*" >&2; exit 1; }

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "run as root or install sudo"
    sudo=(sudo)
fi

# shellcheck disable=SC1091
. /etc/os-release
case "${ID:-}" in
debian) want_source_mbedtls=1 ;;
ubuntu)
    want_source_mbedtls=0
    PKGS+=(libmbedtls-dev)
    ;;
*) die "unsupported system '${ID:-unknown}': install cmake, a C11 compiler, pkg-config and the development files of libuv, c-ares, zlib, libpsl, libidn2, OpenSSL, cmocka and mbedTLS >= 3.6, then configure with -DMXTLS_SYSTEM_MBEDTLS=ON" ;;
esac

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup.sh: installing ${missing[*]}"
    # Packages such as nsd start a daemon on install; a policy-rc.d that answers 101 keeps
    # every service stopped, so set-up never leaves a server running on the host.
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        own_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ((own_policy)) && "${sudo[@]}" rm -f "$policy"
fi

# Exim for the interop tests: the Debian package's files unpacked into the cache (apt-get
# download + dpkg -x; installing it would remove postfix), and the user it runs as.
if [[ ! -f $cache/exim/.ok ]]; then
    tmp_exim=$(mktemp -d)
    (cd "$tmp_exim" && apt-get download -qq -o APT::Sandbox::User=root exim4-daemon-light exim4-base >/dev/null 2>&1) ||
        { "${sudo[@]}" apt-get update -qq && (cd "$tmp_exim" && apt-get download -qq -o APT::Sandbox::User=root exim4-daemon-light exim4-base >/dev/null); } ||
        die "could not download exim4-daemon-light"
    rm -rf "$cache/exim" && mkdir -p "$cache/exim"
    for deb in "$tmp_exim"/*.deb; do dpkg -x "$deb" "$cache/exim"; done
    rm -rf "$tmp_exim"
    touch "$cache/exim/.ok"
fi
id Debian-exim >/dev/null 2>&1 ||
    "${sudo[@]}" useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin Debian-exim

if [[ $ID == ubuntu ]]; then
    v=$(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || true)
    dpkg --compare-versions "${v:-0}" ge 3.6 ||
        die "this Ubuntu ships mbedTLS ${v:-none}; mxtls needs >= 3.6 (Ubuntu 25.04 or later)"
    exit 0
fi

# mbedTLS source: Debian 13's package, fetched once into a cache outside the checkout so that
# fresh clones and CI build offline. A private apt configuration with a deb-src-only entry is
# used, so the system's sources are untouched and no Debian 13 binary can be installed. The
# project's patches (config/mbedtls-patches, upstream bug fixes) are applied on unpacking; the
# stamp names them, so a changed patch set unpacks the kept tarball anew.
[[ $want_source_mbedtls == 1 ]] || exit 0
patch_dir=$(cd "$(dirname "$0")/.." && pwd)/config/mbedtls-patches
patch_sum=$(cat "$patch_dir"/*.patch 2>/dev/null | sha256sum | cut -c1-16)
stamp=""
[[ -f $cache/mbedtls/.ok ]] && stamp=$(cat "$cache/mbedtls/.ok")
orig=$(ls "$cache"/src/mbedtls_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1 || true)
if [[ -n $stamp && ${stamp#* } == "$patch_sum" ]]; then
    exit 0
fi

if [[ -z $orig ]]; then
    mirror=""
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
        mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z $mirror && -f /etc/apt/sources.list ]]; then
        mirror=$(awk '/^deb(-src)? / && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
    fi
    [[ -n $mirror ]] || die "no Debian mirror found in /etc/apt/sources.list(.d); add one, then run again"

    apt_dir=$cache/apt
    rm -rf "$apt_dir" "$cache/dl"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/dl" "$cache/src"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt_dir/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
    echo "setup.sh: fetching the mbedTLS 3.6 source (Debian 13) into $cache"
    apt-get "${apt_opts[@]}" update -qq || die "could not read the Debian 13 source index from $mirror"
    (cd "$cache/dl" && apt-get "${apt_opts[@]}" source --download-only -qq mbedtls >/dev/null) ||
        die "apt-get source mbedtls failed"

    dsc=$(ls "$cache"/dl/mbedtls_*.dsc | head -n 1)
    dl_orig=$(ls "$cache"/dl/mbedtls_*.orig.tar.* | grep -v '\.asc$' | head -n 1)
    [[ -f $dsc && -f $dl_orig ]] || die "mbedTLS source package incomplete in $cache/dl"
    want=$(awk -v f="$(basename "$dl_orig")" '/^Checksums-Sha256:/ {on = 1; next} /^[^ ]/ {on = 0} on && $3 == f {print $1}' "$dsc")
    have=$(sha256sum "$dl_orig" | cut -d' ' -f1)
    [[ -n $want && $want == "$have" ]] || die "SHA-256 of $(basename "$dl_orig") does not match its .dsc"
    version=$(awk '/^Version:/ {print $2; exit}' "$dsc")
    [[ $version == 3.6.* ]] || die "Debian 13's mbedtls is $version, not 3.6.x"
    echo "$version" >"$cache/src/version"
    mv "$dl_orig" "$cache/src/"
    orig=$cache/src/$(basename "$dl_orig")
    rm -rf "$apt_dir" "$cache/dl"
fi
version=$(cat "$cache/src/version")

# Unpack the upstream tarball itself: Debian's patches delete 3rdparty/, which holds Everest.
rm -rf "$cache/mbedtls.tmp" "$cache/mbedtls"
mkdir -p "$cache/mbedtls.tmp"
tar -xf "$orig" -C "$cache/mbedtls.tmp" --strip-components=1
[[ -d $cache/mbedtls.tmp/3rdparty/everest ]] || die "the mbedTLS tarball has no 3rdparty/everest"
for p in "$patch_dir"/*.patch; do
    [[ -f $p ]] || continue
    patch -s -d "$cache/mbedtls.tmp" -p1 <"$p" || die "patch $(basename "$p") does not apply to mbedTLS $version"
done
echo "$version $patch_sum" >"$cache/mbedtls.tmp/.ok"
mv "$cache/mbedtls.tmp" "$cache/mbedtls"
echo "setup.sh: mbedTLS $version ready in $cache/mbedtls"
