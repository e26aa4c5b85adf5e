"""A stalled scanner is not a silent resolver: `mxtls resolve` is stopped (SIGSTOP) while its
first queries are in flight, their answers arrive meanwhile, and it is continued after every
one of those queries has passed its timeout. A process held up by its machine (CPUs taken by
others, swapped out, stopped) wakes with its timers due before it has read its sockets; the
answers waiting there must be read, not the queries expired as the server's timeouts. Every
row must equal the farm's truth, as without the stall."""
import collections
import csv
import io
import os
import signal
import subprocess
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("dns stall vs farm")
N = 150
KEY = ["rank", "dns_status", "mx_pref", "mx_host", "mx_status", "ip", "input_line"]

with farmlib.Farm(N, seed=43, extra=["--truth-fingerprints", "no"]) as farm:
    relay = farmlib.DnsRelay(farm)
    try:
        lst = os.path.join(farm.dir, "list.txt")
        with open(lst, "w") as f:
            subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(N), "--seed",
                            "43"], stdout=f, check=True)
        # The relay holds the first queries (all of them: a frozen relay's socket holds about
        # 250, the rest would be lost as on a congested network); the scanner is stopped with
        # them in flight, the relay lets them through, and their answers wait in the scanner's
        # socket while every query's 2 s passes.
        relay.freeze()
        p = subprocess.Popen([os.environ["MXTLS_BIN"], "resolve", "--resolver", relay.addr,
                              "--allow", "127.0.0.0/8", "--dns-timeout", "2", "--dns-tries", "1",
                              "--no-policy", lst],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.send_signal(signal.SIGSTOP)
        relay.thaw()
        time.sleep(4.0)
        p.send_signal(signal.SIGCONT)
        out, err = p.communicate(timeout=300)
    finally:
        relay.close()
    print(err.strip())
    c.eq("resolve exit status", 0, p.returncode)
    got = collections.OrderedDict()
    for r in csv.DictReader(io.StringIO(out)):
        got.setdefault(r["domain"], []).append([r[k] for k in KEY] + [r["conn"] == "skipped"])
    want = collections.OrderedDict()
    for r in farmlib.read_csv_gz(farm.truth):
        want.setdefault(r["domain"], []).append([r[k] for k in KEY] + [r["conn"] == "skipped"])
    c.eq("every domain once", sorted(want), sorted(got))
    for d, rows in want.items():
        c.eq(d, rows, got.get(d))
    timeouts = sum(1 for rows in want.values() if rows[0][1] == "timeout")
    c.true("domains the farm answers (%d of %d)" % (N - timeouts, N), N - timeouts > N // 2)
c.finish()
