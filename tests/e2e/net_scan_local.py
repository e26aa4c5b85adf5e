"""Local trouble is never a server's property (issue: honest numbers under local trouble).
Each part scans a farm and compares every row with the farm's truth in every column the truth
determines:
- descriptors: a file-descriptor limit far below --concurrency; a probe that cannot get a
  socket waits for one, so no connect_error row appears that the truth lacks;
- the resolver frozen mid-scan and thawed (a UDP relay in front of the farm's DNS, stopped with
  SIGSTOP): the domains whose lookups timed out while it answered nothing are asked again, and
  the rows equal the truth;
- the resolver frozen for good: the scan stops with exit 2 and a manifest that says why, writes
  no timeout row the truth lacks, and --resume with the resolver back equals the truth."""
import json
import os
import resource
import subprocess
import time

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan under local trouble")
N = 3000


T0 = time.monotonic()


def compare(what, farm, out, only=None):
    print("%s: %.0f s into the test" % (what, time.monotonic() - T0))
    cols = farmlib.truth_columns(farm)
    want, got = farmlib.rows_by_domain(farm.truth, cols), farmlib.rows_by_domain(out, cols)
    if only is not None:
        want = {d: rows for d, rows in want.items() if d in only}
    bad = [d for d in want if want[d] != got.get(d)]
    c.eq("%s: domains whose rows differ from the truth" % what, 0, len(bad))
    for d in bad[:3]:
        c.eq("%s: %s" % (what, d), want[d], got.get(d))
    return got


def manifest(out):
    return json.load(open(out[:-len(".csv.gz")] + ".meta.json"))


def few_descriptors():
    """256 descriptors, of which 200 are taken before the scanner starts (it cannot know): its
    budget then runs out for real, and probes must wait for descriptors. With 120 taken, the
    farm's probes sometimes finished fast enough never to need more than were free."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    for _ in range(200):
        os.set_inheritable(os.open("/dev/null", os.O_RDONLY), True)


with farmlib.Farm(N, seed=47) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, 47, lst)

    # Descriptors: 256 of them against --concurrency 10000, over the list's first 1,000 domains.
    out = os.path.join(farm.dir, "fd.csv.gz")
    part = os.path.join(farm.dir, "part.txt")
    with open(lst) as f, open(part, "w") as g:
        g.writelines(f.readlines()[:1000])
    args = [os.environ["MXTLS_BIN"], "scan", part, "-o", out, "--resolver", farm.dns, "--port",
            str(farm.smtp_port), "--ehlo", "scanner.example", "--ca-file", farm.ca,
            "--timeout-read", "15", "--deadline", "40", "--allow", "127.0.0.0/8",
            "--concurrency", "10000", "--quiet", "--dns-timeout", "1", "--dns-tries", "2"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600,
                       preexec_fn=few_descriptors, close_fds=False)
    c.eq("few descriptors: exit status", 0, r.returncode)
    c.true("few descriptors: the message says what it reserved (%s)" % r.stderr.strip()[:200],
           "reserved" in r.stderr)
    compare("few descriptors", farm, out, only={l.split(",")[-1].strip() for l in open(part)})
    waits = manifest(out)["health"]["descriptor_waits"]
    c.true("few descriptors: probes waited for one (%d times)" % waits, waits > 0)

    # The resolver frozen for 8 s, 2 s into the scan.
    relay = farmlib.DnsRelay(farm)
    out = os.path.join(farm.dir, "thaw.csv.gz")
    p = farmlib.scan(farm, lst, out, "--dns-timeout", "1", "--dns-tries", "2", wait=False,
                     resolver=relay.addr)
    time.sleep(2)
    relay.freeze()
    time.sleep(8)
    relay.thaw()
    _, err = p.communicate(timeout=600)
    c.eq("resolver frozen and thawed: exit status", 0, p.returncode)
    compare("resolver frozen and thawed", farm, out)
    m = manifest(out)
    c.true("resolver frozen and thawed: domains asked again (%d)" % m["health"]["dns_retried"],
           m["health"]["dns_retried"] > 0)

    # Frozen for good: the scan gives up after --dns-outage, and --resume finishes it.
    out = os.path.join(farm.dir, "dead.csv.gz")
    p = farmlib.scan(farm, lst, out, "--dns-timeout", "1", "--dns-tries", "2", "--dns-outage",
                     "5", "--grace", "2", wait=False, resolver=relay.addr)
    time.sleep(2)
    relay.freeze()
    _, err = p.communicate(timeout=600)
    print("resolver frozen for good: ended %.0f s into the test" % (time.monotonic() - T0))
    c.eq("resolver frozen for good: exit status", 2, p.returncode)
    m = manifest(out)
    c.eq("resolver frozen for good: manifest status", "failed", m["status"])
    c.true("resolver frozen for good: the manifest says why (%s)" % m["health"]["failure"],
           "resolvers answered nothing" in (m["health"]["failure"] or ""))
    truth = {d: rows for d, rows in farmlib.rows_by_domain(farm.truth, ["dns_status"]).items()}
    written = farmlib.rows_by_domain(out, ["dns_status"])
    false_timeouts = sum(1 for d, rows in written.items()
                         if ["timeout"] in rows and ["timeout"] not in truth.get(d, []))
    c.eq("resolver frozen for good: timeout rows the truth lacks", 0, false_timeouts)
    c.true("resolver frozen for good: domains left out for --resume (%d of %d written)"
           % (len(written), N), len(written) < N)
    relay.thaw()
    relay.drain()
    r = farmlib.scan(farm, lst, out, "--resume", resolver=relay.addr)
    c.eq("resumed with the resolver back: exit status", 0, r.returncode)
    compare("resumed with the resolver back", farm, out)
    relay.close()
c.finish()
