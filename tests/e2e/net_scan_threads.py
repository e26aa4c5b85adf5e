"""The scan engine's threads under ThreadSanitizer: a farm of 3,000 domains scanned with four
worker threads (plus the DNS thread) by a TSan build of mxtls (MXTLS_TSAN_BIN, which
scripts/test.sh builds), with retries of greylisting hosts so that hosts change hands between
workers; no data race is reported, and the rows equal the farm's truth. Skipped (and said so)
when no TSan build is given."""
import collections
import os
import subprocess
import sys

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan threads under TSan")
tsan = os.environ.get("MXTLS_TSAN_BIN")
if not tsan or not os.path.exists(tsan):
    print("net_scan_threads: no TSan build (MXTLS_TSAN_BIN); scripts/test.sh makes one")
    sys.exit(0)
N = 3000

with farmlib.Farm(N, seed=29) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    out = os.path.join(farm.dir, "scan.csv.gz")
    with open(lst, "w") as f:
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(N), "--seed", "29"],
                       stdout=f, check=True)
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=0 exitcode=66 report_signal_unsafe=0")
    r = subprocess.run([tsan, "scan", lst, "-o", out, "--resolver", farm.dns, "--allow",
                        "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo", "scanner.example",
                        "--ca-file", farm.ca, "--timeout-read", "20", "--deadline", "60",
                        "--threads", "4", "--concurrency", "300", "--retry-4xx", "1",
                        "--retry-after", "1", "--quiet", "--dns-timeout", "1", "--dns-tries",
                        "2"],
                       capture_output=True, text=True, timeout=900, env=env)
    races = r.stderr.count("WARNING: ThreadSanitizer")
    c.eq("data races reported", 0, races)
    if races:
        print(r.stderr[:6000])
    c.eq("scan exit status", 0, r.returncode)
    cols = list(farmlib.read_csv_gz(farm.truth)[0].keys())
    want, got = collections.defaultdict(list), collections.defaultdict(list)
    for row in farmlib.read_csv_gz(farm.truth):
        want[row["domain"]].append([row[k] for k in cols])
    for row in farmlib.read_csv_gz(out):
        got[row["domain"]].append([row[k] for k in cols])
    c.eq("domains whose rows differ from the truth", 0,
         sum(1 for d in want if want[d] != got.get(d)))
c.finish()
