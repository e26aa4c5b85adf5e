"""The scan under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer: a farm of
2,000 domains scanned by an ASan+UBSan build of mxtls (MXTLS_ASAN_BIN, which scripts/test.sh
builds) with two worker threads, then the same scan interrupted with probes in flight and
resumed. No report of any sanitizer, no leak, and the finished file has every row of the
farm's truth. Skipped (and said so) when no such build is given."""
import os
import signal
import subprocess
import sys
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan under ASan+UBSan")
asan = os.environ.get("MXTLS_ASAN_BIN")
if not asan or not os.path.exists(asan):
    print("net_scan_sanitizers: no ASan build (MXTLS_ASAN_BIN); scripts/test.sh makes one")
    sys.exit(0)
N = 2000
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=67")


def reports(text):
    return [m for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:") if m in text]


with farmlib.Farm(N, seed=31) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, 31, lst)
    out = os.path.join(farm.dir, "scan.csv.gz")
    args = [asan, "scan", lst, "-o", out, "--resolver", farm.dns, "--allow", "127.0.0.0/8",
            "--port", str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
            "--timeout-read", "15", "--deadline", "40", "--threads", "2", "--concurrency", "300",
            "--quiet", "--dns-timeout", "1", "--dns-tries", "2"]
    def finished(what, extra):
        r = subprocess.run(args + extra, capture_output=True, text=True, timeout=600, env=env)
        c.eq(what + ": sanitizer reports", [], reports(r.stderr))
        c.eq(what + ": exit status", 0, r.returncode)
        if r.returncode or reports(r.stderr):
            print(r.stderr[-4000:])
        c.eq(what + ": every row of the truth", len(farmlib.read_csv_gz(farm.truth)),
             len(farmlib.read_csv_gz(out)))

    finished("scan", [])

    os.unlink(out)
    p = subprocess.Popen(args + ["--grace", "0.1"], stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    c.eq("interrupted scan: sanitizer reports", [], reports(err))
    c.true("interrupted scan: exit 130 or finished first (got %d)" % p.returncode,
           p.returncode in (0, 130))
    finished("resumed scan", ["--resume"])
c.finish()
