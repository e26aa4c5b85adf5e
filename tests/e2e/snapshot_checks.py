"""stats, diff and check refuse files that are not one snapshot, from the manifests beside them
(no network needed): two scans of different lists, a shard set with a shard missing or given
twice, files with and without a manifest; --force counts them anyway. The files are farm truth
shards, each given a manifest as a scan writes one."""
import json
import os
import shutil
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("snapshot checks")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
tmp = tempfile.mkdtemp(prefix="mxtls-snap-")
full = os.path.join(tmp, "full.csv.gz")
subprocess.run([FARM, "truth", "--domains", "600", "--seed", "3", "-o", full], check=True,
               stderr=subprocess.DEVNULL)


def shard_file(name, shard, sha="a" * 64, scan_id=None):
    """A copy of the truth standing for one shard of a scan of the list whose SHA-256 is SHA."""
    path = os.path.join(tmp, name + ".csv.gz")
    shutil.copy(full, path)
    with open(os.path.join(tmp, name + ".meta.json"), "w") as f:
        json.dump({"schema": "mxtls/1", "input": {"file": "list.txt", "sha256": sha},
                   "shard": shard, "scan_id": scan_id, "runs": [], "finished": True}, f)
    return path


def run(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True)


# The domains of the two "shards" overlap (both are the whole truth), so only --force makes
# stats count them; the refusals come before any row is read.
s0, s1 = shard_file("s0", "0/2"), shard_file("s1", "1/2")
r = run("stats", s0)
c.eq("one shard of two: stats exit status", 2, r.returncode)
c.true("... names the file and says incomplete (%s)" % r.stderr.strip()[:120],
       "s0.csv.gz" in r.stderr and "incomplete" in r.stderr)
r = run("stats", s0, shard_file("s0b", "0/2"))
c.eq("shard 0/2 twice: exit status", 2, r.returncode)
c.true("... says both are shard 0/2", "both shard 0/2" in r.stderr)
r = run("stats", s0, shard_file("o1", "1/2", sha="b" * 64))
c.eq("shards of two lists: exit status", 2, r.returncode)
c.true("... says different lists", "different lists" in r.stderr)
r = run("stats", shard_file("i0", "0/2", scan_id="slurm-1"), shard_file("i1", "1/2", scan_id="slurm-2"))
c.eq("shards of two scans of one list (scan ids differ): exit status", 2, r.returncode)
c.true("... names the ids", "slurm-1" in r.stderr and "slurm-2" in r.stderr)
r = run("stats", s0, shard_file("t1", "1/3"))
c.eq("shards of two shard counts: exit status", 2, r.returncode)
plain = os.path.join(tmp, "plain.csv.gz")
shutil.copy(full, plain)
r = run("stats", s0, plain)
c.eq("a file with a manifest and one without: exit status", 2, r.returncode)
c.true("... names both", "s0.csv.gz" in r.stderr and "plain.csv.gz" in r.stderr)
r = run("stats", "--force", s0)
c.eq("--force counts an incomplete set", 0, r.returncode)
r = run("stats", full)
c.eq("a file without a manifest (farm truth) is not checked", 0, r.returncode)
r = run("stats", "--format", "json", s0, s1)
c.true("a complete set passes the check (then stats sees its repeated domains: %d)"
       % r.returncode, "not one snapshot" not in r.stderr and "incomplete" not in r.stderr)

r = run("diff", s0, "--", full)
c.eq("diff: an incomplete OLD side: exit status", 2, r.returncode)
r = run("diff", full, "--", s0, "--force")
c.eq("diff --force (after the files)", 0, r.returncode)
r = run("check", s0)
c.eq("check: an incomplete set is reported as damage", 2, r.returncode)
c.true("... and says why", "incomplete" in r.stderr)
r = run("check", "--force", s0)
c.eq("check --force", 0, r.returncode)
c.finish()
