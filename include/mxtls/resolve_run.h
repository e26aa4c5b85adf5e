/* mxtls resolve as an entry point of the engine: the DNS stage alone over a domain list, every
 * domain's MX hosts and addresses (or the reason there are none) written through the row
 * builder as the DNS columns of scan rows. A dry run of a survey's first half, and the DNS
 * stage's test driver. */
#ifndef MXTLS_RESOLVE_RUN_H
#define MXTLS_RESOLVE_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "mxtls/netlist.h"
#include "mxtls/options.h"

typedef struct {
    const char *list;
    mx_dns_opts_t dns;
    const mx_netlist_t *allow; /* every resolver must be inside it */
} mx_resolve_run_config_t;

typedef struct {
    unsigned long long domains, rows, queries, answers, timeouts, cache_hits;
    unsigned long damaged_at; /* the list's line where it was found damaged, 0 when whole */
} mx_resolve_summary_t;

/* Resolves and writes the rows to OUT. Returns 0; 1 when a resolver is outside --allow
 * (nothing was sent); 2 when the list cannot be read or the resolver answered nothing. ERR
 * gets a one-line message when not 0; SUM the counts either way. */
int mx_resolve_run(const mx_resolve_run_config_t *cfg, FILE *out, mx_resolve_summary_t *sum,
                   char *err, size_t errlen);

#endif
