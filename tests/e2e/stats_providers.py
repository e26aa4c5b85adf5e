"""mxtls stats --providers N on a farm truth file (no network needed).

The provider of a domain is the registrable domain of its first primary MX host. The test counts
it independently from the rows (with its own reading of Debian's Public Suffix List) and checks: the top N providers and their domain counts; per
provider, how many domains offer STARTTLS on every known MX; and for every domain metric that
the providers' buckets and the tail bucket add up to the "all" bucket."""
import collections
import csv
import gzip
import json
import os
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("stats providers")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
tmp = tempfile.mkdtemp(prefix="mxtls-prov-")
truth = os.path.join(tmp, "truth.csv.gz")
subprocess.run([FARM, "truth", "--domains", "20000", "--seed", "5", "-o", truth], check=True,
               stderr=subprocess.DEVNULL)
TOP = 7
r = subprocess.run([BIN, "stats", "--at", "2026-11-28", "--format", "json", "--providers",
                    str(TOP), truth], capture_output=True, text=True)
c.eq("stats exit status", 0, r.returncode)
metrics = json.loads(r.stdout)["metrics"]

# The Public Suffix List's algorithm (publicsuffix.org/list): the longest matching rule, an
# exception rule winning, "*" when none matches; the registrable domain is one label more.
rules, exceptions = set(), set()
with open("/usr/share/publicsuffix/public_suffix_list.dat", encoding="utf-8") as f:
    for line in f:
        line = line.split()[0] if line.strip() else ""
        if not line or line.startswith("//"):
            continue
        (exceptions if line.startswith("!") else rules).add(line.lstrip("!"))


def registrable(host):
    labels = host.split(".")
    suffix = 1
    for i in range(len(labels)):
        name = ".".join(labels[i:])
        wild = ".".join(["*"] + labels[i + 1:])
        if name in exceptions:
            suffix = len(labels) - i - 1
            break
        if name in rules or wild in rules:
            suffix = len(labels) - i
            break
    return ".".join(labels[-(suffix + 1):]) if len(labels) > suffix else host


# The reference, from the rows.
domains = collections.OrderedDict()
with gzip.open(truth, "rt") as f:
    for row in csv.DictReader(f):
        domains.setdefault(row["domain"], []).append(row)
prov_of, every = {}, collections.Counter()
for name, rows in domains.items():
    if rows[0]["dns_status"] not in ("mx", "implicit"):
        continue
    hosts = [x for x in rows if x["mx_host"]]
    if not hosts:
        continue
    low = min(int(x["mx_pref"]) for x in hosts)
    first = next(x for x in hosts if int(x["mx_pref"]) == low)["mx_host"]
    prov = registrable(first)
    prov_of[name] = prov
    known = [x for x in hosts if x["conn"] == "ok" and x["banner_code"].startswith("2")
             and x["starttls"] and x.get("error", "") != "local_overload"]
    if known and all(x["starttls"] == "yes" for x in known):
        every[prov] += 1
count = collections.Counter(prov_of.values())
want = sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]

dns = [m for m in metrics if m["section"] == "domains: DNS status"]
buckets = []
for m in dns:
    if m["bucket"].startswith("provider: ") and m["bucket"] not in buckets:
        buckets.append(m["bucket"])
c.eq("the top providers, largest first", ["provider: " + p for p, _ in want], buckets)
for p, n in want:
    got = sum(m["numerator"] for m in dns if m["bucket"] == "provider: " + p)
    c.eq("domains of %s" % p, n, got)
    st = [m for m in metrics if m["section"] == "domains: STARTTLS on every / some / no MX"
          and m["bucket"] == "provider: " + p and m["metric"] == "every MX"]
    c.eq("domains of %s with STARTTLS on every known MX" % p, every[p],
         st[0]["numerator"] if st else 0)

tail = "without the top %d providers" % TOP
by = collections.defaultdict(dict)
for m in metrics:
    by[(m["section"], m["metric"])][m["bucket"]] = m
sections = {m["section"] for m in metrics if m["bucket"] == tail}
c.true("the tail covers the domain sections (%d)" % len(sections), len(sections) >= 8)
bad = []
for (section, metric), b in by.items():
    if section not in sections:
        continue
    parts = [b[k] for k in b if k.startswith("provider: ") or k == tail]
    if sum(x["numerator"] for x in parts) != b["all"]["numerator"]:
        bad.append((section, metric))
c.eq("providers and tail add up to all, metric by metric", [], bad)
dens = {}
for m in metrics:
    if m["section"] in sections and (m["bucket"].startswith("provider: ") or m["bucket"] == tail):
        dens[(m["section"], m["bucket"])] = m["denominator"]
for section in sections:
    total = sum(v for (s, _), v in dens.items() if s == section)
    alln = next(m["denominator"] for m in metrics if m["section"] == section
                and m["bucket"] == "all")
    c.eq("denominators add up in %s" % section, alln, total)

r0 = subprocess.run([BIN, "stats", "--format", "json", "--providers", "0", truth],
                    capture_output=True, text=True)
c.true("--providers 0: no provider buckets",
        not any(m["bucket"].startswith("provider: ") or m["bucket"].startswith("without")
            for m in json.loads(r0.stdout)["metrics"]))
subprocess.call(["rm", "-rf", tmp])
c.finish()
