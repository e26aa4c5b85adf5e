#!/usr/bin/env python3
"""Checks the image scripts/image.sh built: its mxtls, run by chroot into the image's root file
system inside a private network namespace, scans a farm (served by this build's mxtls-farm) and
every row equals the farm's truth. Needs root and the image; not part of the test suite, which
cannot fetch Debian's archive.
  unshare -n sh -c 'ip link set lo up; python3 scripts/check-image.py [ROOTFS] [BUILD_DIR]'"""
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "e2e"))
root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build-image", "rootfs"))
build = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "build"))
os.environ.setdefault("MXTLS_FARM", os.path.join(build, "mxtls-farm"))
os.environ["MXTLS_NETNS"] = "1"
import farmlib  # noqa: E402

farmlib.require_private_netns()
c = farmlib.Checker("container image")
N = 400
with farmlib.Farm(N, seed=13) as farm:
    lst = os.path.join(root, "tmp", "list.txt")
    farmlib.write_list(farm, N, 13, lst)
    shutil.copy(farm.ca, os.path.join(root, "tmp", "ca.pem"))
    r = subprocess.run(["chroot", root, "mxtls", "scan", "/tmp/list.txt", "-o", "/tmp/out.csv.gz",
                        "--resolver", farm.dns, "--allow", "127.0.0.0/8", "--port",
                        str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file",
                        "/tmp/ca.pem", "--quiet", "--timeout-read", "15", "--deadline", "40",
                        "--dns-timeout", "1", "--dns-tries", "2"], capture_output=True, text=True)
    c.eq("the image's mxtls scans: exit status (%s)" % r.stderr.strip()[-200:], 0, r.returncode)
    cols = farmlib.truth_columns(farm)
    want = farmlib.rows_by_domain(farm.truth, cols)
    got = farmlib.rows_by_domain(os.path.join(root, "tmp", "out.csv.gz"), cols)
    c.eq("domains whose rows differ from the truth", 0,
         sum(1 for d in want if want[d] != got.get(d)))
for name in ("list.txt", "ca.pem", "out.csv.gz", "out.meta.json"):
    if os.path.exists(os.path.join(root, "tmp", name)):
        os.unlink(os.path.join(root, "tmp", name))
c.finish()
