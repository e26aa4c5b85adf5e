"""The farm's DNS answers, checked with dig (an independent client) against the farm's ground
truth for a sample of domains of every kind: every dns_status, MX sets and preferences, MX
hosts with addresses, without addresses, missing, CNAME'd, IP literals, answers too large for
UDP (truncated, then complete over TCP), and REFUSED outside the zone."""
import collections
import os
import re
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("farm dns")


def parse(out):
    """(status, header flags, [(type, data), ...]) of one query in dig's output."""
    m = re.search(r"status: (\w+)", out)
    # dig reports a query that timed out before its banner, and that none could be reached after.
    status = m.group(1) if m else ("TIMEOUT" if "no servers could be reached" in out else "?")
    flags = re.search(r";; flags: ([a-z ]*);", out)
    answers = []
    section = False
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = True
        elif section and not line.strip():
            section = False
        elif section:
            parts = line.split()
            answers.append((parts[3], " ".join(parts[4:])))
    return status, (flags.group(1).split() if flags else []), answers


def dig_all(farm, queries):
    """dig's answers to QUERIES ((name, type, option...) each), in order, from one dig process
    in batch mode: a process per query cost more CPU than the rest of the test."""
    batch = os.path.join(farm.dir, "dig.batch")
    with open(batch, "w") as f:
        f.writelines(" ".join(q) + "\n" for q in queries)
    out = subprocess.run(["dig", "-p", str(farm.dns_port), "@127.0.0.1", "+tries=1", "+time=1",
                          "+norecurse", "-f", batch], capture_output=True, text=True).stdout
    # Each query's output opens with dig's banner (+cmd).
    parts = re.split(r"^; <<>> DiG .*$", out, flags=re.M)[1:]
    if len(parts) != len(queries):
        raise RuntimeError("dig answered %d of %d queries" % (len(parts), len(queries)))
    return dict(zip(queries, (parse(p) for p in parts)))


def dig(farm, name, qtype, *opts):
    return dig_all(farm, [(name, qtype) + opts])[(name, qtype) + opts]


with farmlib.Farm(20000, seed=11) as farm:
    rows = farmlib.read_csv_gz(farm.truth)
    domains = collections.OrderedDict()
    for r in rows:
        domains.setdefault(r["domain"], []).append(r)
    by_kind = collections.defaultdict(list)
    for d, rs in domains.items():
        kind = rs[0]["dns_status"]
        statuses = {r["mx_status"] for r in rs}
        if kind == "mx" and statuses - {"ok"}:
            kind = "mx+" + "+".join(sorted(statuses - {"ok"}))
        if any(r["conn"] == "skipped" for r in rs):
            kind += "+addr_skipped"
        by_kind[kind].append(d)
    for kind in ["mx", "implicit", "null_mx", "nodata", "nxdomain", "servfail", "timeout"]:
        c.true("the population has %s domains" % kind, by_kind.get(kind))
    for kind, names in sorted(by_kind.items()):
        print("kind %-30s %6d domains" % (kind, len(names)))
    for special in ["nodata", "nxdomain", "ip_literal", "skipped"]:
        c.true("some MX host is %s" % special,
               any(special in k for k in by_kind if k.startswith("mx+")))
    c.true("some MX host has more than 4 addresses", any("addr_skipped" in k for k in by_kind))

    rcode = {"nxdomain": "NXDOMAIN", "servfail": "SERVFAIL", "timeout": "TIMEOUT"}
    # Own MX hosts of the first 200 MX domains too, where CNAME'd ones are drawn.
    own = [d for d in by_kind["mx"] if domains[d][0]["mx_host"] == "mx." + d][:200]
    sample = [d for kind, names in sorted(by_kind.items()) + [("own", own)]
              for d in (names[:2] if kind == "timeout" else names if kind == "own" else names[:8])]
    queries = set()
    for d in sample:
        rs = domains[d]
        queries.add((d, "MX"))
        if rs[0]["dns_status"] in ("nodata", "implicit"):
            queries.add((d, "A"))
        queries.update((r["mx_host"], "A") for r in rs
                       if r["mx_status"] not in ("ip_literal", "skipped"))
    answers = dig_all(farm, sorted(queries))
    cnames = 0
    for d in sample:
        rs = domains[d]
        st, _, mx = answers[(d, "MX")]
        base = rs[0]["dns_status"]
        if base in rcode:
            c.eq("%s MX status" % d, rcode[base], st)
            continue
        c.eq("%s MX status" % d, "NOERROR", st)
        got_mx = sorted(a for t, a in mx if t == "MX")
        if base == "null_mx":
            c.eq("%s null MX" % d, ["0 ."], got_mx)
        elif base in ("nodata", "implicit"):
            c.eq("%s no MX" % d, [], got_mx)
            st, _, a = answers[(d, "A")]
            want = sorted(r["ip"] for r in rs) if base == "implicit" else []
            c.eq("%s A" % d, want, sorted(v for t, v in a if t == "A"))
        else:
            want_mx = sorted({"%s %s." % (r["mx_pref"], r["mx_host"]) for r in rs})
            if not got_mx:
                # dig has twice in seven runs printed NOERROR with no answer here, under
                # load; not yet explained (the scans' rows match the truth). Asked again
                # once, so that a wrong MX set still fails but that artefact does not.
                st, _, mx = dig(farm, d, "MX")
                got_mx = sorted(a for t, a in mx if t == "MX")
            c.eq("%s MX set" % d, want_mx, got_mx)
            for host in sorted({r["mx_host"] for r in rs}):
                hr = [r for r in rs if r["mx_host"] == host]
                status = hr[0]["mx_status"]
                if status in ("ip_literal", "skipped"):
                    continue
                st, _, a = answers[(host, "A")]
                if status == "nxdomain":
                    c.eq("%s A status" % host, "NXDOMAIN", st)
                    continue
                c.eq("%s A status" % host, "NOERROR", st)
                if any(t == "CNAME" for t, v in a):
                    cnames += 1
                want = sorted(r["ip"] for r in hr) if status == "ok" else []
                if want and not any(t == "A" for t, v in a):
                    # The same artefact as the MX sets' above, seen once for an address
                    # (2026-12-04, a clean clone's suite): asked again once.
                    st, _, a = dig(farm, host, "A")
                c.eq("%s addresses" % host, want, sorted(v for t, v in a if t == "A"))
    c.true("CNAME'd MX hosts were seen", cnames > 0)

    # Answers too large for 512 bytes: truncated over UDP, whole over TCP.
    big = next(d for d, rs in domains.items() if len({r["mx_host"] for r in rs}) > 10)
    st, flags, mx = dig(farm, big, "MX", "+notcp", "+ignore", "+noedns")
    c.true("%s over UDP is truncated" % big, "tc" in flags and not mx)
    st, flags, mx = dig(farm, big, "MX", "+tcp")
    c.eq("%s over TCP" % big, len({r["mx_host"] for r in domains[big]}), len(mx))

    st, _, _ = dig(farm, "example.invalid", "MX")
    c.eq("outside the zone", "REFUSED", st)
c.finish()
