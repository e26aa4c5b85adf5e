#!/usr/bin/env python3
"""Size limits of the middle layer: no function over 80 lines and no file over 600 in
src/engine and src/smtp, where the scanner's control flow lives and a newcomer must be able to
read a piece whole. A function is counted from its opening line to its closing brace."""
import os
import re
import sys

SRC = os.path.join(os.environ.get("MXTLS_SRC", os.path.join(os.path.dirname(__file__), "..", "..")), "src")
FOLDERS = ("engine", "smtp")
MAX_FUNC, MAX_FILE = 80, 600
START = re.compile(r"^[a-z_].*\)\s*\{\s*$")


def main():
    problems = 0
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(SRC, folder))):
            if not name.endswith(".c"):
                continue
            path = os.path.join(SRC, folder, name)
            lines = open(path, encoding="utf-8").read().split("\n")
            if len(lines) > MAX_FILE:
                print(f"size: src/{folder}/{name} has {len(lines)} lines (at most {MAX_FILE})")
                problems += 1
            start = None
            for i, line in enumerate(lines):
                if start is None and START.match(line) and not line.startswith(("if", "for", "while", "switch")):
                    start = i
                elif start is not None and line == "}":
                    if i - start + 1 > MAX_FUNC:
                        print(f"size: src/{folder}/{name}:{start + 1} {lines[start].split('(')[0]}: "
                              f"{i - start + 1} lines (at most {MAX_FUNC})")
                        problems += 1
                    start = None
    print(f"size: {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
