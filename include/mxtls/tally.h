/* Named counters for the analysis commands: a table of (section, bucket, metric) -> numerator,
 * with one denominator per (section, bucket). Names are copied; the table grows with the
 * distinct names counted (cipher suites, issuers, providers), never with rows. */
#ifndef MXTLS_TALLY_H
#define MXTLS_TALLY_H

#include <stddef.h>
#include <stdint.h>

typedef struct mx_tally mx_tally_t;

/* One counted metric, as the table reports it. */
typedef struct {
    const char *section, *bucket, *metric;
    uint64_t num, den;
} mx_tally_row_t;

/* An empty table, or NULL when out of memory. */
mx_tally_t *mx_tally_new(void);

/* Adds N to the numerator of METRIC in SECTION / BUCKET. SECTION and BUCKET must be strings
 * that neither move nor change while the table lives (constants): counts are cached by their
 * addresses. Returns 0 or MX_E_NOMEM. */
int mx_tally_add(mx_tally_t *t, const char *section, const char *bucket, const char *metric,
                 uint64_t n);

/* Adds N to the denominator of SECTION / BUCKET (constants, as above). Returns 0 or
 * MX_E_NOMEM. */
int mx_tally_den(mx_tally_t *t, const char *section, const char *bucket, uint64_t n);

/* The numerator of METRIC (0 when never counted) and the denominator of its section. */
uint64_t mx_tally_num_of(const mx_tally_t *t, const char *section, const char *bucket,
                         const char *metric);
uint64_t mx_tally_den_of(const mx_tally_t *t, const char *section, const char *bucket);

/* Every metric counted, sorted by section (in the order sections were first named), bucket (in
 * the same way), then numerator descending and name. Rows point into the table; the array is
 * the caller's to free. Returns the number of rows, or MX_E_NOMEM. */
long mx_tally_rows(const mx_tally_t *t, mx_tally_row_t **out);

/* The metrics of SECTION in BUCKET, in no order, as mx_tally_rows() gives them: one walk of
 * the table, no sorting. Returns how many (the array in *OUT, to free()), or MX_E_NOMEM. */
long mx_tally_rows_of(const mx_tally_t *t, const char *section, const char *bucket,
                      mx_tally_row_t **out);

void mx_tally_free(mx_tally_t *t);

#endif
