"""How trend and report tell snapshots apart, from the manifests beside the files (no network
needed). Two farm epochs, each dealt into two shard files with a manifest as a scan writes one:
given in any order with scan ids, the shards are grouped into their two scans and ordered by
when the scans began (not as given), each labelled by its day, and each point equals stats of
that snapshot's shards; without scan ids, shards group by the day their scan began; a
shard set missing a shard is refused, naming the file."""
import gzip
import json
import os
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("trend snapshots")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
tmp = tempfile.mkdtemp(prefix="mxtls-tsnap-")


def shards(epoch, start, scan_id):
    """The truth of EPOCH dealt into two shard files with manifests; returns their paths."""
    truth = os.path.join(tmp, "t%d.csv.gz" % epoch)
    subprocess.run([FARM, "truth", "--domains", "1500", "--seed", "8", "--epoch", str(epoch),
                    "-o", truth], check=True, stderr=subprocess.DEVNULL)
    with gzip.open(truth, "rt") as f:
        lines = f.read().splitlines(keepends=True)
    paths = [os.path.join(tmp, "e%d-s%d.csv.gz" % (epoch, i)) for i in range(2)]
    outs = [gzip.open(p, "wt") for p in paths]
    for o in outs:
        o.write(lines[0])
    last, k = None, -1
    for line in lines[1:]:
        dom = line.split(",")[1]
        if dom != last:
            k, last = (k + 1) % 2, dom
        outs[k].write(line)
    for i, (o, p) in enumerate(zip(outs, paths)):
        o.close()
        with open(p[:-len(".csv.gz")] + ".meta.json", "w") as f:
            json.dump({"schema": "mxtls/1", "input": {"file": "list.txt", "sha256": "c" * 64},
                       "shard": "%d/2" % i, "scan_id": scan_id, "finished": True,
                       "runs": [{"start": start, "end": start, "status": "finished"}]}, f)
    return paths


def run(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True)


late = shards(6, "2026-07-01T02:00:00Z", "july")
early = shards(0, "2026-01-01T02:00:00Z", "january")
# Scrambled: a shard of the later scan first, the two scans' shards interleaved.
r = run("trend", "--format", "json", late[1], early[0], late[0], early[1])
c.eq("trend exit status (%s)" % r.stderr.strip()[:200], 0, r.returncode)
doc = json.loads(r.stdout or "{}")
snaps = doc.get("snapshots", [])
c.eq("two snapshots, oldest first, labelled by day", ["2026-01-01", "2026-07-01"],
     [s["label"] for s in snaps])
c.eq("each with its own two shards",
     [sorted(os.path.basename(p) for p in early), sorted(os.path.basename(p) for p in late)],
     [sorted(os.path.basename(i["file"]) for i in s["inputs"]) for s in snaps])
want = []
for files in (early, late):
    st = json.loads(run("stats", "--format", "json", *files).stdout)
    m = next(x for x in st["metrics"] if x["section"] == "domains: TLS on the primary MX"
             and x["bucket"] == "all")
    want.append((m["numerator"], m["denominator"]))
got = [(p["numerator"], p["denominator"]) for s in doc.get("series", [])
       if s["section"] == "domains: TLS on the primary MX" and s["bucket"] == "all"
       for p in s["points"]]
c.eq("each point equals stats of that snapshot's shards", want, got)

# Without scan ids, shards group by the day their scan began, in any order.
for p in early + late:
    meta = p[:-len(".csv.gz")] + ".meta.json"
    with open(meta) as f:
        m = json.load(f)
    m["scan_id"] = None
    with open(meta, "w") as f:
        json.dump(m, f)
r = run("trend", "--format", "json", early[0], late[1], late[0], early[1])
doc = json.loads(r.stdout or "{}")
c.eq("without scan ids: grouped by day, ordered by start", ["2026-01-01", "2026-07-01"],
     [s["label"] for s in doc.get("snapshots", [])])
c.eq("... each with its own shards",
     [sorted(os.path.basename(p) for p in early), sorted(os.path.basename(p) for p in late)],
     [sorted(os.path.basename(i["file"]) for i in s["inputs"]) for s in doc.get("snapshots", [])])

r = run("trend", early[0], *late)
c.eq("a snapshot missing a shard: exit status", 2, r.returncode)
c.true("... names the file and says incomplete (%s)" % r.stderr.strip()[:150],
       "e0-s0.csv.gz" in r.stderr and "incomplete" in r.stderr)
r = run("report", "-o", os.path.join(tmp, "r.html"), *(early + late))
c.eq("report of the two snapshots: exit status", 0, r.returncode)
with open(os.path.join(tmp, "r.html"), encoding="utf-8") as f:
    page = f.read()
c.true("the report is of the later scan, with the trends",
       "from the snapshot of 2026-07-01" in page and 'id="trends"' in page)
c.true("its method box names the list's SHA-256 and the scan's start",
       "c" * 64 in page and "2026-07-01T02:00:00Z" in page)
subprocess.call(["rm", "-rf", tmp])
c.finish()
