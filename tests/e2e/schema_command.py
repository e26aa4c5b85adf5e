"""mxtls schema, against the files it documents (no network needed).

docs/schema.md equals `mxtls schema --format md`; the JSON names every column of a scan file's
header in order; a farm truth file loads into pandas with the JSON's dtypes (no mixed types,
integers as integers, yes/no as booleans) and into SQLite through the generated DDL (integers as
INTEGER), and both count the domains `mxtls stats` counts."""
import csv
import gzip
import json
import os
import re
import sqlite3
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("schema command")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def schema(*args):
    r = subprocess.run([BIN, "schema"] + list(args), capture_output=True, text=True)
    c.eq("mxtls schema %s: exit status" % " ".join(args), 0, r.returncode)
    return r.stdout


md = schema()
with open(os.path.join(ROOT, "docs", "schema.md")) as f:
    c.true("docs/schema.md is `mxtls schema --format md` (regenerate it with that command)",
           f.read() == md)
spec = json.loads(schema("--format", "json"))
cols = [col["name"] for col in spec["columns"]]
r = subprocess.run([BIN, "schema", "--format", "yaml"], capture_output=True, text=True)
c.eq("an unknown format: exit status", 1, r.returncode)

tmp = tempfile.mkdtemp(prefix="mxtls-schema-")
truth = os.path.join(tmp, "truth.csv.gz")
subprocess.run([FARM, "truth", "--domains", "3000", "--seed", "3", "-o", truth], check=True,
               stderr=subprocess.DEVNULL)
scan = os.path.join(tmp, "empty.csv.gz")  # an empty list: the header alone, no packet
subprocess.run([BIN, "scan", os.devnull, "-o", scan, "--resolver", "127.0.0.1:9", "--quiet",
                "--ehlo", "scanner.example"], check=True)
with gzip.open(scan, "rt", newline="") as f:
    c.eq("the JSON's columns are a scan's header, in order", next(csv.reader(f)), cols)
c.true("every column has a type and a description",
       all(col["type"] and col["doc"] for col in spec["columns"]))
with gzip.open(truth, "rt", newline="") as f:
    truth_header = next(csv.reader(f))
stats = subprocess.run([BIN, "stats", "--format", "json", truth], capture_output=True, text=True)
domains = int(re.search(r"(\d+) domains", json.loads(stats.stdout)["title"]).group(1))

# SQLite through the generated DDL, empty fields as NULL.
db = sqlite3.connect(":memory:")
db.executescript(schema("--format", "sql", "--dialect", "sqlite"))
with gzip.open(truth, "rt", newline="") as f:
    rd = csv.reader(f)
    names = next(rd)
    db.executemany("INSERT INTO scan (%s) VALUES (%s)" % (",".join(names), ",".join("?" * len(names))),
                   ([v if v != "" else None for v in row] for row in rd))
c.eq("SQLite: domains", domains, db.execute("SELECT count(DISTINCT domain) FROM scan").fetchone()[0])
c.eq("SQLite: ranks are integers", [("integer",)],
     db.execute("SELECT DISTINCT typeof(rank) FROM scan").fetchall())
c.eq("SQLite: max(rank) is the last rank", 3000, db.execute("SELECT max(rank) FROM scan").fetchone()[0])
r = subprocess.run([BIN, "schema", "--format", "sql", "--dialect", "postgresql"],
                   capture_output=True, text=True)
c.true("PostgreSQL: integers, times and booleans typed",
       "rank BIGINT" in r.stdout and "scanned_at TIMESTAMPTZ" in r.stdout and
       "starttls BOOLEAN" in r.stdout)

# pandas (Debian's python3-pandas), with the JSON's dtypes; any warning fails.
PANDAS = r"""
import json, sys, warnings
warnings.simplefilter("error")
import pandas as pd
spec = json.load(open(sys.argv[1]))
cols = {c["name"]: c for c in spec["columns"]}
head = pd.read_csv(sys.argv[2], nrows=0).columns
df = pd.read_csv(sys.argv[2], dtype={n: cols[n]["pandas"] for n in head},
                 true_values=[spec["csv"]["true"]], false_values=[spec["csv"]["false"]],
                 keep_default_na=False, na_values=[spec["csv"]["null"]],
                 parse_dates=[n for n in head if cols[n]["time"]])
print(json.dumps({"domains": int(df["domain"].nunique()), "rank": str(df["rank"].dtype),
                  "starttls": str(df["starttls"].dtype), "max_rank": int(df["rank"].max())}))
"""
spec_path = os.path.join(tmp, "schema.json")
with open(spec_path, "w") as f:
    json.dump(spec, f)
py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
r = subprocess.run([py, "-c", PANDAS, spec_path, truth], capture_output=True, text=True)
c.eq("pandas: exit status (%s)" % r.stderr.strip()[-300:], 0, r.returncode)
if r.returncode == 0:
    got = json.loads(r.stdout)
    c.eq("pandas: domains", domains, got["domains"])
    c.eq("pandas: rank dtype", "Int64", got["rank"])
    c.eq("pandas: starttls dtype", "boolean", got["starttls"])
    c.eq("pandas: max rank", 3000, got["max_rank"])
c.finish()
