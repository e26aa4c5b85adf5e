"""mxtls stats on a snapshot with local_overload rows (the scanning machine could not measure
those hosts): such a host counts as unknown, never as a server without TLS, and stats warns,
naming the snapshot, when they are more than 0.1 % of the rows; diff gives no p-value to a
change that those domains alone could have made, and gives one to a change beyond them."""
import gzip
import os
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("stats of local_overload rows")
tmp = tempfile.mkdtemp(prefix="mxtls-overload-")
cols = ("rank,domain,dns_status,mx_pref,mx_host,mx_status,ip,conn,banner_code,banner,ehlo_code,"
        "ehlo_caps,size_limit,starttls,starttls_code,tls,tls_version,tls_cipher,tls_group,"
        "tls_error,cert_sha256,cert_cn,cert_san,cert_issuer,cert_not_before,cert_not_after,"
        "cert_key,cert_sig,chain_len,cert_valid,cert_name_match,ehlo_tls_caps,t_connect_ms,"
        "t_banner_ms,t_tls_ms,t_total_ms,scanned_at,stage,error,input_line").split(",")


def row(i, overload, plain=False):
    v = dict.fromkeys(cols, "")
    v.update(rank=str(i), domain="d%d.example" % i, dns_status="mx", mx_pref="10",
             mx_host="mx%d.example" % i, mx_status="ok", ip="192.0.2.%d" % (i % 250 + 1),
             conn="ok", banner_code="220", ehlo_code="250", ehlo_caps="STARTTLS", starttls="yes",
             starttls_code="220", input_line=str(i))
    if overload:
        v.update(stage="tls", error="local_overload")
    elif plain:
        v.update(ehlo_caps="PIPELINING", starttls="no", starttls_code="")
    else:
        v.update(tls="ok", tls_version="TLSv1.3", tls_cipher="TLS_AES_128_GCM_SHA256")
    return ",".join(v[k] for k in cols) + "\n"


def snapshot(name, n, overloaded, plain=0):
    path = os.path.join(tmp, name)
    with gzip.open(path, "wt") as f:
        f.write(",".join(cols) + "\n")
        for i in range(1, n + 1):
            f.write(row(i, i <= overloaded, overloaded < i <= overloaded + plain))
    return path


def stats(path):
    r = subprocess.run([os.environ["MXTLS_BIN"], "stats", "--format", "csv", path],
                       capture_output=True, text=True)
    c.eq("stats exit status", 0, r.returncode)
    shares = {}
    for line in r.stdout.splitlines()[1:]:
        f = line.split(",")
        shares[(f[0], f[1], f[2])] = (int(f[3]), int(f[4]))
    return r.stderr, shares


err, shares = stats(snapshot("over.csv.gz", 100, 10))
c.true("a warning names the snapshot (%s)" % err.strip(), "over.csv.gz" in err and
       "local_overload" in err and "10 of 100 rows" in err)
no_tls = [v for k, v in shares.items() if "STARTTLS" in k[0] and k[1] == "none"]
unknown = [v for k, v in shares.items() if k[0].startswith("domains: MX hosts whose STARTTLS is "
                                                          "unknown") and k[1] ==
           "every MX host unknown" and k[2] == "all"]
c.eq("overloaded hosts are unknown, not 'every MX host unknown' missing", [(10, 100)], unknown)
c.true("no domain counted as 'no STARTTLS' (%s)" % no_tls, all(v[0] == 0 for v in no_tls))
err, _ = stats(snapshot("clean.csv.gz", 2000, 1))
c.eq("0.05 %: no warning", "", err.strip())

def diff(old, new):
    r = subprocess.run([os.environ["MXTLS_BIN"], "diff", "--format", "csv", old, "--", new],
                       capture_output=True, text=True)
    c.eq("diff exit status", 0, r.returncode)
    import csv as _csv
    import io
    rows = [x for x in _csv.DictReader(io.StringIO(r.stdout)) if x["old_numerator"]]
    return {(x["section"], x["metric"], x["bucket"]): x for x in rows}


idle = snapshot("idle.csv.gz", 400, 0)
cmp = diff(idle, snapshot("busy.csv.gz", 400, 40))
unk = cmp[("domains: MX hosts whose STARTTLS is unknown", "every MX host unknown", "all")]
c.eq("a change the overloaded domains could make: no p-value", "", unk["p_value"])
c.eq("and it says so", "1", unk["within_overload"])
cmp = diff(idle, snapshot("busy-plain.csv.gz", 400, 4, plain=120))
st = cmp[("domains: STARTTLS on every / some / no MX", "no MX", "all")]
c.true("a change beyond them keeps its p-value (%r)" % st["p_value"],
       st["p_value"] and float(st["p_value"]) < 1e-6)
c.eq("and is not marked", "0", st["within_overload"])
txt = subprocess.run([os.environ["MXTLS_BIN"], "diff", idle, "--",
                      os.path.join(tmp, "busy.csv.gz")], capture_output=True, text=True).stdout
c.true("the text report says 'within scanner overload'", "within scanner overload" in txt)
subprocess.call(["rm", "-rf", tmp])
c.finish()
