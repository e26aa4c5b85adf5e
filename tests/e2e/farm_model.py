"""The farm's population: reproducible (same seed, same list and truth; another seed, another
population), shaped like the model (every share within sampling error of data/farm-model.conf's
defaults), and changing across epochs by the model's known rates."""
import collections
import csv
import io
import json
import math
import os
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("farm model")
farm = os.environ["MXTLS_FARM"]
tmp = tempfile.mkdtemp(prefix="mxtls-model-")
N = 20000


def run(*args):
    return subprocess.run([farm] + list(args), check=True, capture_output=True).stdout


def truth(seed, epoch=0, *extra):
    path = os.path.join(tmp, "truth-%d-%d.csv.gz" % (seed, epoch))
    run("truth", "--domains", str(N), "--seed", str(seed), "--epoch", str(epoch), "-o", path,
        *extra)
    return farmlib.read_csv_gz(path)


def share_ok(what, count, total, p):
    """Binomial count within 4.5 standard deviations of p (false alarm ~ 1e-5 per check)."""
    sd = math.sqrt(total * p * (1 - p)) or 1
    c.true("%s: %d of %d, model %.4f" % (what, count, total, p), abs(count - total * p) <= 4.5 * sd)


a, b = run("list", "--domains", "5000", "--seed", "3"), run("list", "--domains", "5000", "--seed", "3")
c.eq("same seed, same list", a, b)
c.true("list has rank,domain lines", a.decode().splitlines()[0].startswith("1,"))
t1, t2, t3 = truth(3), truth(3), truth(4)
c.eq("same seed, same truth", t1, t2)
conf = os.path.join(os.environ["MXTLS_SRC"], "data", "farm-model.conf")
c.true("data/farm-model.conf holds the built-in defaults", truth(3, 0, "--model", conf) == t1)
c.true("another seed, another population", t1 != t3)

domains = collections.OrderedDict()
for r in t1:
    domains.setdefault(r["domain"], []).append(r)
c.eq("every domain once", N, len(domains))
kinds = collections.Counter(rs[0]["dns_status"] for rs in domains.values())
for kind, p in [("implicit", .08), ("null_mx", .01), ("nodata", .08), ("nxdomain", .08),
                ("servfail", .02), ("timeout", .01), ("mx", .72)]:
    share_ok("dns_status %s" % kind, kinds[kind], N, p)
mx_domains = [rs for rs in domains.values() if rs[0]["dns_status"] == "mx"]
multi = sum(1 for rs in mx_domains if len({r["mx_host"] for r in rs}) >= 2)
share_ok("MX domains with two or more MX", multi, len(mx_domains), .35)

hosts = {}
for r in t1:
    if r["ip"] and r["conn"] not in ("skipped",) and r["mx_host"].startswith("mx."):
        hosts[r["ip"]] = r  # own hosts: the long tail, drawn from the model directly
greet = collections.Counter(h["banner_code"] or h["conn"] + "/" + h["stage"] for h in hosts.values())
share_ok("greeting 421", greet["421"], len(hosts), .01)
share_ok("reset", greet["reset/greeting"], len(hosts), .01)
ok220 = [h for h in hosts.values() if h["banner_code"] == "220"]
share_ok("STARTTLS advertised", sum(h["starttls"] == "yes" for h in ok220), len(ok220), .88)
tls = [h for h in ok220 if h["tls"] in ("ok", "legacy")]
share_ok("TLS 1.3", sum(h["tls_version"] == "TLSv1.3" for h in tls), len(tls), .70)
share_ok("TLS 1.2 only", sum(h["tls_version"] == "TLSv1.2" for h in tls), len(tls), .28)
share_ok("self-signed", sum(h["cert_valid"] == "self_signed" for h in tls), len(tls), .25)
share_ok("expired", sum(h["cert_valid"] == "expired" for h in tls), len(tls), .08)
share_ok("RSA-4096", sum(h["cert_key"] == "rsa:4096" for h in tls), len(tls), .15)

# mxtls-farm stats counts the same population the truth describes: exactly the same numbers.
stats = run("stats", "--domains", str(N), "--seed", "3").decode()


def stat(section, name):
    for line in stats.splitlines():
        if line.startswith(section) and (" %s " % name) in line:
            return int(line.split("/")[0].split()[-1])
    return None


for kind in ["mx", "implicit", "null_mx", "nodata", "nxdomain", "servfail", "timeout"]:
    c.eq("stats domains %s equals the truth" % kind, kinds[kind], stat("domains", kind))
truth_hosts = {}
for r in t1:
    if r["ip"] and r["conn"] != "skipped":
        truth_hosts[r["ip"]] = r
c.eq("stats STARTTLS hosts equal the truth's", sum(h["starttls"] == "yes" for h in truth_hosts.values()),
     stat("hosts", "STARTTLS offered"))
c.eq("stats TLS 1.3 hosts equal the truth's",
     sum(h["tls_version"] == "TLSv1.3" for h in truth_hosts.values()), stat("tls", "TLSv1.3"))

# Epochs: six months later the same domains, a few changed by the model's rates.
t6 = truth(3, 6)
later = collections.OrderedDict()
for r in t6:
    later.setdefault(r["domain"], []).append(r)
c.eq("same domains six epochs later", list(domains), list(later))
moved = sum(1 for d, rs in domains.items() if rs[0]["dns_status"] == "mx" and
            {r["mx_host"] for r in rs} != {r["mx_host"] for r in later[d]})
expect = 1 - (1 - 0.01) ** 6
c.true("MX set changed for %d of %d MX domains (moves drawn: %.3f)" % (moved, len(mx_domains), expect),
       0.3 * expect * len(mx_domains) < moved < 1.2 * expect * len(mx_domains))
old = {r["ip"]: r for r in t1 if r["ip"]}
new = {r["ip"]: r for r in t6 if r["ip"]}
upgraded = sum(1 for ip in old if ip in new and old[ip]["tls_version"] == "TLSv1.2" and
               new[ip]["tls_version"] == "TLSv1.3")
c.true("some hosts moved from TLS 1.2 to 1.3 (%d)" % upgraded, upgraded > 0)
downgraded = sum(1 for ip in old if ip in new and old[ip]["tls_version"] == "TLSv1.3" and
                 new[ip]["tls_version"] in ("TLSv1.2", "TLSv1.1", "TLSv1.0"))
c.eq("no host moved down from TLS 1.3", 0, downgraded)

# Policies (--truth-policy): the model's shares, and their moves over twelve epochs.
def policy_truth(epoch):
    path = os.path.join(tmp, "policy-%d.csv.gz" % epoch)
    run("truth", "--domains", str(N), "--seed", "3", "--epoch", str(epoch), "--truth-policy",
        "yes", "-o", path)
    doms = collections.OrderedDict()
    for r in farmlib.read_csv_gz(path):
        doms.setdefault(r["domain"], []).append(r)
    return path, doms


p0, pol0 = policy_truth(0)
mxd = [rs for rs in pol0.values() if rs[0]["dns_status"] == "mx"]
share_ok("MTA-STS record published", sum(rs[0]["sts_record"] != "none" for rs in mxd), len(mxd),
         .02)
recs = [rs for rs in mxd if rs[0]["sts_record"] != "none"]
share_ok("MTA-STS record invalid", sum(rs[0]["sts_record"] == "invalid" for rs in recs), len(recs),
         .05)
share_ok("TLS-RPT published", sum(rs[0]["tlsrpt_record"] != "none" for rs in mxd), len(mxd), .015)
mail = [rs for rs in pol0.values() if rs[0]["dns_status"] in ("mx", "implicit")]
share_ok("DNSSEC-signed", sum(rs[0]["mx_dnssec"] == "secure" for rs in mail), len(mail), .04)
own = {}
for rs in mxd:
    for r in rs:
        if r["mx_dnssec"] == "secure" and r["mx_host"].startswith("mx.") and r["mx_status"] == "ok":
            own[r["mx_host"]] = r
share_ok("TLSA on a signed zone's own MX host", sum(r["tlsa"] == "present" for r in own.values()),
         len(own), .50)
c.true("every dane value is one of the schema's",
       {r["dane"] for rs in pol0.values() for r in rs} <= {"", "none", "insecure", "unusable",
                                                            "match", "mismatch"})


def dane_of(rows):
    """A domain's DANE as mxtls stats defines it (README), from its host rows."""
    v = {r["dane"] for r in rows}
    for cat, name in (("mismatch", "mismatch"), ("match", "match"), ("unusable", "unusable"),
                      ("insecure", "not validated"), ("none", "no TLSA")):
        if cat in v:
            return name
    return ""


p12, pol12 = policy_truth(12)
testing = [d for d, rs in pol0.items() if rs[0]["sts_mode"] == "testing"]
to_enforce = sum(1 for d in testing if pol12[d][0]["sts_mode"] == "enforce")
share_ok("testing -> enforce in twelve epochs", to_enforce, len(testing), 1 - (1 - .05) ** 12)
stale = sum(1 for d in pol0 if dane_of(pol0[d]) == "match" and dane_of(pol12[d]) == "mismatch")
c.true("TLSA records went stale after renewals (%d domains)" % stale, stale > 0)
r = subprocess.run([os.environ["MXTLS_BIN"], "diff", "--format", "csv", p0, "--", p12],
                   capture_output=True, text=True)
table = {(row["section"], row["metric"]): row["new_numerator"]
         for row in csv.DictReader(io.StringIO(r.stdout))}
c.eq("mxtls diff: testing -> enforce", str(to_enforce),
     table.get(("changes (domains in both)", "MTA-STS testing -> enforce")))
c.eq("mxtls diff: stale TLSA records", str(stale),
     table.get(("changes (domains in both)", "DANE match -> mismatch (a stale TLSA record)")))
# mxtls stats on the policy truth: the sender's verdicts counted here from the rows (RFC 8461
# 4.2: a matching MX whose certificate verifies for its name).
ok = lambda r: r["tls"] == "ok" and r["cert_valid"] == "ok" and r["cert_name_match"] == "yes"
strict = [rs for rs in pol0.values()
          if rs[0]["sts_mode"] in ("testing", "enforce") and any(r["sts_match"] for r in rs)]
some = sum(1 for rs in strict if any(r["sts_match"] == "yes" and ok(r) for r in rs))
every = sum(1 for rs in strict if any(r["sts_match"] == "yes" for r in rs) and
            all(ok(r) for r in rs if r["sts_match"] == "yes"))
st = json.loads(subprocess.run([os.environ["MXTLS_BIN"], "stats", "--format", "json", p0],
                               capture_output=True, text=True, check=True).stdout)
got = {m["metric"]: (m["numerator"], m["denominator"]) for m in st["metrics"]
       if m["bucket"] == "all" and m["section"].startswith("domains: a strict MTA-STS sender")}
c.eq("stats: a matching MX verifies", (some, len(strict)),
     got.get("a matching MX verifies for its name"))
c.eq("stats: every matching MX verifies", (every, len(strict)),
     got.get("every matching MX verifies for its name"))
subprocess.call(["rm", "-rf", tmp])
c.finish()
