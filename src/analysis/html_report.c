/* The HTML report (mxtls/html_report.h). Tables carry their numbers as text a reader can copy
 * (share, interval, numerator; the denominators in a last row) and, for tools, as data-*
 * attributes naming the section, metric and bucket of each cell. */
#include "mxtls/html_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/json.h"
#include "mxtls/manifest.h"
#include "mxtls/slug.h"
#include "mxtls/source.h"
#include "mxtls/stats.h"
#include "mxtls/svg.h"

#define T mx_xml_text

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 'DejaVu Sans',Verdana,sans-serif;color:#1a1a1a;"
    "background:#fff}"
    "main{max-width:980px;margin:0 auto;padding:12px 16px 40px}"
    "h1{font-size:1.6em;margin:.4em 0}h2{font-size:1.3em;margin:1.6em 0 .4em;"
    "border-bottom:2px solid #0072B2}h3{font-size:1.05em;margin:1.2em 0 .3em}"
    ".method{background:#f3f6f9;border:1px solid #cdd8e3;padding:8px 14px;border-radius:4px}"
    ".method dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;"
    "margin:.4em 0}.method dt{font-weight:bold}.method dd{margin:0;overflow-wrap:anywhere}"
    "nav ul{padding-left:1.2em;columns:2 14em}"
    "figure{margin:1.2em 0 .4em;max-width:600px}svg.chart{width:100%;height:auto;display:block}"
    ".method h2{margin-top:.3em}"
    ".tw{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;width:100%;font-size:.82em;margin:.3em 0 1em}"
    "caption{text-align:left;font-style:italic;padding:2px 0}"
    "th,td{border-bottom:1px solid #ddd;padding:3px 5px;vertical-align:top}"
    "td{text-align:right;white-space:nowrap}th{text-align:left;font-weight:normal}"
    "thead th{font-weight:bold;text-align:right;overflow-wrap:anywhere}"
    "thead th:first-child{text-align:left}"
    ".s{font-weight:bold;display:block}.ci,.n{display:block;color:#555;font-size:.9em}"
    "tr.den td,tr.den th{font-style:italic;border-top:1px solid #999}"
    "p.note{color:#444;font-size:.9em}"
    "@media (max-width:600px){body{font-size:14px}table{font-size:.72em}"
    "th,td{padding:2px 3px}}"
    "@media print{nav{display:none}figure,table{break-inside:avoid}h2{break-after:avoid}"
    "main{max-width:none}}";

/* A manifest's text, whole, parsed; NULL when the file has none or it cannot be read. */
static mx_json_value_t *manifest_of(const char *file) {
    char *path = mx_manifest_path(file), err[128];
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    mx_json_value_t *v = buf && n < (1 << 20) ? mx_json_parse(buf, n, err, sizeof(err)) : NULL;
    free(buf);
    return v;
}

static const char *str_at(const mx_json_value_t *v, const char *a, const char *b) {
    const mx_json_value_t *x = mx_json_get(v, a);
    const char *s = mx_json_string(b ? mx_json_get(x, b) : x);
    return s ? s : "";
}

static double num_at(const mx_json_value_t *v, const char *a, const char *b) {
    const mx_json_value_t *x = mx_json_get(mx_json_get(v, a), b);
    return x && x->type == MX_JSON_NUM ? x->num : 0;
}

static void item(FILE *f, const char *dt, const char *dd) {
    fputs("<dt>", f);
    T(f, dt);
    fputs("</dt><dd>", f);
    T(f, dd);
    fputs("</dd>\n", f);
}

/* The method box: what was scanned, when, with what, and how healthy the machine was. */
static void method(FILE *f, const mx_html_report_t *r) {
    const mx_trend_snap_t *s = &r->snaps[r->n - 1];
    char buf[512], sha[65];
    fputs("<section class=\"method\" id=\"method\"><h2>Method</h2><dl>\n", f);
    mx_json_value_t *m = manifest_of(s->files[0]);
    double rows = 0, probed = 0, waits = 0, overload = 0, reprobes = 0, longest = 0;
    for (int i = 0; i < s->nfiles; i++) {
        mx_json_value_t *x = i ? manifest_of(s->files[i]) : m;
        rows += num_at(x, "counts", "rows");
        probed += num_at(x, "counts", "hosts_probed");
        waits += num_at(x, "health", "local_waits");
        overload += num_at(x, "health", "overload_rows");
        reprobes += num_at(x, "health", "reprobes");
        longest = fmax(longest, num_at(x, "health", "longest_wait_ms"));
        if (i)
            mx_json_value_free(x);
    }
    if (m) {
        snprintf(buf, sizeof(buf), "%s (SHA-256 %s)", str_at(m, "input", "file"),
                 str_at(m, "input", "sha256"));
        item(f, "Domain list", buf);
        const mx_json_value_t *runs = mx_json_get(m, "runs");
        const mx_json_value_t *first = runs ? runs->kid : NULL, *last = first;
        while (last && last->next)
            last = last->next;
        snprintf(buf, sizeof(buf), "%s to %s (%s)", str_at(first, "start", NULL),
                 str_at(last, "end", NULL), str_at(last, "status", NULL));
        item(f, "Scanned", buf);
        snprintf(buf, sizeof(buf), "mxtls %s, mbedTLS %s, curves %s",
                 str_at(m, "versions", "mxtls"), str_at(m, "versions", "mbedtls"),
                 str_at(m, "versions", "curves"));
        item(f, "Scanner", buf);
        item(f, "EHLO name", str_at(m, "ehlo", NULL));
    } else {
        item(f, "Source",
             "a file without a manifest (farm truth, or a copy): what the rows say "
             "is all that is known");
    }
    for (int i = 0; i < s->nfiles && i < 8; i++) {
        snprintf(buf, sizeof(buf), "%s (SHA-256 %s)", s->files[i],
                 mx_sha256_file(s->files[i], sha) == 0 ? sha : "unreadable");
        item(f, i ? "" : "Files", buf);
    }
    if (s->nfiles > 8)
        item(f, "", "…");
    snprintf(buf, sizeof(buf), "%llu domains", r->domains);
    if (m)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ", %.0f rows, %.0f hosts probed",
                 rows, probed);
    item(f, "Counted", buf);
    if (m) {
        snprintf(buf, sizeof(buf),
                 "%.0f probes waited locally (longest %.1f s), %.0f probed again, %.0f rows "
                 "lost to local overload",
                 waits, longest / 1000, reprobes, overload);
        item(f, "Scan health", buf);
    }
    item(f, "Intervals", "95 % Wilson score intervals; hosts are unique (MX host, address) pairs");
    fputs("</dl></section>\n", f);
    mx_json_value_free(m);
}

static const mx_tally_row_t *find(const mx_trend_snap_t *s, const char *section, const char *metric,
                                  const char *bucket) {
    return mx_rows_find(s->rows, s->nrows, section, metric, bucket);
}

/* The denominator of SECTION in BUCKET: that of any of its rows. */
static unsigned long long den_of(const mx_trend_snap_t *s, const char *section,
                                 const char *bucket) {
    for (long i = 0; i < s->nrows; i++)
        if (!strcmp(s->rows[i].section, section) && !strcmp(s->rows[i].bucket, bucket))
            return (unsigned long long)s->rows[i].den;
    return 0;
}

static void attr(FILE *f, const char *name, const char *v) {
    fprintf(f, " %s=\"", name);
    T(f, v);
    fputc('"', f);
}

/* A denominator cell of SECTION in BUCKET. */
static void den_cell(FILE *f, const mx_trend_snap_t *s, const char *section, const char *bucket) {
    fputs("<td class=\"d\"", f);
    attr(f, "data-bucket", bucket);
    fprintf(f, ">%llu</td>", den_of(s, section, bucket));
}

/* One cell: share, interval and numerator as text; the keys as attributes. */
static void cell(FILE *f, const mx_tally_row_t *r, const char *metric, const char *bucket) {
    fputs("<td", f);
    attr(f, "data-metric", metric);
    attr(f, "data-bucket", bucket);
    if (!r || !r->den) {
        fputs(">–</td>", f);
        return;
    }
    double lo, hi;
    mx_wilson(r->num, r->den, &lo, &hi);
    fprintf(f,
            "><span class=\"s\">%.2f %%</span><span class=\"ci\">%.2f–%.2f</span>"
            "<span class=\"n\">%llu</span></td>",
            100.0 * (double)r->num / (double)r->den, 100 * lo, 100 * hi,
            (unsigned long long)r->num);
}

#define MAXN 256

/* The metrics (at most TOP of the largest in "all") and buckets of KIND of SECTION. */
static void names(const mx_trend_snap_t *s, const char *section, mx_bucket_kind_t kind,
                  unsigned top, const char **m, int *nm, const char **b, int *nb) {
    *nm = *nb = 0;
    for (long i = 0; i < s->nrows; i++) {
        const mx_tally_row_t *r = &s->rows[i];
        if (strcmp(r->section, section) != 0 || !mx_bucket_is(r->bucket, kind))
            continue;
        if (!strcmp(r->bucket, "all") && (!top || *nm < (int)top))
            mx_names_add(m, nm, MAXN, r->metric);
        mx_names_add(b, nb, MAXN, r->bucket);
    }
}

static void table_open(FILE *f, const char *section, const char *kind, const char *caption) {
    fputs("<div class=\"tw\"><table class=\"cmp\"", f);
    attr(f, "data-section", section);
    attr(f, "data-kind", kind);
    fputs("><caption>", f);
    T(f, caption);
    fputs("</caption>\n", f);
}

/* A section's comparison table: metrics as rows, buckets as columns, denominators last. With
 * BY_ROW, the other way round (buckets as rows), for the wide provider comparison. */
static void table(FILE *f, const mx_trend_snap_t *s, const char *section, mx_bucket_kind_t kind,
                  unsigned top) {
    const char *m[MAXN], *b[MAXN];
    int nm, nb;
    names(s, section, kind, top, m, &nm, b, &nb);
    int by_row = kind == MX_BUCKETS_PROVIDER;
    table_open(f, section, by_row ? "provider" : "rank",
               by_row ? "Per provider: share (bold), 95 % interval, count; the last column is "
                        "the denominator"
                      : "Per rank bucket: share (bold), 95 % interval, count; the last row is "
                        "the denominator");
    const char *const *cols = by_row ? m : b, *const *rows = by_row ? b : m;
    int ncols = by_row ? nm : nb, nrows = by_row ? nb : nm;
    fputs("<thead><tr><th>", f);
    fputs(by_row ? "bucket" : "metric", f);
    fputs("</th>", f);
    for (int c = 0; c < ncols; c++) {
        fputs("<th>", f);
        T(f, cols[c]);
        fputs("</th>", f);
    }
    fputs(by_row ? "<th>of</th></tr></thead><tbody>\n" : "</tr></thead><tbody>\n", f);
    for (int r = 0; r < nrows; r++) {
        fputs("<tr><th>", f);
        T(f, rows[r]);
        fputs("</th>", f);
        for (int c = 0; c < ncols; c++) {
            const char *metric = by_row ? cols[c] : rows[r], *bucket = by_row ? rows[r] : cols[c];
            cell(f, find(s, section, metric, bucket), metric, bucket);
        }
        if (by_row)
            den_cell(f, s, section, rows[r]);
        fputs("</tr>\n", f);
    }
    if (!by_row) {
        fputs("<tr class=\"den\"><th>of</th>", f);
        for (int c = 0; c < ncols; c++)
            den_cell(f, s, section, cols[c]);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

static void heading(FILE *f, const char *tag, const char *text, const char *suffix) {
    char id[256];
    fprintf(f, "<%s id=\"%s%s\">", tag, mx_slug(text, id, sizeof(id)), suffix);
    T(f, text);
    fprintf(f, "</%s>\n", tag);
}

/* A figure's opening, with TEXT's id for links (the chart carries the title). */
static void heading_figure(FILE *f, const char *text, const char *suffix) {
    char id[256];
    fprintf(f, "<figure id=\"%s%s\">", mx_slug(text, id, sizeof(id)), suffix);
}

/* Each section of FAMILY in the last snapshot: chart and table. */
static void family(FILE *f, const mx_html_report_t *r, const char *fam) {
    const mx_trend_snap_t *s = &r->snaps[r->n - 1];
    int opened = 0;
    for (long i = 0; i < s->nrows; i++) {
        const char *section = s->rows[i].section;
        if ((i && !strcmp(s->rows[i - 1].section, section)) ||
            strcmp(mx_stats_family(section), fam) != 0)
            continue;
        if (!opened) {
            fputs("<section>", f);
            heading(f, "h2", fam, "");
            opened = 1;
        }
        unsigned top = mx_stats_is_top(section) ? 20 : 0;
        heading_figure(f, section, "");
        mx_chart_section(f, s->rows, s->nrows, section, MX_BUCKETS_RANK, top);
        fputs("</figure>\n", f);
        table(f, s, section, MX_BUCKETS_RANK, top);
    }
    if (!strcmp(fam, "Mail providers")) {
        /* Every domain section again, compared across the largest providers and the tail (but
         * DNS status: a provider's domains are mail domains by definition). */
        for (long i = 0; i < s->nrows; i++) {
            const char *section = s->rows[i].section;
            const char *m[MAXN], *b[MAXN];
            int nm, nb;
            if ((i && !strcmp(s->rows[i - 1].section, section)) || !strncmp(section, "hosts:", 6) ||
                !strcmp(section, mx_stats_provider_section) ||
                !strcmp(mx_stats_family(section), "Mail domains"))
                continue;
            names(s, section, MX_BUCKETS_PROVIDER, 0, m, &nm, b, &nb);
            if (nb < 2)
                continue;
            if (!opened) {
                fputs("<section>", f);
                heading(f, "h2", fam, "");
                opened = 1;
            }
            char title[300];
            snprintf(title, sizeof(title), "%s, by provider", section);
            heading_figure(f, title, "");
            mx_chart_section(f, s->rows, s->nrows, section, MX_BUCKETS_PROVIDER, 0);
            fputs("</figure>\n", f);
            table(f, s, section, MX_BUCKETS_PROVIDER, 0);
        }
    }
    if (opened)
        fputs("</section>\n", f);
}

/* The trends: each domain section's "all" bucket over the snapshots, a line chart and a table
 * with a row per snapshot. */
static void trends(FILE *f, const mx_html_report_t *r) {
    const char **sections;
    long ns = mx_trend_sections(r->snaps, r->n, &sections);
    if (ns < 0)
        return;
    fputs("<section>", f);
    heading(f, "h2", "Trends", "");
    fprintf(f, "<p class=\"note\">%d snapshots, oldest first: ", r->n);
    for (int k = 0; k < r->n; k++) {
        fputs(k ? ", " : "", f);
        T(f, r->snaps[k].label);
    }
    fputs(".</p>\n", f);
    for (long i = 0; i < ns; i++) {
        char title[300];
        const char *m[MAXN];
        int nm = 0;
        snprintf(title, sizeof(title), "%s, over time", sections[i]);
        heading_figure(f, title, "");
        mx_chart_trend(f, r->snaps, r->n, sections[i], "all");
        fputs("</figure>\n", f);
        for (int k = 0; k < r->n; k++)
            for (long j = 0; j < r->snaps[k].nrows; j++)
                if (!strcmp(r->snaps[k].rows[j].section, sections[i]) &&
                    !strcmp(r->snaps[k].rows[j].bucket, "all"))
                    mx_names_add(m, &nm, MAXN, r->snaps[k].rows[j].metric);
        table_open(f, sections[i], "trend",
                   "Per snapshot (bucket all): share (bold), 95 % interval, count; the last "
                   "column is the denominator");
        fputs("<thead><tr><th>snapshot</th>", f);
        for (int c = 0; c < nm; c++) {
            fputs("<th>", f);
            T(f, m[c]);
            fputs("</th>", f);
        }
        fputs("<th>of</th></tr></thead><tbody>\n", f);
        for (int k = 0; k < r->n; k++) {
            fputs("<tr><th>", f);
            T(f, r->snaps[k].label);
            fputs("</th>", f);
            for (int c = 0; c < nm; c++)
                cell(f, find(&r->snaps[k], sections[i], m[c], "all"), m[c], r->snaps[k].label);
            fprintf(f, "<td class=\"d\">%llu</td></tr>\n",
                    den_of(&r->snaps[k], sections[i], "all"));
        }
        fputs("</tbody></table></div>\n", f);
    }
    fputs("</section>\n", f);
    free(sections);
}

int mx_html_report(FILE *f, const mx_html_report_t *r) {
    char now[24];
    mx_utc_now(now, sizeof(now));
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    T(f, r->title);
    fprintf(f,
            "</title>\n<meta name=\"generator\" content=\"mxtls %s\">\n<style>%s</style>\n"
            "</head><body><main>\n<h1>",
            MXTLS_VERSION, css);
    T(f, r->title);
    fprintf(f, "</h1>\n<p class=\"note\">Made by mxtls %s on %s from the snapshot of %s.</p>\n",
            MXTLS_VERSION, now, r->snaps[r->n - 1].label);
    method(f, r);
    fputs("<nav><h2>Contents</h2><ul>\n", f);
    for (const char *const *fam = mx_stats_families; *fam; fam++) {
        char id[128];
        int any = 0;
        for (long i = 0; i < r->snaps[r->n - 1].nrows && !any; i++)
            any = !strcmp(mx_stats_family(r->snaps[r->n - 1].rows[i].section), *fam);
        if (any) {
            fprintf(f, "<li><a href=\"#%s\">", mx_slug(*fam, id, sizeof(id)));
            T(f, *fam);
            fputs("</a></li>\n", f);
        }
    }
    if (r->n > 1)
        fputs("<li><a href=\"#trends\">Trends</a></li>\n", f);
    fputs("</ul></nav>\n", f);
    for (const char *const *fam = mx_stats_families; *fam; fam++)
        family(f, r, *fam);
    if (r->n > 1)
        trends(f, r);
    fputs("</main></body></html>\n", f);
    return ferror(f) ? -1 : 0;
}
