/* What changed between two snapshots (mxtls diff): per-domain transitions over the domains in
 * both, counted in a tally, with each changed domain handed to a callback, and the statistics
 * (mxtls/stats.h) of each snapshot for comparing their shares. The old snapshot is read first
 * and kept as a compact summary per domain; the new one is streamed against it. */
#ifndef MXTLS_DIFF_H
#define MXTLS_DIFF_H

#include <time.h>

#include "mxtls/record.h"
#include "mxtls/stats.h"
#include "mxtls/tally.h"

typedef struct mx_diff mx_diff_t;

/* The fields a change row carries, each with its old and new value. */
#define MX_DIFF_FIELDS(X)                                                                          \
    X(STARTTLS, "starttls")                                                                        \
    X(BEST, "best_protocol")                                                                       \
    X(VALID, "cert_valid_all")                                                                     \
    X(CERT, "cert_sha256")                                                                         \
    X(ISSUER, "cert_issuer")                                                                       \
    X(PROVIDER, "provider")                                                                        \
    X(MX, "mx_hosts")                                                                              \
    X(STS, "mta_sts")                                                                              \
    X(RPT, "tls_rpt")                                                                              \
    X(DNSSEC, "mx_dnssec")                                                                         \
    X(DANE, "dane")

typedef enum {
#define X(id, name) MX_DIFF_##id,
    MX_DIFF_FIELDS(X)
#undef X
        MX_DIFF__COUNT
} mx_diff_field_t;

/* A domain that changed: old and new value of each field, NULL where the field did not change. */
typedef struct {
    const char *domain;
    const char *old_value[MX_DIFF__COUNT], *new_value[MX_DIFF__COUNT];
} mx_diff_change_t;

typedef void (*mx_diff_change_fn)(void *ud, const mx_diff_change_t *c);

/* Column name of a change field. */
const char *mx_diff_field_name(mx_diff_field_t f);

/* A new comparison; AT as for mx_stats_new(); FN (may be NULL) receives each changed domain.
 * NULL when out of memory. */
mx_diff_t *mx_diff_new(time_t at, mx_diff_change_fn fn, void *ud);

/* Rows of the old snapshot (all of them first), then of the new one; a domain's rows together.
 * Each returns 0, MX_E_NOMEM or MX_E_REGROUPED (mx_stats_row()). */
int mx_diff_old_row(mx_diff_t *d, const mx_record_t *rec);
int mx_diff_new_row(mx_diff_t *d, const mx_record_t *rec);

/* Ends the input (after the last new row). Returns 0 or MX_E_NOMEM. */
int mx_diff_end(mx_diff_t *d);

/* Domains in both, only old, only new; changes and transition matrices. */
const mx_tally_t *mx_diff_tally(const mx_diff_t *d);

/* The statistics of the old (0) or new (1) snapshot. */
const mx_stats_t *mx_diff_stats(const mx_diff_t *d, int which);

void mx_diff_free(mx_diff_t *d);

/* p-value (two-sided) of the two-proportion z-test of X1/N1 against X2/N2; 1 when undefined. */
double mx_two_proportion_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2);

#endif
