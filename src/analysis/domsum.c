/* A domain's summary from its rows (mxtls/domsum.h). */
#include "mxtls/domsum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/hash.h"

/* SRC into DST of CAP bytes, cut to fit (snprintf's cost shows on a million domains). */
static void put(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

void mx_domsum_init(mx_domsum_acc_t *a, mx_domsum_fn fn, void *ud) {
    memset(a, 0, sizeof(*a));
    a->fn = fn;
    a->ud = ud;
}

void mx_domsum_end(mx_domsum_acc_t *a) {
    if (a->active)
        a->fn(a->ud, &a->d);
    a->active = 0;
}

void mx_domsum_close(mx_domsum_acc_t *a) {
    mx_hashset_close(&a->seen);
}

const char *mx_domsum_repeated(const mx_domsum_acc_t *a) {
    return a->repeated[0] ? a->repeated : NULL;
}

/* Remembers that NAME begins here; notes it when it began before. */
static void begun(mx_domsum_acc_t *a, const mx_record_t *r, const char *name) {
    if (!strncmp(mx_record_get(r, MX_COL_ERROR), "invalid_", 8))
        return;
    int rc = mx_hashset_add(&a->seen, mx_hash(name));
    if (rc < 0)
        a->nomem = 1;
    else if (rc == 0 && !a->repeated[0])
        put(a->repeated, sizeof(a->repeated), name);
}

/* Inserts HOST into the sorted '|'-list SET unless present (dropped when it does not fit). */
static void set_add(char *set, size_t cap, const char *host) {
    size_t hl = strlen(host), len = strlen(set);
    char *p = set;
    while (*p) {
        size_t n = strcspn(p, "|");
        int c = strncmp(p, host, n < hl ? n : hl);
        if (c == 0 && n == hl)
            return;
        if (c > 0 || (c == 0 && n > hl))
            break;
        p += n + (p[n] == '|');
    }
    if (len + hl + 2 > cap)
        return;
    size_t at = (size_t)(p - set);
    if (at < len) { /* before the item at P */
        memmove(set + at + hl + 1, set + at, len - at + 1);
        memcpy(set + at, host, hl);
        set[at + hl] = '|';
    } else if (len) {
        set[len] = '|';
        memcpy(set + len + 1, host, hl + 1);
    } else {
        memcpy(set, host, hl + 1);
    }
}

/* A host row's part in the domain's MTA-STS and DANE outcomes. */
static void policy_row(mx_domsum_t *d, const mx_record_t *r) {
    static const char *const dane[] = {"none", "insecure", "unusable", "match", "mismatch"};
    const char *dv = mx_record_get(r, MX_COL_DANE), *m = mx_record_get(r, MX_COL_STS_MATCH);
    for (int k = 0; *dv && k < 5; k++)
        if (!strcmp(dv, dane[k]))
            d->dane[k]++;
    if (!*m)
        return;
    d->sts_hosts++;
    if (strcmp(m, "yes") != 0)
        return;
    d->sts_match++;
    /* RFC 8461 4.2: delivery to a matching MX whose certificate verifies for its name. */
    if (!strcmp(mx_record_get(r, MX_COL_TLS), "ok") &&
        !strcmp(mx_record_get(r, MX_COL_CERT_VALID), "ok") &&
        !strcmp(mx_record_get(r, MX_COL_CERT_NAME_MATCH), "yes"))
        d->sts_deliver = 1;
    else
        d->sts_failing++;
}

void mx_domsum_row(mx_domsum_acc_t *a, const mx_record_t *r) {
    mx_domsum_t *d = &a->d;
    const char *name = mx_record_get(r, MX_COL_DOMAIN);
    if (a->active && strcmp(d->name, name) != 0)
        mx_domsum_end(a);
    if (!a->active) {
        /* Field by field: the struct is kilobytes of string buffers, and a million domains
         * would clear gigabytes. */
        d->known = d->offer = d->no_offer = d->unknown = d->best = d->overload = 0;
        d->prim_known = d->prim_tls_all = 0;
        d->prim_host[0] = d->cert[0] = d->cert_cn[0] = d->cert_key[0] = d->cert_issuer[0] = 0;
        d->mx_set[0] = 0;
        d->sts_hosts = d->sts_match = d->sts_deliver = d->sts_failing = 0;
        memset(d->dane, 0, sizeof(d->dane));
        put(d->sts_record, sizeof(d->sts_record), mx_record_get(r, MX_COL_STS_RECORD));
        put(d->sts_policy, sizeof(d->sts_policy), mx_record_get(r, MX_COL_STS_POLICY));
        put(d->sts_mode, sizeof(d->sts_mode), mx_record_get(r, MX_COL_STS_MODE));
        put(d->rpt_record, sizeof(d->rpt_record), mx_record_get(r, MX_COL_TLSRPT_RECORD));
        put(d->mx_dnssec, sizeof(d->mx_dnssec), mx_record_get(r, MX_COL_MX_DNSSEC));
        a->active = 1;
        begun(a, r, name);
        put(d->name, sizeof(d->name), name);
        put(d->status, sizeof(d->status), mx_record_get(r, MX_COL_DNS_STATUS));
        d->rank = atol(mx_record_get(r, MX_COL_RANK));
        d->mail = !strcmp(d->status, "mx") || !strcmp(d->status, "implicit");
        d->strict_all = d->valid_all = 1;
        d->min_pref = -1;
    }
    const char *conn = mx_record_get(r, MX_COL_CONN), *code = mx_record_get(r, MX_COL_BANNER_CODE);
    const char *st = mx_record_get(r, MX_COL_STARTTLS), *tls = mx_record_get(r, MX_COL_TLS);
    const char *host = mx_record_get(r, MX_COL_MX_HOST);
    if (!*host)
        return; /* a domain without MX host: its one row */
    set_add(d->mx_set, sizeof(d->mx_set), host);
    policy_row(d, r);
    int overload = !strcmp(mx_record_get(r, MX_COL_ERROR), MX_LOCAL_OVERLOAD);
    int known = !strcmp(conn, "ok") && code[0] == '2' && *st && !overload;
    d->overload += overload;
    int done = !strcmp(tls, "ok") || !strcmp(tls, "legacy");
    long pref = atol(mx_record_get(r, MX_COL_MX_PREF));
    if (d->min_pref < 0 || pref < d->min_pref) {
        d->min_pref = pref;
        d->prim_known = 0;
        d->prim_tls_all = 1;
        d->cert[0] = 0;
        put(d->prim_host, sizeof(d->prim_host), host);
    }
    if (pref == d->min_pref && !d->cert[0] && *mx_record_get(r, MX_COL_CERT_SHA256)) {
        put(d->cert, sizeof(d->cert), mx_record_get(r, MX_COL_CERT_SHA256));
        put(d->cert_cn, sizeof(d->cert_cn), mx_record_get(r, MX_COL_CERT_CN));
        put(d->cert_key, sizeof(d->cert_key), mx_record_get(r, MX_COL_CERT_KEY));
        put(d->cert_issuer, sizeof(d->cert_issuer), mx_record_get(r, MX_COL_CERT_ISSUER));
    }
    if (!known) {
        d->unknown++;
        return;
    }
    d->known++;
    if (!strcmp(st, "yes"))
        d->offer++;
    else
        d->no_offer++;
    const char *v = mx_record_get(r, MX_COL_TLS_VERSION);
    int rank = !done ? 0 : !strcmp(v, "TLSv1.3") ? 3 : !strcmp(v, "TLSv1.2") ? 2 : 1;
    if (rank > d->best)
        d->best = rank;
    int valid = done && !strcmp(mx_record_get(r, MX_COL_CERT_VALID), "ok");
    if (!valid)
        d->valid_all = 0;
    if (!(valid && !strcmp(mx_record_get(r, MX_COL_CERT_NAME_MATCH), "yes")))
        d->strict_all = 0;
    if (pref == d->min_pref) {
        d->prim_known++;
        if (!done)
            d->prim_tls_all = 0;
    }
}

const char *mx_domsum_starttls(const mx_domsum_t *d) {
    if (!d->mail)
        return "n/a";
    if (!d->known)
        return "unknown";
    return !d->no_offer ? "every" : d->offer ? "some" : "none";
}

const char *mx_domsum_best(const mx_domsum_t *d) {
    static const char *const best[] = {"none", "legacy", "TLSv1.2", "TLSv1.3"};
    if (!d->mail)
        return "n/a";
    return d->known ? best[d->best] : "unknown";
}

const char *mx_domsum_sts(const mx_domsum_t *d) {
    const char *rec = d->sts_record;
    if (!d->mail || (strcmp(rec, "ok") && strcmp(rec, "none") && strcmp(rec, "invalid") &&
                     strcmp(rec, "multiple")))
        return NULL;
    if (!strcmp(rec, "none"))
        return "no record";
    if (strcmp(rec, "ok") != 0)
        return "invalid record";
    return strcmp(d->sts_policy, "ok") != 0 ? "policy not read" : d->sts_mode;
}

const char *mx_domsum_dane(const mx_domsum_t *d) {
    int any = 0;
    for (int k = 0; k < 5; k++)
        any += d->dane[k];
    if (!d->mail || !any)
        return NULL;
    return d->dane[4]   ? "mismatch"
           : d->dane[3] ? "match"
           : d->dane[2] ? "unusable"
           : d->dane[1] ? "not validated"
                        : "no TLSA";
}
