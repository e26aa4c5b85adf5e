#!/usr/bin/env bash
# mxtls trend and mxtls report over nine farm epochs (0, 3, ..., 24 months) of one seed: CPU per
# snapshot, scaled to a million domains, and each modelled transition against the farm's own
# count and the model's prediction at every epoch. Then one snapshot of a million domains.
# Usage: bench/trend.sh [DOMAINS] [MILLION]     (defaults 200000 and 1000000; MILLION 0: skip)
# Truth files are kept in build/bench-trend/ (about 9 s of CPU per 200,000 domains to make).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
million=${2:-1000000}
bin=build/mxtls farm=build/mxtls-farm dir=build/bench-trend
mkdir -p "$dir"
files=()
for e in 0 3 6 9 12 15 18 21 24; do
    f=$dir/n$n-e$e.csv.gz
    [[ -s $f ]] || "$farm" truth --domains "$n" --seed 1 --epoch "$e" -o "$f" 2>/dev/null
    "$farm" stats --domains "$n" --seed 1 --epoch "$e" >"$dir/n$n-e$e.farm"
    files+=("$f")
done
cpu() { # CPU seconds (user + system) of the command
    /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'
}
echo "machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%d); mxtls $(git rev-parse --short HEAD)"
t=$(cpu "$bin" trend --format json -o "$dir/trend.json" "${files[@]}")
r=$(cpu "$bin" report -o "$dir/report.html" "${files[@]}")
awk -v t="$t" -v r="$r" -v n="$n" 'BEGIN {
    printf "trend  over 9 x %d domains: %.2f s CPU, %.2f s per snapshot, %.2f s per million domains\n", n, t, t / 9, t / 9 / n * 1e6
    printf "report over 9 x %d domains: %.2f s CPU, %.2f s per snapshot, %.2f s per million domains\n", n, r, r / 9, r / 9 / n * 1e6
}'
python3 - "$dir" "$n" data/farm-model.conf <<'EOF'
import json, re, sys
d, n, conf = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = dict(re.findall(r"^(epoch_\w+)\s*=\s*([0-9.]+)", open(conf).read(), re.M))
g, l, u = (float(m[k]) for k in ("epoch_starttls_gain", "epoch_starttls_loss",
                                 "epoch_tls_upgrade"))
doc = json.load(open(d + "/trend.json"))
def pts(section, metric):
    return next(s["points"] for s in doc["series"] if s["section"] == section
                and s["metric"] == metric and s["bucket"] == "all")
st, v13, v12 = (pts("hosts: STARTTLS offered", "offered"),
                pts("hosts: protocol version", "TLSv1.3"), pts("hosts: protocol version", "TLSv1.2"))
leg = sum(s["points"][0]["share"] for s in doc["series"] if s["section"] ==
          "hosts: protocol version" and s["bucket"] == "all" and s["metric"] in ("TLSv1.1", "TLSv1.0"))
star, q = g / (g + l), 1 - u
print("| month | STARTTLS offered [95 %] | farm | model | TLS 1.3 [95 %] | farm | model |")
print("|---:|---|---:|---:|---|---:|---:|")
for k, e in enumerate(range(0, 25, 3)):
    farm = {a.strip(): int(b) / int(c) for a, b, c in
            re.findall(r"^\w+\s+(.+?)\s+(\d+) /\s+(\d+)", open("%s/n%d-e%d.farm" % (d, n, e)).read(), re.M)}
    ms = star + (st[0]["share"] - star) * (1 - g - l) ** e
    mt = v13[0]["share"] + v12[0]["share"] * (1 - q ** e) + leg * (1 - q ** e - e * u * q ** max(e - 1, 0))
    f = lambda p: "%.2f %% [%.2f, %.2f]" % (100 * p["share"], 100 * p["ci_low"], 100 * p["ci_high"])
    inside = lambda p, x: "" if p["ci_low"] <= x <= p["ci_high"] else " (outside)"
    print("| %d | %s | %.2f %%%s | %.2f %%%s | %s | %.2f %%%s | %.2f %%%s |" % (
        e, f(st[k]), 100 * farm["STARTTLS offered"], inside(st[k], farm["STARTTLS offered"]),
        100 * ms, inside(st[k], ms), f(v13[k]), 100 * farm["TLSv1.3"],
        inside(v13[k], farm["TLSv1.3"]), 100 * mt, inside(v13[k], mt)))
EOF
if [[ $million -gt 0 ]]; then
    f=$dir/n$million-e0.csv.gz
    [[ -s $f ]] || "$farm" truth --domains "$million" --seed 1 -o "$f" 2>/dev/null
    s=$(cpu "$bin" stats --format json "$f")
    r=$(cpu "$bin" report -o "$dir/report-million.html" "$f")
    echo "one snapshot of $million domains: stats $s s CPU, report $r s CPU"
fi
