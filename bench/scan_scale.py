"""Scan throughput against concurrency, and against threads (issue: the scan engine).

A probe waits on about five replies (greeting, EHLO, STARTTLS, EHLO, QUIT), so with a farm
latency of L per reply the scan should finish concurrency / (5 L) hosts a second until the CPUs
are the limit. Each run serves the cheap farm model (every host TLS 1.3, one host per domain)
from two farm processes with a fixed latency, scans it with the given concurrency and a --rate
10 % above the prediction, and reads the steady-state rate from the farm's accept log:
connections closed per second over whole cycles (the median connection time) from the first
close, while new probes still start (the middle third of the run is printed too). Scanner CPU
and peak RSS come from GNU time; RSS per connection is the median, over the middle third of the
run, of the scanner's RSS over its connections open (sampled every 2 s).

Run inside a private network namespace:
  unshare -n sh -c 'ip link set lo up; python3 bench/scan_scale.py build concurrency 1000:1000 5000:4000'
  unshare -n sh -c 'ip link set lo up; python3 bench/scan_scale.py build threads 3000'
Arguments: build dir; 'concurrency' and CONC:LATENCY_MS pairs, or 'threads' and a domain count."""
import csv
import json
import glob
import gzip
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import farmlib  # noqa: E402

build, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
os.environ.setdefault("MXTLS_FARM", os.path.join(build, "mxtls-farm"))
os.environ.setdefault("MXTLS_BIN", os.path.join(build, "mxtls"))
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "farm-cheap.conf")


def scanner_rss_kb(time_pid):
    """RSS of the scanner, the child of GNU time."""
    try:
        kids = open("/proc/%d/task/%d/children" % (time_pid, time_pid)).read().split()
        for line in open("/proc/%s/status" % kids[0]):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, IndexError):
        pass
    return 0


def connections(port):
    """Connections the scanner has open to the farm."""
    ss = subprocess.run(["ss", "-Htn", "state", "established", "dport", "= :%d" % port],
                        capture_output=True, text=True).stdout
    return ss.count("\n")


def run(domains, latency_ms, extra):
    log = tempfile.mktemp(prefix="mxtls-bench-accept-")
    farm_extra = ["--model", model, "--procs", "2", "--accept-log", log,
                  "--truth-fingerprints", "no"]
    if latency_ms:
        farm_extra += ["--latency-ms", str(latency_ms)]
    with farmlib.Farm(domains, seed=5, extra=farm_extra) as farm:
        lst = os.path.join(farm.dir, "list.txt")
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(domains), "--seed",
                        "5", "--model", model], stdout=open(lst, "w"), check=True)
        out = os.path.join(farm.dir, "out.csv.gz")
        t = time.time()
        p = subprocess.Popen(["/usr/bin/time", "-f", "TIME %e %U %S %M", os.environ["MXTLS_BIN"],
                              "scan", lst, "-o", out, "--resolver", farm.dns, "--allow",
                              "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo",
                              "scanner.example", "--ca-file", farm.ca, "--net-limit", "65535",
                              "--timeout-read", str(max(30, 4 * latency_ms // 1000)),
                              "--deadline", "600"] + extra, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        samples = []  # (seconds, scanner RSS in KiB, connections open)
        while p.poll() is None:
            time.sleep(2)
            samples.append((time.time() - t, scanner_rss_kb(p.pid), connections(farm.smtp_port)))
        _, err = p.communicate()
        wall = time.time() - t
        # What the scan says of its own waiting: NOOP holds before STARTTLS, the gate's wait.
        with open(os.path.join(farm.dir, "out.meta.json")) as f:
            health = json.load(f).get("health") or {}
        # How long probes took: five latencies are the floor, the rest is the scanner's delay.
        totals, tls = [], []
        with gzip.open(out, "rt", newline="") as f:
            for row in csv.DictReader(f):
                if row["t_total_ms"]:
                    totals.append(int(row["t_total_ms"]))
                if row["t_tls_ms"]:
                    tls.append(int(row["t_tls_ms"]))
        totals.sort()
        tls.sort()
    r = subprocess.CompletedProcess(p.args, p.returncode, "", err)
    m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", r.stderr)
    closes, opens, opened, held = [], [], {}, []
    for path in glob.glob(log + "*"):
        for line in open(path):
            k, ms, _, ip = line.split()
            if k == "O":
                opens.append(int(ms))
                opened[ip] = int(ms)
            elif k == "C":
                closes.append(int(ms))
                if ip in opened:
                    held.append(int(ms) - opened.pop(ip))
        os.unlink(path)
    closes.sort()
    held.sort()
    t0, t1 = min(opens), max(closes)
    a, b = t0 + (t1 - t0) / 3, t0 + 2 * (t1 - t0) / 3
    third = sum(a <= x < b for x in closes) / ((b - a) / 1000)
    # With one latency for every reply, probes move in waves: the first fill of the slots at
    # --rate takes less than a probe, so each cycle has a pause, and a window of arbitrary
    # length catches a part of one. Whole cycles (the median connection time) from the first
    # close, while new probes still start, average over it.
    cycle = held[len(held) // 2] if held else 0
    k = int((max(opens) - closes[0]) // cycle) if cycle else 0
    if k >= 1:
        a, b = closes[0], closes[0] + k * cycle
        steady = sum(a <= x < b for x in closes) / ((b - a) / 1000)
    else:
        steady = third
    hosts = len(opens)
    # Memory per open connection in the same middle third (RSS over connections, everything
    # the process holds counted against them, TLS contexts included).
    mid = [rss / conns for at, rss, conns in samples
           if wall / 3 <= at < 2 * wall / 3 and conns > 0 and rss > 0]
    mid.sort()
    return {"third": third, "cycles": k,
            "probe_ms": totals[len(totals) // 2] if totals else 0,
            "probe_p90_ms": totals[len(totals) * 9 // 10] if totals else 0,
            "tls_ms": tls[len(tls) // 2] if tls else 0,
            "kib_per_conn": mid[len(mid) // 2] if mid else 0,
            "conns": max([c for _, _, c in samples] or [0]), "rc": r.returncode,
            "holds": health.get("holds", 0), "wait_ms": health.get("longest_wait_ms", 0),
            "wall": wall, "user": float(m.group(2)), "sys": float(m.group(3)),
            "rss_mb": int(m.group(4)) / 1024, "hosts": hosts, "steady": steady,
            "tail": r.stderr.strip().splitlines()[-2] if r.stderr.strip() else ""}


if mode == "concurrency":
    print("| concurrency | latency per reply | predicted hosts/s | measured (steady) | "
          "measured / predicted | hosts | wall | scanner CPU | CPU ms / host | peak RSS | "
          "RSS per connection (steady) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for pair in args:
        conc, lat = (int(x) for x in pair.split(":"))
        pred = conc / (5 * lat / 1000)
        # The rate a little above the prediction: connections then start spread over the first
        # 5 L instead of all at once, as they would against servers whose latency varies. A
        # burst start with a fixed latency keeps every probe in lock step, and all handshakes
        # of a wave then queue for the CPUs at the same moment.
        rate = int(pred * 1.1)
        domains = int(pred * 18 * lat / 1000)
        res = run(domains, lat, ["--concurrency", str(conc), "--rate", str(rate)])
        cpu = res["user"] + res["sys"]
        print("| %d | %d ms | %.0f | %.0f | %.2f | %d | %.0f s | %.1f s | %.2f | %.0f MB | "
              "%.1f KiB |" % (conc, lat, pred, res["steady"], res["steady"] / pred, res["hosts"],
                              res["wall"], cpu, 1000 * cpu / max(1, res["hosts"]), res["rss_mb"],
                              res["kib_per_conn"]), flush=True)
        print("  (steady rate over %d whole cycles; over the middle third of the run %.0f/s, "
              "%.2f of predicted. Scanner user %.1f s, system %.1f s; probe median %.1f s, "
              "90th percentile %.1f s, against 5 L = %.1f s; handshake median %d ms; "
              "%d NOOP holds, longest local wait %d ms)" % (
                  res["cycles"], res["third"], res["third"] / pred, res["user"], res["sys"],
                  res["probe_ms"] / 1000, res["probe_p90_ms"] / 1000, 5 * lat / 1000,
                  res["tls_ms"], res["holds"], res["wait_ms"]), flush=True)
        if res["rc"]:
            print("  scan exit status %d: %s" % (res["rc"], res["tail"]))
elif mode == "threads":
    domains = int(args[0])
    print("| --threads | hosts/s (whole run) | wall | scanner CPU | CPU ms / host | peak RSS |")
    print("|---|---|---|---|---|---|")
    for th in (1, 2):
        res = run(domains, 0, ["--threads", str(th), "--concurrency", "500", "--rate", "5000"])
        cpu = res["user"] + res["sys"]
        print("| %d | %.0f | %.1f s | %.1f s | %.2f | %.0f MB |" % (
            th, res["hosts"] / res["wall"], res["wall"], cpu, 1000 * cpu / res["hosts"],
            res["rss_mb"]), flush=True)
