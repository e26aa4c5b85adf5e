"""DANE end to end with real software, all on loopback: a zone signed with Debian's ldnsutils
(ldns-signzone), served by nsd, behind a validating unbound that holds the zone's trust anchor;
its MX host is a Postfix instance whose key a DANE-EE TLSA record names. `mxtls scan --policy
--dnssec-resolver` must find the records validated and report dane=match; after Postfix's
certificate is renewed (a new key, the records left stale), dane=mismatch; with the zone served
unsigned and no trust anchor, dane=insecure, as a DANE sender would judge each."""
import csv
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import time

import farmlib
import mtalib
from mtalib import run

farmlib.require_private_netns()
c = farmlib.Checker("DANE vs ldns-signzone, nsd, unbound and Postfix")
tmp = tempfile.mkdtemp(prefix="mxtls-dane-")
os.chmod(tmp, 0o755)
Z = "dane.test"
MX, MX_IP = "mail." + Z, "127.0.2.9"


def spki_sha256(cert):
    """The DANE-EE 3 1 1 data of CERT: SHA-256 of its SubjectPublicKeyInfo."""
    pub = run("openssl", "x509", "-in", cert, "-noout", "-pubkey", check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub.encode(),
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def write_zone(tlsa, signed):
    """The zone file nsd serves (TMP/zone): signed with a fresh key when SIGNED; returns the
    trust anchor (the key's DS record) or None."""
    zone = """$ORIGIN {z}.
$TTL 300
@ IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300
@ IN NS ns.{z}.
ns IN A 127.0.0.1
@ IN MX 10 {mx}.
mail IN A {ip}
_25._tcp.mail IN TLSA 3 1 1 {tlsa}
""".format(z=Z, mx=MX, ip=MX_IP, tlsa=tlsa)
    plain = os.path.join(tmp, "zone.plain")
    open(plain, "w").write(zone)
    if not signed:
        shutil.copy(plain, os.path.join(tmp, "zone"))
        return None
    key = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", Z, cwd=tmp, check=True).stdout.strip()
    run("ldns-signzone", "-o", Z, "-f", os.path.join(tmp, "zone"), plain,
        os.path.join(tmp, key), cwd=tmp, check=True)
    ds = run("ldns-key2ds", "-n", "-2", os.path.join(tmp, key + ".key"), check=True).stdout
    return ds.strip()


def start_unbound(port, nsd_port, anchor):
    d = os.path.join(tmp, "unbound-%d" % port)
    os.makedirs(d)
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write("""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    logfile: "{d}/unbound.log"
    num-threads: 1
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "validator iterator"
    qname-minimisation: no
    local-zone: "test." nodefault
    {anchor}
remote-control:
    control-enable: no
stub-zone:
    name: "{z}"
    stub-addr: 127.0.0.1@{nsd}
""".format(port=port, d=d, nsd=nsd_port, z=Z,
           anchor='trust-anchor: "%s"' % anchor if anchor else ""))
    return subprocess.Popen(["unbound", "-d", "-c", conf])


def scan(what, resolver_port, smtp_port, cert):
    lst, out = os.path.join(tmp, "list.txt"), os.path.join(tmp, what + ".csv.gz")
    open(lst, "w").write(Z + "\n")
    r = run(os.environ["MXTLS_BIN"], "scan", lst, "-o", out, "--policy", "--dnssec-resolver",
            "127.0.0.1:%d" % resolver_port, "--port", str(smtp_port), "--allow", "127.0.2.0/24",
            "--ehlo", "scanner.example", "--ca-file", cert, "--quiet", timeout=120)
    c.eq("%s: scan exit status (%s)" % (what, r.stderr.strip()[-200:]), 0, r.returncode)
    with gzip.open(out, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    c.eq("%s: one row" % what, 1, len(rows))
    st = run(os.environ["MXTLS_BIN"], "stats", "--format", "json", out)
    stats[what] = {(m["section"], m["metric"]): (m["numerator"], m["denominator"])
                   for m in json.loads(st.stdout)["metrics"] if m["bucket"] == "all"}
    return rows[0] if rows else {}


stats = {}
DANE, DNSSEC = "domains: DANE on the MX hosts (RFC 7672)", "domains: MX answer DNSSEC-validated"


procs = []
postfix = None
try:
    nsd_port, ub_port, smtp_port = farmlib.free_port(), farmlib.free_port(), farmlib.free_port()
    postfix = mtalib.Postfix(tmp, MX_IP, smtp_port, MX)
    anchor = write_zone(spki_sha256(postfix.cert), signed=True)
    nsd = farmlib.start_nsd(tmp, nsd_port, Z)
    procs.append(nsd)
    unbound = start_unbound(ub_port, nsd_port, anchor)
    procs.append(unbound)
    dig = farmlib.wait_dns(ub_port, "_25._tcp." + MX, "TLSA")
    flags = dig.split("flags:")[1].split(";")[0] if "flags:" in dig else ""
    c.true("unbound validates the signed zone (dig's flags:%s)" % flags, " ad" in flags)

    row = scan("signed", ub_port, smtp_port, postfix.cert)
    for col, val in (("dns_status", "mx"), ("mx_dnssec", "secure"), ("tlsa", "present"),
                     ("tlsa_dnssec", "secure"), ("tls", "ok"), ("dane", "match")):
        c.eq("signed, the record names the key: %s" % col, val, row.get(col))
    c.eq("signed: stats count the domain's DANE as a match", (1, 1),
         stats["signed"].get((DANE, "match")))
    c.eq("signed: stats count its MX answer validated", (1, 1),
         stats["signed"].get((DNSSEC, "signed and validated")))

    postfix.renew()
    time.sleep(1)
    row = scan("renewed", ub_port, smtp_port, postfix.cert)
    for col, val in (("tlsa_dnssec", "secure"), ("tls", "ok"), ("dane", "mismatch")):
        c.eq("renewed, the record stale: %s" % col, val, row.get(col))
    c.eq("renewed: stats count a mismatch", (1, 1), stats["renewed"].get((DANE, "mismatch")))
    changes = os.path.join(tmp, "changes.csv.gz")
    r = run(os.environ["MXTLS_BIN"], "diff", "--format", "csv", "--changes", changes,
            os.path.join(tmp, "signed.csv.gz"), "--", os.path.join(tmp, "renewed.csv.gz"))
    table = {(row["section"], row["metric"]): row["new_numerator"]
             for row in csv.DictReader(io.StringIO(r.stdout))}
    c.eq("diff: the stale record is a change", "1",
         table.get(("changes (domains in both)", "DANE match -> mismatch (a stale TLSA record)")))
    c.eq("diff: DANE's transition", "1", table.get(("transition: DANE", "match -> mismatch")))
    with gzip.open(changes, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    c.eq("diff --changes: the domain's dane old and new", [("match", "mismatch")],
         [(row["dane_old"], row["dane_new"]) for row in rows])

    # The zone unsigned, and a resolver with no trust anchor for it: the records are insecure.
    for p in procs:
        p.terminate()
        p.wait(timeout=10)
    procs = []
    write_zone(spki_sha256(postfix.cert), signed=False)
    procs.append(farmlib.start_nsd(tmp, nsd_port, Z))
    ub_port = farmlib.free_port()
    procs.append(start_unbound(ub_port, nsd_port, None))
    farmlib.wait_dns(ub_port, "_25._tcp." + MX, "TLSA")
    row = scan("unsigned", ub_port, smtp_port, postfix.cert)
    for col, val in (("mx_dnssec", "insecure"), ("tlsa", "present"),
                     ("tlsa_dnssec", "insecure"), ("dane", "insecure")):
        c.eq("unsigned: %s" % col, val, row.get(col))
    c.eq("unsigned: stats count records not validated", (1, 1),
         stats["unsigned"].get((DANE, "not validated")))
    c.eq("unsigned: stats count the MX answer not validated", (0, 1),
         stats["unsigned"].get((DNSSEC, "signed and validated")))
finally:
    for p in procs:
        p.terminate()
        p.wait(timeout=10)
    if postfix:
        postfix.stop()
    shutil.rmtree(tmp, ignore_errors=True)
c.finish()
