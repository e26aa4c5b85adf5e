"""mxtls trend over nine farm epochs (0, 3, ..., 24 months) of one seed (no network needed).

The farm moves its hosts each month with known chances (data/farm-model.conf): a host gains
STARTTLS with chance g and loses it with chance l, and a host below TLS 1.3 moves one version
up with chance u. From the first snapshot's shares the model predicts every later one:
  STARTTLS offered(e) = s* + (s(0) - s*)(1 - g - l)^e, with s* = g / (g + l);
  TLS 1.3(e) = p13(0) + p12(0)(1 - q^e) + legacy(0)(1 - q^e - e(1 - q)q^(e-1)), q = 1 - u.
Each trend point must hold its prediction within its 95 % interval, and agree with the farm's
own count of its population at that epoch (mxtls-farm stats). The CSV and JSON forms carry
the same numbers, and --format svg writes a line chart per section."""
import csv
import io
import json
import os
import re
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("trend over epochs")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
SRC = os.environ["MXTLS_SRC"]
N, SEED, EPOCHS = 20000, 4, list(range(0, 25, 3))
tmp = tempfile.mkdtemp(prefix="mxtls-trend-")
model = {}
with open(os.path.join(SRC, "data", "farm-model.conf")) as f:
    for line in f:
        m = re.match(r"\s*(epoch_\w+)\s*=\s*([0-9.]+)", line)
        if m:
            model[m.group(1)] = float(m.group(2))
g, l, u = model["epoch_starttls_gain"], model["epoch_starttls_loss"], model["epoch_tls_upgrade"]

files, farm = [], {}
for e in EPOCHS:
    p = os.path.join(tmp, "epoch%02d.csv.gz" % e)
    subprocess.run([FARM, "truth", "--domains", str(N), "--seed", str(SEED), "--epoch", str(e),
                    "-o", p], check=True, stderr=subprocess.DEVNULL)
    files.append(p)
    out = subprocess.run([FARM, "stats", "--domains", str(N), "--seed", str(SEED), "--epoch",
                          str(e)], capture_output=True, text=True, check=True).stdout
    farm[e] = {m.group(1).strip(): (int(m.group(2)), int(m.group(3))) for m in
               re.finditer(r"^\w+\s+(.+?)\s+(\d+) /\s+(\d+)", out, re.M)}

r = subprocess.run([BIN, "trend", "--format", "json"] + files, capture_output=True, text=True)
c.eq("trend exit status (%s)" % r.stderr.strip(), 0, r.returncode)
doc = json.loads(r.stdout)
c.eq("nine snapshots in the order given", [os.path.basename(p)[:-7] for p in files],
     [s["label"] for s in doc["snapshots"]])


def series(section, metric):
    for s in doc["series"]:
        if s["section"] == section and s["metric"] == metric and s["bucket"] == "all":
            return s["points"]
    return []


offered = series("hosts: STARTTLS offered", "offered")
v13 = series("hosts: protocol version", "TLSv1.3")
v12 = series("hosts: protocol version", "TLSv1.2")
legacy = [sum(p["share"] for s in doc["series"] if s["section"] == "hosts: protocol version"
              and s["bucket"] == "all" and s["metric"] in ("TLSv1.1", "TLSv1.0")
              for p in [s["points"][0]])]
c.eq("a STARTTLS point per snapshot", len(EPOCHS), len(offered))
c.eq("a TLS 1.3 point per snapshot", len(EPOCHS), len(v13))
s0, star = offered[0]["share"], g / (g + l)
q = 1 - u
for k, e in enumerate(EPOCHS):
    pt = offered[k]
    want = star + (s0 - star) * (1 - g - l) ** e
    c.true("month %d: STARTTLS offered %.4f, the model says %.4f, interval [%.4f, %.4f]" %
           (e, pt["share"], want, pt["ci_low"], pt["ci_high"]),
           pt["ci_low"] <= want <= pt["ci_high"])
    pt = v13[k]
    want = v13[0]["share"] + v12[0]["share"] * (1 - q ** e) + legacy[0] * (
        1 - q ** e - e * (1 - q) * q ** max(e - 1, 0))
    c.true("month %d: TLS 1.3 %.4f, the model says %.4f, interval [%.4f, %.4f]" %
           (e, pt["share"], want, pt["ci_low"], pt["ci_high"]),
           pt["ci_low"] <= want <= pt["ci_high"])
    # The farm counts its own population per address; the scan view counts (host, address)
    # pairs, so the two agree within the interval rather than to the host.
    n, of = farm[e]["STARTTLS offered"]
    c.true("month %d: STARTTLS as the farm counts it (%.4f) is within the interval" % (e, n / of),
           offered[k]["ci_low"] <= n / of <= offered[k]["ci_high"])
    n, of = farm[e]["TLSv1.3"]
    c.true("month %d: TLS 1.3 as the farm counts it (%.4f) is within the interval" % (e, n / of),
           v13[k]["ci_low"] <= n / of <= v13[k]["ci_high"])
c.true("STARTTLS falls towards g/(g+l) over two years",
       offered[-1]["share"] < offered[0]["share"] - 0.01)
c.true("TLS 1.3 rises over two years", v13[-1]["share"] > v13[0]["share"] + 0.05)

# The long form carries the same numbers as the JSON.
r = subprocess.run([BIN, "trend"] + files, capture_output=True, text=True)
rows = list(csv.DictReader(io.StringIO(r.stdout)))
csv_pts = [(x["snapshot"], int(x["numerator"]), int(x["denominator"])) for x in rows
           if x["section"] == "hosts: STARTTLS offered" and x["bucket"] == "all"]
c.eq("CSV and JSON agree", [(s["label"], p["numerator"], p["denominator"]) for s, p in
                            zip(doc["snapshots"], offered)], csv_pts)
c.true("CSV rows: a row per snapshot and metric", len(rows) % len(EPOCHS) == 0 and rows)

svg = os.path.join(tmp, "charts")
r = subprocess.run([BIN, "trend", "--format", "svg", "-o", svg] + files, capture_output=True,
                   text=True)
c.eq("trend --format svg exit status", 0, r.returncode)
names = sorted(os.listdir(svg)) if os.path.isdir(svg) else []
c.true("a chart per section (%d)" % len(names), len(names) >= 10)
if "hosts_starttls_offered.svg" in names:
    with open(os.path.join(svg, "hosts_starttls_offered.svg")) as f:
        chart = f.read()
    c.true("the STARTTLS chart has a point per snapshot",
           chart.count("<circle") == len(EPOCHS))
    c.true("its axes are labelled", 'class="x-label"' in chart and 'class="y-label"' in chart)
subprocess.call(["rm", "-rf", tmp])
c.finish()
