#!/usr/bin/env python3
"""The layering check: no source file includes a header from a folder its own folder may not
depend on. The architecture (README, How it works) is cli -> engine -> stages -> util, with
analysis reading output's files and the farm writing through output's writer; an arrow against
it is a module reaching sideways or upwards, which this test refuses by name.

A public header include/mxtls/NAME.h belongs to the folder of the source file that implements
it: the .c file whose first include is that header (each module's file includes its own
contract first). A header that no file implements holds types only and counts as util."""
import os
import re
import sys

SRC = os.path.join(os.environ.get("MXTLS_SRC", os.path.join(os.path.dirname(__file__), "..", "..")), "src")

# folder -> the folders whose headers it may include (its own is always allowed)
ALLOWED = {
    "util": set(),
    "input": {"util"},
    "output": {"util"},
    "dns": {"util"},
    "tls": {"util"},
    "smtp": {"tls", "util"},
    "policy": {"tls", "util"},  # MTA-STS, TLS-RPT, DANE: what a strict sender reads
    "engine": {"dns", "smtp", "tls", "policy", "input", "output", "util"},
    "analysis": {"output", "util"},
    "cli": {"engine", "analysis", "output", "util"},
    "farm": {"output", "tls", "util"},  # a TLS server: the process's curve arithmetic
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"(mxtls/[a-z0-9_]+\.h|[a-z]+/[a-z0-9_]+\.h)"', re.M)


def sources():
    inc = os.path.join(SRC, "..", "include", "mxtls")
    for name in sorted(os.listdir(inc)):
        if name.endswith(".h"):
            with open(os.path.join(inc, name), encoding="utf-8") as f:
                yield "include", name, INCLUDE.findall(f.read())
    for folder in sorted(os.listdir(SRC)):
        path = os.path.join(SRC, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith((".c", ".h")):
                with open(os.path.join(path, name), encoding="utf-8") as f:
                    yield folder, name, INCLUDE.findall(f.read())


def main():
    owner, problems = {}, []
    files = list(sources())
    for folder, name, incs in files:
        if folder in ("cli", "farm", "include") or not name.endswith(".c"):
            continue
        first = incs[0] if incs and incs[0].startswith("mxtls/") else None
        if first and first in owner and owner[first] != folder:
            problems.append(f"{first} is implemented in both {owner[first]}/ and {folder}/")
        if first:
            owner.setdefault(first, folder)
    for folder, name, incs in files:
        if folder == "include":  # a public header is held to the rules of its module's folder
            folder = owner.get("mxtls/" + name, "util")
            name = "../../include/mxtls/" + name
        if folder not in ALLOWED:
            problems.append(f"src/{folder}/ is not a folder of the architecture (tests/lint/layering.py)")
            continue
        for inc in incs:
            if inc.startswith("mxtls/"):
                dep = owner.get(inc)
                if dep is None:
                    dep = "util"  # a header of types only (mxtls/options.h)
            else:
                dep = inc.split("/")[0]  # a folder's private header, src/<folder>/x_int.h
            if dep is None or dep == folder or dep in ALLOWED[folder]:
                continue
            problems.append(f"src/{folder}/{name} includes {inc} ({dep}/): {folder}/ may use "
                            f"{', '.join(sorted(ALLOWED[folder] | {folder}))}")
    for p in problems:
        print("layering:", p)
    print(f"layering: {len(files)} files, {len(owner)} module headers, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
