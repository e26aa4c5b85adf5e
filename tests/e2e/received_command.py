"""mxtls received on the fixtures of tests/data/received (one per MTA format, and a multi-hop
message mixing them), on a generated mbox of many messages whose encrypted hops are known (its
summary is checked exactly, plain, gzip and on standard input), and on hostile files: a gzip
mbox cut short, binary data, thousands of Received lines, a header of a megabyte."""
import csv
import gzip
import io
import json
import os
import random
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("received command")
BIN = os.environ["MXTLS_BIN"]
DATA = os.path.join(os.environ["MXTLS_SRC"], "tests", "data", "received")
tmp = tempfile.mkdtemp(prefix="mxtls-received-")


def run(*args, stdin=None):
    return subprocess.run([BIN, "received"] + list(args), capture_output=True, text=True,
                          input=stdin)


want = {  # fixture: (verdict, [(encrypted, version, cipher, mta) per hop, oldest first])
    "postfix-tls13.eml": ("all", [("yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "Postfix")]),
    "postfix-tls12.eml": ("all", [("yes", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                   "Postfix")]),
    "exim-old.eml": ("all", [("yes", "TLSv1.0", "TLS_RSA_WITH_RC4_128_SHA", "Exim")]),
    "exim-gnutls.eml": ("all", [("yes", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                 "Exim")]),
    "exim-tls13.eml": ("all", [("yes", "TLSv1.3", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                "Exim")]),
    "exchange.eml": ("all", [("yes", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                              "Microsoft Exchange")]),
    "gmail.eml": ("all", [("yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "Gmail"),
                          ("yes", "", "", "Gmail")]),
    "sendmail.eml": ("all", [("yes", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                              "Sendmail")]),
    "opensmtpd.eml": ("all", [("yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "OpenSMTPD")]),
    "multihop.eml": ("some", [("yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "Exim"),
                              ("yes", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "Postfix"),
                              ("no", "", "", "Postfix"), ("no", "", "", "Postfix")]),
}
c.eq("a fixture for each format", sorted(want), sorted(f for f in os.listdir(DATA)))
for name, (verdict, hops) in sorted(want.items()):
    r = run("--format", "json", os.path.join(DATA, name))
    c.eq("%s exit status" % name, 0, r.returncode)
    m = json.loads(r.stdout)["messages"][0]
    c.eq("%s verdict" % name, verdict, m["verdict"])
    c.eq("%s hops" % name, hops, [(h["encrypted"], h["tls_version"], h["tls_cipher"], h["mta"])
                                  for h in m["hops"]])
r = run("--format", "csv", os.path.join(DATA, "multihop.eml"))
rows = list(csv.DictReader(io.StringIO(r.stdout)))
c.eq("multihop: one CSV row per hop, oldest first",
     [("1", "[192.0.2.55]", "smtp.example.org"), ("2", "smtp.example.org", "relay.example.net"),
      ("3", "relay.example.net", "inbox.example.net"), ("4", "localhost", "inbox.example.net")],
     [(x["hop"], x["from"], x["by"]) for x in rows])
c.eq("multihop: Message-ID on every row", {"<multihop@example.org>"},
     {x["message_id"] for x in rows})

# A generated mbox: N messages, each with 1-5 SMTP hops, each hop encrypted or not at random
# (seeded), bodies with quoted and unquoted "From" lines.
rnd = random.Random(7)
N = 400
forms = [("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))", "ESMTPS", True),
         ("(version=TLS1_2 cipher=ECDHE-RSA-AES128-GCM-SHA256 bits=128/128)", "ESMTPS", True),
         ("", "ESMTPS", True), ("", "ESMTP", False), ("", "SMTP", False)]
mbox, hops_total, smtp_yes, all_enc = [], 0, 0, 0
for i in range(N):
    n = rnd.randint(1, 5)
    chosen = [rnd.choice(forms) for _ in range(n)]
    hops_total += n
    smtp_yes += sum(f[2] for f in chosen)
    all_enc += all(f[2] for f in chosen)
    mbox.append("From sender%d@example.org Mon Feb 12 10:00:00 2024\n" % i)
    for k, (detail, proto, _) in enumerate(chosen):
        mbox.append("Received: from h%d.example %s\n\tby h%d.example with %s id %d;\n"
                    "\tMon, 12 Feb 2024 10:00:%02d +0000\n" % (k, detail, k + 1, proto, i, k))
    mbox.append("Message-ID: <m%d@example.org>\nSubject: test %d\n\n" % (i, i))
    mbox.append("Hello.\n>From the quoted line\nFrom here on, no separator (no blank before)\n")
    if i % 10:  # one message in ten ends without the empty line before the next From_ line
        mbox.append("\n")
text = "".join(mbox)
plain = os.path.join(tmp, "box.mbox")
open(plain, "w").write(text)
gz = os.path.join(tmp, "box.mbox.gz")
with gzip.open(gz, "wt") as f:
    f.write(text)
for label, args, stdin in (("plain", [plain], None), ("gzip", [gz], None), ("stdin", ["-"], text)):
    r = run("--format", "json", *args, stdin=stdin)
    c.eq("mbox %s exit status" % label, 0, r.returncode)
    doc = json.loads(r.stdout)
    c.eq("mbox %s messages" % label, N, len(doc["messages"]))
    c.eq("mbox %s hops" % label, hops_total, sum(len(m["hops"]) for m in doc["messages"]))
    summ = {(s["section"], s["metric"]): (s["numerator"], s["denominator"]) for s in doc["summary"]}
    c.eq("mbox %s encrypted SMTP hops" % label, (smtp_yes, hops_total),
         summ.get(("SMTP hops: encrypted", "yes")))
    c.eq("mbox %s messages encrypted all the way" % label, (all_enc, N),
         summ.get(("messages: verdict over the SMTP hops", "all")))
    c.eq("mbox %s message ids in order" % label, ["<m%d@example.org>" % i for i in range(N)],
         [m["message_id"] for m in doc["messages"]])
r = run(plain)
c.true("text summary for several messages", "summary: %d messages" % N in r.stdout)
out = os.path.join(tmp, "hops.csv.gz")
r = run("--format", "csv", "-o", out, gz)
with gzip.open(out, "rt") as f:
    c.eq("CSV to a .gz file: one row per hop", hops_total, len(list(csv.DictReader(f))))

# Hostile files.
data = open(gz, "rb").read()
cut = os.path.join(tmp, "cut.mbox.gz")
open(cut, "wb").write(data[: len(data) // 2])
r = run("--format", "csv", cut)
c.eq("cut gzip: exit status", 2, r.returncode)
c.true("cut gzip: says so (%r)" % r.stderr.strip(), "cut short" in r.stderr)
got = {row["message"] for row in csv.DictReader(io.StringIO(r.stdout))}
c.true("cut gzip: the messages before are read (%d)" % len(got), 10 < len(got) < N)
binf = os.path.join(tmp, "binary.eml")
open(binf, "wb").write(b"Received: from a by b with ESMTP\n\x00\x01\x02" * 10)
r = run(binf)
c.eq("binary: exit status", 2, r.returncode)
c.true("binary: says so (%r)" % r.stderr.strip(), "binary" in r.stderr)
many = os.path.join(tmp, "many.eml")
with open(many, "w") as f:
    for i in range(5000):
        f.write("Received: from h%d by h%d with ESMTPS id %d\n" % (i, i + 1, i))
    f.write("Message-ID: <many@example.org>\n\nbody\n")
r = run("--format", "json", many)
c.eq("5,000 Received lines: exit status", 0, r.returncode)
c.eq("... capped at 1,000 hops", 1000, len(json.loads(r.stdout)["messages"][0]["hops"]))
c.true("... and reported", "left out" in r.stderr)
longf = os.path.join(tmp, "long.eml")
with open(longf, "w") as f:
    f.write("Received: from a by b with ESMTPS\n" + "\tx" * 500000 + "\n")
    f.write("Received: from c " + "y" * 300000 + " by d with ESMTP\n")
    f.write("Received: from e by f with ESMTP\n" + " folded\n" * 200000 + "\nbody\n")
r = run("--format", "json", longf)
c.eq("a header of a megabyte: exit status", 0, r.returncode)
c.true("... cut and reported", "cut" in r.stderr)
c.true("... as three headers, however many lines they had (%r)" % r.stderr.strip(),
       "3 headers longer than" in r.stderr)

# JSON output is streamed: memory that of one message, as for CSV, not of the whole output.
big = os.path.join(tmp, "big.mbox")
with open(big, "w") as f:
    for i in range(30000):
        f.write("From a@example.org Mon Jan  1 00:00:00 2024\n"
                "Received: from h%d.example.org by mx.example.org with ESMTPS id %d\n"
                "Message-ID: <big%d@example.org>\n\nbody\n\n" % (i, i, i))


def peak_kb(fmt):
    r = subprocess.run(["/usr/bin/time", "-f", "PEAK %M", BIN, "received", "--format", fmt, "-o",
                        os.path.join(tmp, "big." + fmt), big], capture_output=True, text=True)
    c.eq("30,000 messages as %s: exit status" % fmt, 0, r.returncode)
    return int(r.stderr.rsplit("PEAK ", 1)[1].split()[0])


size = os.path.getsize(os.path.join(tmp, "big.json")) if peak_kb("json") else 0
json_kb, csv_kb = peak_kb("json"), peak_kb("csv")
c.true("JSON output of %d KB held in %d KB of memory, as CSV's %d KB (within 4 MB)"
       % (size // 1024, json_kb, csv_kb), json_kb < csv_kb + 4096 and size > 8 << 20)
c.eq("... and it is valid JSON with every message", 30000,
     len(json.load(open(os.path.join(tmp, "big.json")))["messages"]))
c.eq("missing file", 2, run(os.path.join(tmp, "none.eml")).returncode)
c.eq("no file", 1, run().returncode)
subprocess.call(["rm", "-rf", tmp])
c.finish()
