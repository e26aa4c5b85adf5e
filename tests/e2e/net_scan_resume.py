"""mxtls scan --resume: a scan killed with SIGKILL at three moments and resumed each time ends
with exactly the rows of an uninterrupted scan of the same farm (timing columns aside), every
domain once, as one valid gzip stream, and a manifest that lists every run. Resuming with
another list is refused."""
import collections
import json
import os
import signal
import subprocess
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan --resume")
N = 4000
TIMING = {"t_connect_ms", "t_banner_ms", "t_tls_ms", "t_total_ms", "scanned_at"}

with farmlib.Farm(N, seed=47) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    with open(lst, "w") as f:
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(N), "--seed", "47"],
                       stdout=f, check=True)

    def scan(out, *extra):
        return [os.environ["MXTLS_BIN"], "scan", lst, "-o", out, "--resolver", farm.dns,
                "--allow", "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo",
                "scanner.example", "--ca-file", farm.ca, "--timeout-read", "10", "--deadline",
                "30", "--rate", "400", "--concurrency", "300", "--quiet", "--dns-timeout", "1",
                "--dns-tries", "2"] + list(extra)

    def rows(path):
        groups = collections.OrderedDict()
        for r in farmlib.read_csv_gz(path):
            groups.setdefault(r["domain"], []).append(
                tuple((k, v) for k, v in r.items() if k not in TIMING))
        return groups

    ref = os.path.join(farm.dir, "ref.csv.gz")
    c.eq("uninterrupted scan", 0, subprocess.run(scan(ref), timeout=300).returncode)
    out = os.path.join(farm.dir, "killed.csv.gz")
    p = subprocess.Popen(scan(out))
    for moment in (2.0, 2.5, 3.0):
        time.sleep(moment)
        p.send_signal(signal.SIGKILL)
        p.wait()
        p = subprocess.Popen(scan(out, "--resume"))
    c.eq("last resumed run", 0, p.wait(timeout=300))
    want, got = rows(ref), rows(out)
    c.eq("same domains", sorted(want), sorted(got))
    differ = [d for d in want if sorted(want[d]) != sorted(got.get(d, []))]
    c.eq("domains whose rows differ from the uninterrupted scan", [], differ[:5])
    for d in differ[:2]:
        for a, b in zip(sorted(want[d]), sorted(got.get(d, []))):
            print("  %s: %s" % (d, [(x, y) for x, y in zip(a, b) if x != y]))
    check = subprocess.run([os.environ["MXTLS_BIN"], "check", out], capture_output=True, text=True)
    c.eq("one clean gzip stream, each domain once", 0, check.returncode)
    meta = json.load(open(os.path.join(farm.dir, "killed.meta.json")))
    c.eq("runs recorded", 4, len(meta["runs"]))
    c.eq("last run finished", "finished", meta["runs"][-1]["status"])
    c.eq("killed runs marked", ["killed"] * 3, [r["status"] for r in meta["runs"][:3]])
    other = os.path.join(farm.dir, "other.txt")
    open(other, "w").write("example.org\n")
    r = subprocess.run(scan(out, "--resume")[:2] + [other] + scan(out, "--resume")[3:],
                       capture_output=True, text=True)
    c.eq("resume with another list: refused", 1, r.returncode)
    c.true("and says why", "another list" in r.stderr)
c.finish()
