"""A scan with the defaults on a machine whose CPU is taken (issue: honest numbers under
local trouble): a busy loop, started and stopped by this test, holds one of the cores while the
farm and the scanner share the other; --concurrency and --rate are the defaults. Admission must
follow what the machine finishes: the rows equal the farm's truth in every column it
determines (no timeout the truth lacks), and mxtls diff of this scan against one of the same
farm made with the CPU free finds no domain changed."""
import os
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan under CPU overload")
N = 5000

with farmlib.Farm(N, seed=53) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, 53, lst)
    base = [os.environ["MXTLS_BIN"], "scan", lst, "--resolver", farm.dns, "--allow",
            "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo", "scanner.example",
            "--ca-file", farm.ca, "--quiet"]
    idle = os.path.join(farm.dir, "idle.csv.gz")
    r = subprocess.run(base + ["-o", idle], capture_output=True, text=True, timeout=900)
    c.eq("idle scan: exit status", 0, r.returncode)
    hog = subprocess.Popen(["python3", "-c", "while True: pass"])
    busy = os.path.join(farm.dir, "busy.csv.gz")
    try:
        r = subprocess.run(base + ["-o", busy], capture_output=True, text=True, timeout=900)
    finally:
        hog.kill()
        hog.wait()
    c.eq("scan beside a CPU hog: exit status", 0, r.returncode)
    cols = farmlib.truth_columns(farm)
    want = farmlib.rows_by_domain(farm.truth, cols)
    for name, path in (("idle", idle), ("beside a CPU hog", busy)):
        got = farmlib.rows_by_domain(path, cols)
        bad = [d for d in want if want[d] != got.get(d)]
        c.eq("%s: domains whose rows differ from the truth" % name, 0, len(bad))
        for d in bad[:2]:
            c.eq("%s: %s" % (name, d), want[d], got.get(d))
    changes = os.path.join(farm.dir, "changes.csv.gz")
    r = subprocess.run([os.environ["MXTLS_BIN"], "diff", "--format", "csv", "--changes", changes,
                        idle, "--", busy], capture_output=True, text=True)
    c.eq("diff exit status", 0, r.returncode)
    changed = farmlib.read_csv_gz(changes)
    c.eq("diff idle -- beside a CPU hog: domains changed", 0, len(changed))
    for row in changed[:3]:
        print(row)
c.finish()
