/* Charts of statistics (mxtls/svg.h over mxtls/tally.h rows): a section's shares by bucket as
 * bars, and a metric's shares over snapshots as lines (mxtls trend). */
#ifndef MXTLS_CHARTS_H
#define MXTLS_CHARTS_H

#include <stdio.h>

#include "mxtls/report.h"
#include "mxtls/tally.h"

/* The row of (SECTION, METRIC, BUCKET) among N rows, or NULL. */
const mx_tally_row_t *mx_rows_find(const mx_tally_row_t *rows, long n, const char *section,
                                   const char *metric, const char *bucket);

/* Adds S to LIST (N names, at most MAX) when it is not there yet. */
void mx_names_add(const char **list, int *n, int max, const char *s);

/* Which buckets a chart compares. */
typedef enum { MX_BUCKETS_RANK, MX_BUCKETS_PROVIDER } mx_bucket_kind_t;

/* Whether BUCKET is of KIND ("all" is of both: the reference). */
int mx_bucket_is(const char *bucket, mx_bucket_kind_t kind);

/* The rows of SECTION (N rows sorted as mx_tally_rows() sorts them) as bars: its metrics, at
 * most TOP (0: all) of the largest in "all", one bar per bucket of KIND. Returns 0, 1 when the
 * section has nothing to draw, or -1 when writing failed. */
int mx_chart_section(FILE *f, const mx_tally_row_t *rows, long n, const char *section,
                     mx_bucket_kind_t kind, unsigned top);

/* One snapshot's metrics, in a series over time. */
typedef struct {
    const char *label, *started; /* started: ISO 8601, "" when not known */
    char *const *files;
    int nfiles;
    const mx_tally_row_t *rows;
    long nrows;
} mx_trend_snap_t;

/* The sections of a trend: every section but the long lists of names (providers, suites,
 * issuers, extensions), in the order the snapshots have them. Returns how many were put in
 * *OUT (an array of the rows' own strings, to free()), or MX_E_NOMEM. */
long mx_trend_sections(const mx_trend_snap_t *s, int n, const char ***out);

/* SECTION in BUCKET over the N snapshots as lines, a line per metric. Returns 0, 1 when there
 * is nothing to draw, or -1 when writing failed. */
int mx_chart_trend(FILE *f, const mx_trend_snap_t *s, int n, const char *section,
                   const char *bucket);

/* Every metric of the N snapshots' trend sections as a time series: CSV in long form (a row per
 * snapshot and metric) or JSON (a series per metric). Returns 0, or -1 when writing failed. */
int mx_trend_write(FILE *f, mx_format_t fmt, const mx_trend_snap_t *s, int n);

/* One SVG file per chart into DIR (made when missing): a section's bars for each section of
 * ROWS (and per provider when it has provider buckets), or, with snapshots, each trend section
 * in "all". Says what failed on stderr as "mxtls CMD: ...". Returns the number of files, or -1. */
int mx_charts_dir(const char *cmd, const char *dir, const mx_tally_row_t *rows, long n,
                  const mx_trend_snap_t *s, int nsnaps);

#endif
