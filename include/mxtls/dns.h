/* The DNS stage: a domain's MX hosts and their addresses, or the reason there are none
 * (shared/SCHEMA.md dns_status, mx_status), asynchronously with c-ares on the worker's libuv
 * loop. MX hosts' answers are cached for the whole scan: each is resolved once however many
 * domains name it, and domains asking while it is in flight wait on the one query. */
#ifndef MXTLS_DNS_H
#define MXTLS_DNS_H

#include <stdint.h>

#include <uv.h>

#define MX_DNS_MAX_ADDRS 32 /* addresses kept per MX host, the capped ones included */

typedef struct {
    const char *const *resolvers; /* "ADDR[:PORT]" each; none: the system's configuration */
    int nresolvers;
    unsigned timeout_ms;   /* per try (--dns-timeout) */
    unsigned tries;        /* --dns-tries */
    unsigned max_inflight; /* queries in flight (--dns-concurrency) */
    unsigned max_mx, max_addrs;
    int ipv6;   /* AAAA too */
    int policy; /* TXT at _mta-sts and _smtp._tls per domain, TLSA at _25._tcp per MX host */
} mx_dns_config_t;

#define MX_DNS_RDATA_MAX 2048 /* bytes of TXT or TLSA records kept per answer */

/* The records of a TXT or TLSA answer: N of them in DATA, each a two-byte big-endian length
 * and its bytes (TXT: its character-strings joined). */
typedef struct {
    const char *status; /* NULL: not asked; "ok" (records, N > 0), nxdomain, nodata, servfail,
                         * refused, timeout */
    uint8_t ad;         /* the resolver set the AD bit: it validated the answer */
    uint8_t n;
    uint16_t len;
    const uint8_t *data;
} mx_dns_rdata_t;

/* A domain's answer in one allocation, as the engine keeps it until the domain's rows are
 * written: the read-ahead holds tens of thousands of these. */
typedef struct {
    const char *status; /* mx_status: ok nxdomain nodata servfail refused timeout ip_literal
                         * skipped */
    const char *text;   /* the host name (lowercase, no trailing dot), then each address, each
                         * NUL-terminated: mx_dns_next() walks them */
    uint16_t pref;
    uint8_t naddrs;      /* addresses found (at most MX_DNS_MAX_ADDRS) */
    uint8_t nprobe;      /* of which the first nprobe are within --max-addrs */
    mx_dns_rdata_t tlsa; /* _25._tcp.HOST TLSA (with policy) */
} mx_dns_mx_t;

typedef struct {
    const char *status;      /* dns_status: mx implicit null_mx nxdomain nodata servfail refused
                              * timeout */
    int nmx;                 /* MX records (those beyond --max-mx have status "skipped") */
    uint8_t mx_ad;           /* the answer that decided status carried the AD bit */
    mx_dns_rdata_t sts, rpt; /* TXT at _mta-sts.DOMAIN and _smtp._tls.DOMAIN (with policy) */
    const char *sts_host;    /* the A lookup of the policy host mta-sts.DOMAIN, asked when an
                              * MTA-STS record came: NULL (not asked), ok, nxdomain, nodata,
                              * servfail, refused, timeout */
    const char *sts_addr;    /* its first address ("" when none) */
    mx_dns_mx_t mx[];        /* in preference order, ties in answer order; then the texts */
} mx_dns_answer_t;

/* The text after P's NUL: an MX host's first address after its name, the next after that. */
static inline const char *mx_dns_next(const char *p) {
    while (*p)
        p++;
    return p + 1;
}

typedef struct mx_dns mx_dns_t;

/* Called once per domain, from the loop (never from inside mx_dns_resolve), with the answer,
 * which is the callee's to free(); NULL when memory ran out for it. */
typedef void (*mx_dns_cb)(void *ud, const char *domain, mx_dns_answer_t *ans);

/* Creates the stage on LOOP. Returns 0, or -1 with a one-line message in ERR. */
int mx_dns_new(mx_dns_t **out, uv_loop_t *loop, const mx_dns_config_t *cfg, char *err,
               size_t errlen);

/* Resolves DOMAIN (normalised, copied). Returns 0 or MX_E_NOMEM; CB fires exactly once. */
int mx_dns_resolve(mx_dns_t *d, const char *domain, mx_dns_cb cb, void *ud);

typedef struct {
    unsigned long long queries, answers, timeouts, cache_hits, inflight, queued, domains_pending;
    uint64_t last_answer_ms; /* the loop's time of the latest answer (any query), 0: none yet */
} mx_dns_stats_t;

void mx_dns_stats(const mx_dns_t *d, mx_dns_stats_t *out);

/* Asks the resolvers something every resolver answers (the root's NS), to learn whether they
 * answer at all: the answer, or its timeout, shows in mx_dns_stats() only. */
void mx_dns_ping(mx_dns_t *d);

/* 1 when many queries have timed out and none was ever answered: a resolver that answers
 * nothing, so that a scan stops instead of recording a million timeouts. */
int mx_dns_unresponsive(const mx_dns_t *d);

/* Stops: pending lookups complete with "timeout"; handles close with the loop. */
void mx_dns_free(mx_dns_t *d);

#endif
