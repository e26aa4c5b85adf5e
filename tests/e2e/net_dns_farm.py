"""The DNS stage against the farm: `mxtls resolve` over 12,000 farm domains, every row compared
with the farm's truth in order — dns_status, MX preference order (ties in answer order), MX
host, mx_status (ok, nxdomain, nodata, ip_literal, skipped beyond --max-mx), addresses (those
beyond --max-addrs as conn=skipped), rank and input line — with 2,000 queries in flight, CNAME'd
MX hosts, answers that need TCP, and SERVFAIL and silent domains."""
import csv
import collections
import io
import os
import subprocess
import tempfile

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("dns vs farm")
N = 12000
KEY = ["rank", "dns_status", "mx_pref", "mx_host", "mx_status", "ip", "input_line"]

with farmlib.Farm(N, seed=31, extra=["--truth-fingerprints", "no"]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    with open(lst, "w") as f:
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(N), "--seed", "31"],
                       stdout=f, check=True)
    # The MX side of the stage only (net_dns_policy and net_scan_farm read the policies): the
    # policy questions would double the queries of a command that, unlike scan, does not ask a
    # timed-out domain again, and a busy machine then loses a big answer over TCP.
    out = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--resolver", farm.dns, "--allow",
                          "127.0.0.0/8", "--dns-timeout", "1", "--dns-tries", "2", "--no-policy",
                          lst],
                         capture_output=True, text=True, timeout=300)
    print(out.stderr.strip())
    c.eq("resolve exit status", 0, out.returncode)
    got = collections.OrderedDict()
    for r in csv.DictReader(io.StringIO(out.stdout)):
        got.setdefault(r["domain"], []).append(
            [r[k] for k in KEY] + [r["conn"] == "skipped"])
    want = collections.OrderedDict()
    for r in farmlib.read_csv_gz(farm.truth):
        want.setdefault(r["domain"], []).append(
            [r[k] for k in KEY] + [r["conn"] == "skipped"])
    c.eq("every domain once", sorted(want), sorted(got))
    kinds = collections.Counter()
    for d, rows in want.items():
        c.eq(d, rows, got.get(d))
        kinds[rows[0][1]] += 1
        for row in rows:
            if row[4] != "ok":
                kinds["mx_status " + row[4]] += 1
            if row[-1]:
                kinds["address skipped"] += 1
    for k, n in sorted(kinds.items()):
        print("%-24s %6d" % (k, n))
    for need in ["mx", "implicit", "null_mx", "nodata", "nxdomain", "servfail", "timeout",
                 "mx_status nodata", "mx_status nxdomain", "mx_status ip_literal",
                 "mx_status skipped", "address skipped"]:
        c.true("%s compared" % need, kinds[need] > 0)
    c.true("the resolver answered", "answered" in out.stderr)
c.finish()
