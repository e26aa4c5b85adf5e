/* Charts and series of statistics (mxtls/charts.h). Reports have a few hundred rows per
 * snapshot, so rows are found by walking them. */
#include "mxtls/charts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mxtls/error.h"
#include "mxtls/json.h"
#include "mxtls/slug.h"
#include "mxtls/stats.h"
#include "mxtls/svg.h"

#define MAX_BARS 64 /* categories or series in one chart */

int mx_bucket_is(const char *bucket, mx_bucket_kind_t kind) {
    int provider = !strncmp(bucket, "provider: ", 10) || !strncmp(bucket, "without the top ", 16);
    return !strcmp(bucket, "all") || (kind == MX_BUCKETS_PROVIDER) == provider;
}

const mx_tally_row_t *mx_rows_find(const mx_tally_row_t *rows, long n, const char *section,
                                   const char *metric, const char *bucket) {
    for (long i = 0; i < n; i++)
        if (!strcmp(rows[i].section, section) && !strcmp(rows[i].bucket, bucket) &&
            !strcmp(rows[i].metric, metric))
            return &rows[i];
    return NULL;
}

void mx_names_add(const char **list, int *n, int max, const char *s) {
    for (int i = 0; i < *n; i++)
        if (!strcmp(list[i], s))
            return;
    if (*n < max)
        list[(*n)++] = s;
}

static void share(const mx_tally_row_t *r, double *v, double *lo, double *hi) {
    if (!r || !r->den) {
        *v = *lo = *hi = NAN;
        return;
    }
    *v = (double)r->num / (double)r->den;
    mx_wilson(r->num, r->den, lo, hi);
}

/* The subject of SECTION: "domains: TLS on the primary MX" -> "TLS on the primary MX". */
static const char *subject(const char *section) {
    const char *c = strstr(section, ": ");
    return c ? c + 2 : section;
}

static const char *unit(const char *section) {
    return !strncmp(section, "hosts:", 6) ? "share of hosts (%), with 95 % intervals"
                                          : "share of domains (%), with 95 % intervals";
}

/* Whether SECTION's metrics are the parts of a whole in "all": their counts add up to the
 * denominator, each domain in exactly one (best protocol, STARTTLS on every / some / none). */
static int parts_of_whole(const mx_tally_row_t *rows, long n, const char *section) {
    uint64_t sum = 0, den = 0;
    for (long i = 0; i < n; i++)
        if (!strcmp(rows[i].section, section) && !strcmp(rows[i].bucket, "all")) {
            sum += rows[i].num;
            den = rows[i].den;
        }
    return den && sum == den;
}

int mx_chart_section(FILE *f, const mx_tally_row_t *rows, long n, const char *section,
                     mx_bucket_kind_t kind, unsigned top) {
    const char *cats[MAX_BARS], *buckets[MAX_BARS];
    int ncats = 0, nb = 0;
    for (long i = 0; i < n; i++) {
        if (strcmp(rows[i].section, section) != 0 || !mx_bucket_is(rows[i].bucket, kind))
            continue;
        if (!strcmp(rows[i].bucket, "all") && (!top || ncats < (int)top))
            mx_names_add(cats, &ncats, MAX_BARS, rows[i].metric);
        mx_names_add(buckets, &nb, MAX_BARS, rows[i].bucket);
    }
    if (!ncats || (kind == MX_BUCKETS_PROVIDER && nb < 2))
        return 1;
    double *v = calloc((size_t)(3 * ncats * nb), sizeof(double));
    mx_svg_series_t se[MAX_BARS];
    if (!v)
        return -1;
    for (int b = 0; b < nb; b++) {
        double *x = v + 3 * ncats * b;
        se[b] = (mx_svg_series_t){buckets[b], x, x + ncats, x + 2 * ncats};
        for (int c = 0; c < ncats; c++)
            share(mx_rows_find(rows, n, section, cats[c], buckets[b]), &x[c], &x[ncats + c],
                  &x[2 * ncats + c]);
    }
    char title[300];
    snprintf(title, sizeof(title), "%s%s", section,
             kind == MX_BUCKETS_PROVIDER ? ", by provider" : "");
    int rc;
    if (kind == MX_BUCKETS_PROVIDER && ncats > 1 && parts_of_whole(rows, n, section)) {
        /* A dozen buckets of several parts each read best as one stacked bar per bucket: the
         * same shares, buckets and metrics swapped. */
        double *w = calloc((size_t)(ncats * nb), sizeof(double));
        mx_svg_series_t parts[MAX_BARS];
        if (!w) {
            free(v);
            return -1;
        }
        for (int c = 0; c < ncats; c++) {
            parts[c] = (mx_svg_series_t){cats[c], w + c * nb, NULL, NULL};
            for (int b = 0; b < nb; b++)
                w[c * nb + b] = v[3 * ncats * b + c];
        }
        const char *shown[MAX_BARS]; /* the title says "by provider": not each label again */
        for (int b = 0; b < nb; b++)
            shown[b] = !strncmp(buckets[b], "provider: ", 10) ? buckets[b] + 10 : buckets[b];
        mx_svg_chart_t ch = {
            title,
            !strncmp(section, "hosts:", 6) ? "share of hosts (%)" : "share of domains (%)",
            "provider",
            shown,
            nb,
            parts,
            ncats};
        rc = mx_svg_stacked(f, &ch);
        free(w);
    } else {
        mx_svg_chart_t ch = {title, unit(section), subject(section), cats, ncats, se, nb};
        rc = mx_svg_bars(f, &ch);
    }
    free(v);
    return rc;
}

long mx_trend_sections(const mx_trend_snap_t *s, int n, const char ***out) {
    long cap = 0;
    for (int k = 0; k < n; k++)
        cap += s[k].nrows;
    const char **list = malloc((size_t)(cap + 1) * sizeof(*list));
    int m = 0;
    if (!list)
        return MX_E_NOMEM;
    for (int k = 0; k < n; k++)
        for (long i = 0; i < s[k].nrows; i++)
            if (!mx_stats_is_top(s[k].rows[i].section))
                mx_names_add(list, &m, (int)cap, s[k].rows[i].section);
    *out = list;
    return m;
}

int mx_chart_trend(FILE *f, const mx_trend_snap_t *s, int n, const char *section,
                   const char *bucket) {
    const char *metrics[MAX_BARS], **cats = calloc((size_t)n + 1, sizeof(*cats));
    int nm = 0;
    if (!cats)
        return -1;
    for (int k = 0; k < n; k++) {
        cats[k] = s[k].label;
        for (long i = 0; i < s[k].nrows; i++)
            if (!strcmp(s[k].rows[i].section, section) && !strcmp(s[k].rows[i].bucket, bucket))
                mx_names_add(metrics, &nm, MAX_BARS, s[k].rows[i].metric);
    }
    if (!nm || !n) {
        free(cats);
        return 1;
    }
    double *v = calloc((size_t)(3 * nm * n), sizeof(double));
    mx_svg_series_t se[MAX_BARS];
    if (!v) {
        free(cats);
        return -1;
    }
    for (int m = 0; m < nm; m++) {
        double *x = v + 3 * n * m;
        se[m] = (mx_svg_series_t){metrics[m], x, x + n, x + 2 * n};
        for (int k = 0; k < n; k++)
            share(mx_rows_find(s[k].rows, s[k].nrows, section, metrics[m], bucket), &x[k],
                  &x[n + k], &x[2 * n + k]);
    }
    char title[300];
    snprintf(title, sizeof(title), "%s (%s), over time", section, bucket);
    mx_svg_chart_t ch = {title, "snapshot", unit(section), cats, n, se, nm};
    int rc = mx_svg_lines(f, &ch);
    free(v);
    free(cats);
    return rc;
}

static void csv_str(FILE *f, const char *s) {
    char buf[1024];
    mx_csv_quote(s, buf, sizeof(buf));
    fputs(buf, f);
}

int mx_trend_write(FILE *f, mx_format_t fmt, const mx_trend_snap_t *s, int n) {
    const char **sections;
    long ns = mx_trend_sections(s, n, &sections);
    if (ns < 0)
        return -1;
    mx_json_t j;
    if (fmt == MX_FMT_JSON) {
        mx_json_init(&j);
        mx_json_object(&j, NULL);
        mx_json_str(&j, "title", "mxtls trend");
        mx_report_json_head(&j);
        mx_json_array(&j, "snapshots");
        for (int k = 0; k < n; k++) {
            mx_json_object(&j, NULL);
            mx_json_str(&j, "label", s[k].label);
            mx_json_str(&j, "started", s[k].started[0] ? s[k].started : NULL);
            mx_report_json_inputs(&j, "inputs", s[k].files, s[k].nfiles);
            mx_json_end_object(&j);
        }
        mx_json_end_array(&j);
        mx_json_array(&j, "series");
    } else {
        fputs("snapshot,started,section,metric,bucket,numerator,denominator,share,ci_low,"
              "ci_high,section_id,metric_id,bucket_id\n",
              f);
    }
    /* Series in the order of the sections, then of the snapshots' rows. */
    for (long sec = 0; sec < ns; sec++) {
        const char *seen[4096][2];
        int nseen = 0;
        for (int k0 = 0; k0 < n; k0++)
            for (long i = 0; i < s[k0].nrows; i++) {
                const mx_tally_row_t *key = &s[k0].rows[i];
                int dup = 0;
                if (strcmp(key->section, sections[sec]) != 0)
                    continue;
                for (int q = 0; q < nseen && !dup; q++)
                    dup = !strcmp(seen[q][0], key->metric) && !strcmp(seen[q][1], key->bucket);
                if (dup || nseen == 4096)
                    continue;
                seen[nseen][0] = key->metric;
                seen[nseen++][1] = key->bucket;
                if (fmt == MX_FMT_JSON) {
                    mx_json_object(&j, NULL);
                    mx_json_str(&j, "section", key->section);
                    mx_json_str(&j, "metric", key->metric);
                    mx_json_str(&j, "bucket", key->bucket);
                    mx_report_json_ids(&j, key);
                    mx_json_array(&j, "points");
                }
                for (int k = 0; k < n; k++) {
                    const mx_tally_row_t *r =
                        mx_rows_find(s[k].rows, s[k].nrows, key->section, key->metric, key->bucket);
                    double v, lo, hi;
                    share(r, &v, &lo, &hi);
                    if (fmt == MX_FMT_JSON) {
                        mx_json_object(&j, NULL);
                        mx_json_str(&j, "snapshot", s[k].label);
                        mx_json_int(&j, "numerator", r ? (long long)r->num : 0);
                        mx_json_int(&j, "denominator", r ? (long long)r->den : 0);
                        mx_json_num(&j, "share", v, 6);
                        mx_json_num(&j, "ci_low", lo, 6);
                        mx_json_num(&j, "ci_high", hi, 6);
                        mx_json_end_object(&j);
                        continue;
                    }
                    csv_str(f, s[k].label);
                    fputc(',', f);
                    csv_str(f, s[k].started);
                    fputc(',', f);
                    csv_str(f, key->section);
                    fputc(',', f);
                    csv_str(f, key->metric);
                    fputc(',', f);
                    csv_str(f, key->bucket);
                    if (r && r->den)
                        fprintf(f, ",%llu,%llu,%.6f,%.6f,%.6f", (unsigned long long)r->num,
                                (unsigned long long)r->den, v, lo, hi);
                    else
                        fprintf(f, ",%llu,%llu,,,", r ? (unsigned long long)r->num : 0ull,
                                r ? (unsigned long long)r->den : 0ull);
                    mx_report_csv_ids(f, key);
                    fputc('\n', f);
                }
                if (fmt == MX_FMT_JSON) {
                    mx_json_end_array(&j);
                    mx_json_end_object(&j);
                }
            }
    }
    free(sections);
    if (fmt == MX_FMT_JSON) {
        mx_json_end_array(&j);
        mx_json_end_object(&j);
        if (mx_json_status(&j) == 0)
            fprintf(f, "%s\n", j.buf);
        mx_json_free(&j);
    }
    return ferror(f) ? -1 : 0;
}

/* Writes one chart into DIR/NAME.svg through FN. Returns 1 when written, 0 when the chart had
 * nothing to draw, -1 on failure (said). */
static int chart_file(const char *cmd, const char *dir, const char *name, const char *suffix,
                      int (*fn)(FILE *, const void *), const void *arg) {
    char id[200], path[4096];
    snprintf(path, sizeof(path), "%s/%s%s.svg", dir, mx_slug(name, id, sizeof(id)), suffix);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mxtls %s: %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    int rc = fn(f, arg);
    if (fclose(f) != 0 || rc < 0) {
        fprintf(stderr, "mxtls %s: %s: write failed\n", cmd, path);
        return -1;
    }
    if (rc == 1)
        remove(path);
    return rc == 0;
}

typedef struct {
    const mx_tally_row_t *rows;
    long n;
    const mx_trend_snap_t *s;
    int ns;
    const char *section;
    mx_bucket_kind_t kind;
} job_t;

static int section_fn(FILE *f, const void *arg) {
    const job_t *j = arg;
    return mx_chart_section(f, j->rows, j->n, j->section, j->kind, 20);
}

static int trend_fn(FILE *f, const void *arg) {
    const job_t *j = arg;
    return mx_chart_trend(f, j->s, j->ns, j->section, "all");
}

int mx_charts_dir(const char *cmd, const char *dir, const mx_tally_row_t *rows, long n,
                  const mx_trend_snap_t *s, int nsnaps) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "mxtls %s: %s: %s\n", cmd, dir, strerror(errno));
        return -1;
    }
    int files = 0, rc = 0;
    if (s) {
        const char **sections;
        long ns = mx_trend_sections(s, nsnaps, &sections);
        if (ns < 0)
            return -1;
        for (long i = 0; i < ns && rc >= 0; i++) {
            job_t j = {NULL, 0, s, nsnaps, sections[i], MX_BUCKETS_RANK};
            files += (rc = chart_file(cmd, dir, sections[i], "", trend_fn, &j)) > 0;
        }
        free(sections);
        return rc < 0 ? -1 : files;
    }
    for (long i = 0; i < n && rc >= 0; i++) {
        if (i && !strcmp(rows[i - 1].section, rows[i].section))
            continue;
        job_t j = {rows, n, NULL, 0, rows[i].section, MX_BUCKETS_RANK};
        files += (rc = chart_file(cmd, dir, rows[i].section, "", section_fn, &j)) > 0;
        j.kind = MX_BUCKETS_PROVIDER;
        if (rc >= 0)
            files +=
                (rc = chart_file(cmd, dir, rows[i].section, "_by_provider", section_fn, &j)) > 0;
    }
    return rc < 0 ? -1 : files;
}
