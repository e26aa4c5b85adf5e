"""The DNS stage's policy lookups (--policy) against Debian's nsd on a loopback port, with a
zone made here: a domain with a valid MTA-STS record and a TLS-RPT record, its MX host with two
TLSA records; a domain with two MTA-STS records and an invalid TLS-RPT one; a domain with
neither. What `mxtls resolve --policy` writes is compared with the zone's intent; without
--dnssec-resolver the DNSSEC columns say unknown (the zone is unsigned and nothing validates),
and with --no-policy the columns stay empty."""
import csv
import io
import os
import re
import signal
import subprocess
import tempfile

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("dns policy vs nsd")
tmp = tempfile.mkdtemp(prefix="mxtls-nsdpol-")
port = farmlib.free_port()
Z = "policy.example"
zone = """$ORIGIN {z}.
$TTL 300
@ IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300
@ IN NS ns.{z}.
ns IN A 127.0.0.1
good IN MX 10 mx.good.{z}.
mx.good IN A 127.0.4.1
_mta-sts.good IN TXT "v=STSv1; id=20261202T1200"
_smtp._tls.good IN TXT "v=TLSRPTv1; " "rua=mailto:tls@good.{z}"
_25._tcp.mx.good IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_25._tcp.mx.good IN TLSA 2 0 1 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
odd IN MX 10 mx.odd.{z}.
mx.odd IN A 127.0.4.2
_mta-sts.odd IN TXT "v=STSv1; id=a"
_mta-sts.odd IN TXT "v=STSv1; id=b"
_smtp._tls.odd IN TXT "v=TLSRPTv1; rua=http://insecure.example/"
plain IN MX 10 mx.plain.{z}.
mx.plain IN A 127.0.4.3
""".format(z=Z)
open(os.path.join(tmp, "zone"), "w").write(zone)
nsd = farmlib.start_nsd(tmp, port, Z)


def resolve(*extra):
    lst = os.path.join(tmp, "list.txt")
    open(lst, "w").write("good.{z}\nodd.{z}\nplain.{z}\n".format(z=Z))
    out = subprocess.run([os.environ["MXTLS_BIN"], "resolve", "--resolver", "127.0.0.1:%d" % port,
                          "--dns-timeout", "1", "--dns-tries", "2"] + list(extra) + [lst],
                         capture_output=True, text=True, timeout=60)
    c.eq("resolve exit status %s" % (extra,), 0, out.returncode)
    return {r["domain"].split(".")[0]: r for r in csv.DictReader(io.StringIO(out.stdout))}


try:
    farmlib.wait_dns(port, "ns." + Z)
    rows = resolve("--policy")
    want = {
        "good": {"sts_record": "ok", "sts_id": "20261202T1200", "tlsrpt_record": "ok",
                 "tlsrpt_rua": "mailto:tls@good." + Z, "tlsa": "present",
                 "mx_dnssec": "unknown", "tlsa_dnssec": "unknown"},
        "odd": {"sts_record": "multiple", "sts_id": "", "tlsrpt_record": "invalid",
                "tlsrpt_rua": "", "tlsa": "none", "mx_dnssec": "unknown"},
        "plain": {"sts_record": "none", "tlsrpt_record": "none", "tlsa": "none"},
    }
    for d, cols in want.items():
        for k, v in cols.items():
            c.eq("%s %s" % (d, k), v, rows.get(d, {}).get(k))
    rows = resolve("--no-policy")
    c.eq("with --no-policy the columns stay empty", [""] * 3,
         [rows.get(d, {}).get("sts_record") for d in ("good", "odd", "plain")])
finally:
    nsd.send_signal(signal.SIGTERM)
    nsd.wait(timeout=10)
    subprocess.call(["rm", "-rf", tmp])
c.finish()
