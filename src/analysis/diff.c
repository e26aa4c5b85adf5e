/* What changed between two snapshots (mxtls/diff.h). The old snapshot's domains are kept as
 * fixed-size records in a table keyed by name, their strings interned (providers, MX sets and
 * issuers repeat), so memory follows the domains of the old snapshot, not its rows. */
#include "mxtls/diff.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/domsum.h"
#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/table.h"
#include "mxtls/intern.h"

#define S_SNAP "snapshots: domains"
#define S_CHANGES "changes (domains in both)"
#define S_T_STARTTLS "transition: STARTTLS on the MX hosts"
#define S_T_BEST "transition: best protocol"
#define S_T_STS "transition: MTA-STS"
#define S_T_DANE "transition: DANE"

static const char *const field_names[] = {
#define X(id, name) name,
    MX_DIFF_FIELDS(X)
#undef X
};

const char *mx_diff_field_name(mx_diff_field_t f) {
    return field_names[f];
}

typedef struct {
    char *name;
    uint32_t v[MX_DIFF__COUNT]; /* interned values, 0 when empty */
    uint32_t cn, key;
    uint8_t seen;
} old_t;

struct mx_diff {
    mx_stats_t *stats[2];
    mx_domsum_acc_t acc[2];
    mx_tally_t *t;
    mx_intern_t *strings;
    mx_table_t old; /* old_t, by domain name */
    unsigned long long both, only_new;
    mx_diff_change_fn fn;
    void *ud;
    int nomem;
};

static void count(mx_diff_t *df, const char *section, const char *metric, int yes);

/* The values a domain is compared on, as text. */
static void values(const mx_domsum_t *d, const char *out[MX_DIFF__COUNT], char *prov, size_t pcap) {
    out[MX_DIFF_STARTTLS] = mx_domsum_starttls(d);
    out[MX_DIFF_BEST] = mx_domsum_best(d);
    out[MX_DIFF_VALID] = !d->mail || !d->known ? "" : d->valid_all ? "yes" : "no";
    out[MX_DIFF_CERT] = d->cert;
    out[MX_DIFF_ISSUER] = d->cert[0] ? d->cert_issuer : "";
    prov[0] = 0;
    if (d->prim_host[0])
        mx_provider_of(d->prim_host, prov, pcap);
    out[MX_DIFF_PROVIDER] = prov;
    out[MX_DIFF_MX] = d->mx_set;
    const char *sts = mx_domsum_sts(d), *dane = mx_domsum_dane(d);
    out[MX_DIFF_STS] = sts ? sts : "";
    out[MX_DIFF_RPT] = d->mail ? d->rpt_record : "";
    out[MX_DIFF_DNSSEC] = d->mail ? d->mx_dnssec : "";
    out[MX_DIFF_DANE] = dane ? dane : "";
}

/* A transition of FIELD, counted when both snapshots measured it (--policy in both). */
static void transition(mx_diff_t *df, const char *section, const char *ov, const char *nv) {
    char metric[80];
    if (!*ov || !*nv)
        return;
    mx_tally_den(df->t, section, "all", 1);
    snprintf(metric, sizeof(metric), "%s -> %s", ov, nv);
    count(df, section, metric, 1);
}

/* The policy changes among the domains in both, when both snapshots measured them. */
static void policy_changes(mx_diff_t *df, const char *const *ov, const char *const *nv) {
    const char *os = ov[MX_DIFF_STS], *ns = nv[MX_DIFF_STS];
    if (*os && *ns) {
        int op = !strcmp(os, "testing") || !strcmp(os, "enforce") || !strcmp(os, "none"),
            np = !strcmp(ns, "testing") || !strcmp(ns, "enforce") || !strcmp(ns, "none");
        count(df, S_CHANGES, "MTA-STS policy published (none read -> read)", !op && np);
        count(df, S_CHANGES, "MTA-STS policy lost (read -> none read)", op && !np);
        count(df, S_CHANGES, "MTA-STS testing -> enforce",
              !strcmp(os, "testing") && !strcmp(ns, "enforce"));
        count(df, S_CHANGES, "MTA-STS enforce -> testing or none",
              !strcmp(os, "enforce") && (!strcmp(ns, "testing") || !strcmp(ns, "none")));
    }
    const char *od = ov[MX_DIFF_DANE], *nd = nv[MX_DIFF_DANE];
    if (*od && *nd) {
        count(df, S_CHANGES, "DANE match -> mismatch (a stale TLSA record)",
              !strcmp(od, "match") && !strcmp(nd, "mismatch"));
        count(df, S_CHANGES, "DANE mismatch -> match",
              !strcmp(od, "mismatch") && !strcmp(nd, "match"));
    }
}

static int same_name(const void *item, const void *name) {
    return strcmp(((const old_t *)item)->name, name) == 0;
}

static uint32_t intern(mx_diff_t *df, const char *s) {
    uint32_t id = mx_intern(df->strings, s);
    if (id == MX_INTERN_FAIL) {
        df->nomem = 1;
        return 0;
    }
    return id;
}

static void old_done(void *ud, const mx_domsum_t *d) {
    mx_diff_t *df = ud;
    const char *v[MX_DIFF__COUNT];
    char prov[256];
    uint64_t hash = mx_hash(d->name);
    if (mx_table_find(&df->old, hash, same_name, d->name))
        return; /* a domain twice in one snapshot: the first stands (mxtls check reports it) */
    old_t *o = mx_table_add(&df->old, hash);
    if (!o || !(o->name = strdup(d->name))) {
        df->nomem = 1;
        return;
    }
    values(d, v, prov, sizeof(prov));
    for (int f = 0; f < MX_DIFF__COUNT; f++)
        o->v[f] = intern(df, v[f]);
    o->cn = intern(df, d->cert_cn);
    o->key = intern(df, d->cert_key);
}

static int order_of(const char *best) {
    static const char *const o[] = {"none", "legacy", "TLSv1.2", "TLSv1.3"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(best, o[i]))
            return i;
    return -1;
}

static void count(mx_diff_t *df, const char *section, const char *metric, int yes) {
    if (mx_tally_add(df->t, section, "all", metric, yes ? 1 : 0) < 0)
        df->nomem = 1;
}

static void new_done(void *ud, const mx_domsum_t *d) {
    mx_diff_t *df = ud;
    const char *nv[MX_DIFF__COUNT], *ov[MX_DIFF__COUNT];
    char prov[256], metric[80];
    old_t *o = mx_table_find(&df->old, mx_hash(d->name), same_name, d->name);
    if (!o || o->seen) {
        df->only_new++;
        return;
    }
    o->seen = 1;
    df->both++;
    values(d, nv, prov, sizeof(prov));
    for (int f = 0; f < MX_DIFF__COUNT; f++)
        ov[f] = mx_intern_str(df->strings, o->v[f]);
    mx_tally_den(df->t, S_CHANGES, "all", 1);
    mx_tally_den(df->t, S_T_STARTTLS, "all", 1);
    mx_tally_den(df->t, S_T_BEST, "all", 1);
    snprintf(metric, sizeof(metric), "%s -> %s", ov[MX_DIFF_STARTTLS], nv[MX_DIFF_STARTTLS]);
    count(df, S_T_STARTTLS, metric, 1);
    snprintf(metric, sizeof(metric), "%s -> %s", ov[MX_DIFF_BEST], nv[MX_DIFF_BEST]);
    count(df, S_T_BEST, metric, 1);
    int os = !strcmp(ov[MX_DIFF_STARTTLS], "none")    ? 0
             : !strcmp(ov[MX_DIFF_STARTTLS], "some")  ? 1
             : !strcmp(ov[MX_DIFF_STARTTLS], "every") ? 1
                                                      : -1;
    int ns = !strcmp(nv[MX_DIFF_STARTTLS], "none")    ? 0
             : !strcmp(nv[MX_DIFF_STARTTLS], "some")  ? 1
             : !strcmp(nv[MX_DIFF_STARTTLS], "every") ? 1
                                                      : -1;
    count(df, S_CHANGES, "STARTTLS gained (no MX -> some or every MX)", os == 0 && ns == 1);
    count(df, S_CHANGES, "STARTTLS lost (some or every MX -> no MX)", os == 1 && ns == 0);
    int ob = order_of(ov[MX_DIFF_BEST]), nb = order_of(nv[MX_DIFF_BEST]);
    count(df, S_CHANGES, "best protocol up", ob >= 0 && nb > ob);
    count(df, S_CHANGES, "best protocol down", nb >= 0 && ob > nb);
    int cert_changed =
        *ov[MX_DIFF_CERT] && *nv[MX_DIFF_CERT] && strcmp(ov[MX_DIFF_CERT], nv[MX_DIFF_CERT]) != 0;
    count(df, S_CHANGES, "primary MX certificate changed", cert_changed);
    /* The schema has no public-key hash: a renewal is a new certificate with the same name, key
     * type and issuer. */
    count(df, S_CHANGES, "... renewed (same name, key type and issuer)",
          cert_changed && !strcmp(ov[MX_DIFF_ISSUER], nv[MX_DIFF_ISSUER]) &&
              !strcmp(mx_intern_str(df->strings, o->cn), d->cert_cn) &&
              !strcmp(mx_intern_str(df->strings, o->key), d->cert_key));
    count(df, S_CHANGES, "... issuer changed",
          cert_changed && strcmp(ov[MX_DIFF_ISSUER], nv[MX_DIFF_ISSUER]) != 0);
    int ova = *ov[MX_DIFF_VALID] ? !strcmp(ov[MX_DIFF_VALID], "yes") : -1;
    int nva = *nv[MX_DIFF_VALID] ? !strcmp(nv[MX_DIFF_VALID], "yes") : -1;
    count(df, S_CHANGES, "certificates became valid (every MX)", ova == 0 && nva == 1);
    count(df, S_CHANGES, "certificates became invalid (some MX)", ova == 1 && nva == 0);
    count(df, S_CHANGES, "moved to another provider",
          *ov[MX_DIFF_PROVIDER] && *nv[MX_DIFF_PROVIDER] &&
              strcmp(ov[MX_DIFF_PROVIDER], nv[MX_DIFF_PROVIDER]) != 0);
    count(df, S_CHANGES, "MX host set changed",
          *ov[MX_DIFF_MX] && *nv[MX_DIFF_MX] && strcmp(ov[MX_DIFF_MX], nv[MX_DIFF_MX]) != 0);
    transition(df, S_T_STS, ov[MX_DIFF_STS], nv[MX_DIFF_STS]);
    transition(df, S_T_DANE, ov[MX_DIFF_DANE], nv[MX_DIFF_DANE]);
    policy_changes(df, ov, nv);
    if (!df->fn)
        return;
    mx_diff_change_t c = {d->name, {0}, {0}};
    int any = 0;
    for (int f = 0; f < MX_DIFF__COUNT; f++)
        if (strcmp(ov[f], nv[f]) != 0) {
            c.old_value[f] = ov[f];
            c.new_value[f] = nv[f];
            any = 1;
        }
    if (any)
        df->fn(df->ud, &c);
}

mx_diff_t *mx_diff_new(time_t at, mx_diff_change_fn fn, void *ud) {
    mx_diff_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->fn = fn;
    d->ud = ud;
    mx_table_init(&d->old, sizeof(old_t));
    d->stats[0] = mx_stats_new(at);
    d->stats[1] = mx_stats_new(at);
    d->t = mx_tally_new();
    d->strings = mx_intern_new();
    if (!d->stats[0] || !d->stats[1] || !d->t || !d->strings) {
        mx_diff_free(d);
        return NULL;
    }
    mx_domsum_init(&d->acc[0], old_done, d);
    mx_domsum_init(&d->acc[1], new_done, d);
    static const char *const order[] = {S_SNAP, S_CHANGES, S_T_STARTTLS, S_T_BEST};
    for (int i = 0; i < 4; i++)
        mx_tally_den(d->t, order[i], "all", 0);
    return d;
}

/* A stats error: out of memory sticks; a domain begun twice is returned as it is. */
static int stats_rc(mx_diff_t *d, int rc) {
    if (rc == MX_E_NOMEM)
        d->nomem = 1;
    return d->nomem ? MX_E_NOMEM : rc;
}

int mx_diff_old_row(mx_diff_t *d, const mx_record_t *rec) {
    mx_domsum_row(&d->acc[0], rec);
    return stats_rc(d, mx_stats_row(d->stats[0], rec));
}

int mx_diff_new_row(mx_diff_t *d, const mx_record_t *rec) {
    if (d->acc[0].active) { /* the old snapshot has ended */
        mx_domsum_end(&d->acc[0]);
        if (mx_stats_end(d->stats[0]) < 0)
            d->nomem = 1;
    }
    mx_domsum_row(&d->acc[1], rec);
    return stats_rc(d, mx_stats_row(d->stats[1], rec));
}

int mx_diff_end(mx_diff_t *d) {
    if (d->acc[0].active) {
        mx_domsum_end(&d->acc[0]);
        mx_stats_end(d->stats[0]);
    }
    mx_domsum_end(&d->acc[1]);
    if (mx_stats_end(d->stats[1]) < 0)
        d->nomem = 1;
    unsigned long long only_old = d->old.used - d->both;
    mx_tally_den(d->t, S_SNAP, "all", d->both + only_old + d->only_new);
    mx_tally_add(d->t, S_SNAP, "all", "in both", d->both);
    mx_tally_add(d->t, S_SNAP, "all", "only in the old", only_old);
    mx_tally_add(d->t, S_SNAP, "all", "only in the new", d->only_new);
    return d->nomem ? MX_E_NOMEM : 0;
}

const mx_tally_t *mx_diff_tally(const mx_diff_t *d) {
    return d->t;
}

const mx_stats_t *mx_diff_stats(const mx_diff_t *d, int which) {
    return d->stats[which ? 1 : 0];
}

double mx_two_proportion_p(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2) {
    if (!n1 || !n2)
        return 1;
    double p1 = (double)x1 / n1, p2 = (double)x2 / n2, p = (double)(x1 + x2) / (n1 + n2);
    double se = sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2));
    if (se == 0)
        return 1;
    return erfc(fabs(p1 - p2) / se / sqrt(2.0));
}

void mx_diff_free(mx_diff_t *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->old.cap; i++) {
        old_t *o = mx_table_slot(&d->old, i);
        if (o)
            free(o->name);
    }
    mx_table_close(&d->old);
    mx_stats_free(d->stats[0]);
    mx_stats_free(d->stats[1]);
    mx_domsum_close(&d->acc[0]);
    mx_domsum_close(&d->acc[1]);
    mx_tally_free(d->t);
    mx_intern_free(d->strings);
    free(d);
}
