/* Adoption statistics of one snapshot (mxtls stats): rows in, named shares out (mxtls/tally.h).
 *
 * Definitions (the README's section on the command says the same in words):
 * - a mail domain has dns_status mx or implicit;
 * - a host row is known when its probe got as far as knowing whether STARTTLS is offered: conn ok,
 *   a 2xx greeting and a starttls value. Every other row (no address, excluded, skipped, a probe
 *   that ended before) is unknown: never counted as "no STARTTLS";
 * - a domain's primary MX is every MX record with its lowest preference;
 * - a host is a unique (mx_host, ip); host metrics count each once however many domains name it.
 * Domain metrics are also given per rank bucket when ranks are present. */
#ifndef MXTLS_STATS_H
#define MXTLS_STATS_H

#include <time.h>

#include "mxtls/record.h"
#include "mxtls/tally.h"

typedef struct mx_stats mx_stats_t;

/* How many of the largest providers the provider section lists (reports show twenty). */
#define MX_STATS_PROVIDERS_LISTED 100

/* Sections whose rows are cut to the largest twenty in reports (suites, issuers, providers …). */
extern const char *const mx_stats_top_sections[];

/* Whether SECTION is one of those long lists. */
int mx_stats_is_top(const char *section);

/* The section counting, per bucket, the mail domains with a host row error=local_overload, and
 * its metric: how far the scanning machine's overload can move a domain share. */
extern const char *const mx_stats_overload_section;
#define MX_STATS_OVERLOADED "a host lost to scanner overload"

/* The family a section belongs to in reports (STARTTLS, Certificates, ...), and every family
 * in the order reports give them (NULL-terminated). */
const char *mx_stats_family(const char *section);
extern const char *const mx_stats_families[];

/* The section of the primary MX's provider (a long list of names, not a share to compare). */
extern const char *const mx_stats_provider_section;

/* A new accumulator. AT is the time certificate expiry is judged against for rows without
 * scanned_at (0: such rows are left out of the expiry metrics). NULL when out of memory. */
mx_stats_t *mx_stats_new(time_t at);

/* Breaks every domain metric down by the TOP providers with the most domains (buckets
 * "provider: NAME") and gives it once without them (mxtls/providers.h); 0, the default: not. */
void mx_stats_set_providers(mx_stats_t *s, unsigned top);

/* Counts one row; a domain's rows must come together (as scan files have them). Returns 0,
 * MX_E_NOMEM, or MX_E_REGROUPED once a domain has begun twice (mx_stats_repeated() names it):
 * its rows would count as two domains, so the numbers are not to be used. */
int mx_stats_row(mx_stats_t *s, const mx_record_t *rec);

/* The first domain whose rows were not together, or NULL. */
const char *mx_stats_repeated(const mx_stats_t *s);

/* Ends the last domain; call once after the last row. Returns 0 or MX_E_NOMEM. */
int mx_stats_end(mx_stats_t *s);

/* The rows to report (mx_tally_rows(), free() the array), less the buckets that hold every
 * domain of their section, which would repeat "all". Returns how many, or MX_E_NOMEM. */
long mx_stats_rows(const mx_stats_t *s, mx_tally_row_t **out);

/* The counts so far. */
const mx_tally_t *mx_stats_tally(const mx_stats_t *s);

/* Domain groups counted. */
unsigned long long mx_stats_domains(const mx_stats_t *s);

/* The registrable domain (Public Suffix List) of HOST into OUT; HOST itself when it has none
 * (an address literal, a public suffix). */
void mx_provider_of(const char *host, char *out, size_t cap);

void mx_stats_free(mx_stats_t *s);

#endif
