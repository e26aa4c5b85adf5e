/* mxtls diff [options] OLD... -- NEW...: what changed between two snapshots, per domain and in
 * aggregate; --changes OUT writes one row per domain that changed. */
#include <getopt.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "mxtls/diff.h"
#include "mxtls/error.h"
#include "mxtls/json.h"
#include "mxtls/reader.h"
#include "mxtls/report.h"
#include "mxtls/snapshot.h"
#include "mxtls/stats.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: mxtls diff [--format text|md|csv|json] [-o OUT] [--changes OUT.csv.gz]\n"
            "                  [--at YYYY-MM-DD] [--force] OLD.csv.gz... -- NEW.csv.gz...\n"
            "  each side is one snapshot (its shard files); --changes writes one row per domain\n"
            "  that changed, with the old and new values of what changed; --force counts files\n"
            "  whose manifests say they are not one snapshot\n");
}

typedef struct {
    gzFile gz;
    FILE *f;
    int failed;
} changes_t;

static void put(changes_t *c, const char *s) {
    if (c->gz ? gzputs(c->gz, s) < 0 : fputs(s, c->f) < 0)
        c->failed = 1;
}

static void put_field(changes_t *c, const char *s) {
    char buf[2200];
    mx_csv_quote(s, buf, sizeof(buf));
    put(c, buf);
}

static void on_change(void *ud, const mx_diff_change_t *ch) {
    changes_t *c = ud;
    put_field(c, ch->domain);
    for (int f = 0; f < MX_DIFF__COUNT; f++) {
        put(c, ",");
        put_field(c, ch->old_value[f] ? ch->old_value[f] : "");
        put(c, ",");
        put_field(c, ch->new_value[f] ? ch->new_value[f] : "");
    }
    put(c, "\n");
}

/* Reads FILES as one side into D. Returns 0, or -1 on damage (a cut file is only reported). */
static int read_side(mx_diff_t *d, char *const *files, int n, int new_side) {
    mx_reader_t *r;
    mx_record_t rec;
    int rc;
    if (mx_reader_open(&r, (const char *const *)files, n, 1ull << MX_COL_DOMAIN) < 0)
        return -1;
    while ((rc = mx_reader_next(r, &rec)) != 0) {
        if (rc == MX_E_TRUNCATED) {
            fprintf(stderr, "mxtls diff: warning: %s; the rows before the cut are counted\n",
                    mx_reader_error(r));
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "mxtls diff: %s\n", mx_reader_error(r));
            mx_reader_free(r);
            return -1;
        }
        if ((rc = new_side ? mx_diff_new_row(d, &rec) : mx_diff_old_row(d, &rec)) < 0) {
            mx_regrouped_say("diff", rc, r, mx_stats_repeated(mx_diff_stats(d, new_side)));
            mx_reader_free(r);
            return -1;
        }
    }
    mx_reader_free(r);
    return 0;
}

/* The share of N that snapshot SIDE's domains with a host lost to overload make in BUCKET. */
static double overload_share(const mx_diff_t *d, int side, const char *bucket, uint64_t n) {
    uint64_t o = mx_tally_num_of(mx_stats_tally(mx_diff_stats(d, side)), mx_stats_overload_section,
                                 bucket, MX_STATS_OVERLOADED);
    return n ? (double)o / (double)n : 0;
}

/* The domain-level shares of both snapshots, with change and p-value; no p-value where the
 * change is within what the scanners' overload could have made. */
static void compare(FILE *f, mx_format_t fmt, const mx_diff_t *d, mx_json_t *j) {
    mx_tally_row_t *rows[2];
    long n[2];
    n[0] = mx_tally_rows(mx_stats_tally(mx_diff_stats(d, 0)), &rows[0]);
    n[1] = mx_tally_rows(mx_stats_tally(mx_diff_stats(d, 1)), &rows[1]);
    if (n[0] < 0 || n[1] < 0)
        return;
    if (fmt == MX_FMT_TEXT)
        fprintf(f, "\nshares, old -> new (change; two-proportion z-test p)\n");
    else if (fmt == MX_FMT_MD)
        fprintf(f, "\n## Shares, old and new\n\n| section | bucket | metric | old | new | change "
                   "| p |\n|---|---|---|---:|---:|---:|---:|\n");
    if (j)
        mx_json_array(j, "comparison");
    for (int side = 0; side < 2; side++)
        for (long i = 0; i < n[side]; i++) {
            const mx_tally_row_t *r = &rows[side][i];
            if (strncmp(r->section, "domains:", 8) != 0 || strstr(r->section, "provider"))
                continue;
            const mx_tally_t *other = mx_stats_tally(mx_diff_stats(d, !side));
            uint64_t on = mx_tally_num_of(other, r->section, r->bucket, r->metric);
            uint64_t od = mx_tally_den_of(other, r->section, r->bucket);
            if (side == 1 && on) /* listed with the old rows already */
                continue;
            uint64_t x1 = side ? on : r->num, n1 = side ? od : r->den;
            uint64_t x2 = side ? r->num : on, n2 = side ? r->den : od;
            double p1 = n1 ? (double)x1 / n1 : 0, p2 = n2 ? (double)x2 / n2 : 0;
            double p = mx_two_proportion_p(x1, n1, x2, n2);
            /* Each domain with a host lost to overload may have moved this share by one: a
             * change no larger than both snapshots' such domains together is not a finding. */
            double reach =
                overload_share(d, 0, r->bucket, n1) + overload_share(d, 1, r->bucket, n2);
            int within = reach > 0 && fabs(p2 - p1) <= reach;
            if (j) {
                mx_json_object(j, NULL);
                mx_json_str(j, "section", r->section);
                mx_json_str(j, "metric", r->metric);
                mx_json_str(j, "bucket", r->bucket);
                mx_report_json_ids(j, r);
                mx_json_int(j, "old_numerator", (long long)x1);
                mx_json_int(j, "old_denominator", (long long)n1);
                mx_json_int(j, "new_numerator", (long long)x2);
                mx_json_int(j, "new_denominator", (long long)n2);
                mx_json_num(j, "change", p2 - p1, 6);
                if (within)
                    mx_json_str(j, "p_value", NULL);
                else
                    mx_json_num(j, "p_value", p, 6);
                mx_json_bool(j, "within_overload", within);
                mx_json_end_object(j);
            } else if (fmt == MX_FMT_CSV) {
                char pv[32] = "";
                if (!within)
                    snprintf(pv, sizeof(pv), "%.6g", p);
                fprintf(f, "\"%s\",\"%s\",\"%s\",%llu,%llu,%.6f,%llu,%llu,%.6f,%.6f,%s,%d",
                        r->section, r->metric, r->bucket, (unsigned long long)x1,
                        (unsigned long long)n1, p1, (unsigned long long)x2, (unsigned long long)n2,
                        p2, p2 - p1, pv, within);
                mx_report_csv_ids(f, r);
                fputc('\n', f);
            } else {
                char pv[64];
                if (within)
                    snprintf(pv, sizeof(pv), "%s", "within scanner overload");
                else
                    snprintf(pv, sizeof(pv), fmt == MX_FMT_MD ? "%.3g" : "p=%.3g", p);
                if (fmt == MX_FMT_MD)
                    fprintf(f, "| %s | %s | %s | %.2f %% | %.2f %% | %+.2f | %s |\n", r->section,
                            r->bucket, r->metric, 100 * p1, 100 * p2, 100 * (p2 - p1), pv);
                else
                    fprintf(f, "  %-45.45s %-8s %-30.30s %6.2f %% -> %6.2f %% (%+.2f; %s)\n",
                            r->section + 9, r->bucket, r->metric, 100 * p1, 100 * p2,
                            100 * (p2 - p1), pv);
            }
        }
    if (j)
        mx_json_end_array(j);
    free(rows[0]);
    free(rows[1]);
}

int mx_cmd_diff(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", 1, 0, 'f'}, {"output", 1, 0, 'o'}, {"changes", 1, 0, 'c'},
        {"at", 1, 0, 'a'},     {"force", 0, 0, 'F'},  {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    mx_format_t fmt = MX_FMT_TEXT;
    const char *out = NULL, *changes_path = NULL;
    time_t at = 0;
    int c, force = 0;
    /* Options go anywhere (GNU style) and "--" only separates OLD from NEW: it is swapped for a
     * marker that getopt takes for a file, and which keeps its place among the files. */
    static char marker[] = "\x01--";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            argv[i] = marker;
            break;
        }
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (mx_format_parse(optarg, &fmt) < 0) {
                fprintf(stderr, "mxtls diff: --format is text, md, csv or json, not '%s'\n",
                        optarg);
                return 1;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            changes_path = optarg;
            break;
        case 'a':
            if (mx_arg_date("diff", "--at", optarg, &at) < 0)
                return 1;
            break;
        case 'F':
            force = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    int sep = -1;
    for (int i = optind; i < argc; i++)
        if (argv[i] == marker) {
            sep = i;
            break;
        }
    if (sep < 0 || sep == optind || sep == argc - 1) {
        fprintf(stderr, "mxtls diff: give OLD files, then --, then NEW files (see --help)\n");
        return 1;
    }
    if (!force && (mx_snapshot_check("diff", argv + optind, sep - optind) < 0 ||
                   mx_snapshot_check("diff", argv + sep + 1, argc - sep - 1) < 0))
        return 2;
    changes_t ch = {0};
    if (changes_path) {
        size_t l = strlen(changes_path);
        if (l > 3 && strcmp(changes_path + l - 3, ".gz") == 0)
            ch.gz = gzopen(changes_path, "wb");
        else
            ch.f = fopen(changes_path, "w");
        if (!ch.gz && !ch.f) {
            fprintf(stderr, "mxtls diff: %s: cannot create it\n", changes_path);
            return 2;
        }
        put(&ch, "domain");
        for (int f = 0; f < MX_DIFF__COUNT; f++) {
            char h[64];
            snprintf(h, sizeof(h), ",%s_old,%s_new", mx_diff_field_name((mx_diff_field_t)f),
                     mx_diff_field_name((mx_diff_field_t)f));
            put(&ch, h);
        }
        put(&ch, "\n");
    }
    mx_diff_t *d = mx_diff_new(at, changes_path ? on_change : NULL, &ch);
    int status = 0;
    if (!d) {
        fprintf(stderr, "mxtls diff: out of memory\n");
        return 2;
    }
    if (read_side(d, argv + optind, sep - optind, 0) < 0 ||
        read_side(d, argv + sep + 1, argc - sep - 1, 1) < 0 || mx_diff_end(d) < 0) {
        mx_diff_free(d);
        return 2;
    }
    if (changes_path) {
        int bad = ch.failed || (ch.gz ? gzclose(ch.gz) != Z_OK : fclose(ch.f) != 0);
        if (bad) {
            fprintf(stderr, "mxtls diff: %s: write failed\n", changes_path);
            status = 2;
        }
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "mxtls diff: %s: cannot create it\n", out);
        mx_diff_free(d);
        return 2;
    }
    mx_tally_row_t *rows;
    long n = mx_tally_rows(mx_diff_tally(d), &rows);
    mx_report_opts_t o = {"mxtls diff", NULL, 0, NULL, 0};
    if (n >= 0) {
        if (fmt == MX_FMT_JSON) {
            /* Both tables in one document: the report's JSON, then the comparison. */
            mx_json_t j;
            mx_json_init(&j);
            mx_json_object(&j, NULL);
            mx_report_json_head(&j);
            mx_report_json_inputs(&j, "old", argv + optind, sep - optind);
            mx_report_json_inputs(&j, "new", argv + sep + 1, argc - sep - 1);
            mx_json_array(&j, "changes");
            for (long i = 0; i < n; i++) {
                mx_json_object(&j, NULL);
                mx_json_str(&j, "section", rows[i].section);
                mx_json_str(&j, "metric", rows[i].metric);
                mx_report_json_ids(&j, &rows[i]);
                mx_json_int(&j, "numerator", (long long)rows[i].num);
                mx_json_int(&j, "denominator", (long long)rows[i].den);
                mx_json_end_object(&j);
            }
            mx_json_end_array(&j);
            compare(f, fmt, d, &j);
            mx_json_end_object(&j);
            if (mx_json_status(&j) == 0)
                fprintf(f, "%s\n", j.buf);
            mx_json_free(&j);
        } else if (fmt == MX_FMT_CSV) {
            fprintf(f, "section,metric,bucket,old_numerator,old_denominator,old_share,"
                       "new_numerator,new_denominator,new_share,change,p_value,within_overload,"
                       "section_id,metric_id,bucket_id\n");
            for (long i = 0; i < n; i++) {
                fprintf(f, "\"%s\",\"%s\",\"%s\",,,,%llu,%llu,%.6f,,,", rows[i].section,
                        rows[i].metric, rows[i].bucket, (unsigned long long)rows[i].num,
                        (unsigned long long)rows[i].den,
                        rows[i].den ? (double)rows[i].num / rows[i].den : 0.0);
                mx_report_csv_ids(f, &rows[i]);
                fputc('\n', f);
            }
            compare(f, fmt, d, NULL);
        } else {
            mx_report_write(f, fmt, rows, n, &o);
            compare(f, fmt, d, NULL);
        }
        free(rows);
    }
    if ((out ? fclose(f) : fflush(f)) != 0) {
        fprintf(stderr, "mxtls diff: %s: write failed\n", out ? out : "standard output");
        status = 2;
    }
    mx_diff_free(d);
    return status;
}
