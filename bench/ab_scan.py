"""A/B of two mxtls binaries on one farm, in one run: the rows they write, and what they cost.

For a refactoring that must not change behaviour (issue: the middle layer): both binaries scan
the same farm (N domains, seed 43), one after the other and then again in the other order; the
rows must be byte-identical once sorted, with the columns that measure time or date set aside
(t_*_ms, scanned_at). Scanner CPU per probed host and peak RSS come from GNU time (/usr/bin/time).

Run inside a private network namespace:
  unshare -n sh -c 'ip link set lo up; python3 bench/ab_scan.py OLD_MXTLS NEW_MXTLS FARM 20000'
"""
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import farmlib  # noqa: E402

old, new, farm_bin, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.environ["MXTLS_FARM"] = farm_bin
TIMED = {"t_connect_ms", "t_banner_ms", "t_tls_ms", "t_total_ms", "scanned_at"}


def rows(path):
    with gzip.open(path, "rt", newline="") as f:
        r = csv.reader(f)
        head = next(r)
        keep = [i for i, h in enumerate(head) if h not in TIMED]
        return sorted(",".join(row[i] for i in keep) for row in r)


def scan(binary, farm, lst, out):
    t0 = time.monotonic()
    # GNU time, not this process's rusage: a child's peak RSS counts the copy of its parent
    # that it was before exec, and this script grows with the rows it keeps.
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S %M", binary, "scan", lst, "-o", out,
                        "--resolver", farm.dns, "--allow", "127.0.0.0/8", "--port",
                        str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
                        "--timeout-read", "15", "--deadline", "40", "--rate", "1000",
                        "--concurrency", "500", "--quiet"], stderr=subprocess.PIPE, text=True)
    user, sys_, rss_kb = p.stderr.strip().splitlines()[-1].split()[1:]
    cpu = float(user) + float(sys_)
    meta = json.load(open(out[:-len(".csv.gz")] + ".meta.json"))
    hosts = meta["counts"]["hosts_probed"]
    return {"status": p.returncode, "wall": time.monotonic() - t0, "cpu": cpu, "hosts": hosts,
            "cpu_ms_per_host": 1000 * cpu / max(hosts, 1), "maxrss_mb": int(rss_kb) / 1024,
            "rows": rows(out)}


with farmlib.Farm(n, seed=43) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    with open(lst, "w") as f:
        subprocess.run([farm_bin, "list", "--domains", str(n), "--seed", "43"], stdout=f,
                       check=True)
    runs = []
    for label, binary in (("old", old), ("new", new), ("new", new), ("old", old)):
        r = scan(binary, farm, lst, os.path.join(farm.dir, "%s%d.csv.gz" % (label, len(runs))))
        runs.append((label, r))
        print("%s: exit %d, %d hosts, %.1f s wall, %.2f ms CPU per host, peak RSS %.1f MB"
              % (label, r["status"], r["hosts"], r["wall"], r["cpu_ms_per_host"],
                 r["maxrss_mb"]))
    base = runs[0][1]["rows"]
    same = all(r["rows"] == base for _, r in runs)
    print("rows: %d each; byte-identical after sorting, timing columns aside: %s"
          % (len(base), "yes" if same else "NO"))
    if not same:
        for label, r in runs:
            diff = set(r["rows"]) ^ set(base)
            print("  %s differs from the first old run in %d rows, e.g. %s"
                  % (label, len(diff), sorted(diff)[:2]))
    sys.exit(0 if same and all(r["status"] == 0 for _, r in runs) else 1)
