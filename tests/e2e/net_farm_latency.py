"""Farm latency and processes: greetings and replies wait the configured delay (fixed or
lognormal), timed by the client; with --procs 2 both processes serve the one port."""
import concurrent.futures
import re
import socket
import statistics
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("farm latency")


def timed_session(ip, port):
    """Seconds to the end of the greeting, and from EHLO to the end of its reply."""
    t0 = time.monotonic()
    s = socket.create_connection((ip, port), timeout=15)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if len(line) < 4 or line[3:4] != b"-":
                return line

    first = reply()
    t1 = time.monotonic()
    s.sendall(b"EHLO test.example\r\n")
    reply()
    t2 = time.monotonic()
    s.sendall(b"QUIT\r\n")
    reply()
    s.close()
    return first[:3], t1 - t0, t2 - t1


def sessions(ips, port):
    """All sessions at once: the delays are the farm's timers, not the test's time."""
    with concurrent.futures.ThreadPoolExecutor(len(ips)) as pool:
        return list(pool.map(lambda ip: timed_session(ip, port), ips))


def greeting_hosts(farm, n):
    rows = farmlib.read_csv_gz(farm.truth)
    ips = []
    for r in rows:
        if r["banner_code"] == "220" and r["ip"] not in ips:
            ips.append(r["ip"])
    return ips[:n]


with farmlib.Farm(400, seed=2, extra=["--latency-ms", "300", "--procs", "2"],
                  capture_stderr=True) as farm:
    ips = greeting_hosts(farm, 40)
    greet, ehlo = [], []
    for ip, (code, g, e) in zip(ips, sessions(ips, farm.smtp_port)):
        c.eq("%s greeting" % ip, b"220", code)
        greet.append(g)
        ehlo.append(e)
    c.true("every greeting waited 300 ms (min %.3f s)" % min(greet), min(greet) >= 0.29)
    c.true("every EHLO reply waited 300 ms (min %.3f s)" % min(ehlo), min(ehlo) >= 0.29)
    c.true("no reply waited much more (median EHLO %.3f s)" % statistics.median(ehlo),
           statistics.median(ehlo) < 0.6)
served = [int(n) for n in re.findall(r"(\d+) SMTP connections", farm.stderr)]
c.eq("two serving processes reported", 2, len(served))
c.eq("they served every connection between them", 40, sum(served))
c.true("both served some (%s)" % served, all(n > 0 for n in served))

with farmlib.Farm(400, seed=2, extra=["--latency", "lognormal:200:0.5"]) as farm:
    ehlo = [e for _, _, e in sessions(greeting_hosts(farm, 40), farm.smtp_port)]
    med = statistics.median(ehlo)
    c.true("lognormal median 200 ms: measured median %.3f s" % med, 0.12 < med < 0.33)
    c.true("lognormal spreads the delays (%.3f..%.3f s)" % (min(ehlo), max(ehlo)),
           max(ehlo) - min(ehlo) > 0.1)
c.finish()
