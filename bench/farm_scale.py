"""Farm scale (issue: the simulated internet): connections one farm process holds, and farm CPU
per STARTTLS + TLS 1.3 handshake (ECDSA P-256, X25519), with a Python asyncio client.

Run inside a private network namespace, e.g.
  unshare -n sh -c 'ip link set lo up; python3 bench/farm_scale.py build 19000 20'
Arguments: build dir, connections to hold, seconds of handshakes."""
import asyncio
import os
import resource
import signal
import ssl
import subprocess
import sys
import tempfile
import time

build, hold, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
tmp = tempfile.mkdtemp()
ready = os.path.join(tmp, "ready")
model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "farm-cheap.conf")
domains = hold + 100
farm = subprocess.Popen([os.path.join(build, "mxtls-farm"), "serve", "--domains", str(domains),
                         "--model", model, "--dns", "127.0.0.1:5399", "--smtp-port", "2599",
                         "--ready-file", ready], stderr=subprocess.PIPE, text=True)
while not os.path.exists(ready):
    time.sleep(0.05)
pid = int(open(ready).read())
# The serving process is the farm's child (the parent only waits for signals).
child = int(subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()[0])


def cpu(p):
    f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(p):
    for line in open("/proc/%d/status" % p):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def addr(i):  # own MX host of list domain i (data/farm-model's address plan)
    a = (127 << 24) + (4 << 16) + 8 * i
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)


async def reply(r):
    while (await r.readline())[3:4] == b"-":
        pass


async def hold_one(i, opened, release):
    r, w = await asyncio.open_connection(addr(i), 2599)
    await reply(r)
    opened.append(w)
    await release.wait()
    w.close()


async def holding():
    release = asyncio.Event()
    opened = []
    rss0 = rss_kib(child)
    tasks = [asyncio.create_task(hold_one(i, opened, release)) for i in range(hold)]
    t0 = time.time()
    while len(opened) < hold and time.time() - t0 < 120:
        await asyncio.sleep(0.2)
    held, rss1 = len(opened), rss_kib(child)
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return held, rss0, rss1


async def handshakes(stop_at, counter):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    while time.time() < stop_at:
        # One shared count, so each handshake meets a host the farm has not served yet, as in a
        # scan: the farm then makes that host's certificate, as it does once per host in a scan.
        counter[1] += 1
        r, w = await asyncio.open_connection(addr(counter[1] % hold), 2599)
        await reply(r)
        w.write(b"EHLO bench.example\r\n")
        await reply(r)
        w.write(b"STARTTLS\r\n")
        await reply(r)
        await w.start_tls(ctx)
        w.write(b"QUIT\r\n")
        await reply(r)
        w.close()
        counter[0] += 1


async def main():
    held, rss0, rss1 = await holding()
    print("held %d of %d connections; farm RSS %d KiB idle, %d KiB holding them (%.1f KiB each)"
          % (held, hold, rss0, rss1, (rss1 - rss0) / max(held, 1)))
    counter = [0, 0]
    c0, t0 = cpu(child), time.time()
    await asyncio.gather(*[handshakes(t0 + seconds, counter) for _ in range(32)])
    c1, t1 = cpu(child), time.time()
    per = (c1 - c0) / max(counter[0], 1)
    print("%d STARTTLS+TLS 1.3 handshakes in %.1f s (%.0f/s, client-bound); farm CPU %.2f s = "
          "%.3f ms per handshake = %.0f handshakes/s per core"
          % (counter[0], t1 - t0, counter[0] / (t1 - t0), c1 - c0, per * 1e3, 1 / per))


asyncio.run(main())
farm.send_signal(signal.SIGTERM)
print(farm.communicate()[1].strip())
subprocess.call(["rm", "-rf", tmp])
