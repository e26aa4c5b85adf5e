"""Admission under CPU overload (issue: local trouble): adaptive admission against fixed
concurrencies, in one run, on a machine with one of its two cores taken by a busy loop.

Each configuration is a set of shard processes (`--threads 1`, as bench/shards45k.py: one
process may hold at most 20,000 descriptors here) scanning a fresh four-process farm (cheap
model) whose every SMTP reply comes after the given latency, for SECONDS; then SIGINT. From
the farm's accept log: hosts finished per second after the warm-up (the first WARM seconds, in
which no probe can finish; a host is finished when a connection that completed its TLS
handshake closes), and connections held at the end of the warm-up. From the scanners: CPU per
finished host (utime + stime of the processes), the manifests' longest local wait (of all
probes, and of those started after the first probe ended, once admission knew a probe's time),
throttled time, NOOPs sent to hold probes before STARTTLS and probes deferred (quit) there, and the rows written with error=timeout or
local_overload (the farm's cheap model has none of either: each is the scanner's doing).

Run inside a private network namespace:
  unshare -n sh -c 'ip link set lo up; python3 bench/overload.py build 10000 200 \
      20000:2:adaptive 20000:2:fixed 10000:2:fixed 5000:2:fixed 45000:3:adaptive 45000:3:fixed'
Arguments: build dir, latency in ms, seconds per run, then IN_FLIGHT:SHARDS:ADMISSION each."""
import csv
import glob
import gzip
import json
import os
import resource
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import farmlib  # noqa: E402

build, latency_ms, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
configs = [a.split(":") for a in sys.argv[4:]]
os.environ.setdefault("MXTLS_FARM", os.path.join(build, "mxtls-farm"))
os.environ.setdefault("MXTLS_BIN", os.path.join(build, "mxtls"))
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "farm-cheap.conf")
DOMAINS = 150000
WARM = 6 * latency_ms / 1000  # a probe waits on five replies: none finishes before 5 L


def cpu_s(pid):
    """utime + stime of PID in seconds."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def run(total, shards, admission):
    log = os.path.join("/tmp", "mxtls-overload-accept-%d" % os.getpid())
    extra = ["--model", model, "--procs", "4", "--latency-ms", str(latency_ms),
             "--truth-fingerprints", "no", "--accept-log", log]
    with farmlib.Farm(DOMAINS, seed=5, extra=extra) as farm:
        lst = os.path.join(farm.dir, "list.txt")
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(DOMAINS), "--seed",
                        "5", "--model", model], stdout=open(lst, "w"), check=True)
        procs, cpu = [], []
        for i in range(shards):
            procs.append(subprocess.Popen(
                [os.environ["MXTLS_BIN"], "scan", lst, "-o",
                 os.path.join(farm.dir, "s%d.csv.gz" % i), "--shard", "%d/%d" % (i, shards),
                 "--resolver", farm.dns, "--allow", "127.0.0.0/8", "--port",
                 str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
                 "--concurrency", str(total // shards), "--rate", "1000", "--net-limit",
                 "65535", "--threads", "1", "--admission", admission, "--timeout-read",
                 str(3 * latency_ms // 1000), "--grace", "1", "--quiet"],
                stderr=subprocess.PIPE, text=True))
        t0 = time.time()
        held = 0
        while time.time() - t0 < seconds:
            time.sleep(2)
            if held == 0 and time.time() - t0 >= WARM:
                held = subprocess.run(["ss", "-Htn", "state", "established", "dport",
                                       "= :%d" % farm.smtp_port], capture_output=True,
                                      text=True).stdout.count("\n")
        cpu = sum(cpu_s(p.pid) for p in procs)
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.communicate(timeout=300)
        wait = later = throttled = deferred = holds = 0
        rows = {"timeout": 0, "local_overload": 0, "all": 0}
        stages = {}
        for i in range(shards):
            meta = json.load(open(os.path.join(farm.dir, "s%d.meta.json" % i)))
            wait = max(wait, meta["health"]["longest_wait_ms"])
            later = max(later, meta["health"].get("longest_wait_after_first_fill_ms", 0))
            throttled = max(throttled, meta["health"]["throttled_ms"])
            deferred += meta["health"].get("deferred", 0)
            holds += meta["health"].get("holds", 0)
            with gzip.open(os.path.join(farm.dir, "s%d.csv.gz" % i), "rt", newline="") as f:
                try:
                    for r in csv.DictReader(f):
                        rows["all"] += 1
                        if r["error"] in rows:
                            rows[r["error"]] += 1
                        if r["error"] == "timeout":
                            k = "timeout at %s (dns %s)" % (r["stage"], r["dns_status"])
                            stages[k] = stages.get(k, 0) + 1
                except EOFError:
                    pass
    # A host is finished when a connection that completed its handshake (H) closes: a probe
    # deferred before STARTTLS closes without one. One connection per address at a time, and
    # each farm process logs its own connections in order.
    closes, first = [], None
    for path in glob.glob(log + "*"):
        shook = {}
        for line in open(path):
            k, ms, _, ip = line.split()
            if k == "O":
                shook[ip] = False
                if first is None or int(ms) < first:
                    first = int(ms)
            elif k == "H":
                shook[ip] = True
            elif k == "C" and shook.pop(ip, False):
                closes.append(int(ms))
        os.unlink(path)
    a = first + WARM * 1000
    b = first + seconds * 1000
    done = sum(a <= x < b for x in closes)
    rate = done / ((b - a) / 1000)
    h = first + seconds * 500  # the second half: what the law holds once it has settled
    late = sum(h <= x < b for x in closes) / ((b - h) / 1000)
    if stages:
        print("  (%s)" % ", ".join("%s: %d" % kv for kv in sorted(stages.items())), flush=True)
    return (rate, late, cpu / max(1, len(closes)), (wait, later), throttled, held, rows,
            (holds, deferred))


# A SIGTERM (pkill, a timeout) must not leave the busy loop behind: it would load every later run.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
try:
    print("| in flight asked | shards | admission | held at %.0f s | hosts/s after warm-up | "
          "hosts/s, second half | scanner CPU ms / host | longest local wait | after the first "
          "fill | throttled | NOOP holds | deferred | rows | timeout rows | local_overload rows |" % WARM)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for total, shards, admission in configs:
        rate, late, cpu, wait, thr, held, rows, dfr = run(int(total), int(shards), admission)
        print("| %s | %s | %s | %d | %.1f | %.1f | %.2f | %.1f s | %.1f s | %.0f s | %d | %d | %d | "
              "%d | %d |" % (total, shards, admission, held, rate, late, 1000 * cpu,
                             wait[0] / 1000, wait[1] / 1000, thr / 1000, dfr[0], dfr[1],
                             rows["all"], rows["timeout"], rows["local_overload"]), flush=True)
finally:
    hog.kill()
    hog.wait()
