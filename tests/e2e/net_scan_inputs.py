"""What a scan does with damaged lists, outputs that would destroy the list, and resumes that
cannot be told apart from another scan: it refuses with a message and a non-zero status before
scanning anything, or, once it has scanned, keeps every row and a manifest that counts the
whole file.

- A cut gzip list, a byte-flipped one, a directory: exit 2, nothing scanned (no row for a torn
  last line, none for a garbled name).
- -o naming the list, or an output whose manifest is the list: exit 1, the list untouched.
- A list with invalid lines, killed and resumed: each invalid line once; the manifest's counts
  equal the file's (domains, duplicates, rows, conn); `check` is clean.
- Resuming without the manifest, or as another shard: refused.
- A scan that fills the disk: exit 2, the manifest says failed and counts the rows kept."""
import collections
import csv
import gzip
import json
import os
import shutil
import signal
import subprocess
import time
import zlib

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan inputs")
N = 1000
BIN = os.environ["MXTLS_BIN"]

with farmlib.Farm(N, seed=23) as farm:
    d = farm.dir
    lst = os.path.join(d, "list.txt")
    farmlib.write_list(farm, N, 23, lst)
    names = open(lst).read().split()

    def read_cut(path):
        """The complete rows of a gzip CSV file that may be cut short."""
        d = zlib.decompressobj(31)
        text = d.decompress(open(path, "rb").read()).decode()
        lines = text.split("\n")[:-1]
        return list(csv.DictReader(lines))

    def slow(out, listfile, *extra, wait=True):
        return farmlib.scan(farm, listfile, out, "--rate", "300", *extra, wait=wait)

    # -- damaged lists: nothing scanned --
    raw = gzip.compress(("\n".join(names[:50]) + "\n").encode())
    cut = os.path.join(d, "cut.txt.gz")
    open(cut, "wb").write(raw[:len(raw) - 30])
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x20
    flip = os.path.join(d, "flip.txt.gz")
    open(flip, "wb").write(bytes(flipped))
    for what, path in (("cut gzip list", cut), ("byte-flipped gzip list", flip),
                       ("directory as the list", d)):
        out = os.path.join(d, "damaged.csv.gz")
        r = slow(out, path)
        c.eq(what + ": exit", 2, r.returncode)
        c.true(what + ": says so", "nothing was scanned" in r.stderr)
        c.eq(what + ": no output written", False, os.path.exists(out))
    r = subprocess.run([BIN, "resolve", "--resolver", farm.dns, "--allow", "127.0.0.0/8", cut],
                       capture_output=True, text=True)
    c.eq("resolve of a cut list: exit", 2, r.returncode)
    c.eq("resolve of a cut list: no row", 0, len([x for x in r.stdout.splitlines()[1:] if x]))

    # -- outputs that would destroy the list --
    before = open(lst, "rb").read()
    r = slow(lst, lst)
    c.eq("-o naming the list: exit", 1, r.returncode)
    c.true("-o naming the list: list untouched", open(lst, "rb").read() == before)
    meta_list = os.path.join(d, "x.meta.json")
    shutil.copy(lst, meta_list)
    r = slow(os.path.join(d, "x.csv.gz"), meta_list)
    c.eq("manifest path naming the list: exit", 1, r.returncode)
    c.true("manifest path naming the list: untouched", open(meta_list, "rb").read() == before)

    # -- resume of a list with invalid lines --
    mixed = os.path.join(d, "mixed.txt")
    bad = 0
    with open(mixed, "w") as f:
        for i, n in enumerate(names):
            f.write(n + "\n")
            if i % 10 == 0:
                f.write("bad_name_%d..example\n" % i)
                bad += 1
    ref = os.path.join(d, "ref.csv.gz")
    c.eq("reference scan", 0, slow(ref, mixed).returncode)
    out = os.path.join(d, "resumed.csv.gz")
    p = slow(out, mixed, wait=False)
    time.sleep(2.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    r = slow(out, mixed, "--resume")
    c.eq("resumed run", 0, r.returncode)
    rows = farmlib.read_csv_gz(out)
    invalid = [x for x in rows if x["error"].startswith("invalid_")]
    c.eq("invalid lines, each once", bad, len(invalid))
    c.eq("invalid lines' numbers unique", bad, len({x["input_line"] for x in invalid}))
    c.eq("check after resume", 0, subprocess.run([BIN, "check", out],
                                                   capture_output=True).returncode)
    meta = json.load(open(os.path.join(d, "resumed.meta.json")))
    ref_meta = json.load(open(os.path.join(d, "ref.meta.json")))
    for k in ("lines", "domains", "invalid", "duplicates", "rows"):
        c.eq("manifest after resume: " + k, ref_meta["counts"][k], meta["counts"][k])
    c.eq("manifest rows = file rows", len(rows), meta["counts"]["rows"])
    conn = collections.Counter(x["conn"] for x in rows if x["conn"])
    c.eq("manifest conn counts = file's", dict(conn),
         {k: v for k, v in meta["counts"]["conn"].items() if v})
    c.eq("runs", ["killed", "finished"], [x["status"] for x in meta["runs"]])

    # -- resume needs the manifest, and the same shard --
    shard = os.path.join(d, "shard.csv.gz")
    p = slow(shard, lst, "--shard", "0/2", wait=False)
    time.sleep(2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    r = slow(shard, lst, "--shard", "1/2", "--resume")
    c.eq("resume as another shard: refused", 1, r.returncode)
    c.true("and says which shard", "0/2" in r.stderr)
    os.unlink(os.path.join(d, "shard.meta.json"))
    kept = open(shard, "rb").read()
    r = slow(shard, lst, "--shard", "0/2", "--resume")
    c.eq("resume without a manifest: refused", 1, r.returncode)
    c.true("the file is left as it was", open(shard, "rb").read() == kept)

    # -- a full disk: the manifest still gets the last word --
    small = os.path.join(d, "small")
    os.mkdir(small)
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        print("note: no mount namespace here (unshare -m); the full-disk case is not run")
    else:
        # A 512 KiB tmpfs, nearly full, in a mount namespace of its own; the files are copied
        # out before it goes.
        args = slow("/x", lst, wait=False)
        args.kill()
        args.wait()
        argv = [a if a != "/x" else os.path.join(small, "full.csv.gz") for a in args.args]
        r = subprocess.run(["unshare", "-m", "bash", "-c",
                            'mount -t tmpfs -o size=512k tmpfs "$1" || exit 99; '
                            'head -c 440000 /dev/zero > "$1/filler"; d=$1; o=$2; shift 2; "$@"; '
                            'rc=$?; cp "$d"/full.* "$o"/; exit $rc', "_", small, d] + argv,
                           capture_output=True, text=True)
        c.eq("full disk: exit", 2, r.returncode)
        meta = json.load(open(os.path.join(d, "full.meta.json")))
        c.eq("full disk: manifest status", "failed", meta["status"])
        chk = subprocess.run([BIN, "check", os.path.join(d, "full.csv.gz")],
                             capture_output=True, text=True).stdout
        got = int(dict(x.split(" ", 1) for x in chk.splitlines() if " " in x)["rows"])
        c.true("full disk: rows kept", got > 0)
        c.eq("full disk: manifest counts the rows kept", got, meta["counts"]["rows"])
        c.eq("full disk: conn counted for the rows kept",
             len([x for x in read_cut(os.path.join(d, "full.csv.gz")) if x["conn"]]),
             sum(meta["counts"]["conn"].values()))
c.finish()
