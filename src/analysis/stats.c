/* Adoption statistics (mxtls/stats.h). Rows arrive domain by domain: each row updates its
 * domain's summary (constant size) and, the first time its (mx_host, ip) is seen, the host
 * metrics; when the domain changes, its summary becomes domain metrics. Memory is the set of
 * host hashes and the distinct names counted, never the rows. */
#include "mxtls/stats.h"

#include <arpa/inet.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/domsum.h"
#include "mxtls/error.h"
#include "mxtls/hashset.h"
#include "mxtls/hash.h"
#include "mxtls/providers.h"

#define S_DNS "domains: DNS status"
#define S_D_STARTTLS "domains: STARTTLS on every / some / no MX"
#define S_D_UNKNOWN "domains: MX hosts whose STARTTLS is unknown"
#define S_D_PRIMARY "domains: TLS on the primary MX"
#define S_D_BEST "domains: best protocol across the MX hosts"
#define S_D_VALID "domains: every MX's certificate verifies"
#define S_D_STRICT "domains: every MX verifies and matches its name"
#define S_D_PROVIDER "domains: provider of the primary MX"
#define S_D_OVERLOAD "domains: a host the scanner could not measure (local_overload)"
#define S_D_STS "domains: MTA-STS (RFC 8461)"
#define S_D_STS_FAIL "domains: MTA-STS policy not read, by reason"
#define S_D_STS_MX "domains: MTA-STS policy names the MX hosts (testing or enforce)"
#define S_D_STS_DELIVER "domains: a strict MTA-STS sender would deliver (testing or enforce)"
#define S_D_RPT "domains: TLS-RPT (RFC 8460)"
#define S_D_DNSSEC "domains: MX answer DNSSEC-validated"
#define S_D_DANE "domains: DANE on the MX hosts (RFC 7672)"
#define S_H_CONN "hosts: connection"
#define S_H_GREETING "hosts: greeting code"
#define S_H_STARTTLS "hosts: STARTTLS offered"
#define S_H_UNKNOWN "hosts: STARTTLS unknown (probe ended before)"
#define S_H_TLS "hosts: TLS outcome"
#define S_H_VERSION "hosts: protocol version"
#define S_H_CIPHER "hosts: cipher suite"
#define S_H_PROPS "hosts: forward secrecy and AEAD"
#define S_H_GROUP "hosts: key exchange"
#define S_H_KEY "hosts: certificate key"
#define S_H_VALID "hosts: certificate verification"
#define S_H_NAME "hosts: certificate name"
#define S_H_SELF "hosts: self-signed certificate"
#define S_H_EXPIRY "hosts: certificate expiry"
#define S_H_ISSUER "hosts: certificate issuer"
#define S_H_CHAIN "hosts: chain length"
#define S_H_CAPS "hosts: EHLO extensions"
#define S_H_DANE "hosts: DANE"

const char *const mx_stats_overload_section = S_D_OVERLOAD;

const char *const mx_stats_top_sections[] = {S_D_PROVIDER, S_H_CIPHER, S_H_ISSUER, S_H_CAPS, NULL};

int mx_stats_is_top(const char *section) {
    for (const char *const *t = mx_stats_top_sections; *t; t++)
        if (!strcmp(*t, section))
            return 1;
    return 0;
}

struct mx_stats {
    mx_tally_t *t;
    mx_hashset_t hosts;
    time_t at;
    mx_domsum_acc_t acc;
    unsigned long long domains;
    int nomem;
    mx_providers_t *prov; /* domain metrics per provider, for the top ones */
    unsigned top;
    int in_domain; /* counting a domain's metrics: the provider counts them too */
};

static void domain_done(void *ud, const mx_domsum_t *d);

mx_stats_t *mx_stats_new(time_t at) {
    mx_stats_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->t = mx_tally_new()) || !(s->prov = mx_providers_new())) {
        if (s)
            mx_tally_free(s->t);
        free(s);
        return NULL;
    }
    s->at = at;
    mx_domsum_init(&s->acc, domain_done, s);
    /* Reports list sections in this order: domains first, then hosts. */
    static const char *const order[] = {
        S_DNS,       S_D_STARTTLS, S_D_UNKNOWN, S_D_OVERLOAD, S_D_PRIMARY, S_D_BEST,     S_D_VALID,
        S_D_STRICT,  S_D_PROVIDER, S_H_CONN,    S_H_GREETING, S_H_UNKNOWN, S_H_STARTTLS, S_H_TLS,
        S_H_VERSION, S_H_CIPHER,   S_H_PROPS,   S_H_GROUP,    S_H_KEY,     S_H_VALID,    S_H_NAME,
        S_H_SELF,    S_H_EXPIRY,   S_H_ISSUER,  S_H_CHAIN,    S_H_CAPS};
    static const char *const buckets[] = {"all", "top 1k", "top 10k", "top 100k", "top 1M", "rest"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        for (size_t k = 0; k < (strncmp(order[i], "domains:", 8) == 0 ? 6u : 1u); k++)
            if (mx_tally_den(s->t, order[i], buckets[k], 0) < 0) {
                mx_stats_free(s);
                return NULL;
            }
    return s;
}

const char *mx_stats_family(const char *section) {
    static const struct {
        const char *section, *family;
    } map[] = {{S_DNS, "Mail domains"},
               {S_D_STARTTLS, "STARTTLS"},
               {S_D_UNKNOWN, "STARTTLS"},
               {S_H_CONN, "STARTTLS"},
               {S_H_GREETING, "STARTTLS"},
               {S_H_UNKNOWN, "STARTTLS"},
               {S_H_STARTTLS, "STARTTLS"},
               {S_D_PRIMARY, "TLS on the primary MX"},
               {S_H_TLS, "TLS on the primary MX"},
               {S_D_BEST, "Best protocol"},
               {S_H_VERSION, "Best protocol"},
               {S_H_GROUP, "Key exchange and cipher"},
               {S_H_CIPHER, "Key exchange and cipher"},
               {S_H_PROPS, "Key exchange and cipher"},
               {S_D_VALID, "Certificates"},
               {S_D_STRICT, "Certificates"},
               {S_H_KEY, "Certificates"},
               {S_H_VALID, "Certificates"},
               {S_H_NAME, "Certificates"},
               {S_H_SELF, "Certificates"},
               {S_H_EXPIRY, "Certificates"},
               {S_H_ISSUER, "Certificates"},
               {S_H_CHAIN, "Certificates"},
               {S_H_CAPS, "EHLO extensions"},
               {S_D_STS, "Mail security policies"},
               {S_D_STS_FAIL, "Mail security policies"},
               {S_D_STS_MX, "Mail security policies"},
               {S_D_STS_DELIVER, "Mail security policies"},
               {S_D_RPT, "Mail security policies"},
               {S_D_DNSSEC, "Mail security policies"},
               {S_D_DANE, "Mail security policies"},
               {S_H_DANE, "Mail security policies"},
               {S_D_PROVIDER, "Mail providers"},
               {S_D_OVERLOAD, "Scan health"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].section, section))
            return map[i].family;
    return "Other";
}

const char *const mx_stats_families[] = {"Mail domains",
                                         "STARTTLS",
                                         "TLS on the primary MX",
                                         "Best protocol",
                                         "Key exchange and cipher",
                                         "Certificates",
                                         "EHLO extensions",
                                         "Mail security policies",
                                         "Mail providers",
                                         "Scan health",
                                         "Other",
                                         NULL};

const char *const mx_stats_provider_section = S_D_PROVIDER;

void mx_provider_of(const char *host, char *out, size_t cap) {
    static psl_ctx_t *psl;
    unsigned char a[16];
    if (*host == '[' || inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1) {
        snprintf(out, cap, "%s", host); /* an address literal has no registrable domain */
        return;
    }
    if (!psl) /* the newest list on the system (Debian's publicsuffix), else the built-in one */
        psl = psl_latest(NULL);
    const char *reg = psl ? psl_registrable_domain(psl, host) : NULL;
    snprintf(out, cap, "%s", reg ? reg : host);
}

void mx_stats_set_providers(mx_stats_t *s, unsigned top) {
    s->top = top;
}

/* Section counters: the denominator of SECTION in the domain's buckets (or "all"), and in the
 * domain's provider. */
static void den(mx_stats_t *s, const char *section, const char *const *buckets) {
    for (; *buckets; buckets++)
        if (mx_tally_den(s->t, section, *buckets, 1) < 0)
            s->nomem = 1;
    if (s->in_domain && mx_providers_add(s->prov, section, NULL, 1) < 0)
        s->nomem = 1;
}

/* Adds N (0: names the metric) to METRIC; a domain's metric must be a constant. */
static void add(mx_stats_t *s, const char *section, const char *const *buckets, const char *metric,
                int n) {
    for (; *buckets; buckets++)
        if (mx_tally_add(s->t, section, *buckets, metric, (uint64_t)n) < 0)
            s->nomem = 1;
    if (s->in_domain && mx_providers_add(s->prov, section, metric, (uint32_t)n) < 0)
        s->nomem = 1;
}

static void num(mx_stats_t *s, const char *section, const char *const *buckets,
                const char *metric) {
    add(s, section, buckets, metric, 1);
}

/* A yes/no metric of a section whose denominator the caller counts: named even when 0, so that
 * a metric nobody has is still reported. */
static void mark(mx_stats_t *s, const char *section, const char *const *b, const char *metric,
                 int yes) {
    add(s, section, b, metric, yes ? 1 : 0);
}

/* A section of one yes/no metric. */
static void flag(mx_stats_t *s, const char *section, const char *const *b, const char *metric,
                 int yes) {
    den(s, section, b);
    mark(s, section, b, metric, yes);
}

static void categorical(mx_stats_t *s, const char *section, const char *const *b,
                        const char *metric) {
    den(s, section, b);
    num(s, section, b, metric);
}

/* The sts_policy tokens (docs/schema.md), as the constants metrics must be. */
static const char *const sts_faults[] = {"dns_nxdomain",
                                         "dns_nodata",
                                         "dns_servfail",
                                         "dns_refused",
                                         "dns_timeout",
                                         "excluded",
                                         "connect_refused",
                                         "connect_timeout",
                                         "connect_error",
                                         "tls",
                                         "cert_invalid",
                                         "cert_name",
                                         "timeout",
                                         "http_syntax",
                                         "http_truncated",
                                         "http_too_large",
                                         "http_redirect",
                                         "http_status",
                                         "content_type",
                                         "policy_syntax",
                                         "policy_version",
                                         "policy_mode",
                                         "policy_max_age",
                                         "policy_mx",
                                         "local_overload",
                                         "out_of_memory",
                                         NULL};

/* The entry of TABLE equal to S (a metric is counted by its constant's address), or "other". */
static const char *constant(const char *const *table, const char *s) {
    for (; *table; table++)
        if (!strcmp(*table, s))
            return *table;
    return "other";
}

/* The MTA-STS, TLS-RPT, DNSSEC and DANE metrics of a mail domain, from the columns of
 * --policy (a file made without it has none). */
static void policy_metrics(mx_stats_t *s, const mx_domsum_t *d, const char *const *b) {
    const char *sts = mx_domsum_sts(d), *dane = mx_domsum_dane(d), *rpt = d->rpt_record;
    if (sts)
        categorical(s, S_D_STS, b,
                    !strcmp(sts, "enforce")   ? "mode enforce"
                    : !strcmp(sts, "testing") ? "mode testing"
                    : !strcmp(sts, "none")    ? "mode none"
                                              : sts);
    if (sts && !strcmp(sts, "policy not read"))
        categorical(s, S_D_STS_FAIL, b, constant(sts_faults, d->sts_policy));
    if (sts && (!strcmp(sts, "enforce") || !strcmp(sts, "testing")) && d->sts_hosts) {
        categorical(s, S_D_STS_MX, b,
                    d->sts_match == d->sts_hosts ? "every MX matches"
                    : d->sts_match               ? "some MX match"
                                                 : "no MX matches");
        den(s, S_D_STS_DELIVER, b);
        mark(s, S_D_STS_DELIVER, b, "a matching MX verifies for its name", d->sts_deliver);
        mark(s, S_D_STS_DELIVER, b, "every matching MX verifies for its name",
             d->sts_match && !d->sts_failing);
    }
    if (!strcmp(rpt, "ok") || !strcmp(rpt, "none") || !strcmp(rpt, "invalid") ||
        !strcmp(rpt, "multiple"))
        categorical(s, S_D_RPT, b,
                    !strcmp(rpt, "ok")     ? "valid record, with its rua"
                    : !strcmp(rpt, "none") ? "no record"
                                           : "invalid record");
    if (!strcmp(d->mx_dnssec, "secure") || !strcmp(d->mx_dnssec, "insecure"))
        flag(s, S_D_DNSSEC, b, "signed and validated", !strcmp(d->mx_dnssec, "secure"));
    if (dane)
        categorical(s, S_D_DANE, b, dane);
}

/* A domain is complete: its summary becomes domain metrics. */
static void domain_done(void *ud, const mx_domsum_t *d) {
    mx_stats_t *s = ud;
    const char *b[6] = {"all"};
    int nb = 1;
    if (d->rank > 0) {
        static const long tops[] = {1000, 10000, 100000, 1000000};
        static const char *const names[] = {"top 1k", "top 10k", "top 100k", "top 1M"};
        for (int i = 0; i < 4; i++)
            if (d->rank <= tops[i])
                b[nb++] = names[i];
        if (d->rank > 1000000)
            b[nb++] = "rest";
    }
    b[nb] = NULL;
    s->domains++;
    categorical(s, S_DNS, b, d->status);
    if (!d->mail)
        return;
    char prov[256];
    if (d->prim_host[0])
        mx_provider_of(d->prim_host, prov, sizeof(prov));
    if (mx_providers_domain(s->prov, d->prim_host[0] ? prov : NULL) < 0 ||
        mx_providers_add(s->prov, S_DNS, NULL, 1) < 0 ||
        mx_providers_add(s->prov, S_DNS, !strcmp(d->status, "mx") ? "mx" : "implicit", 1) < 0)
        s->nomem = 1;
    s->in_domain = 1;
    int any = d->known > 0;
    flag(s, S_D_OVERLOAD, b, MX_STATS_OVERLOADED, d->overload > 0);
    den(s, S_D_UNKNOWN, b);
    mark(s, S_D_UNKNOWN, b, "every MX host unknown", !any);
    mark(s, S_D_UNKNOWN, b, "some MX hosts unknown", any && d->unknown > 0);
    if (any) {
        const char *st = mx_domsum_starttls(d);
        categorical(s, S_D_STARTTLS, b,
                    !strcmp(st, "every")  ? "every MX"
                    : !strcmp(st, "some") ? "some MX"
                                          : "no MX");
        static const char *const best[] = {"none", "legacy (TLS 1.1 and older)", "TLSv1.2",
                                           "TLSv1.3"};
        categorical(s, S_D_BEST, b, best[d->best]);
        flag(s, S_D_VALID, b, "every MX's certificate verifies", d->valid_all);
        flag(s, S_D_STRICT, b, "every MX verifies and matches", d->strict_all);
    }
    if (d->prim_known)
        flag(s, S_D_PRIMARY, b, "TLS completes on every primary MX", d->prim_tls_all);
    policy_metrics(s, d, b);
    s->in_domain = 0; /* the provider section is counted from the providers at the end */
}

static time_t iso_time(const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static uint64_t host_hash(const char *host, const char *ip) {
    uint64_t h = mx_hash_more(mx_hash(host), " ", 1);
    return mx_hash_more(h, ip, strlen(ip));
}

/* Each '|'-separated item of LIST counted as a metric of SECTION. */
static void items(mx_stats_t *s, const char *section, const char *const *b, const char *list) {
    char item[128];
    while (*list) {
        size_t n = strcspn(list, "|");
        snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) ? n : sizeof(item) - 1), list);
        if (*item)
            num(s, section, b, item);
        list += n + (list[n] == '|');
    }
}

static void host_metrics(mx_stats_t *s, const mx_record_t *r) {
    static const char *const b[] = {"all", NULL};
    const char *conn = mx_record_get(r, MX_COL_CONN), *code = mx_record_get(r, MX_COL_BANNER_CODE);
    const char *st = mx_record_get(r, MX_COL_STARTTLS), *tls = mx_record_get(r, MX_COL_TLS);
    categorical(s, S_H_CONN, b, conn);
    if (*mx_record_get(r, MX_COL_DANE))
        categorical(s, S_H_DANE, b, mx_record_get(r, MX_COL_DANE));
    if (!strcmp(conn, "excluded") || !strcmp(conn, "skipped"))
        return;
    /* local_overload: the scanner, not the server, ended the probe; what it learnt of the
     * server stands, but not as an answer to whether TLS works (mxtls/record.h). */
    int known = !strcmp(conn, "ok") && code[0] == '2' && *st &&
                strcmp(mx_record_get(r, MX_COL_ERROR), MX_LOCAL_OVERLOAD) != 0;
    flag(s, S_H_UNKNOWN, b, "unknown", !known);
    if (!strcmp(conn, "ok"))
        categorical(s, S_H_GREETING, b, *code ? code : "none");
    const char *ehlo = mx_record_get(r, MX_COL_EHLO_CODE);
    if (ehlo[0] == '2') {
        den(s, S_H_CAPS, b);
        items(s, S_H_CAPS, b, mx_record_get(r, MX_COL_EHLO_CAPS));
    }
    if (!known)
        return;
    flag(s, S_H_STARTTLS, b, "offered", !strcmp(st, "yes"));
    if (strcmp(st, "yes") != 0)
        return;
    categorical(s, S_H_TLS, b, *tls ? tls : "none");
    if (strcmp(tls, "ok") != 0 && strcmp(tls, "legacy") != 0)
        return;
    const char *ver = mx_record_get(r, MX_COL_TLS_VERSION),
               *cipher = mx_record_get(r, MX_COL_TLS_CIPHER);
    categorical(s, S_H_VERSION, b, *ver ? ver : "unknown");
    categorical(s, S_H_CIPHER, b, *cipher ? cipher : "unknown");
    int tls13 = !strcmp(ver, "TLSv1.3");
    den(s, S_H_PROPS, b);
    /* TLS 1.3 suites are all forward-secret AEADs; before, the suite name says. */
    mark(s, S_H_PROPS, b, "forward secrecy",
         tls13 || strstr(cipher, "_ECDHE_") || strstr(cipher, "_DHE_"));
    mark(s, S_H_PROPS, b, "AEAD",
         tls13 || strstr(cipher, "_GCM_") || strstr(cipher, "_CCM") ||
             strstr(cipher, "CHACHA20_POLY1305"));
    categorical(s, S_H_GROUP, b,
                *mx_record_get(r, MX_COL_TLS_GROUP) ? mx_record_get(r, MX_COL_TLS_GROUP)
                                                    : "unknown");
    if (!*mx_record_get(r, MX_COL_CERT_SHA256))
        return;
    const char *valid = mx_record_get(r, MX_COL_CERT_VALID);
    categorical(s, S_H_KEY, b,
                *mx_record_get(r, MX_COL_CERT_KEY) ? mx_record_get(r, MX_COL_CERT_KEY) : "unknown");
    den(s, S_H_VALID, b);
    mark(s, S_H_VALID, b, "verifies", !strcmp(valid, "ok"));
    if (strcmp(valid, "ok") != 0)
        items(s, S_H_VALID, b, valid);
    flag(s, S_H_NAME, b, "matches the MX host name",
         !strcmp(mx_record_get(r, MX_COL_CERT_NAME_MATCH), "yes"));
    flag(s, S_H_SELF, b, "self-signed", strstr(valid, "self_signed") != NULL);
    categorical(s, S_H_ISSUER, b,
                *mx_record_get(r, MX_COL_CERT_ISSUER) ? mx_record_get(r, MX_COL_CERT_ISSUER)
                                                      : "unknown");
    categorical(s, S_H_CHAIN, b,
                *mx_record_get(r, MX_COL_CHAIN_LEN) ? mx_record_get(r, MX_COL_CHAIN_LEN)
                                                    : "unknown");
    time_t at = *mx_record_get(r, MX_COL_SCANNED_AT) ? iso_time(mx_record_get(r, MX_COL_SCANNED_AT))
                                                     : s->at;
    time_t after = iso_time(mx_record_get(r, MX_COL_CERT_NOT_AFTER));
    if (at && after) {
        den(s, S_H_EXPIRY, b);
        mark(s, S_H_EXPIRY, b, "expired", after < at);
        mark(s, S_H_EXPIRY, b, "expires within 30 days", after >= at && after - at < 30 * 86400);
    }
}

int mx_stats_row(mx_stats_t *s, const mx_record_t *r) {
    const char *host = mx_record_get(r, MX_COL_MX_HOST), *ip = mx_record_get(r, MX_COL_IP);
    mx_domsum_row(&s->acc, r);
    if (*host && *ip) {
        int added = mx_hashset_add(&s->hosts, host_hash(host, ip));
        if (added < 0)
            s->nomem = 1;
        else if (added)
            host_metrics(s, r);
    }
    if (s->acc.nomem)
        s->nomem = 1;
    return s->nomem ? MX_E_NOMEM : mx_domsum_repeated(&s->acc) ? MX_E_REGROUPED : 0;
}

const char *mx_stats_repeated(const mx_stats_t *s) {
    return mx_domsum_repeated(&s->acc);
}

int mx_stats_end(mx_stats_t *s) {
    mx_domsum_end(&s->acc);
    if (!s->nomem &&
        (mx_providers_share(s->prov, s->t, S_D_PROVIDER, MX_STATS_PROVIDERS_LISTED) < 0 ||
         (s->top && mx_providers_tally(s->prov, s->t, s->top) < 0)))
        s->nomem = 1;
    return s->nomem ? MX_E_NOMEM : 0;
}

long mx_stats_rows(const mx_stats_t *s, mx_tally_row_t **out) {
    long n = mx_tally_rows(s->t, out), kept = 0;
    for (long i = 0; i < n; i++)
        if (!strcmp((*out)[i].bucket, "all") ||
            (*out)[i].den != mx_tally_den_of(s->t, (*out)[i].section, "all"))
            (*out)[kept++] = (*out)[i];
    return n < 0 ? n : kept;
}

const mx_tally_t *mx_stats_tally(const mx_stats_t *s) {
    return s->t;
}

unsigned long long mx_stats_domains(const mx_stats_t *s) {
    return s->domains;
}

void mx_stats_free(mx_stats_t *s) {
    if (!s)
        return;
    mx_tally_free(s->t);
    mx_hashset_close(&s->hosts);
    mx_domsum_close(&s->acc);
    mx_providers_free(s->prov);
    free(s);
}
