"""The probe against the farm: every host of a farm population probed at once with
`mxtls probe`, every column the farm's truth determines compared, row by row: greetings
(220, 421, 554, silent, reset, tarpit, 6 s postscreen delay), EHLO capabilities and SIZE,
STARTTLS offered / refused with 454 / garbage after 220, TLS 1.3 and 1.2 with every group,
cipher and certificate kind, fingerprints, verification and name match, and TLS 1.0/1.1-only
servers through the legacy probe (a second connection with a raw ClientHello)."""
import collections
import csv
import io
import os
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("probe vs farm")
COLUMNS = ["conn", "banner_code", "ehlo_code", "ehlo_caps", "size_limit", "starttls",
           "starttls_code", "tls", "tls_version", "tls_cipher", "tls_group", "cert_sha256",
           "cert_cn", "cert_key", "chain_len", "cert_valid", "cert_name_match", "ehlo_tls_caps",
           "stage"]

with farmlib.Farm(1500, seed=21) as farm:
    truth = {}
    for r in farmlib.read_csv_gz(farm.truth):
        if r["ip"] and r["conn"] != "skipped":
            truth[(r["mx_host"], r["ip"])] = r
    legacy = {k for k, r in truth.items() if r["tls"] == "legacy"}
    targets = ["%s@%s" % k for k in sorted(truth)]
    out = subprocess.run([os.environ["MXTLS_BIN"], "probe", "--allow", "127.0.0.0/8", "--port",
                          str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
                          "--timeout-read", "8", "--deadline", "30"] + targets,
                         capture_output=True, text=True, timeout=120)
    c.eq("probe exit status", 0, out.returncode)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    c.eq("one row per target", len(targets), len(rows))
    seen = collections.Counter()
    for row in rows:
        want = truth[(row["mx_host"], row["ip"])]
        kind = (want["conn"], want["banner_code"] or want["stage"], want["tls"],
                want["tls_version"], want["cert_valid"])
        seen[kind] += 1
        for col in COLUMNS:
            c.eq("%s@%s %s" % (row["mx_host"], row["ip"], col), want[col], row[col])
        if want["tls"] == "legacy":
            c.true("%s legacy keeps the handshake's failure (%s)" % (row["ip"], row["tls_error"]),
                   row["tls_error"].startswith("tls_"))
        if want["stage"] == "greeting" and want["conn"] == "ok" and not want["banner_code"]:
            c.eq("%s silent or tarpit ends in a timeout" % row["ip"], "timeout", row["error"])
    for kind, n in sorted(seen.items()):
        print("compared %-60s %4d hosts" % (kind, n))
    for need in ["TLSv1.3", "TLSv1.2"]:
        c.true("hosts with %s compared" % need, any(k[3] == need for k in seen))
    for need in ["not_offered", "rejected"]:
        c.true("hosts with tls=%s compared" % need, any(k[2] == need for k in seen))
    for need in ["self_signed", "expired", "untrusted", "ok"]:
        c.true("certificates %s compared" % need, any(k[4] == need for k in seen))
    c.true("legacy hosts compared (%d)" % len(legacy), legacy)
c.finish()
