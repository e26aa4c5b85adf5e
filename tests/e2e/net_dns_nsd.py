"""The DNS stage against a real authoritative server: Debian's nsd, started here on a loopback
port with a zone made by the test (null MX, implicit MX, CNAME'd MX, several MX with tied
preferences, an MX host with six addresses, an MX host that does not exist, a name without MX
or address, a missing name, a name outside the zone), stopped by PID. What `mxtls resolve`
returns is compared with the zone's intent and with dig's answers."""
import csv
import io
import os
import re
import signal
import subprocess
import tempfile
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("dns vs nsd")
tmp = tempfile.mkdtemp(prefix="mxtls-nsd-")
port = farmlib.free_port()
Z = "nsdtest.example"
zone = """$ORIGIN {z}.
$TTL 300
@ IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300
@ IN NS ns.{z}.
ns IN A 127.0.0.1
nullmx IN MX 0 .
implicit IN A 127.0.3.10
cname IN MX 10 mail.cname.{z}.
mail.cname IN CNAME host.cname.{z}.
host.cname IN A 127.0.3.11
multi IN MX 20 b.multi.{z}.
multi IN MX 10 a.multi.{z}.
multi IN MX 10 c.multi.{z}.
a.multi IN A 127.0.3.12
b.multi IN A 127.0.3.13
c.multi IN A 127.0.3.14
multiaddr IN MX 5 mx.multiaddr.{z}.
""".format(z=Z) + "".join("mx.multiaddr IN A 127.0.3.%d\n" % (20 + i) for i in range(6)) + """
mxnoaddr IN MX 10 ghost.{z}.
nodata IN TXT "no mail here"
dual IN MX 10 mx.dual.{z}.
mx.dual IN A 127.0.3.30
mx.dual IN AAAA ::1
v6only IN MX 10 mx.v6only.{z}.
mx.v6only IN AAAA ::1
""".format(z=Z)
open(os.path.join(tmp, "zone"), "w").write(zone)
nsd = farmlib.start_nsd(tmp, port, Z)


def dig(name, qtype):
    out = subprocess.run(["dig", "+tries=1", "+time=1", "-p", str(port), "@127.0.0.1", name,
                          qtype], capture_output=True, text=True).stdout
    m = re.search(r"status: (\w+)", out)
    answers = sorted(l.split(None, 4)[4] for l in out.splitlines()
                     if l and not l.startswith(";") and "\tIN\t" + qtype + "\t" in l)
    return (m.group(1) if m else None), answers


try:
    for _ in range(100):
        if dig("ns." + Z, "A")[0] == "NOERROR":
            break
        time.sleep(0.1)
    names = {
        "nullmx": ("null_mx", []),
        "implicit": ("implicit", [("0", Z.join(["implicit.", ""]), "ok", "127.0.3.10", "")]),
        "cname": ("mx", [("10", "mail.cname." + Z, "ok", "127.0.3.11", "")]),
        "multi": ("mx", None),
        "multiaddr": ("mx", [("5", "mx.multiaddr." + Z, "ok", "127.0.3.%d" % (20 + i),
                              "" if i < 4 else "skipped") for i in range(6)]),
        "mxnoaddr": ("mx", [("10", "ghost." + Z, "nxdomain", "", "")]),
        "nodata": ("nodata", []),
        "missing": ("nxdomain", []),
    }
    lst = os.path.join(tmp, "list.txt")
    domains = ["%s.%s" % (n, Z) for n in names] + ["outside.example", "dual." + Z, "v6only." + Z]
    open(lst, "w").write("\n".join(domains) + "\n")
    out = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--resolver", "127.0.0.1:%d" % port,
                          "--allow", "127.0.0.0/8", "--dns-timeout", "1", "--dns-tries", "2", lst],
                         capture_output=True, text=True, timeout=60)
    c.eq("resolve exit status", 0, out.returncode)
    rows = {}
    for r in csv.DictReader(io.StringIO(out.stdout)):
        rows.setdefault(r["domain"], []).append(r)
    for n, (status, want) in names.items():
        d = "%s.%s" % (n, Z)
        got = rows.get(d, [])
        c.eq("%s dns_status" % d, status, got[0]["dns_status"] if got else None)
        if want is not None and want:
            c.eq("%s rows" % d, want, [(r["mx_pref"], r["mx_host"], r["mx_status"], r["ip"],
                                        r["conn"]) for r in got])
    # Tied preferences keep the server's answer order; dig sees the same set.
    multi = rows.get("multi." + Z, [])
    c.eq("multi preferences in order", ["10", "10", "20"], [r["mx_pref"] for r in multi])
    c.eq("multi set equals dig's", dig("multi." + Z, "MX")[1],
         sorted("%s %s." % (r["mx_pref"], r["mx_host"]) for r in multi))
    c.eq("outside the zone: REFUSED recorded", "refused",
         rows.get("outside.example", [{}])[0].get("dns_status"))
    c.eq("dig agrees on the missing name", "NXDOMAIN", dig("missing." + Z, "MX")[0])
    # AAAA only with --ipv6: an IPv6-only MX host has no address for an IPv4 survey.
    c.eq("dual-stack host, IPv4 only", [("127.0.3.30", "ok")],
         [(r["ip"], r["mx_status"]) for r in rows.get("dual." + Z, [])])
    c.eq("IPv6-only host without --ipv6", [("", "nodata")],
         [(r["ip"], r["mx_status"]) for r in rows.get("v6only." + Z, [])])
    out6 = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--ipv6", "--resolver",
                           "127.0.0.1:%d" % port, "--allow", "127.0.0.0/8", "--dns-timeout", "1",
                           lst], capture_output=True, text=True, timeout=60)
    rows6 = {}
    for r in csv.DictReader(io.StringIO(out6.stdout)):
        rows6.setdefault(r["domain"], []).append(r)
    c.eq("dual-stack host with --ipv6", [("127.0.3.30", "ok"), ("::1", "ok")],
         [(r["ip"], r["mx_status"]) for r in rows6.get("dual." + Z, [])])
    c.eq("IPv6-only host with --ipv6", [("::1", "ok")],
         [(r["ip"], r["mx_status"]) for r in rows6.get("v6only." + Z, [])])
finally:
    nsd.send_signal(signal.SIGTERM)
    nsd.wait(timeout=10)
    subprocess.call(["rm", "-rf", tmp])
c.finish()
