"""mxtls report and mxtls trend on farm truth files of three epochs (no network needed).

Every number in the report's tables equals what `mxtls stats --format json` (latest snapshot)
and `mxtls trend --format json` (the trends) give for the same input: each cell's share,
interval and count, and each denominator. The page is then rendered by headless Chromium at
1280 and 390 pixels wide, where a script added to a copy measures the layout: the page never
needs sideways scrolling, no table is wider than its box, and every chart has a title and both
axis labels. Printed to PDF, its text (pdftotext) holds the headline figures. Chromium runs in
a network namespace of its own: nothing it might try leaves the machine."""
import html.parser
import json
import os
import re
import shutil
import subprocess
import tempfile

import farmlib

c = farmlib.Checker("report command")
BIN, FARM = os.environ["MXTLS_BIN"], os.environ["MXTLS_FARM"]
tmp = tempfile.mkdtemp(prefix="mxtls-report-")
truths = []
for epoch in (0, 3, 6):
    p = os.path.join(tmp, "epoch%d.csv.gz" % epoch)
    subprocess.run([FARM, "truth", "--domains", "6000", "--seed", "11", "--epoch", str(epoch),
                    "--truth-policy", "yes", "-o", p], check=True, stderr=subprocess.DEVNULL)
    truths.append(p)
AT = ["--at", "2026-11-28"]
page = os.path.join(tmp, "report.html")
r = subprocess.run([BIN, "report", "--providers", "5", "-o", page] + AT + truths,
                   capture_output=True, text=True)
c.eq("report exit status (%s)" % r.stderr.strip(), 0, r.returncode)
stats = json.loads(subprocess.run([BIN, "stats", "--format", "json", "--providers", "5"] + AT +
                                  [truths[-1]], capture_output=True, text=True,
                                  check=True).stdout)
trend = json.loads(subprocess.run([BIN, "trend", "--format", "json"] + AT + truths,
                                  capture_output=True, text=True, check=True).stdout)


class Tables(html.parser.HTMLParser):
    """Each table.cmp's cells: (kind, section, metric, bucket) -> (share, ci, count) texts, and
    the denominator cells: (kind, section, bucket) -> text."""

    def __init__(self):
        super().__init__()
        self.cells, self.dens, self.table, self.cell, self.span, self.text = {}, {}, None, None, \
            None, ""
        self.svgs, self.svg = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "cmp" in a.get("class", ""):
            self.table = (a["data-kind"], a["data-section"])
        elif tag == "td" and self.table:
            self.cell = {"metric": a.get("data-metric"), "bucket": a.get("data-bucket"),
                         "den": "d" in a.get("class", "").split(), "spans": {}, "text": ""}
        elif tag == "span" and self.cell is not None:
            self.span, self.text = a.get("class"), ""
        elif tag == "svg":
            self.svg = {"title": "", "texts": {}, "in": None}
        elif self.svg is not None and tag in ("title", "text"):
            self.svg["in"] = "title" if tag == "title" and not self.svg["title"] else \
                a.get("class", "")

    def handle_data(self, data):
        if self.span:
            self.text += data
        elif self.cell is not None:
            self.cell["text"] += data
        if self.svg is not None and self.svg["in"] is not None:
            if self.svg["in"] == "title":
                self.svg["title"] += data
            else:
                self.svg["texts"][self.svg["in"]] = self.svg["texts"].get(self.svg["in"], "") + data

    def handle_endtag(self, tag):
        if tag == "span" and self.span:
            self.cell["spans"][self.span] = self.text
            self.span = None
        elif tag == "td" and self.cell is not None:
            kind, section = self.table
            if self.cell["den"]:
                self.dens[(kind, section, self.cell["bucket"])] = self.cell["text"].strip()
            else:
                self.cells[(kind, section, self.cell["metric"], self.cell["bucket"])] = \
                    self.cell["spans"]
            self.cell = None
        elif tag == "table":
            self.table = None
        elif tag == "svg":
            self.svgs.append(self.svg)
            self.svg = None
        elif self.svg is not None and tag in ("title", "text"):
            self.svg["in"] = None


with open(page, encoding="utf-8") as f:
    text = f.read()
p = Tables()
p.feed(text)
c.true("the page has comparison tables (%d cells)" % len(p.cells), len(p.cells) > 200)
c.true("the page has the policy metrics (MTA-STS, DANE tables)",
       any(k[1] == "domains: MTA-STS (RFC 8461)" for k in p.cells) and
       any(k[1] == "domains: DANE on the MX hosts (RFC 7672)" for k in p.cells))


def same(got, m):
    """Whether a cell's texts are the JSON's share, interval and count, to the cell's 0.01 %
    (the JSON's six decimals can round the other way at the last digit shown)."""
    try:
        share = float(got["s"].rstrip(" %"))
        lo, hi = (float(x) for x in got["ci"].split("–"))
    except (KeyError, ValueError):
        return False
    return (got["n"] == str(m["numerator"]) and abs(share - 100 * m["share"]) < 0.0051
            and abs(lo - 100 * m["ci_low"]) < 0.0051 and abs(hi - 100 * m["ci_high"]) < 0.0051)


# The latest snapshot: every cell against stats --format json.
wrong, shown, missing = [], 0, []
for m in stats["metrics"]:
    kind = "provider" if m["bucket"].startswith(("provider: ", "without the top")) else "rank"
    key = (kind, m["section"], m["metric"], m["bucket"])
    alt = ("provider", m["section"], m["metric"], m["bucket"])
    got = p.cells.get(key) or (p.cells.get(alt) if m["bucket"] == "all" else None)
    if got is None:
        # Sections cut to their twenty largest (providers, issuers ...) leave the rest out.
        # A table that is there has each of its metrics in every bucket of its kind.
        if any(k[:3] == key[:3] for k in p.cells):
            missing.append(key)
        continue
    shown += 1
    if m["denominator"] and not same(got, m):
        wrong.append((key, got, m))
    den = p.dens.get((kind, m["section"], m["bucket"]))
    if den is not None and den != str(m["denominator"]):
        wrong.append((key, "denominator", den, m["denominator"]))
c.eq("every cell equals stats --format json", [], wrong[:5])
c.eq("a metric shown is shown in every bucket", [], missing[:5])
c.true("cells compared with stats (%d)" % shown, shown > 150)
sections = {m["section"] for m in stats["metrics"]}
c.eq("every section of stats has its table", sorted(sections),
     sorted({k[1] for k in p.cells if k[0] == "rank"}))
c.true("per-provider tables", any(k[0] == "provider" for k in p.cells))

# The trends: every cell against trend --format json.
labels = [s["label"] for s in trend["snapshots"]]
c.eq("snapshots in the order given (no manifests)",
     [os.path.basename(t)[:-len(".csv.gz")] for t in truths], labels)
wrong, shown = [], 0
for series in trend["series"]:
    if series["bucket"] != "all":
        continue
    for pt in series["points"]:
        got = p.cells.get(("trend", series["section"], series["metric"], pt["snapshot"]))
        if got is None or not pt["denominator"]:
            continue
        shown += 1
        if not same(got, pt):
            wrong.append((series["section"], series["metric"], pt["snapshot"], got))
c.eq("every trend cell equals trend --format json", [], wrong[:5])
c.true("trend cells compared (%d)" % shown, shown >= 3 * 20)

# Charts: each with a title and both axis labels.
c.true("charts in the page (%d)" % len(p.svgs), len(p.svgs) > 20)
bad = [s["title"] for s in p.svgs if not (s["title"].strip() and s["texts"].get("chart-title")
                                          and s["texts"].get("x-label")
                                          and s["texts"].get("y-label"))]
c.eq("every chart has a title and labelled axes", [], bad)
c.true("no script, no external asset",
       "<script" not in text and not re.search(r'(src|href)="(?!#)', text))

# The same charts as files, for papers: one per section, and per provider where compared.
svgdir = os.path.join(tmp, "svg")
r = subprocess.run([BIN, "stats", "--format", "svg", "--providers", "5", "-o", svgdir] + AT +
                   [truths[-1]], capture_output=True, text=True)
c.eq("stats --format svg exit status (%s)" % r.stderr.strip(), 0, r.returncode)
charts = sorted(os.listdir(svgdir)) if os.path.isdir(svgdir) else []
c.eq("stats --format svg: a chart per section", len(sections),
     len([x for x in charts if not x.endswith("_by_provider.svg")]))
c.true("stats --format svg: charts by provider",
       any(x.endswith("_by_provider.svg") for x in charts))
unlabelled = []
for name in charts:
    with open(os.path.join(svgdir, name), encoding="utf-8") as f:
        one = Tables()
        one.feed(f.read())
    if len(one.svgs) != 1 or not all(one.svgs[0]["texts"].get(k) for k in
                                     ("chart-title", "x-label", "y-label")):
        unlabelled.append(name)
c.eq("every chart file has a title and labelled axes", [], unlabelled)
r = subprocess.run([BIN, "stats", "--format", "svg"] + AT + [truths[-1]], capture_output=True,
                   text=True)
c.eq("stats --format svg without -o DIR is a usage error", 1, r.returncode)

# Rendering, in a network namespace of its own.
chromium = shutil.which("chromium")
c.true("chromium is installed (scripts/setup.sh)", chromium)
# Headless Chromium keeps its window at least 500 pixels wide, so the page is measured in a
# frame of the width wanted, from the frame around it.
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="report.html" style="border:0;width:%dpx;height:900px"></iframe>
<script>
window.addEventListener('load', () => {
  const w = document.getElementById('f').contentWindow, d = w.document;
  const out = {width: w.innerWidth, page: d.documentElement.scrollWidth, wide: [], charts: 0,
               out: []};
  for (const t of d.querySelectorAll('.tw'))
    if (t.scrollWidth > t.clientWidth + 1)
      out.wide.push(t.querySelector('table').dataset.section);
  const main = d.querySelector('main').getBoundingClientRect();
  for (const e of d.querySelectorAll('main *')) {
    if (e.closest('.tw') || e.closest('svg')) continue;
    const r = e.getBoundingClientRect();
    if (r.width && (r.right > main.right + 1 || r.left < main.left - 1))
      out.out.push(e.tagName + ' ' + (e.id || e.textContent.slice(0, 40)));
  }
  for (const s of d.querySelectorAll('svg.chart')) {
    const r = s.getBoundingClientRect(), p = s.parentElement.getBoundingClientRect();
    if (r.width > 0 && r.right <= p.right + 1) out.charts++;
  }
  // Chart text outside its chart (a title too long, a label past the edge).
  out.clipped = [];
  for (const s of d.querySelectorAll('svg.chart')) {
    const b = s.getBoundingClientRect();
    for (const t of s.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.left < b.left - 1 || r.right > b.right + 1)
        out.clipped.push(t.textContent.slice(0, 40));
    }
  }
  // Text squeezed into a sliver (a grid or table column starved by its neighbour).
  out.squeezed = [];
  for (const e of d.querySelectorAll('main dd, main dt, main p, main h1, main h2, main li'))
    if (e.textContent.trim().length > 12 && e.getBoundingClientRect().width < 90)
      out.squeezed.push(e.textContent.slice(0, 40));
  document.body.setAttribute('data-probe', JSON.stringify(out));
});
</script></body></html>"""


def chrome(*args):
    return subprocess.run(["unshare", "-n", chromium, "--headless", "--no-sandbox",
                           "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                           "--allow-file-access-from-files"] + list(args),
                          capture_output=True, text=True, timeout=120)


if chromium:
    for width in (1280, 390):
        probe = os.path.join(tmp, "probe-%d.html" % width)
        with open(probe, "w", encoding="utf-8") as f:
            f.write(PROBE % width)
        d = chrome("--window-size=%d,900" % max(width, 500), "--dump-dom", "file://" + probe)
        m = re.search(r'data-probe="([^"]*)"', d.stdout)
        c.true("the layout probe ran at %d px" % width, m)
        if not m:
            continue
        got = json.loads(m.group(1).replace("&quot;", '"'))
        c.eq("at %d px the viewport is that wide" % width, width, got["width"])
        c.true("at %d px the page needs no sideways scrolling (%d)" % (width, got["page"]),
               got["page"] <= got["width"])
        c.eq("at %d px nothing sticks out of the page's column" % width, [], got["out"][:5])
        c.eq("at %d px no text is squeezed into a sliver" % width, [], got["squeezed"][:5])
        c.eq("at %d px no chart text runs past its chart" % width, [], got["clipped"][:5])
        # On a phone a table wider than the screen scrolls inside its own box (the usual
        # pattern for wide tables); on a desktop none needs to.
        if width >= 1000:
            c.eq("at %d px no table is wider than its box" % width, [], got["wide"])
        else:
            c.true("at %d px most tables fit (%d scroll)" % (width, len(got["wide"])),
                   len(got["wide"]) * 4 < len(p.svgs))
        c.eq("at %d px every chart fits its column" % width, len(p.svgs), got["charts"])
        shot = os.path.join(tmp, "report-%d.png" % width)
        chrome("--window-size=%d,1600" % max(width, 500), "--screenshot=" + shot,
               "file://" + (page if width >= 500 else probe))
        c.true("a screenshot at %d px" % width, os.path.getsize(shot) > 10000)
    pdf = os.path.join(tmp, "report.pdf")
    chrome("--print-to-pdf=" + pdf, "--no-pdf-header-footer", "file://" + page)
    words = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True,
                           text=True).stdout
    words = " ".join(words.split())
    head = next(m for m in stats["metrics"] if m["section"] == "domains: TLS on the primary MX"
                and m["bucket"] == "all")
    c.true("the PDF has the primary-MX headline (%.2f %%)" % (100 * head["share"]),
           "%.2f %%" % (100 * head["share"]) in words and "TLS on the primary MX" in words)
    c.true("the PDF has the domain count", "6000 domains" in words)
    c.true("the PDF has several pages", subprocess.run(
        ["pdfinfo", pdf], capture_output=True, text=True).stdout.count("Pages:") == 1)
if os.environ.get("MXTLS_KEEP"):
    print("kept", tmp)
else:
    subprocess.call(["rm", "-rf", tmp])
c.finish()
