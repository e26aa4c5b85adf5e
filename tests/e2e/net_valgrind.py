"""Memcheck over a small farm: `mxtls resolve` and `mxtls probe` (every host of 150 farm
domains, legacy probes and timeouts included) run under valgrind with no invalid access, no
use of uninitialised memory and no definite or indirect leak."""
import os
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("valgrind")
VG = ["valgrind", "-q", "--error-exitcode=9", "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect"]

with farmlib.Farm(150, seed=13) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    with open(lst, "w") as f:
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", "150", "--seed", "13"],
                       stdout=f, check=True)
    r = subprocess.run(VG + [os.environ["MXTLS_BIN"], "resolve", "--resolver", farm.dns,
                             "--allow", "127.0.0.0/8", "--dns-timeout", "0.5", "--dns-tries",
                             "1", lst], capture_output=True, text=True, timeout=300)
    c.eq("resolve under valgrind: exit status", 0, r.returncode)
    if r.returncode:
        print(r.stderr[-3000:])
    targets = sorted({"%s@%s" % (row["mx_host"], row["ip"])
                      for row in farmlib.read_csv_gz(farm.truth)
                      if row["ip"] and row["conn"] != "skipped"})
    r = subprocess.run(VG + [os.environ["MXTLS_BIN"], "probe", "--allow", "127.0.0.0/8",
                             "--port", str(farm.smtp_port), "--ehlo", "scanner.example",
                             "--ca-file", farm.ca, "--timeout-read", "8", "--deadline", "20"]
                       + targets, capture_output=True, text=True, timeout=600)
    c.eq("probe of %d hosts under valgrind: exit status" % len(targets), 0, r.returncode)
    if r.returncode:
        print(r.stderr[-3000:])
    c.eq("one row per host", len(targets) + 1, len(r.stdout.splitlines()))
c.finish()
