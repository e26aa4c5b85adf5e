"""mxtls scan's politeness limits, checked from the farm's own accept log (one line per
connection opened or closed, with the farm's loop time and the local address dialled): no
address ever has two connections at once, no /24 more than --net-limit, no one-second window
more than 110 % of --rate, never more than --concurrency open, never more TLS handshakes in
progress than four times --handshakes, the most the gate lets run while others wait on their
servers (one thread; from the ClientHello and handshake lines of the same log). Then
--retry-4xx: hosts that greet with 421 are probed again, exactly --retry-4xx more times each (the difference of two
accept logs, address by address), and the rows still equal the truth (the last outcome)."""
import collections
import glob
import os
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan limits")
N, RATE, NET, CONC, HANDSHAKES = 3000, 300, 2, 40, 2
N2 = 1500  # for --retry-4xx


def events(prefix):
    """(time ms, +1 open / -1 close, address) from every accept log of the farm run, in the
    order the connections really opened and closed."""
    ev = []
    for path in glob.glob(prefix + "*"):
        with open(path) as f:
            for line in f:
                kind, ms, turn, ip = line.split()
                if kind in "OC":
                    ev.append((int(turn), int(ms), 1 if kind == "O" else -1, ip))
    # The farm accepts every pending connection when its listener is ready, so a connection the
    # scanner dialled after closing another may be accepted one loop turn before the farm reads
    # that close (the log says the turn). A close is therefore taken to precede the opens of the
    # turn before it; a limit the scanner broke would show as an overlap lasting a whole probe.
    ev.sort(key=lambda e: (e[0] - 1, 0) if e[2] < 0 else (e[0], 1))
    return [(ms, kind, ip) for _, ms, kind, ip in ev]


def most_handshakes(prefix, skip):
    """The most TLS handshakes in progress at once on the farm: from a ClientHello (T) to the
    handshake's end (H) or the connection's close (C). Within a loop turn, ends come first: when
    the gate is full, the scanner starts a waiting handshake only after another one sent its
    Finished or closed, so the farm reads that in the same turn as the new ClientHello or
    earlier. Addresses in
    SKIP (tls=legacy) are left out: their second connection sends a raw ClientHello, which
    needs no TLS context and takes no turn at the gate."""
    ev = []
    for path in glob.glob(prefix + "*"):
        with open(path) as f:
            for line in f:
                kind, _, turn, ip = line.split()
                if kind in "THC" and ip not in skip:
                    ev.append((int(turn), 0 if kind != "T" else 1, kind, ip))
    ev.sort(key=lambda e: e[:2])
    busy, most = set(), 0
    for _, _, kind, ip in ev:
        if kind == "T":
            busy.add(ip)
            most = max(most, len(busy))
        else:
            busy.discard(ip)
    return most


def opens_per_address(ev):
    return collections.Counter(ip for _, kind, ip in ev if kind == 1)


log = os.path.join("/tmp", "mxtls-accept-%d" % os.getpid())
with farmlib.Farm(N, seed=7, extra=["--accept-log", log]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    out = os.path.join(farm.dir, "scan.csv.gz")
    farmlib.write_list(farm, N, 7, lst)
    t0 = time.time()
    r = farmlib.scan(farm, lst, out, "--rate", str(RATE), "--net-limit", str(NET),
                     "--concurrency", str(CONC), "--threads", "1", "--handshakes", str(HANDSHAKES))
    print("limited scan: %.1f s" % (time.time() - t0))
    c.eq("scan exit status", 0, r.returncode)
    cols = farmlib.truth_columns(farm)
    truth = farmlib.rows_by_domain(farm.truth, cols)
    got = farmlib.rows_by_domain(out, cols)
    c.eq("rows equal the truth", [], [d for d in truth if truth[d] != got.get(d)][:5])
    legacy = {r["ip"] for r in farmlib.read_csv_gz(out) if r["tls"] == "legacy"}
farm_log = log
ev = events(farm_log)
c.true("the accept log has the scan's connections", len(ev) > 1000)
open_ip, open_net, most_ip, most_net, open_all, most_all = {}, {}, 0, 0, 0, 0
for ms, kind, ip in ev:
    net = ip.rsplit(".", 1)[0]
    open_ip[ip] = open_ip.get(ip, 0) + kind
    open_net[net] = open_net.get(net, 0) + kind
    open_all += kind
    most_ip = max(most_ip, open_ip[ip])
    most_net = max(most_net, open_net[net])
    most_all = max(most_all, open_all)
c.eq("most connections to one address at once", 1, most_ip)
c.true("most connections to one /24 at once <= --net-limit (%d)" % most_net, most_net <= NET)
c.true("most connections open at once <= --concurrency (%d)" % most_all, most_all <= CONC)
opens = sorted(ms for ms, kind, _ in ev if kind == 1)
j, worst = 0, 0
for i, t in enumerate(opens):
    while opens[j] <= t - 1000:
        j += 1
    worst = max(worst, i - j + 1)
c.true("most connections opened in one second <= 110%% of --rate (%d)" % worst,
       worst <= 1.1 * RATE)
c.true("the rate was reached (%d in one second)" % worst, worst >= 0.5 * RATE)
most_tls = most_handshakes(farm_log, legacy)
c.true("most TLS handshakes at once (%d), --threads 1 --handshakes %d: at least that, at most "
       "four times" % (most_tls, HANDSHAKES), HANDSHAKES <= most_tls <= 4 * HANDSHAKES)
for path in glob.glob(log + "*"):
    os.unlink(path)

# --retry-4xx: the same farm scanned with and without; the difference per address is exactly
# twice the number of hosts there that greet with 4xx.
base, retried = log + ".base", log + ".retry"
with farmlib.Farm(N2, seed=7, extra=["--accept-log", base]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N2, 7, lst)
    r = farmlib.scan(farm, lst, os.path.join(farm.dir, "a.csv.gz"), "--rate", "1000")
    c.eq("scan without retries", 0, r.returncode)
with farmlib.Farm(N2, seed=7, extra=["--accept-log", retried]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    out = os.path.join(farm.dir, "b.csv.gz")
    farmlib.write_list(farm, N2, 7, lst)
    r = farmlib.scan(farm, lst, out, "--rate", "1000", "--retry-4xx", "2", "--retry-after", "1")
    c.eq("scan with --retry-4xx 2", 0, r.returncode)
    cols = farmlib.truth_columns(farm)
    truth_rows = farmlib.read_csv_gz(farm.truth)
    truth = farmlib.rows_by_domain(farm.truth, cols)
    got = farmlib.rows_by_domain(out, cols)
    c.eq("rows with retries equal the truth", [], [d for d in truth if truth[d] != got.get(d)][:5])
want_extra = collections.Counter()
seen = set()
for row in truth_rows:
    key = (row["mx_host"], row["ip"])
    if row["banner_code"].startswith("4") and key not in seen:
        seen.add(key)
        want_extra[row["ip"]] += 2
a, b = opens_per_address(events(base)), opens_per_address(events(retried))
extra = collections.Counter({ip: b[ip] - a.get(ip, 0) for ip in b if b[ip] != a.get(ip, 0)})
c.true("the farm has hosts that greet with 4xx (%d)" % len(seen), len(seen) >= 1)
c.eq("extra connections per address", dict(want_extra), dict(extra))
for path in glob.glob(log + "*"):
    os.unlink(path)
c.finish()
