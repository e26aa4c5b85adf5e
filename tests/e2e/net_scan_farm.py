"""mxtls scan against the farm: 20,000 domains scanned with --policy (the farm's DNS as the
validating resolver, its policy hosts over HTTPS), and every row compared with the farm's truth
in every column the truth determines, the MTA-STS, TLS-RPT, DNSSEC, TLSA and DANE columns
included, domain by domain and in order; every domain exactly once (as one group); every shared
host probed once (the manifest's count of probes equals the truth's distinct hosts); the
manifest says the run finished."""
import collections
import json
import os
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan vs farm")
N = 20000

with farmlib.Farm(N, seed=43, policy=True) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    out = os.path.join(farm.dir, "scan.csv.gz")
    with open(lst, "w") as f:
        subprocess.run([os.environ["MXTLS_FARM"], "list", "--domains", str(N), "--seed", "43"],
                       stdout=f, check=True)
    r = subprocess.run([os.environ["MXTLS_BIN"], "scan", lst, "-o", out] + farm.policy_args() +
                       ["--allow", "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo",
                        "scanner.example", "--ca-file", farm.ca, "--timeout-read", "15",
                        "--deadline", "40", "--dns-timeout", "1", "--dns-tries", "2",
                        "--rate", "1000", "--concurrency", "500", "--csv-dialect", "plain"],
                       capture_output=True, text=True,
                       timeout=600)
    print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
    c.eq("scan exit status", 0, r.returncode)
    truth = farmlib.read_csv_gz(farm.truth)
    cols = [k for k in truth[0].keys()]
    want, got = collections.OrderedDict(), collections.OrderedDict()
    for row in truth:
        want.setdefault(row["domain"], []).append([row[k] for k in cols])
    order = []
    for row in farmlib.read_csv_gz(out):
        if not order or order[-1] != row["domain"]:
            order.append(row["domain"])
        got.setdefault(row["domain"], []).append([row[k] for k in cols])
    c.eq("every domain of the list, once", sorted(want), sorted(got))
    c.eq("each domain's rows in one group", len(set(order)), len(order))
    mismatched = 0
    for d, rows in want.items():
        if rows != got.get(d):
            mismatched += 1
            c.eq(d, rows, got.get(d))
    c.eq("domains whose rows differ from the truth", 0, mismatched)
    hosts = {(row["mx_host"], row["ip"]) for row in truth
             if row["ip"] and row["conn"] not in ("skipped", "excluded")}
    meta = json.load(open(os.path.join(farm.dir, "scan.meta.json")))
    c.eq("hosts probed once each", len(hosts), meta["counts"]["hosts_probed"])
    c.eq("manifest status", "finished", meta["status"])
    c.eq("manifest rows", len(truth), meta["counts"]["rows"])
    c.eq("manifest domains", N, meta["counts"]["domains"])
    c.eq("manifest CSV dialect", "plain", meta["csv_dialect"])
    rows = farmlib.read_csv_gz(out)
    c.eq("rows without scanned_at (DNS-only rows carry their answer's time)", 0,
         sum(1 for row in rows if not row["scanned_at"]))
    # The curve arithmetic that made the handshakes is named: Nettle with the project's mbedTLS
    # build (its patch 0004 has the hooks), mbedTLS's own with a system mbedTLS.
    v = subprocess.run([os.environ["MXTLS_BIN"], "--version"], capture_output=True, text=True)
    curves = meta["versions"].get("curves", "")
    want = "Nettle " if "+mxtls patches" in meta["versions"]["mbedtls_source"] else "mbedTLS"
    c.true("manifest names the curve arithmetic (%s)" % curves,
           curves.startswith(want) and "curves %s\n" % curves in v.stdout)

    # mxtls stats of the scan equals mxtls stats of the truth, metric by metric, but for the
    # metrics of columns the truth does not hold (issuer, expiry dates).
    def stats(path):
        r = subprocess.run([os.environ["MXTLS_BIN"], "stats", "--format", "csv", "--at",
                            "2026-11-28", path], capture_output=True, text=True, check=True)
        return sorted(line for line in r.stdout.splitlines()
                      if not line.startswith(("hosts: certificate expiry",
                                              "hosts: certificate issuer")))

    want_stats, got_stats = stats(farm.truth), stats(out)
    c.true("stats has rows (%d)" % len(want_stats), len(want_stats) > 50)
    c.eq("stats of the scan equal stats of the truth", [], sorted(
        set(want_stats) ^ set(got_stats))[:10])

    # The report's method box is the manifest's: list and its SHA-256, the scan's start,
    # scanner and EHLO name, counts.
    page = os.path.join(farm.dir, "report.html")
    r = subprocess.run([os.environ["MXTLS_BIN"], "report", "-o", page, out], capture_output=True,
                       text=True)
    c.eq("report exit status", 0, r.returncode)
    text = open(page, encoding="utf-8").read() if os.path.exists(page) else ""
    box = text[text.find('class="method"'):text.find("</section>")]
    for what, value in (("list", lst), ("its SHA-256", meta["input"]["sha256"]),
                        ("start", meta["runs"][0]["start"]), ("EHLO name", "scanner.example"),
                        ("mxtls version", "mxtls " + meta["versions"]["mxtls"]),
                        ("rows", "%d rows" % meta["counts"]["rows"]),
                        ("hosts probed", "%d hosts probed" % meta["counts"]["hosts_probed"])):
        c.true("the report's method box names the %s (%s)" % (what, value), value in box)
c.finish()
