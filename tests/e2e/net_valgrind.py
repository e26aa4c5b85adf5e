"""Memcheck over a small farm: `mxtls resolve`, `mxtls probe` (every host of 150 farm domains,
legacy probes and timeouts included) and `mxtls scan` (two worker threads, the DNS thread, the
gate, the writer and the manifest; then an interrupted scan resumed) run under valgrind with no
invalid access, no use of uninitialised memory and no leak of any kind: the engine closes every
handle and frees everything it made."""
import os
import signal
import subprocess
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("valgrind")
VG = ["valgrind", "-q", "--error-exitcode=9", "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect"]
# The scan frees all it made: reachable blocks count too (but glibc's and libuv's own, which
# live as long as the process: the thread-local and once-only allocations of the C library).
VG_SCAN = VG[:-1] + ["--show-leak-kinds=definite,indirect,possible",
                     "--errors-for-leak-kinds=definite,indirect,possible"]

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

    out = os.path.join(farm.dir, "scan.csv.gz")
    scan = [os.environ["MXTLS_BIN"], "scan", lst, "-o", out, "--resolver", farm.dns, "--allow",
            "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo", "scanner.example",
            "--ca-file", farm.ca, "--timeout-read", "8", "--deadline", "20", "--threads", "2",
            "--quiet", "--dns-timeout", "1", "--dns-tries", "2"]
    r = subprocess.run(VG_SCAN + scan, capture_output=True, text=True, timeout=600)
    c.eq("scan under valgrind: exit status", 0, r.returncode)
    if r.returncode:
        print(r.stderr[-3000:])
    c.eq("scan under valgrind: every row", len(farmlib.read_csv_gz(farm.truth)),
         len(farmlib.read_csv_gz(out)))

    # Interrupted with probes in flight: they are ended, not leaked; then resumed.
    os.unlink(out)
    p = subprocess.Popen(VG_SCAN + scan + ["--grace", "0.1"], stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    c.true("interrupted scan under valgrind: exit 130 or finished first (got %d)" % p.returncode,
           p.returncode in (0, 130))
    if p.returncode not in (0, 130):
        print(err[-3000:])
    r = subprocess.run(VG_SCAN + scan + ["--resume"], capture_output=True, text=True, timeout=600)
    c.eq("resumed scan under valgrind: exit status", 0, r.returncode)
    if r.returncode:
        print(r.stderr[-3000:])
c.finish()
