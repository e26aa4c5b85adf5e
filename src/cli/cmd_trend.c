/* mxtls trend SNAPSHOT-FILE... [--format csv|json|svg] [-o OUT|DIR] [--at DATE]: every domain
 * metric over many snapshots, oldest first, as a long-form table, JSON series, or one line
 * chart per section. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/snapshots.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls trend [--format csv|json|svg] [-o OUT] [--at YYYY-MM-DD]\n"
               "                   [--providers N] SCAN.csv.gz...\n"
               "  the files are any number of snapshots, each a file or its shard set (told by\n"
               "  their manifests), ordered by when their scans began; files without a manifest\n"
               "  (farm truth) are one snapshot each, in the order given; --format svg -o DIR\n"
               "  writes one line chart per section into DIR\n");
}

int mx_cmd_trend(int argc, char **argv) {
    static const struct option opts[] = {{"format", 1, 0, 'f'}, {"output", 1, 0, 'o'},
                                         {"at", 1, 0, 'a'},     {"providers", 1, 0, 'p'},
                                         {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *out = NULL, *format = "csv";
    time_t at = 0;
    unsigned long top = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "csv") && strcmp(optarg, "json") && strcmp(optarg, "svg")) {
                fprintf(stderr, "mxtls trend: --format is csv, json or svg, not '%s'\n", optarg);
                return 1;
            }
            format = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'a':
            if (mx_arg_date("trend", "--at", optarg, &at) < 0)
                return 1;
            break;
        case 'p':
            if (mx_arg_uint("trend", "--providers", optarg, 0, 1000, &top) < 0)
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
    int svg = !strcmp(format, "svg");
    if (svg && !out) {
        fprintf(stderr, "mxtls trend: --format svg needs -o DIR, the folder for the charts\n");
        return 1;
    }
    mx_snapshots_t s;
    if (mx_snapshots_load("trend", argv + optind, argc - optind, at, (unsigned)top, &s) < 0) {
        mx_snapshots_free(&s);
        return 2;
    }
    int rc = 0;
    if (svg) {
        int files = mx_charts_dir("trend", out, NULL, 0, s.snaps, s.n);
        if (files >= 0)
            fprintf(stderr, "mxtls trend: %d snapshots, %d charts in %s\n", s.n, files, out);
        rc = files < 0 ? 2 : 0;
    } else {
        FILE *f = out ? fopen(out, "w") : stdout;
        if (!f) {
            fprintf(stderr, "mxtls trend: %s: cannot create it\n", out);
            mx_snapshots_free(&s);
            return 2;
        }
        int wr =
            mx_trend_write(f, !strcmp(format, "json") ? MX_FMT_JSON : MX_FMT_CSV, s.snaps, s.n);
        if ((out && fclose(f) != 0) || wr < 0 || (!out && fflush(f) != 0)) {
            fprintf(stderr, "mxtls trend: %s: write failed\n", out ? out : "standard output");
            rc = 2;
        }
    }
    mx_snapshots_free(&s);
    return rc;
}
