/* mxtls stats SCAN... [--format text|md|csv|json] [-o OUT] [--at DATE]: adoption statistics of
 * one snapshot (all its shard files), streaming. A file cut short is reported and what it held
 * is counted; any other damage stops with exit status 2. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "mxtls/charts.h"
#include "mxtls/error.h"
#include "mxtls/reader.h"
#include "mxtls/report.h"
#include "mxtls/snapshot.h"
#include "mxtls/stats.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls stats [--format text|md|csv|json|svg] [-o OUT] [--at YYYY-MM-DD]\n"
               "                   [--providers N] [--force] SCAN.csv.gz...\n"
               "  the files are one snapshot (its shards); --at is the date certificate expiry\n"
               "  is judged against for rows without scanned_at (farm truth files); --force\n"
               "  counts files whose manifests say they are not one snapshot; --providers N\n"
               "  breaks the domain metrics down by the N largest providers (10; 0: not);\n"
               "  --format svg -o DIR writes one chart per section into DIR\n");
}

void mx_regrouped_say(const char *cmd, int rc, const mx_reader_t *r, const char *domain) {
    if (rc != MX_E_REGROUPED) {
        fprintf(stderr, "mxtls %s: %s\n", cmd, mx_strerror(rc));
        return;
    }
    fprintf(stderr,
            "mxtls %s: %s, row %llu: the rows of %s came before, apart from these: a reordered "
            "file or one given twice, whose domains would be counted twice; nothing is "
            "reported (mxtls check tells more)\n",
            cmd, mx_reader_file(r), (unsigned long long)mx_reader_row_number(r), domain);
}

int mx_stats_read(const char *cmd, char *const *files, int n, mx_stats_t *s) {
    mx_reader_t *r;
    mx_record_t rec;
    unsigned long long rows = 0, overload = 0;
    int rc, cut = 0;
    if (mx_reader_open(&r, (const char *const *)files, n, 1ull << MX_COL_DOMAIN) < 0) {
        fprintf(stderr, "mxtls %s: out of memory\n", cmd);
        return -1;
    }
    while ((rc = mx_reader_next(r, &rec)) != 0) {
        if (rc == MX_E_TRUNCATED) {
            fprintf(stderr, "mxtls %s: warning: %s; the rows before the cut are counted\n", cmd,
                    mx_reader_error(r));
            cut = 1;
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "mxtls %s: %s\n", cmd, mx_reader_error(r));
            mx_reader_free(r);
            return -1;
        }
        rows++;
        overload += !strcmp(mx_record_get(&rec, MX_COL_ERROR), MX_LOCAL_OVERLOAD);
        if ((rc = mx_stats_row(s, &rec)) < 0) {
            mx_regrouped_say(cmd, rc, r, mx_stats_repeated(s));
            mx_reader_free(r);
            return -1;
        }
    }
    mx_reader_free(r);
    if (mx_stats_end(s) < 0) {
        fprintf(stderr, "mxtls %s: out of memory\n", cmd);
        return -1;
    }
    /* Above 0.1 %, the scanning machine's overload is large enough to matter to a share. */
    if (overload * 1000 > rows)
        fprintf(stderr,
                "mxtls %s: warning: %s%s: %llu of %llu rows (%.2f %%) are local_overload: the "
                "scanning machine was overloaded, and those hosts count as unknown\n",
                cmd, files[0], n > 1 ? " and its other shard files" : "", overload, rows,
                100.0 * (double)overload / (double)rows);
    return cut;
}

int mx_cmd_stats(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", 1, 0, 'f'},    {"output", 1, 0, 'o'}, {"at", 1, 0, 'a'}, {"force", 0, 0, 'F'},
        {"providers", 1, 0, 'p'}, {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    mx_format_t fmt = MX_FMT_TEXT;
    const char *out = NULL;
    time_t at = 0;
    int c, force = 0, svg = 0;
    unsigned long top = 10;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            svg = !strcmp(optarg, "svg");
            if (!svg && mx_format_parse(optarg, &fmt) < 0) {
                fprintf(stderr, "mxtls stats: --format is text, md, csv, json or svg, not '%s'\n",
                        optarg);
                return 1;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'a':
            if (mx_arg_date("stats", "--at", optarg, &at) < 0)
                return 1;
            break;
        case 'F':
            force = 1;
            break;
        case 'p':
            if (mx_arg_uint("stats", "--providers", optarg, 0, 1000, &top) < 0)
                return 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 1;
    }
    if (svg && !out) {
        fprintf(stderr, "mxtls stats: --format svg needs -o DIR, the folder for the charts\n");
        return 1;
    }
    if (!force && mx_snapshot_check("stats", argv + optind, argc - optind) < 0)
        return 2;
    mx_stats_t *s = mx_stats_new(at);
    if (!s) {
        fprintf(stderr, "mxtls stats: out of memory\n");
        return 2;
    }
    mx_stats_set_providers(s, (unsigned)top);
    int rc = mx_stats_read("stats", argv + optind, argc - optind, s);
    if (rc < 0) {
        mx_stats_free(s);
        return 2;
    }
    if (svg) {
        mx_tally_row_t *rows;
        long n = mx_stats_rows(s, &rows);
        int files = n < 0 ? -1 : mx_charts_dir("stats", out, rows, n, NULL, 0);
        if (n >= 0)
            free(rows);
        mx_stats_free(s);
        if (files >= 0)
            fprintf(stderr, "mxtls stats: %d charts in %s\n", files, out);
        return files < 0 ? 2 : 0;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "mxtls stats: %s: cannot create it\n", out);
        mx_stats_free(s);
        return 2;
    }
    mx_tally_row_t *rows;
    long n = mx_stats_rows(s, &rows);
    char title[128];
    snprintf(title, sizeof(title), "mxtls stats: %llu domains", mx_stats_domains(s));
    mx_report_opts_t o = {title, mx_stats_top_sections, 20, argv + optind, argc - optind};
    int wr = n < 0 ? -1 : mx_report_write(f, fmt, rows, n, &o);
    if (n >= 0)
        free(rows);
    if ((out && fclose(f) != 0) || wr < 0 || (!out && fflush(f) != 0)) {
        fprintf(stderr, "mxtls stats: %s: write failed\n", out ? out : "standard output");
        mx_stats_free(s);
        return 2;
    }
    mx_stats_free(s);
    return 0;
}
