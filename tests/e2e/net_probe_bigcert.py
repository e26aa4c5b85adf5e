"""Certificate messages past mbedTLS's 16 KiB input buffer: a leaf with 1,000 names (~28 KB),
one of ~96 KB, and a chain of 41 certificates, each served over STARTTLS by Python's ssl
(OpenSSL) in TLS 1.3 and in TLS 1.2. Every probe completes (tls=ok) with the leaf's SHA-256
and the chain length that `openssl s_client` reports for the same server."""
import asyncio
import hashlib
import os
import re
import ssl
import subprocess
import tempfile

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("probe vs large certificates")
tmp = tempfile.mkdtemp(prefix="mxtls-bigcert-")


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_cert(name, nsans, issuer=None, ca=False):
    """An EC P-256 certificate NAME.pem with key NAME.key and NSANS DNS names, signed by ISSUER
    (a name made before) or self-signed."""
    key, crt, ext = (os.path.join(tmp, name + x) for x in (".key", ".pem", ".ext"))
    sans = ",".join("DNS:host%05d.%s.example" % (i, name) for i in range(nsans)) or \
        "DNS:%s.example" % name
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % sans)
        f.write("basicConstraints=critical,CA:%s\n" % ("TRUE" if ca else "FALSE"))
    sh("openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key)
    csr = os.path.join(tmp, name + ".csr")
    sh("openssl", "req", "-new", "-key", key, "-subj", "/CN=%s.example" % name, "-out", csr)
    if issuer:
        sh("openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(tmp, issuer + ".pem"),
           "-CAkey", os.path.join(tmp, issuer + ".key"), "-CAcreateserial", "-days", "2",
           "-extfile", ext, "-out", crt)
    else:
        sh("openssl", "x509", "-req", "-in", csr, "-signkey", key, "-days", "2", "-extfile", ext,
           "-out", crt)
    return crt, key


def der_sha256(pem):
    der = subprocess.run(["openssl", "x509", "-outform", "DER", "-in", pem],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


# The servers: name -> (chain file, key file, leaf file).
make_cert("root", 0, ca=True)
servers = {}
for name, n in (("sans1000", 1000), ("sans3500", 3500)):
    crt, key = make_cert(name, n, issuer="root")
    servers[name] = (crt, key, crt)
issuer = "root"
for i in range(40):
    make_cert("int%02d" % i, 0, issuer=issuer, ca=True)
    issuer = "int%02d" % i
leaf, key = make_cert("deep", 1, issuer=issuer)
chain = os.path.join(tmp, "deep-chain.pem")
with open(chain, "w") as f:
    f.write(open(leaf).read())
    for i in reversed(range(40)):
        f.write(open(os.path.join(tmp, "int%02d.pem" % i)).read())
servers["chain41"] = (chain, key, leaf)


async def smtp(reader, writer, ctx):
    try:
        writer.write(b"220 big.example ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-big.example\r\n250 STARTTLS\r\n")
        await reader.readline()
        writer.write(b"220 go ahead\r\n")
        await writer.drain()
        await writer.start_tls(ctx)
        await reader.readline()
        writer.write(b"250 big.example\r\n")
        await reader.readline()
        writer.write(b"221 bye\r\n")
        await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def s_client(port, ip, version):
    """What OpenSSL's client sees: the leaf's SHA-256 and the chain's length."""
    r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (ip, port), "-starttls",
                        "smtp", "-" + version, "-showcerts"], input="", capture_output=True,
                       text=True, timeout=30)
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout,
                      re.S)
    if not pems:
        return None, 0
    p = os.path.join(tmp, "seen.pem")
    open(p, "w").write(pems[0] + "\n")
    return der_sha256(p), len(pems)


async def main():
    port = farmlib.free_port()
    targets, want, running = [], {}, []
    k = 0
    for version, tls_max in (("tls1_3", ssl.TLSVersion.TLSv1_3),
                             ("tls1_2", ssl.TLSVersion.TLSv1_2)):
        for name, (chainf, keyf, leaff) in servers.items():
            k += 1
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.maximum_version = tls_max
            ctx.load_cert_chain(chainf, keyf)
            ip = "127.0.2.%d" % k
            running.append(await asyncio.start_server(
                lambda r, w, x=ctx: smtp(r, w, x), ip, port))
            targets.append("big.example@" + ip)
            want[ip] = (name, version, der_sha256(leaff), os.path.getsize(leaff))
    proc = await asyncio.create_subprocess_exec(
        os.environ["MXTLS_BIN"], "probe", "--allow", "127.0.2.0/24", "--port", str(port),
        "--ehlo", "scanner.example", "--ca-file", os.path.join(tmp, "root.pem"),
        "--timeout-read", "10", "--deadline", "30", *targets, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    c.eq("probe exit status", 0, proc.returncode)
    import csv
    import io
    rows = {r["ip"]: r for r in csv.DictReader(io.StringIO(out.decode()))}
    for ip, (name, version, sha, size) in want.items():
        ref_sha, ref_len = await asyncio.to_thread(s_client, port, ip, version)
        r = rows.get(ip, {})
        what = "%s over %s (leaf %d bytes of PEM)" % (name, version, size)
        c.eq(what + ": openssl s_client completes", sha, ref_sha)
        c.eq(what + ": tls", "ok", r.get("tls"))
        c.eq(what + ": tls_error", "", r.get("tls_error"))
        c.eq(what + ": leaf SHA-256 as openssl's", ref_sha, r.get("cert_sha256"))
        c.eq(what + ": chain length as openssl's", str(ref_len), r.get("chain_len"))
    for s in running:
        s.close()


asyncio.run(main())
subprocess.call(["rm", "-rf", tmp])
c.finish()
