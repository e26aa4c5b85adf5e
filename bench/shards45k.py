"""Tens of thousands of probes at once (issue: the scan engine): three shard processes, each
holding 15,000 probes, against a four-process farm (cheap model) whose every reply comes after
11 s. Every 5 s: connections established to the farm (ss) and each scanner's RSS. After the
given seconds the scanners get SIGINT. Reports the peak of connections held, peak RSS per
process, RSS per connection at that peak, and its median and highest value over the samples
that held at least 90 % of the connections asked (once TLS starts, contexts included).

Run inside a private network namespace:
  unshare -n sh -c 'ip link set lo up; python3 bench/shards45k.py build 240'"""
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import farmlib  # noqa: E402

build, seconds = sys.argv[1], float(sys.argv[2])
os.environ.setdefault("MXTLS_FARM", os.path.join(build, "mxtls-farm"))
os.environ.setdefault("MXTLS_BIN", os.path.join(build, "mxtls"))
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "farm-cheap.conf")
DOMAINS, SHARDS, CONC = 120000, 3, 15000


def rss_kb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


with farmlib.Farm(DOMAINS, seed=5, extra=["--model", model, "--procs", "4", "--latency-ms",
                                          "11000", "--truth-fingerprints", "no"]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(DOMAINS), "--seed", "5",
                    "--model", model], stdout=open(lst, "w"), check=True)
    procs = []
    for i in range(SHARDS):
        procs.append(subprocess.Popen(
            [os.environ["MXTLS_BIN"], "scan", lst, "-o", os.path.join(farm.dir, "s%d.csv.gz" % i),
             "--shard", "%d/%d" % (i, SHARDS), "--resolver", farm.dns, "--allow", "127.0.0.0/8",
             "--port", str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
             "--concurrency", str(CONC), "--rate", "400", "--net-limit", "65535", "--threads",
             "1", "--timeout-read", "60", "--deadline", "600", "--grace", "1", "--quiet"],
            stderr=subprocess.PIPE, text=True))
    t0, peak, peak_rss, held = time.time(), (0, []), [0] * SHARDS, []
    print("  t(s)  connections  RSS per scanner (MB)  KiB per connection")
    while time.time() - t0 < seconds:
        time.sleep(5)
        ss = subprocess.run(["ss", "-Htn", "state", "established", "dport", "= :%d" %
                             farm.smtp_port], capture_output=True, text=True).stdout
        conns = ss.count("\n")
        rss = [rss_kb(p.pid) for p in procs]
        peak_rss = [max(a, b) for a, b in zip(peak_rss, rss)]
        if conns > peak[0]:
            peak = (conns, rss)
        if conns >= 0.9 * SHARDS * CONC:
            held.append(sum(rss) / conns)
        print("  %4.0f  %11d  %-20s  %.1f" % (time.time() - t0, conns,
                                             " ".join("%.0f" % (r / 1024) for r in rss),
                                             sum(rss) / max(1, conns)), flush=True)
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        p.communicate(timeout=120)
conns, rss = peak
print("peak connections held: %d (%d per process asked)" % (conns, CONC))
print("peak RSS per process: %s MB" % " ".join("%.0f" % (r / 1024) for r in peak_rss))
if conns:
    print("RSS per connection at the peak: %.1f KiB" % (sum(rss) / conns))
if held:
    held.sort()
    print("RSS per connection while holding at least 90 %% of them (%d samples): median %.1f KiB,"
          " highest %.1f KiB" % (len(held), held[len(held) // 2], held[-1]))
