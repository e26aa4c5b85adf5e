"""The probe against real mail servers from Debian's packages: Postfix (OpenSSL) and Exim
(GnuTLS), each started here from a test-owned configuration on a loopback address with
STARTTLS and a test certificate, and stopped by PID. The probe's protocol, cipher, group and
certificate fingerprint must agree with `openssl s_client -starttls smtp` against the same
server; both servers choose by their own preference, so the two clients must agree."""
import os
import re
import shutil
import tempfile

import farmlib
import mtalib
from mtalib import certificate, run, stop, wait_pid

farmlib.require_private_netns()
c = farmlib.Checker("probe vs Postfix and Exim")
cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ["HOME"], ".cache")
EXIM = os.path.join(cache, "mxtls", "exim", "usr", "sbin", "exim4")
tmp = tempfile.mkdtemp(prefix="mxtls-mta-")
os.chmod(tmp, 0o755)


def start_postfix(ip, port):
    p = mtalib.Postfix(tmp, ip, port, "mail.postfix.test")
    return p.pid, p.cert


def start_exim(ip, port):
    d = os.path.join(tmp, "exim")
    for sub in ("spool", "log"):
        os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, sub), "Debian-exim", "Debian-exim")
    cert, key = certificate(d, "mail.exim.test", "Debian-exim")
    conf = os.path.join(d, "exim.conf")
    with open(conf, "w") as f:
        f.write("""primary_hostname = mail.exim.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
daemon_smtp_ports = {port}
local_interfaces = {ip}
tls_advertise_hosts = *
tls_certificate = {cert}
tls_privatekey = {key}
tls_require_ciphers = NORMAL:%SERVER_PRECEDENCE
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny
""".format(d=d, port=port, ip=ip, cert=cert, key=key))
    pidfile = os.path.join(d, "exim.pid")
    r = run(EXIM, "-C", conf, "-bd", "-oP", pidfile)
    if r.returncode:
        raise RuntimeError("exim -bd: %s%s" % (r.stdout, r.stderr))
    return wait_pid(pidfile), cert


def s_client(ip, port, cert):
    out = run("openssl", "s_client", "-starttls", "smtp", "-connect", "%s:%d" % (ip, port),
              "-CAfile", cert, input="QUIT\n", timeout=30).stdout
    proto = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
    temp = re.search(r"Server Temp Key: (?:ECDH, )?([A-Za-z0-9-]+)", out)
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    fp = run("openssl", "x509", "-noout", "-fingerprint", "-sha256",
             input=pem.group(0) if pem else "").stdout
    iana = {}
    for line in run("openssl", "ciphers", "-stdname", "ALL").stdout.splitlines():
        parts = line.split(" - ")
        if len(parts) >= 2:
            iana[parts[1].split()[0]] = parts[0].strip()
    cipher = proto.group(2) if proto else None
    groups = {"X25519": "x25519", "prime256v1": "secp256r1", "secp384r1": "secp384r1"}
    return {"tls_version": proto.group(1) if proto else None,
            "tls_cipher": iana.get(cipher, cipher),
            "tls_group": groups.get(temp.group(1), temp.group(1)) if temp else None,
            "cert_sha256": fp.split("=")[-1].strip().replace(":", "").lower()}


def probe(name, ip, port, cert):
    out = run(os.environ["MXTLS_BIN"], "probe", "--allow", "127.0.2.0/24", "--port", str(port),
              "--ehlo", "scanner.example", "--ca-file", cert, "%s@%s" % (name, ip), timeout=60)
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    return rows[0] if rows else {}


servers = [("postfix", "mail.postfix.test", "127.0.2.1", start_postfix),
           ("exim", "mail.exim.test", "127.0.2.2", start_exim)]
c.true("Exim is unpacked (scripts/setup.sh)", os.path.exists(EXIM))
for label, name, ip, start in servers:
    port = farmlib.free_port()
    try:
        pid, cert = start(ip, port)
    except Exception as e:  # a server that does not start is a failed check, not a crash
        c.true("%s starts: %s" % (label, e), False)
        continue
    try:
        want = s_client(ip, port, cert)
        got = probe(name, ip, port, cert)
        print("%s: %s" % (label, {k: got.get(k) for k in ("banner_code", "ehlo_caps", "tls",
                                                         "tls_version", "tls_cipher",
                                                         "tls_group", "cert_valid")}))
        for col in ("tls_version", "tls_cipher", "tls_group", "cert_sha256"):
            c.eq("%s %s" % (label, col), want[col], got.get(col))
        for col, val in (("conn", "ok"), ("banner_code", "220"), ("ehlo_code", "250"),
                         ("starttls", "yes"), ("starttls_code", "220"), ("tls", "ok"),
                         ("cert_valid", "ok"), ("cert_name_match", "yes"), ("chain_len", "1"),
                         ("cert_key", "rsa:2048"), ("stage", ""), ("error", "")):
            c.eq("%s %s" % (label, col), val, got.get(col))
        c.true("%s capabilities before and after TLS" % label,
               "STARTTLS" in got.get("ehlo_caps", "") and got.get("ehlo_tls_caps"))
    finally:
        stop(pid)
shutil.rmtree(tmp, ignore_errors=True)
c.finish()
