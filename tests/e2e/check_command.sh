#!/usr/bin/env bash
# mxtls check reads a snapshot back and tells clean from damaged: a clean file, two shards,
# shards joined with cat, a file cut short and a file whose domain appears in two groups.
set -euo pipefail
bin=${MXTLS_BIN:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

hdr="rank,domain,dns_status,mx_pref,mx_host,mx_status,ip,conn"
{
    echo "$hdr"
    for i in $(seq 1 3000); do echo "$i,d$i.example,mx,10,mx$i.example,ok,127.0.0.$((i % 250 + 1)),ok"; done
} | gzip >"$tmp/a.csv.gz"
{
    echo "$hdr"
    for i in $(seq 3001 4000); do echo "$i,d$i.example,mx,10,mx.example,ok,127.0.0.2,ok"; echo "$i,d$i.example,mx,20,mx2.example,ok,127.0.0.3,ok"; done
} | gzip >"$tmp/b.csv.gz"

out=$("$bin" check "$tmp/a.csv.gz")
grep -qx "rows 3000" <<<"$out" && grep -qx "domains 3000" <<<"$out" && grep -qx "status ok" <<<"$out"

out=$("$bin" check "$tmp/a.csv.gz" "$tmp/b.csv.gz")
grep -qx "rows 5000" <<<"$out" && grep -qx "domains 4000" <<<"$out"

cat "$tmp/a.csv.gz" "$tmp/b.csv.gz" >"$tmp/ab.csv.gz"
out=$("$bin" check "$tmp/ab.csv.gz")
grep -qx "rows 5000" <<<"$out" && grep -qx "domains 4000" <<<"$out" && grep -qx "status ok" <<<"$out"

size=$(stat -c %s "$tmp/a.csv.gz")
head -c $((size / 2)) "$tmp/a.csv.gz" >"$tmp/cut.csv.gz"
rc=0
out=$("$bin" check "$tmp/cut.csv.gz" 2>"$tmp/err") || rc=$?
[[ $rc == 2 ]] && grep -q "truncated" "$tmp/err" && grep -qx "status damaged" <<<"$out"

# The same domain in two groups (not contiguous) is damage a correct scan never produces.
cat "$tmp/a.csv.gz" "$tmp/a.csv.gz" >"$tmp/twice.csv.gz"
rc=0
"$bin" check "$tmp/twice.csv.gz" >"$tmp/out" 2>&1 || rc=$?
[[ $rc == 2 ]] && grep -q "appears in two groups" "$tmp/out" && grep -qx "repeated_domains 3000" "$tmp/out"

rc=0
"$bin" check >/dev/null 2>&1 || rc=$?
[[ $rc == 1 ]]
echo "check_command: ok"
