"""The MTA-STS policy fetch (scan --policy) against policy hosts served here over HTTPS (Python's
ssl module, certificates from a test CA made with openssl), with the domains' records in a
zone served by Debian's nsd, all on loopback. Good policies are read (mode, max_age, patterns,
and sts_match per MX host); each way a policy host can fail or be hostile gets its own token:
a missing address, a refused connection, a certificate expired or for another name, a
server that does not speak TLS, 404, a redirect (not followed), the wrong content type, a
policy that breaks the grammar, binary content, a 10 MB body, an endless body and a body
dripped slowly; each within the deadline and the 64 KiB cap, each policy host asked once."""
import asyncio
import csv
import gzip
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("MTA-STS fetch vs hostile policy hosts")
tmp = tempfile.mkdtemp(prefix="mxtls-sts-")
Z = "sts.test"
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.good.%s\r\nmax_age: 86400\r\n" % Z


def sh(cmd):
    subprocess.run(cmd, shell=True, cwd=tmp, check=True, capture_output=True)


def make_certs(names):
    """A CA, and per NAME (label, subject name, expired?) a certificate it signed."""
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
       "-out ca.pem -days 30 -subj /CN=STS-test-CA -addext basicConstraints=critical,CA:TRUE "
       "-addext keyUsage=keyCertSign")
    sh("mkdir -p db && touch db/index && echo 01 > db/serial && printf '[ca]\\ndefault_ca=d\\n"
       "[d]\\ndatabase=db/index\\nserial=db/serial\\nnew_certs_dir=db\\ndefault_md=sha256\\n"
       "policy=p\\nunique_subject=no\\n[p]\\ncommonName=supplied\\n' > ca.cnf")
    for label, name, expired in names:
        sans = ",".join("DNS:" + n for n in name.split(","))
        sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {l}.key "
           "-out {l}.csr -subj /CN={n} && printf 'subjectAltName={s}\\n' > {l}.ext".format(
               l=label, n=name.split(",")[0], s=sans))
        dates = ("-startdate 20200101000000Z -enddate 20200201000000Z" if expired
                 else "-days 30")
        sh("openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -in {l}.csr "
           "{d} -extfile {l}.ext -out {l}.pem".format(l=label, d=dates))


# label: (IP last byte or None for no address, behaviour, certificate name override, expired)
HOSTS = {
    "good": (1, "policy", None, False),
    "testing": (2, "testing", None, False),
    "notfound": (3, "404", None, False),
    "redirect": (4, "301", None, False),
    "big": (5, "big", None, False),
    "endless": (6, "endless", None, False),
    "slow": (7, "slow", None, False),
    "binary": (8, "binary", None, False),
    "html": (9, "html", None, False),
    "wrongname": (10, "policy", "mta-sts.elsewhere.example", False),
    "expired": (11, "policy", None, True),
    "plain": (12, "plain", None, False),
    "syntax": (13, "syntax", None, False),
    "refused": (14, None, None, False),  # an address, nothing listening
    "noaddr": (None, None, None, False),
    # Three domains whose policy hosts share one address: fetched one at a time.
    "share1": (20, "shared", None, False),
    "share2": (20, "shared", None, False),
    "share3": (20, "shared", None, False),
}
WANT = {
    "good": "ok", "testing": "ok", "notfound": "http_status", "redirect": "http_redirect",
    "big": "http_too_large", "endless": "http_too_large", "slow": "timeout",
    "binary": "policy_syntax", "html": "content_type", "wrongname": "cert_name",
    "expired": "cert_invalid", "plain": "tls", "syntax": "policy_version",
    "refused": "connect_refused", "noaddr": "dns_nxdomain",
    "share1": "ok", "share2": "ok", "share3": "ok",
}
shared = {"active": 0, "most": 0, "asked": 0}


def ip(label):
    return "127.0.7.%d" % HOSTS[label][0]


requests = {}


async def read_head(reader):
    """The request up to its empty line (at most 8 KiB)."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        data = await reader.read(1024)
        if not data:
            break
        head += data
    return head


async def serve(label, reader, writer):
    behaviour = HOSTS[label][1]
    requests[label] = requests.get(label, 0) + 1
    try:
        lines = (await read_head(reader)).decode("latin-1").split("\r\n")
        host = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("host:")]
        if lines[0] != "GET /.well-known/mta-sts.txt HTTP/1.1" or host != ["mta-sts.%s.%s" % (label, Z)]:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif behaviour in ("policy", "testing", "syntax", "html"):
            body = POLICY if behaviour != "testing" else POLICY.replace(
                "enforce", "testing").replace("mail.good", "*.other")
            if behaviour == "syntax":
                body = body.replace("version: STSv1\r\n", "")
            ctype = "text/html" if behaviour == "html" else "text/plain; charset=utf-8"
            writer.write(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                          % (ctype, len(body), body)).encode())
        elif behaviour == "404":
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
        elif behaviour == "301":
            writer.write(b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\n"
                         b"Content-Length: 0\r\n\r\n")
        elif behaviour == "big":
            # 10 MB announced: the first 64 KiB of it is all a reader may take. The bodies here
            # are paced, so that one server thread serves every host on a busy machine.
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                         b"10485760\r\n\r\n")
            for _ in range(10240):
                writer.write(b"x" * 1024)
                await writer.drain()
                await asyncio.sleep(0.001)
        elif behaviour == "endless":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            while True:
                writer.write(b"mx: mail.good.sts.test\r\n" * 40)
                await writer.drain()
                await asyncio.sleep(0.001)
        elif behaviour == "slow":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 200\r\n\r\n")
            for ch in POLICY:
                writer.write(ch.encode())
                await writer.drain()
                await asyncio.sleep(1)
        elif behaviour == "binary":
            body = bytes(range(256)) * 4
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                         b"1024\r\n\r\n" + body)
        await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def shared_server(reader, writer):
    """The policy hosts of share1..3: slow to answer, counting connections open at once."""
    shared["active"] += 1
    shared["asked"] += 1
    shared["most"] = max(shared["most"], shared["active"])
    try:
        await read_head(reader)
        await asyncio.sleep(0.5)
        writer.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                      % (len(POLICY), POLICY)).encode())
        await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        shared["active"] -= 1
        writer.close()


async def plain_server(reader, writer):
    requests["plain"] = requests.get("plain", 0) + 1
    await reader.read(1024)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


def run_servers(loop, port, ready):
    asyncio.set_event_loop(loop)

    async def start():
        for label, (last, behaviour, _, _) in HOSTS.items():
            if behaviour is None:
                continue
            if behaviour == "plain":
                await asyncio.start_server(plain_server, ip(label), port)
                continue
            if behaviour == "shared":
                if label == "share1":
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.load_cert_chain(os.path.join(tmp, "shared.pem"),
                                        os.path.join(tmp, "shared.key"))
                    await asyncio.start_server(shared_server, ip(label), port, ssl=ctx)
                continue
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(tmp, label + ".pem"), os.path.join(tmp, label + ".key"))
            await asyncio.start_server(lambda r, w, l=label: serve(l, r, w), ip(label), port,
                                       ssl=ctx)
        ready.set()
    loop.run_until_complete(start())
    loop.run_forever()


zone = ["$ORIGIN %s." % Z, "$TTL 300", "@ IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300".format(z=Z),
        "@ IN NS ns.%s." % Z, "ns IN A 127.0.0.1"]
for label, (last, _, _, _) in HOSTS.items():
    zone += ["{l} IN MX 10 mail.{l}.{z}.".format(l=label, z=Z),
             "mail.%s IN A 127.0.6.1" % label,
             '_mta-sts.%s IN TXT "v=STSv1; id=2026120301"' % label]
    if last is not None:
        zone.append("mta-sts.%s IN A %s" % (label, ip(label)))
zone += ["norecord IN MX 10 mail.norecord.%s." % Z, "mail.norecord IN A 127.0.6.1",
         "badrecord IN MX 10 mail.badrecord.%s." % Z, "mail.badrecord IN A 127.0.6.1",
         '_mta-sts.badrecord IN TXT "v=STSv1; id=no-dashes"',
         "mta-sts.badrecord IN A 127.0.7.1"]
open(os.path.join(tmp, "zone"), "w").write("\n".join(zone) + "\n")

make_certs([(label, HOSTS[label][2] or "mta-sts.%s.%s" % (label, Z), HOSTS[label][3])
            for label in HOSTS if HOSTS[label][1] not in (None, "plain", "shared")] +
           [("shared", ",".join("mta-sts.share%d.%s" % (k, Z) for k in (1, 2, 3)), False)])
dns_port, https_port = farmlib.free_port(), farmlib.free_port()
nsd = farmlib.start_nsd(tmp, dns_port, Z)
loop = asyncio.new_event_loop()
ready = threading.Event()
threading.Thread(target=run_servers, args=(loop, https_port, ready), daemon=True).start()
try:
    ready.wait(20)
    farmlib.wait_dns(dns_port, "ns." + Z)
    lst, out = os.path.join(tmp, "list.txt"), os.path.join(tmp, "out.csv.gz")
    names = sorted(HOSTS) + ["norecord", "badrecord"]
    open(lst, "w").write("".join("%s.%s\n" % (n, Z) for n in names))
    deadline = 10
    t0 = time.monotonic()
    r = subprocess.run([os.environ["MXTLS_BIN"], "scan", lst, "-o", out, "--policy", "--resolver",
                        "127.0.0.1:%d" % dns_port, "--sts-port", str(https_port), "--port", "2",
                        "--allow", "127.0.0.0/8", "--ca-file", os.path.join(tmp, "ca.pem"),
                        "--ehlo", "scanner.example", "--timeout-read", "5", "--deadline",
                        str(deadline), "--quiet"], capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - t0
    c.eq("scan exit status (%s)" % r.stderr.strip()[-300:], 0, r.returncode)
    c.true("every fetch ended within the deadline (%.1f s for the scan)" % elapsed,
           elapsed < deadline + 5)
    with gzip.open(out, "rt", newline="") as f:
        rows = {row["domain"].split(".")[0]: row for row in csv.DictReader(f)}
    for label, want in sorted(WANT.items()):
        row = rows.get(label, {})
        c.eq("%s: sts_record" % label, "ok", row.get("sts_record"))
        c.eq("%s: sts_policy" % label, want, row.get("sts_policy"))
        print("%-10s sts_policy=%-16s mode=%-8s max_age=%-6s mx=%s match=%s" % (
            label, row.get("sts_policy"), row.get("sts_mode"), row.get("sts_max_age"),
            row.get("sts_mx"), row.get("sts_match")))
        if label in requests:
            c.eq("%s: the policy host was asked once" % label, 1, requests[label])
    c.eq("one policy host address: fetched three times, never two at once", (3, 1),
         (shared["asked"], shared["most"]))
    good, testing = rows.get("good", {}), rows.get("testing", {})
    for col, val in (("sts_mode", "enforce"), ("sts_max_age", "86400"),
                     ("sts_mx", "mail.good.%s" % Z), ("sts_match", "yes")):
        c.eq("good: %s" % col, val, good.get(col))
    for col, val in (("sts_mode", "testing"), ("sts_mx", "*.other.%s" % Z), ("sts_match", "no")):
        c.eq("testing: %s" % col, val, testing.get(col))
    for label in WANT:
        if WANT[label] != "ok":
            c.eq("%s: no mode without a policy" % label, "", rows.get(label, {}).get("sts_mode"))
    c.eq("norecord: no record, no fetch", ("none", ""),
         (rows.get("norecord", {}).get("sts_record"), rows.get("norecord", {}).get("sts_policy")))
    c.eq("badrecord: an invalid record, no fetch", ("invalid", ""),
         (rows.get("badrecord", {}).get("sts_record"),
          rows.get("badrecord", {}).get("sts_policy")))
    # mxtls stats counts what the test made: every domain has an MX, all but norecord and
    # badrecord a valid record; two policies read, one per mode; the rest by their token.
    st = subprocess.run([os.environ["MXTLS_BIN"], "stats", "--format", "json", out],
                        capture_output=True, text=True)
    got = {(m["section"], m["metric"]): (m["numerator"], m["denominator"])
           for m in json.loads(st.stdout)["metrics"] if m["bucket"] == "all"}
    n, read = len(names), sum(1 for t in WANT.values() if t == "ok")
    want = {("domains: MTA-STS (RFC 8461)", "mode enforce"): (read - 1, n),
            ("domains: MTA-STS (RFC 8461)", "mode testing"): (1, n),
            ("domains: MTA-STS (RFC 8461)", "no record"): (1, n),
            ("domains: MTA-STS (RFC 8461)", "invalid record"): (1, n),
            ("domains: MTA-STS (RFC 8461)", "policy not read"): (n - 2 - read, n)}
    for label, token in WANT.items():
        if token != "ok":
            want[("domains: MTA-STS policy not read, by reason", token)] = (
                sum(1 for t in WANT.values() if t == token), n - 2 - read)
    section = "domains: MTA-STS policy names the MX hosts (testing or enforce)"
    want[(section, "every MX matches")] = (1, read)  # good; the others name no MX of theirs
    want[(section, "no MX matches")] = (read - 1, read)
    for key, val in sorted(want.items()):
        c.eq("stats: %s / %s" % key, val, got.get(key))
    # With --no-policy nothing of it is asked.
    r = subprocess.run([os.environ["MXTLS_BIN"], "scan", lst, "-o", out, "--no-policy", "--resolver",
                        "127.0.0.1:%d" % dns_port, "--sts-port", str(https_port), "--port", "2",
                        "--allow", "127.0.0.0/8", "--ehlo", "scanner.example", "--quiet"],
                       capture_output=True, text=True, timeout=120)
    with gzip.open(out, "rt", newline="") as f:
        off = [row for row in csv.DictReader(f) if row["sts_policy"] or row["sts_record"]]
    c.eq("with --no-policy: no policy column filled", 0, len(off))
finally:
    loop.call_soon_threadsafe(loop.stop)
    nsd.terminate()
    nsd.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)
c.finish()
