"""mxtls stats from the command line, on farm truth files (no network needed).

A snapshot split into shard files gives the same numbers as one file; a shard cut short is
reported and what it held is counted; the four formats carry the same numbers; each share has a
Wilson interval that contains it; and on a 20,000-domain truth the domain shares agree with the
farm's model proportions within sampling error (mxtls-farm stats prints the model's values)."""
import csv
import gzip
import hashlib
import io
import json
import math
import os
import re
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("stats command")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
tmp = tempfile.mkdtemp(prefix="mxtls-stats-")
truth = os.path.join(tmp, "truth.csv.gz")
subprocess.run([FARM, "truth", "--domains", "20000", "--seed", "3", "-o", truth], check=True,
               stderr=subprocess.DEVNULL)


def stats(*args):
    r = subprocess.run([BIN, "stats", "--at", "2026-11-28"] + list(args), capture_output=True,
                       text=True)
    return r


def table(text):
    return {(r["section"], r["metric"], r["bucket"]): r for r in csv.DictReader(io.StringIO(text))}


whole = stats("--format", "csv", truth)
c.eq("stats exit status", 0, whole.returncode)
t = table(whole.stdout)
c.true("has rows (%d)" % len(t), len(t) > 50)

# Shards: the truth's domain groups dealt into three files.
with gzip.open(truth, "rt") as f:
    lines = f.read().splitlines(keepends=True)
header, body = lines[0], lines[1:]
shards = [os.path.join(tmp, "s%d.csv.gz" % i) for i in range(3)]
outs = [gzip.open(p, "wt") for p in shards]
last, k = None, -1
for line in body:
    dom = line.split(",")[1]
    if dom != last:
        k, last = (k + 1) % 3, dom
    if outs[k].tell() == 0:
        outs[k].write(header)
    outs[k].write(line)
for o in outs:
    o.close()
sharded = stats("--format", "csv", *shards)
c.eq("shards give the same table as one file", whole.stdout, sharded.stdout)

# A shard cut short: reported, not fatal; the complete rows before the cut are counted.
data = open(shards[2], "rb").read()
cut = os.path.join(tmp, "cut.csv.gz")
open(cut, "wb").write(data[: len(data) // 2])
r = stats("--format", "csv", shards[0], shards[1], cut)
c.eq("a cut shard: exit status", 0, r.returncode)
c.true("a cut shard is reported: %r" % r.stderr.strip()[:200],
       "cut" in r.stderr or "truncated" in r.stderr)
part = table(r.stdout)
scanned = lambda tb: int(tb[("domains: DNS status", "mx", "all")]["denominator"])
c.true("fewer domains than whole (%d < %d)" % (scanned(part), scanned(t)),
       scanned(t) * 2 // 3 < scanned(part) < scanned(t))

# Formats carry the same numbers; every interval contains its share.
js = json.loads(stats("--format", "json", truth).stdout)
c.eq("json rows", len(t), len(js["metrics"]))
c.eq("json equals csv", sorted((m["section"], m["metric"], m["bucket"], m["numerator"],
                                m["denominator"]) for m in js["metrics"]),
     sorted((k[0], k[1], k[2], int(v["numerator"]), int(v["denominator"])) for k, v in t.items()))
bad = [k for k, v in t.items() if v["share"] and not
       float(v["ci_low"]) <= float(v["share"]) <= float(v["ci_high"])]
c.eq("shares outside their interval", [], bad)
md = stats("--format", "md", truth).stdout
c.true("markdown has tables", md.count("|---|") > 10)
txt = stats(truth).stdout
c.true("text names the STARTTLS section", "domains: STARTTLS on every / some / no MX" in txt)

# Against the model: domain-level DNS shares within 4 standard errors of the model's value.
model = subprocess.run([FARM, "stats", "--domains", "20000", "--seed", "3"], capture_output=True,
                       text=True).stdout
for m in re.finditer(r"^domains\s+(\w+)\s+(\d+) /\s+(\d+)\s+[\d.]+ %\s+model\s+([\d.]+) %", model,
                     re.M):
    status, n, d, p = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)) / 100
    row = t.get(("domains: DNS status", status, "all"))
    if not row:
        continue
    got = int(row["numerator"]) / int(row["denominator"])
    c.eq("domains %s: same count as the farm's own" % status, n, int(row["numerator"]))
    se = math.sqrt(p * (1 - p) / d)
    c.true("domains %s %.4f within 4 SE of the model's %.4f" % (status, got, p),
           abs(got - p) <= 4 * se + 1e-9)
for bad_args in (["--format", "xml", truth], ["--at", "tomorrow", truth], []):
    c.eq("usage error %r" % bad_args, 1, stats(*bad_args).returncode)
c.eq("missing file", 2, stats(os.path.join(tmp, "nope.csv.gz")).returncode)

# A domain's rows apart (a shuffled file, or a file given twice) would count it twice: refused,
# by stats and by diff, naming the domain.
shuffled = os.path.join(tmp, "shuffled.csv.gz")
multi = body[:3000]
with gzip.open(shuffled, "wt") as f:
    f.write(header)
    f.writelines(multi[0::2] + multi[1::2])
for what, args in (("a shuffled file", [shuffled]), ("one file twice", [shards[0], shards[0]])):
    r = stats(*args)
    c.eq("stats of %s: exit" % what, 2, r.returncode)
    c.true("stats of %s: says why: %r" % (what, r.stderr[:200]), "came before" in r.stderr)
    c.eq("stats of %s: no numbers" % what, "", r.stdout)
    r = subprocess.run([BIN, "diff", truth, "--"] + args, capture_output=True, text=True)
    c.eq("diff against %s: exit" % what, 2, r.returncode)
r = subprocess.run([BIN, "diff", shards[0], "--", shards[0]], capture_output=True, text=True)
c.eq("diff of a file with itself is fine", 0, r.returncode)

# For machines: snake_case ids next to every label, and the JSON names the version, the time
# and its inputs with their SHA-256.

r = stats("--format", "csv", truth)
rows = list(csv.DictReader(io.StringIO(r.stdout)))
ident = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
c.true("CSV: every section, metric and bucket has a snake_case id",
       rows and all(ident.match(x[k + "_id"] or "") for x in rows
                    for k in ("section", "metric", "bucket")))
c.eq("CSV: an id is its label's", "domains_starttls_on_every_some_no_mx",
     next(x["section_id"] for x in rows if x["section"].startswith("domains: STARTTLS on")))
doc = json.loads(stats("--format", "json", truth).stdout)
c.true("JSON: version and time", doc.get("mxtls") and re.match(r"^\d{4}-\d\d-\d\dT", doc["generated"]))
c.eq("JSON: the input and its SHA-256",
     [{"file": truth, "sha256": hashlib.sha256(open(truth, "rb").read()).hexdigest()}],
     doc["inputs"])
c.true("JSON: ids on every metric", all(ident.match(m["metric_id"] or "") for m in doc["metrics"]))
subprocess.call(["rm", "-rf", tmp])
c.finish()
