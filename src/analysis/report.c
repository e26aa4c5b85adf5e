/* Tables of shares (mxtls/report.h). */
#include "mxtls/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/json.h"
#include "mxtls/manifest.h"
#include "mxtls/slug.h"
#include "mxtls/source.h"

int mx_format_parse(const char *s, mx_format_t *out) {
    static const char *const names[] = {"text", "md", "csv", "json"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (mx_format_t)i;
            return 0;
        }
    return -1;
}

void mx_wilson(uint64_t num, uint64_t den, double *lo, double *hi) {
    const double z = 1.959963984540054;
    if (!den) {
        *lo = *hi = 0;
        return;
    }
    double n = (double)den, p = (double)num / n, z2 = z * z;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = centre - half < 0 ? 0 : centre - half;
    *hi = centre + half > 1 ? 1 : centre + half;
}

static int is_top(const mx_report_opts_t *o, const char *section) {
    for (const char *const *s = o->top_sections; s && *s; s++)
        if (strcmp(*s, section) == 0)
            return 1;
    return 0;
}

/* Marks which rows are shown: in a top section, the first TOP rows of each section and bucket
 * (rows come sorted, largest first). One pass: providers alone can be hundreds of thousands. */
static char *shown_rows(const mx_tally_row_t *rows, long n, const mx_report_opts_t *o) {
    char *show = malloc((size_t)n + 1);
    long run = 0;
    if (!show)
        return NULL;
    for (long i = 0; i < n; i++) {
        if (i == 0 || strcmp(rows[i - 1].section, rows[i].section) != 0 ||
            strcmp(rows[i - 1].bucket, rows[i].bucket) != 0)
            run = 0;
        show[i] = !o->top || !is_top(o, rows[i].section) || run < (long)o->top;
        run++;
    }
    return show;
}

size_t mx_csv_quote(const char *s, char *out, size_t cap) {
    size_t n = 0;
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        out[n++] = '"';
    if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
        out[n++] = '\'';
    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"')
            out[n++] = '"';
        if (c == 0xC2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9F)
            s++, c = 0; /* a C1 control, U+0080-U+009F */
        out[n++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    if (quote)
        out[n++] = '"';
    out[n] = 0;
    return n;
}

static void csv_field(FILE *f, const char *s) {
    char buf[2 * 1024 + 8];
    mx_csv_quote(s, buf, sizeof(buf));
    fputs(buf, f);
}

void mx_report_json_head(mx_json_t *j) {
    char now[24];
    mx_utc_now(now, sizeof(now));
    mx_json_str(j, "mxtls", MXTLS_VERSION);
    mx_json_str(j, "generated", now);
}

void mx_report_json_inputs(mx_json_t *j, const char *key, char *const *inputs, int n) {
    char sha[65];
    mx_json_array(j, key);
    for (int i = 0; i < n; i++) {
        mx_json_object(j, NULL);
        mx_json_str(j, "file", inputs[i]);
        mx_json_str(j, "sha256", mx_sha256_file(inputs[i], sha) == 0 ? sha : NULL);
        mx_json_end_object(j);
    }
    mx_json_end_array(j);
}

void mx_report_json_ids(mx_json_t *j, const mx_tally_row_t *r) {
    char id[256];
    mx_json_str(j, "section_id", mx_slug(r->section, id, sizeof(id)));
    mx_json_str(j, "metric_id", mx_slug(r->metric, id, sizeof(id)));
    mx_json_str(j, "bucket_id", mx_slug(r->bucket, id, sizeof(id)));
}

void mx_report_csv_ids(FILE *f, const mx_tally_row_t *r) {
    char a[256], b[256], c[256];
    fprintf(f, ",%s,%s,%s", mx_slug(r->section, a, sizeof(a)), mx_slug(r->metric, b, sizeof(b)),
            mx_slug(r->bucket, c, sizeof(c)));
}

int mx_report_write(FILE *f, mx_format_t fmt, const mx_tally_row_t *rows, long n,
                    const mx_report_opts_t *o) {
    int wm = 6, wb = 6;
    char *show = shown_rows(rows, n, o);
    if (!show)
        return -1;
    for (long i = 0; i < n; i++) {
        int lm = (int)strlen(rows[i].metric), lb = (int)strlen(rows[i].bucket);
        wm = lm > wm ? (lm > 60 ? 60 : lm) : wm;
        wb = lb > wb ? lb : wb;
    }
    if (fmt == MX_FMT_JSON) {
        mx_json_t j;
        mx_json_init(&j);
        mx_json_object(&j, NULL);
        mx_json_str(&j, "title", o->title);
        mx_report_json_head(&j);
        mx_report_json_inputs(&j, "inputs", o->inputs, o->ninputs);
        mx_json_array(&j, "metrics");
        for (long i = 0; i < n; i++) {
            double lo, hi;
            if (!show[i])
                continue;
            mx_wilson(rows[i].num, rows[i].den, &lo, &hi);
            mx_json_object(&j, NULL);
            mx_json_str(&j, "section", rows[i].section);
            mx_json_str(&j, "metric", rows[i].metric);
            mx_json_str(&j, "bucket", rows[i].bucket);
            mx_report_json_ids(&j, &rows[i]);
            mx_json_int(&j, "numerator", (long long)rows[i].num);
            mx_json_int(&j, "denominator", (long long)rows[i].den);
            mx_json_num(&j, "share", rows[i].den ? (double)rows[i].num / rows[i].den : NAN, 6);
            mx_json_num(&j, "ci_low", rows[i].den ? lo : NAN, 6);
            mx_json_num(&j, "ci_high", rows[i].den ? hi : NAN, 6);
            mx_json_end_object(&j);
        }
        mx_json_end_array(&j);
        mx_json_end_object(&j);
        if (mx_json_status(&j) == 0)
            fprintf(f, "%s\n", j.buf);
        mx_json_free(&j);
        free(show);
        return ferror(f) ? -1 : 0;
    }
    if (fmt == MX_FMT_CSV)
        fprintf(f, "section,metric,bucket,numerator,denominator,share,ci_low,ci_high,section_id,"
                   "metric_id,bucket_id\n");
    else if (o->title)
        fprintf(f, fmt == MX_FMT_MD ? "# %s\n" : "%s\n", o->title);
    const char *cur_s = NULL, *cur_b = NULL;
    for (long i = 0; i < n; i++) {
        const mx_tally_row_t *r = &rows[i];
        double lo, hi, share = r->den ? (double)r->num / (double)r->den : 0;
        if (!show[i])
            continue;
        mx_wilson(r->num, r->den, &lo, &hi);
        if (fmt == MX_FMT_CSV) {
            csv_field(f, r->section);
            fputc(',', f);
            csv_field(f, r->metric);
            fputc(',', f);
            csv_field(f, r->bucket);
            if (r->den)
                fprintf(f, ",%llu,%llu,%.6f,%.6f,%.6f", (unsigned long long)r->num,
                        (unsigned long long)r->den, share, lo, hi);
            else
                fprintf(f, ",%llu,0,,,", (unsigned long long)r->num);
            mx_report_csv_ids(f, r);
            fputc('\n', f);
            continue;
        }
        int new_section = !cur_s || strcmp(cur_s, r->section) != 0;
        if (new_section || strcmp(cur_b, r->bucket) != 0) {
            if (fmt == MX_FMT_MD)
                fprintf(f,
                        "\n## %s (%s), of %llu\n\n| metric | count | share | 95 %% CI |\n"
                        "|---|---:|---:|---|\n",
                        r->section, r->bucket, (unsigned long long)r->den);
            else
                fprintf(f, "\n%s (%s), of %llu\n", r->section, r->bucket,
                        (unsigned long long)r->den);
            cur_s = r->section;
            cur_b = r->bucket;
        }
        if (fmt == MX_FMT_MD)
            fprintf(f, "| %s | %llu | %.2f %% | %.2f–%.2f %% |\n", r->metric,
                    (unsigned long long)r->num, 100 * share, 100 * lo, 100 * hi);
        else
            fprintf(f, "  %-*.*s %10llu  %6.2f %%  [%6.2f, %6.2f]\n", wm, wm, r->metric,
                    (unsigned long long)r->num, 100 * share, 100 * lo, 100 * hi);
    }
    free(show);
    return ferror(f) ? -1 : 0;
}
