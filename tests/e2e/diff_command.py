"""mxtls diff on two farm populations six months apart (mxtls-farm --epoch): every change it
reports, domain by domain and field by field, equals what an independent reading of the two
truth files finds, and so do its counts; domains only in one snapshot are counted; the new side
may be several shard files. No network needed."""
import collections
import csv
import gzip
import io
import os
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("diff command")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
N = 6000
tmp = tempfile.mkdtemp(prefix="mxtls-diff-")
old, new = os.path.join(tmp, "old.csv.gz"), os.path.join(tmp, "new.csv.gz")
for path, epoch in ((old, 0), (new, 6)):
    subprocess.run([FARM, "truth", "--domains", str(N), "--seed", "9", "--epoch", str(epoch),
                    "-o", path], check=True, stderr=subprocess.DEVNULL)


def groups(path):
    g = collections.OrderedDict()
    for row in farmlib.read_csv_gz(path):
        g.setdefault(row["domain"], []).append(row)
    return g


def summary(rows):
    """The definitions of docs/usage.md, written again independently of the C code."""
    status = rows[0]["dns_status"]
    if status not in ("mx", "implicit"):
        return {"starttls": "n/a", "best_protocol": "n/a", "cert_valid_all": "",
                "mx_hosts": "|".join(sorted({r["mx_host"] for r in rows if r["mx_host"]}))}
    known = [r for r in rows if r["conn"] == "ok" and r["banner_code"].startswith("2")
             and r["starttls"]]
    offer = [r for r in known if r["starttls"] == "yes"]
    done = lambda r: r["tls"] in ("ok", "legacy")
    rank = {"TLSv1.3": 3, "TLSv1.2": 2}
    best = max([rank.get(r["tls_version"], 1) for r in known if done(r)] or [0])
    return {
        "starttls": "unknown" if not known else "every" if len(offer) == len(known)
        else "some" if offer else "none",
        "best_protocol": "unknown" if not known else
        ["none", "legacy", "TLSv1.2", "TLSv1.3"][best],
        "cert_valid_all": "" if not known else
        "yes" if all(done(r) and r["cert_valid"] == "ok" for r in known) else "no",
        "mx_hosts": "|".join(sorted({r["mx_host"] for r in rows if r["mx_host"]})),
    }


g_old, g_new = groups(old), groups(new)
# The old snapshot loses 100 domains, so that the new one has 100 of its own.
dropped = list(g_old)[:100]
with gzip.open(old, "rt") as f:
    lines = f.read().splitlines(keepends=True)
old_cut = os.path.join(tmp, "old-cut.csv.gz")
with gzip.open(old_cut, "wt") as f:
    f.write(lines[0])
    f.writelines(l for l in lines[1:] if l.split(",")[1] not in set(dropped))
# The new snapshot as two shard files.
with gzip.open(new, "rt") as f:
    lines = f.read().splitlines(keepends=True)
shards = [os.path.join(tmp, "new%d.csv.gz" % i) for i in range(2)]
with gzip.open(shards[0], "wt") as a, gzip.open(shards[1], "wt") as b:
    a.write(lines[0])
    b.write(lines[0])
    for l in lines[1:]:
        (a if hash(l.split(",")[1]) % 2 else b).write(l)

changes = os.path.join(tmp, "changes.csv.gz")
r = subprocess.run([BIN, "diff", "--format", "csv", "--changes", changes, old_cut, "--"] + shards,
                   capture_output=True, text=True)
c.eq("diff exit status", 0, r.returncode)
table = {(row["section"], row["metric"]): row for row in csv.DictReader(io.StringIO(r.stdout))}
count = lambda s, m: int(table[(s, m)]["new_numerator"]) if (s, m) in table else None
c.eq("domains in both", N - 100, count("snapshots: domains", "in both"))
c.eq("domains only in the new", 100, count("snapshots: domains", "only in the new"))
c.eq("domains only in the old", 0, count("snapshots: domains", "only in the old"))

fields = ["starttls", "best_protocol", "cert_valid_all", "mx_hosts"]
want = {}
for d in g_old:
    if d in dropped:
        continue
    a, b = summary(g_old[d]), summary(g_new[d])
    diff = {f: (a[f], b[f]) for f in fields if a[f] != b[f]}
    if diff:
        want[d] = diff
got = {}
for row in farmlib.read_csv_gz(changes):
    diff = {f: (row[f + "_old"], row[f + "_new"]) for f in fields
            if (row[f + "_old"], row[f + "_new"]) != ("", "")}
    if diff:
        got[row["domain"]] = diff
    if not row["mx_hosts_old"] and row["provider_old"] != row["provider_new"]:
        c.true("%s: provider changed with the same MX hosts" % row["domain"], False)
c.true("the epochs changed some domains (%d)" % len(want), len(want) > 100)
c.eq("domains reported as changed", sorted(want), sorted(got))
c.eq("their old and new values", [], [d for d in want if want[d] != got.get(d)][:5])

order = {"none": 0, "legacy": 1, "TLSv1.2": 2, "TLSv1.3": 3}
tally = collections.Counter()
for d, ch in want.items():
    if "starttls" in ch:
        a, b = ch["starttls"]
        tally["gained"] += a == "none" and b in ("some", "every")
        tally["lost"] += a in ("some", "every") and b == "none"
    if "best_protocol" in ch:
        a, b = (order.get(x) for x in ch["best_protocol"])
        tally["up"] += a is not None and b is not None and b > a
        tally["down"] += a is not None and b is not None and b < a
    if "cert_valid_all" in ch:
        tally["valid"] += ch["cert_valid_all"] == ("no", "yes")
        tally["invalid"] += ch["cert_valid_all"] == ("yes", "no")
    if "mx_hosts" in ch:
        tally["mx"] += all(ch["mx_hosts"])
S = "changes (domains in both)"
c.eq("STARTTLS gained", tally["gained"], count(S, "STARTTLS gained (no MX -> some or every MX)"))
c.eq("STARTTLS lost", tally["lost"], count(S, "STARTTLS lost (some or every MX -> no MX)"))
c.eq("best protocol up", tally["up"], count(S, "best protocol up"))
c.eq("best protocol down", tally["down"], count(S, "best protocol down"))
c.eq("became valid", tally["valid"], count(S, "certificates became valid (every MX)"))
c.eq("became invalid", tally["invalid"], count(S, "certificates became invalid (some MX)"))
c.eq("MX set changed", tally["mx"], count(S, "MX host set changed"))
matrix = collections.Counter()
for d in g_old:
    if d not in dropped:
        matrix["%s -> %s" % (summary(g_old[d])["starttls"], summary(g_new[d])["starttls"])] += 1
c.eq("STARTTLS transition matrix", dict(matrix),
     {m: int(row["new_numerator"]) for (s, m), row in table.items()
      if s == "transition: STARTTLS on the MX hosts" and int(row["new_numerator"])})
cmp = [row for (s, m), row in table.items() if s == "domains: DNS status" and m == "mx"]
c.true("shares compared with a p-value", cmp and cmp[0]["p_value"] != "")
c.eq("no separator", 1, subprocess.run([BIN, "diff", old, new], capture_output=True).returncode)
subprocess.call(["rm", "-rf", tmp])
c.finish()
