"""mxtls installed like a tool: cmake --install into a fresh root puts the binaries, the man
page and the bash completion in place; the installed binary refers to neither the source nor the
build folder (the reserved ranges are compiled in), and, copied alone to another folder, scans
the farm with every row equal to the truth."""
import os
import shutil
import subprocess
import tempfile

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("install")
build = os.path.dirname(os.path.abspath(os.environ["MXTLS_BIN"]))
src = os.path.abspath(os.environ["MXTLS_SRC"])
root = tempfile.mkdtemp(prefix="mxtls-install-")
r = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], capture_output=True,
                   text=True, env=dict(os.environ, DESTDIR=root))
c.eq("cmake --install: exit status (%s)" % r.stderr.strip()[-200:], 0, r.returncode)
for path in ("usr/bin/mxtls", "usr/bin/mxtls-farm", "usr/share/man/man1/mxtls.1",
             "usr/share/bash-completion/completions/mxtls", "usr/share/doc/mxtls/schema.md"):
    c.true("installed: /%s" % path, os.path.exists(os.path.join(root, path)))

# The binary alone, in a folder of its own: no data file, no path into the trees it came from.
alone = tempfile.mkdtemp(prefix="mxtls-alone-")
binary = os.path.join(alone, "mxtls")
shutil.copy(os.path.join(root, "usr/bin/mxtls"), binary)
rodata = subprocess.run(["readelf", "-p", ".rodata", binary], capture_output=True, text=True,
                        errors="replace")
c.true("the binary's constants name neither %s nor %s" % (src, build),
       rodata.returncode == 0 and src not in rodata.stdout and build not in rodata.stdout)
comp = subprocess.run(["bash", "-c", "source %s && complete -p mxtls" %
                       os.path.join(root, "usr/share/bash-completion/completions/mxtls")],
                      capture_output=True, text=True)
c.true("the bash completion loads", comp.returncode == 0 and "_mxtls" in comp.stdout)

N = 400
with farmlib.Farm(N, seed=13) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, 13, lst)
    out = os.path.join(farm.dir, "scan.csv.gz")
    os.environ["MXTLS_BIN"] = binary  # farmlib.scan runs the installed copy
    r = farmlib.scan(farm, lst, out)
    c.eq("the installed binary scans: exit status (%s)" % r.stderr.strip()[-200:], 0, r.returncode)
    cols = farmlib.truth_columns(farm)
    want, got = farmlib.rows_by_domain(farm.truth, cols), farmlib.rows_by_domain(out, cols)
    c.eq("domains whose rows differ from the truth", 0,
         sum(1 for d in want if want[d] != got.get(d)))
shutil.rmtree(root)
shutil.rmtree(alone)
c.finish()
