/* mxtls report SCAN.csv.gz... -o report.html: the latest snapshot given (each a file or its
 * shard set) as one self-contained HTML page, with the trends when there are several. */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/snapshots.h"
#include "mxtls/html_report.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls report [-o report.html] [--title T] [--at YYYY-MM-DD]\n"
               "                    [--providers N] SCAN.csv.gz...\n"
               "  one HTML file (no script, no external asset) of the latest snapshot given,\n"
               "  and the trends over all of them when there are several; snapshots are told\n"
               "  apart as mxtls trend does; --providers N as in mxtls stats (10)\n");
}

int mx_cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"output", 1, 0, 'o'}, {"title", 1, 0, 't'},
                                         {"at", 1, 0, 'a'},     {"providers", 1, 0, 'p'},
                                         {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *out = NULL, *title = "Mail transport security survey";
    time_t at = 0;
    unsigned long top = 10;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 't':
            title = optarg;
            break;
        case 'a':
            if (mx_arg_date("report", "--at", optarg, &at) < 0)
                return 1;
            break;
        case 'p':
            if (mx_arg_uint("report", "--providers", optarg, 0, 1000, &top) < 0)
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
    mx_snapshots_t s;
    if (mx_snapshots_load("report", argv + optind, argc - optind, at, (unsigned)top, &s) < 0) {
        mx_snapshots_free(&s);
        return 2;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "mxtls report: %s: cannot create it\n", out);
        mx_snapshots_free(&s);
        return 2;
    }
    mx_html_report_t r = {title, s.snaps, s.n, mx_stats_domains(s.stats[s.n - 1])};
    int wr = mx_html_report(f, &r), rc = 0;
    if ((out && fclose(f) != 0) || wr < 0 || (!out && fflush(f) != 0)) {
        fprintf(stderr, "mxtls report: %s: write failed\n", out ? out : "standard output");
        rc = 2;
    }
    mx_snapshots_free(&s);
    return rc;
}
