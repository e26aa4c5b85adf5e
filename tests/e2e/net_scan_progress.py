"""The progress display, against the farm: on a terminal of 80 columns (under script(1)) every
redraw fits in 79 columns and replaces the one before, the total is known from the start and
an ETA appears; without a terminal, a plain line every --progress seconds and a summary at the
end."""
import os
import re
import shlex
import subprocess

import farmlib

farmlib.require_private_netns()
c = farmlib.Checker("scan progress")
N = 1200

with farmlib.Farm(N, seed=7, extra=["--latency-ms", "300"]) as farm:
    lst = os.path.join(farm.dir, "list.txt")
    farmlib.write_list(farm, N, 7, lst)
    args = [os.environ["MXTLS_BIN"], "scan", lst, "--resolver", farm.dns, "--allow",
            "127.0.0.0/8", "--port", str(farm.smtp_port), "--ehlo", "scanner.example",
            "--ca-file", farm.ca, "--concurrency", "300", "--dns-timeout", "1",
            "--dns-tries", "2", "--timeout-read", "4", "--deadline", "8"]  # no truth compared

    # A terminal of 80 columns: script(1) gives the scan one, and records what it drew.
    out = os.path.join(farm.dir, "tty.csv.gz")
    cmd = "stty cols 80 rows 24; exec %s" % " ".join(shlex.quote(a) for a in args + ["-o", out])
    r = subprocess.run(["script", "-qfec", cmd, "/dev/null"], capture_output=True, timeout=600)
    c.eq("on a terminal: exit status", 0, r.returncode)
    text = r.stdout.decode("utf-8", "replace").replace("\x1b[K", "")
    draws = [s for s in re.split(r"[\r\n]+", text) if s.strip()]
    progress = [s for s in draws if " domains" in s and "done:" not in s]
    c.true("on a terminal: redrawn many times (%d)" % len(progress), len(progress) >= 5)
    c.eq("on a terminal: redraws wider than 79 columns", [],
         [s for s in progress if len(s) > 79][:3])
    c.true("on a terminal: each redraw starts with a carriage return and a clear",
           text.count("\r") >= len(progress))
    c.true("on a terminal: the total is known from the first redraw (%s)" % progress[0][:60],
           " of " in progress[0])
    c.true("on a terminal: an ETA", any("ETA" in s for s in progress))
    c.true("on a terminal: a summary at the end",
           any(s.startswith("mxtls scan: done: %d domains" % N) or
               ("done: %s domains" % format(N, ",")) in s for s in draws))

    # Not a terminal: a plain line every second, then the summary.
    out = os.path.join(farm.dir, "pipe.csv.gz")
    r = subprocess.run(args + ["-o", out, "--progress", "1"], capture_output=True, text=True,
                       timeout=600)
    c.eq("not a terminal: exit status", 0, r.returncode)
    lines = r.stderr.splitlines()
    plain = [l for l in lines if l.startswith("mxtls scan: ") and " hosts/s" in l
             and "done:" not in l]
    c.true("not a terminal: plain progress lines (%d)" % len(plain), len(plain) >= 2)
    c.true("not a terminal: no carriage returns", "\r" not in r.stderr)
    c.true("not a terminal: the summary (%s)" % (lines[-1] if lines else ""),
           lines and ("done: %s domains" % format(N, ",")) in lines[-1])
c.finish()
