"""mxtls scan's --shard, --handshakes, --allow / --exclude and signals, against the farm.

Shards: four shard runs' union has exactly the rows of one unsharded run, each domain in one
shard. A scan allowed two TLS handshakes at a time gives the truth too. Ranges: with a /16 excluded, or only one /16 allowed, every address outside what is
permitted gets conn=excluded and no connection (the farm's accept log), every other row equals
the truth; the resolver, outside that --allow, is still asked (resolvers are for DNS only); with
every address excluded the scan fails and says why. SIGINT: the scan stops
within its grace, exits 130, leaves a readable file of complete domains and a manifest marked
interrupted."""
import collections
import glob
import gzip
import json
import os
import signal
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan options")
N, SEED = 1500, 11
HOST_COLS_START = "conn"


def net16(ip):
    return ".".join(ip.split(".")[:2])


with farmlib.Farm(N, seed=SEED) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, SEED, lst)
    cols = farmlib.truth_columns(farm)
    truth = farmlib.rows_by_domain(farm.truth, cols)
    whole = os.path.join(farm.dir, "whole.csv.gz")
    runs = [farmlib.scan(farm, lst, whole, wait=False)]
    parts = [os.path.join(farm.dir, "shard%d.csv.gz" % i) for i in range(4)]
    runs += [farmlib.scan(farm, lst, p, "--shard", "%d/4" % i, wait=False)
             for i, p in enumerate(parts)]
    # Two handshakes at a time on one thread: most probes wait their turn after STARTTLS.
    gated = os.path.join(farm.dir, "gated.csv.gz")
    runs.append(farmlib.scan(farm, lst, gated, "--threads", "1", "--handshakes", "2",
                             wait=False))
    for i, r in enumerate(runs):
        r.communicate(timeout=600)
        c.eq("run %d exit status" % i, 0, r.returncode)
    one = farmlib.rows_by_domain(whole, cols)
    c.eq("the unsharded run equals the truth", [], [d for d in truth if truth[d] != one.get(d)][:5])
    two = farmlib.rows_by_domain(gated, cols)
    c.eq("--handshakes 2 equals the truth", [], [d for d in truth if truth[d] != two.get(d)][:5])
    union, owner = {}, collections.Counter()
    for i, p in enumerate(parts):
        rows = farmlib.rows_by_domain(p, cols)
        c.true("shard %d has some domains (%d)" % (i, len(rows)), len(rows) > N / 8)
        for d, r in rows.items():
            owner[d] += 1
            union[d] = r
        man = json.load(open(p[:-len(".csv.gz")] + ".meta.json"))
        c.eq("shard %d manifest" % i, "%d/4" % i, man["shard"])
    c.eq("domains in more than one shard", [], [d for d, n in owner.items() if n > 1])
    c.eq("shards' union equals the unsharded run", sorted(one.items()), sorted(union.items()))

# Ranges: a farm whose accept log shows which addresses were dialled.
log = "/tmp/mxtls-options-%d" % os.getpid()
with farmlib.Farm(N, seed=SEED, extra=["--accept-log", log]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, SEED, lst)
    cols = farmlib.truth_columns(farm)
    truth = farmlib.rows_by_domain(farm.truth, cols)
    nets = collections.Counter(net16(r[cols.index("ip")]) for rows in truth.values()
                               for r in rows if r[cols.index("ip")])
    target = nets.most_common(1)[0][0]
    c.true("the farm's addresses span several /16 (%d)" % len(nets), len(nets) >= 2)
    ci, ip_i = cols.index(HOST_COLS_START), cols.index("ip")

    def expect(inside_ok):
        """The truth with each probed address outside the permitted range excluded."""
        want = {}
        for d, rows in truth.items():
            want[d] = []
            for r in rows:
                r = list(r)
                if r[ci] and r[ci] != "skipped" and inside_ok(r[ip_i]) is False:
                    r[ci:cols.index("input_line")] = ["excluded"] + [""] * (
                        cols.index("input_line") - ci - 1)
                want[d].append(r)
        return want

    ex = os.path.join(farm.dir, "exclude.csv.gz")
    r = farmlib.scan(farm, lst, ex, "--exclude", target + ".0.0/16")
    c.eq("--exclude run", 0, r.returncode)
    got = farmlib.rows_by_domain(ex, cols)
    want = expect(lambda ip: net16(ip) != target)
    c.eq("--exclude rows", [], [d for d in want if want[d] != got.get(d)][:3])
    c.true("--exclude excluded some rows",
           sum(row[ci] == "excluded" for rows in got.values() for row in rows) > 10)
    dialled, seen = set(), {}
    for path in glob.glob(log + "*"):
        with open(path) as f:
            dialled |= {line.split()[-1] for line in f}
            seen[path] = f.tell()
    c.eq("addresses dialled in the excluded /16", [], sorted(ip for ip in dialled
                                                             if net16(ip) == target))

    al = os.path.join(farm.dir, "allow.csv.gz")
    r = farmlib.scan(farm, lst, al, allow=(target + ".0.0/16",))
    c.eq("--allow run", 0, r.returncode)
    got = farmlib.rows_by_domain(al, cols)
    want = expect(lambda ip: net16(ip) == target)
    c.eq("--allow rows", [], [d for d in want if want[d] != got.get(d)][:3])
    dialled = set()
    for path in glob.glob(log + "*"):
        with open(path) as f:
            f.seek(seen.get(path, 0))
            dialled |= {line.split()[-1] for line in f}
    c.eq("addresses dialled outside the allowed /16", [], sorted(ip for ip in dialled
                                                                if net16(ip) != target))
    c.true("addresses dialled inside the allowed /16", len(dialled) > 10)

    # The farm's resolver (127.0.0.1) is outside that --allow: resolvers are for DNS only.
    k = cols.index("dns_status")
    answered = sum(1 for rows in got.values() if rows and rows[0][k] == "mx")
    c.true("the resolver outside --allow answered (%d domains)" % answered, answered > N // 2)

    # No --allow: the reserved ranges exclude every farm address (127/8). The scan says it
    # measured nothing and fails, instead of a file of conn=excluded rows that reads as data.
    none = os.path.join(farm.dir, "none.csv.gz")
    r = farmlib.scan(farm, lst, none, allow=())
    c.eq("every address excluded: exit status", 2, r.returncode)
    c.true("... says why: %r" % r.stderr.strip()[-200:], "excluded" in r.stderr)
    m = json.load(open(none[:-len(".csv.gz")] + ".meta.json"))
    c.true("... and the manifest: %s, %r" % (m["status"], m["health"]["failure"]),
           m["status"] == "failed" and "excluded" in m["health"]["failure"])
for path in glob.glob(log + "*"):
    os.unlink(path)

# SIGINT: replies slowed so that the scan is in full flow when the signal comes.
with farmlib.Farm(N, seed=SEED, extra=["--latency-ms", "400"]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, SEED, lst)
    cols = farmlib.truth_columns(farm)
    truth = farmlib.rows_by_domain(farm.truth, cols)
    out = os.path.join(farm.dir, "int.csv.gz")
    p = farmlib.scan(farm, lst, out, "--grace", "3", "--rate", "200", wait=False)
    time.sleep(4)
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    took = time.time() - t0
    c.eq("exit status after SIGINT", 130, p.returncode)
    c.true("stopped within the grace period (%.1f s)" % took, took < 3 + 2)
    c.true("said it was interrupted", "interrupted" in err)
    with gzip.open(out, "rt") as f:
        f.read()  # one valid gzip stream, to the end
    got = farmlib.rows_by_domain(out, cols)
    c.true("some domains were written (%d)" % len(got), 0 < len(got) < N)
    c.eq("written domains equal the truth", [], [d for d in got if got[d] != truth[d]][:3])
    man = json.load(open(out[:-len(".csv.gz")] + ".meta.json"))
    c.eq("manifest status", "interrupted", man["runs"][-1]["status"])
c.finish()
