/* mxtls report: one self-contained HTML file (inline CSS and SVG, no script, no external
 * asset) with the survey's method, a chart and a comparison table per statistics section, the
 * per-provider breakdowns and, over several snapshots, the trends. Every number in its tables
 * is the one `mxtls stats --format json` gives for the same input. */
#ifndef MXTLS_HTML_REPORT_H
#define MXTLS_HTML_REPORT_H

#include <stdio.h>

#include "mxtls/charts.h"

typedef struct {
    const char *title;
    const mx_trend_snap_t *snaps; /* oldest first; the last is the one reported */
    int n;                        /* more than one: a trends part follows */
    unsigned long long domains;   /* domain groups of the last */
} mx_html_report_t;

/* Writes the report to F. Returns 0, or -1 when writing failed. */
int mx_html_report(FILE *f, const mx_html_report_t *r);

#endif
