"""The command line's conventions (no network needed): -h/--help and -V/--version for the program
and every command, messages prefixed "mxtls COMMAND:", options anywhere (GNU style) with "--"
only as diff's separator between OLD and NEW."""
import os
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("cli conventions")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
COMMANDS = ["scan", "resolve", "probe", "check", "stats", "diff", "received", "schema"]


def run(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True)


for flag in ("-h", "--help"):
    r = run(flag)
    c.true("mxtls %s: usage on stdout, exit 0" % flag, r.returncode == 0 and "usage" in r.stdout)
for flag in ("-V", "--version"):
    r = run(flag)
    c.true("mxtls %s: versions, exit 0" % flag, r.returncode == 0 and r.stdout.startswith("mxtls "))
for cmd in COMMANDS:
    for flag in ("-h", "--help"):
        r = run(cmd, flag)
        c.true("mxtls %s %s: usage on stdout, exit 0" % (cmd, flag),
               r.returncode == 0 and "usage" in r.stdout)
    r = run(cmd, "-V")
    c.true("mxtls %s -V: versions" % cmd, r.returncode == 0 and "curves " in r.stdout)
    r = run(cmd, "--no-such-option")
    c.true("mxtls %s --no-such-option: exit 1, 'mxtls %s:' (%s)" % (cmd, cmd, r.stderr[:60]),
           r.returncode == 1 and r.stderr.startswith("mxtls %s:" % cmd))
r = run("scan", "no-such-list.txt", "-o", os.path.join(tempfile.gettempdir(), "never.csv.gz"))
c.true("scan of a missing list: exit 2, and the list is the first thing said (%s)" % r.stderr[:80],
       r.returncode == 2 and r.stderr.startswith("mxtls scan: no-such-list.txt:"))
r = run("frobnicate")
c.true("an unknown command says so", r.returncode == 1 and r.stderr.startswith("mxtls:"))

tmp = tempfile.mkdtemp(prefix="mxtls-cli-")
a, b = os.path.join(tmp, "a.csv.gz"), os.path.join(tmp, "b.csv.gz")
for path, epoch in ((a, "0"), (b, "3")):
    subprocess.run([FARM, "truth", "--domains", "300", "--seed", "3", "--epoch", epoch, "-o", path],
                   check=True, stderr=subprocess.DEVNULL)
first = run("diff", "--format", "csv", a, "--", b)
changes = os.path.join(tmp, "changes.csv")
last = run("diff", a, "--", b, "--changes", changes, "--format", "csv")
c.eq("diff: options after NEW are options", (0, first.stdout), (last.returncode, last.stdout))
c.true("diff: --changes after NEW wrote its file", os.path.exists(changes))
c.finish()
