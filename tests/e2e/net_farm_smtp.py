"""The farm's SMTP servers, checked against its ground truth with independent clients: a raw
socket for the greeting, EHLO and STARTTLS replies, and `openssl s_client -starttls smtp` for
the negotiated protocol, cipher, key-exchange group, certificate fingerprint and verification,
for a sample of hosts of every behaviour (TLS 1.3, 1.2, 1.1, 1.0, no STARTTLS, 454, 421, 554,
silent, reset, every certificate kind)."""
import collections
import re
import socket
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("farm smtp")

GROUPS = {"X25519": "x25519", "prime256v1": "secp256r1", "secp384r1": "secp384r1",
          "X448": "x448"}
VERIFY = {"ok": "0", "expired": "10", "self_signed": "18", "untrusted": "20",
          "not_yet_valid": "9"}


def openssl_to_iana():
    out = subprocess.run(["openssl", "ciphers", "-stdname", "ALL:@SECLEVEL=0"],
                         capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split(" - ")
        if len(parts) >= 2:
            table[parts[1].split()[0]] = parts[0].strip()
    return table


def smtp_talk(ip, port, lines, timeout=10):
    """Greeting, then each command; returns the replies' codes and texts (None on silence)."""
    replies = []
    try:
        s = socket.create_connection((ip, port), timeout=timeout)
    except ConnectionResetError as e:
        return [None, type(e).__name__]  # a reset can land before connect returns
    f = s.makefile("rb")

    def read_reply():
        text = []
        while True:
            line = f.readline()
            if not line:
                return None
            text.append(line.decode("latin-1").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return text

    try:
        replies.append(read_reply())
        for cmd in lines:
            s.sendall(cmd.encode() + b"\r\n")
            replies.append(read_reply())
    except (socket.timeout, ConnectionResetError, BrokenPipeError) as e:
        replies.append(type(e).__name__)
    s.close()
    return replies


with farmlib.Farm(3000, seed=5) as farm:
    iana = openssl_to_iana()
    rows = farmlib.read_csv_gz(farm.truth)
    hosts = collections.OrderedDict()
    for r in rows:
        if r["ip"] and r["conn"] != "skipped":
            hosts.setdefault(r["ip"], r)
    classes = collections.defaultdict(list)
    for ip, r in hosts.items():
        key = (r["conn"], r["banner_code"] or r["stage"], r["tls"], r["tls_version"],
               r["cert_valid"])
        classes[key].append(r)
    for key in sorted(classes):
        print("class %-60s %5d hosts" % (key, len(classes[key])))
    for want in ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0"]:
        c.true("some host speaks %s" % want, any(k[3] == want for k in classes))
    for want in ["not_offered", "rejected"]:
        c.true("some host is tls=%s" % want, any(k[2] == want for k in classes))
    for want in ["421", "554"]:
        c.true("some host greets %s" % want, any(k[1] == want for k in classes))
    c.true("some host resets", any(k[0] == "reset" for k in classes))
    c.true("some host stays silent", any(k[:2] == ("ok", "greeting") for k in classes))

    for key, rs in sorted(classes.items()):
        for r in rs[:3]:
            ip = r["ip"]
            if r["conn"] == "reset":
                got = smtp_talk(ip, farm.smtp_port, [], timeout=10)
                c.true("%s resets" % ip, got[0] is None or got[-1] == "ConnectionResetError")
                continue
            if r["stage"] == "greeting" and not r["banner_code"]:
                continue  # silent or tarpit: costs the test a timeout each; covered by scans
            got = smtp_talk(ip, farm.smtp_port, ["EHLO scanner.example", "QUIT"])
            c.eq("%s greeting" % ip, r["banner_code"], got[0][-1][:3] if got[0] else None)
            if r["banner_code"] != "220":
                continue
            caps = [l[4:].split()[0].upper() for l in got[1][1:]]
            c.eq("%s ehlo caps" % ip, r["ehlo_caps"], "|".join(caps))
            size = [l[4:].split()[1] for l in got[1][1:] if l[4:].upper().startswith("SIZE ")]
            c.eq("%s size" % ip, r["size_limit"], size[0] if size else "")
            if r["starttls"] != "yes":
                continue
            if r["tls"] == "rejected":
                got = smtp_talk(ip, farm.smtp_port, ["EHLO scanner.example", "STARTTLS"])
                c.eq("%s STARTTLS reply" % ip, "454", got[2][-1][:3])
                continue
            args = ["openssl", "s_client", "-starttls", "smtp", "-connect",
                    "%s:%d" % (ip, farm.smtp_port), "-CAfile", farm.ca, "-showcerts"]
            if r["tls_version"] in ("TLSv1.0", "TLSv1.1"):
                args += ["-tls1" if r["tls_version"] == "TLSv1.0" else "-tls1_1",
                         "-cipher", "ALL:@SECLEVEL=0"]
            out = subprocess.run(args, input="QUIT\n", capture_output=True, text=True,
                                 timeout=30).stdout
            proto = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
            ver = re.search(r"Protocol\s*: (\S+)", out)
            version = ver.group(1) if ver else (proto.group(1) if proto else None)
            c.eq("%s version" % ip, r["tls_version"], {"TLSv1": "TLSv1.0"}.get(version, version))
            cipher = proto.group(2) if proto else None
            c.eq("%s cipher" % ip, r["tls_cipher"], iana.get(cipher, cipher))
            temp = re.search(r"Server Temp Key: (?:ECDH, )?([A-Za-z0-9-]+)", out)
            group = GROUPS.get(temp.group(1), temp.group(1)) if temp else "rsa"
            c.eq("%s group" % ip, r["tls_group"], group)
            pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
            fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"],
                                input=pem.group(0) if pem else "", capture_output=True,
                                text=True).stdout
            c.eq("%s fingerprint" % ip, r["cert_sha256"],
                 fp.split("=")[-1].strip().replace(":", "").lower())
            chain = len(re.findall(r"^ ?\d+ s:", out, re.M))
            c.eq("%s chain length" % ip, r["chain_len"], str(chain))
            verify = re.search(r"Verify return code: (\d+)", out)
            code = verify.group(1) if verify else None
            # OpenSSL says 19 for a self-signed root in a chain, 21 for a lone leaf whose issuer
            # it cannot find; both are the same finding as 18 and 20.
            code = {("self_signed", "19"): "18", ("untrusted", "21"): "20"}.get(
                (r["cert_valid"], code), code)
            c.eq("%s verification" % ip, VERIFY[r["cert_valid"]], code)
c.finish()
