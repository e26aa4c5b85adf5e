/* Tables of shares for the analysis commands: each metric with numerator, denominator, share
 * and its 95 % Wilson score interval, written as aligned text, Markdown, long-form CSV or JSON. */
#ifndef MXTLS_REPORT_H
#define MXTLS_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mxtls/json.h"
#include "mxtls/tally.h"

typedef enum { MX_FMT_TEXT, MX_FMT_MD, MX_FMT_CSV, MX_FMT_JSON } mx_format_t;

/* Parses "text", "md", "csv" or "json". Returns 0, or -1 for anything else. */
int mx_format_parse(const char *s, mx_format_t *out);

/* The 95 % Wilson score interval of NUM successes in DEN trials; [0, 0] when DEN is 0. */
void mx_wilson(uint64_t num, uint64_t den, double *lo, double *hi);

typedef struct {
    const char *title;               /* heading of the text and Markdown forms */
    const char *const *top_sections; /* NULL-terminated: sections cut to their TOP largest rows */
    unsigned top;
    char *const *inputs; /* the files counted, named with their SHA-256 in JSON */
    int ninputs;
} mx_report_opts_t;

/* What a JSON report opens with: the mxtls version and when it was made. */
void mx_report_json_head(mx_json_t *j);

/* The member KEY: the N files of INPUTS with their SHA-256. */
void mx_report_json_inputs(mx_json_t *j, const char *key, char *const *inputs, int n);

/* The snake_case ids of a row's section, metric and bucket, as JSON members or CSV fields. */
void mx_report_json_ids(mx_json_t *j, const mx_tally_row_t *r);
void mx_report_csv_ids(FILE *f, const mx_tally_row_t *r);

/* The RFC 4180 form of S into OUT (CAP bytes, at least 8; cut to fit). Names in reports come
 * from scan files and mail headers: control characters (C0, DEL, C1) become '?' and a leading
 * formula character gets a ' (as the scan writer does). Returns the length written. */
size_t mx_csv_quote(const char *s, char *out, size_t cap);

/* Writes N rows (in order, grouped by section and bucket) to F. Returns 0, or -1 when writing
 * failed. */
int mx_report_write(FILE *f, mx_format_t fmt, const mx_tally_row_t *rows, long n,
                    const mx_report_opts_t *o);

#endif
