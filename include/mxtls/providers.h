/* Domain metrics per mail provider (the registrable domain of the primary MX): which share of
 * the domains the largest providers hold, how each of them does, and how the long tail does on
 * its own. The largest are known only once every domain is counted, so each provider keeps a
 * small counter per domain metric until then; at the end the top N become tally buckets
 * "provider: NAME" and "without the top N providers". */
#ifndef MXTLS_PROVIDERS_H
#define MXTLS_PROVIDERS_H

#include <stdint.h>

#include "mxtls/tally.h"

typedef struct mx_providers mx_providers_t;

/* An empty count, or NULL when out of memory. */
mx_providers_t *mx_providers_new(void);

/* The next counts are a domain of PROVIDER (NULL: a domain with none, counted in no provider
 * but in the tail). Returns 0 or MX_E_NOMEM. */
int mx_providers_domain(mx_providers_t *p, const char *provider);

/* Adds N to METRIC of SECTION (metric NULL: the section's denominator) for the current domain's
 * provider. SECTION and METRIC must be constants (they are compared by address); a metric added
 * with N 0 is still listed, as mx_tally_add() does. Returns 0 or MX_E_NOMEM. */
int mx_providers_add(mx_providers_t *p, const char *section, const char *metric, uint32_t n);

/* Adds to T, for the TOP providers with the most domains (ties by name), each section counted
 * here under bucket "provider: NAME", and under "without the top TOP providers" the "all"
 * bucket of T less those providers. Call once, after every domain. Returns 0 or MX_E_NOMEM. */
int mx_providers_tally(mx_providers_t *p, mx_tally_t *t, unsigned top);

/* Adds the TOP providers' numbers of domains to T as metrics (their names) of SECTION in bucket
 * "all", over the domains of every provider as its denominator: the share of domains each of
 * the largest holds. Only the largest are listed: a million domains have hundreds of thousands
 * of providers, which no report shows and which cost a tally entry each. Returns 0 or
 * MX_E_NOMEM. */
int mx_providers_share(const mx_providers_t *p, mx_tally_t *t, const char *section, unsigned top);

void mx_providers_free(mx_providers_t *p);

#endif
