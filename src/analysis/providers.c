/* Domain metrics per mail provider (mxtls/providers.h). Keys are the (section, metric) pairs
 * the caller names, in the order first named; each provider keeps one counter per key, grown
 * when a key is new to it. A million domains have a few hundred thousand providers (most run
 * their own MX), each with a couple of dozen counters. */
#include "mxtls/providers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/table.h"

typedef struct {
    const char *section, *metric; /* metric NULL: the section's denominator */
    int named;                    /* listed even when its count is 0 */
    int den;                      /* the key of the section's denominator, -1 while unknown */
} key_t_;

typedef struct {
    char *name;
    uint64_t domains;
    uint32_t *c;
    int nc;
} prov_t;

struct mx_providers {
    key_t_ *keys;
    int nkeys, capkeys;
    mx_table_t tab; /* prov_t *, by name */
    prov_t *cur;    /* the current domain's provider, NULL: none */
    char **buckets; /* the names handed to the tally, kept while it may use them */
    int nbuckets;
};

mx_providers_t *mx_providers_new(void) {
    mx_providers_t *p = calloc(1, sizeof(*p));
    if (p)
        mx_table_init(&p->tab, sizeof(prov_t *));
    return p;
}

static int same_name(const void *item, const void *name) {
    return strcmp((*(prov_t *const *)item)->name, name) == 0;
}

int mx_providers_domain(mx_providers_t *p, const char *provider) {
    p->cur = NULL;
    if (!provider)
        return 0;
    uint64_t h = mx_hash(provider);
    prov_t **found = mx_table_find(&p->tab, h, same_name, provider);
    if (!found) {
        prov_t *n = calloc(1, sizeof(*n));
        if (!n || !(n->name = strdup(provider)) || !(found = mx_table_add(&p->tab, h))) {
            if (n)
                free(n->name);
            free(n);
            return MX_E_NOMEM;
        }
        *found = n;
    }
    p->cur = *found;
    p->cur->domains++;
    return 0;
}

/* The key of (SECTION, METRIC), added when new; -1 when memory is out. */
static int key_of(mx_providers_t *p, const char *section, const char *metric) {
    for (int i = 0; i < p->nkeys; i++)
        if (p->keys[i].section == section && p->keys[i].metric == metric)
            return i;
    if (p->nkeys == p->capkeys) {
        int cap = p->capkeys ? 2 * p->capkeys : 32;
        key_t_ *k = realloc(p->keys, (size_t)cap * sizeof(*k));
        if (!k)
            return -1;
        p->keys = k;
        p->capkeys = cap;
    }
    key_t_ *k = &p->keys[p->nkeys];
    *k = (key_t_){section, metric, 0, -1};
    for (int i = 0; i < p->nkeys; i++)
        if (p->keys[i].section == section && !p->keys[i].metric)
            k->den = i;
    if (!metric) /* a denominator named after its metrics: theirs is this one */
        for (int i = 0; i < p->nkeys; i++)
            if (p->keys[i].section == section)
                p->keys[i].den = p->nkeys;
    if (!metric)
        k->den = p->nkeys;
    return p->nkeys++;
}

int mx_providers_add(mx_providers_t *p, const char *section, const char *metric, uint32_t n) {
    int k = key_of(p, section, metric);
    if (k < 0)
        return MX_E_NOMEM;
    if (!n)
        p->keys[k].named = 1;
    prov_t *v = p->cur;
    if (!v)
        return 0;
    if (k >= v->nc) {
        uint32_t *c = realloc(v->c, (size_t)p->nkeys * sizeof(*c));
        if (!c)
            return MX_E_NOMEM;
        memset(c + v->nc, 0, (size_t)(p->nkeys - v->nc) * sizeof(*c));
        v->c = c;
        v->nc = p->nkeys;
    }
    v->c[k] += n;
    return 0;
}

static uint32_t count(const prov_t *v, int k) {
    return k >= 0 && k < v->nc ? v->c[k] : 0;
}

/* Whether A comes before B: more domains, then the name. */
static int before(const prov_t *a, const prov_t *b) {
    return a->domains != b->domains ? a->domains > b->domains : strcmp(a->name, b->name) < 0;
}

/* The TOP largest providers into OUT, largest first. Returns how many. */
static unsigned pick(const mx_providers_t *p, prov_t **out, unsigned top) {
    unsigned n = 0;
    for (size_t i = 0; i < p->tab.cap; i++) {
        prov_t **at = mx_table_slot(&p->tab, i);
        if (!at)
            continue;
        unsigned k = n < top ? n++ : top;
        if (k == top && !before(*at, out[top - 1]))
            continue;
        if (k == top)
            k = top - 1;
        while (k > 0 && before(*at, out[k - 1])) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = *at;
    }
    return n;
}

/* NAME copied, kept until the end: the tally holds bucket names by address. */
static char *keep(mx_providers_t *p, const char *name) {
    char **grown = realloc(p->buckets, (size_t)(p->nbuckets + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    p->buckets = grown;
    return p->buckets[p->nbuckets++] = strdup(name);
}

/* One provider's counts under BUCKET. */
static int tally_one(const mx_providers_t *p, const prov_t *v, mx_tally_t *t, const char *bucket) {
    for (int k = 0; k < p->nkeys; k++) {
        const key_t_ *key = &p->keys[k];
        uint32_t den = count(v, key->den), c = count(v, k);
        if (!den)
            continue;
        if (!key->metric
                ? mx_tally_den(t, key->section, bucket, den) < 0
                : (c || key->named) && mx_tally_add(t, key->section, bucket, key->metric, c) < 0)
            return MX_E_NOMEM;
    }
    return 0;
}

typedef struct {
    const char *section, *metric; /* metric NULL: the denominator */
    uint64_t n;
} tail_t;

/* TAIL grown to hold NEED; NULL (TAIL freed) when memory is out. */
static tail_t *grow_tail(tail_t *tail, long *cap, long need) {
    while (*cap < need)
        *cap *= 2;
    tail_t *g = realloc(tail, (size_t)*cap * sizeof(*g));
    if (!g)
        free(tail);
    return g;
}

/* The tail: the "all" bucket of every section counted here, less the N providers in TOP, into
 * *OUT (to be added once the providers' buckets are named, so that they come first). Returns
 * how many, or MX_E_NOMEM. */
static long tail_of(const mx_providers_t *p, const mx_tally_t *t, prov_t *const *top, unsigned n,
                    tail_t **out) {
    long m = 0, cap = 64;
    tail_t *tail = malloc((size_t)cap * sizeof(*tail));
    if (!tail)
        return MX_E_NOMEM;
    for (int k = 0; k < p->nkeys; k++) {
        if (p->keys[k].metric)
            continue; /* one pass per section, from its denominator's key */
        const char *section = p->keys[k].section;
        mx_tally_row_t *rows;
        long nrows = mx_tally_rows_of(t, section, "all", &rows);
        /* Row strings live in the table's entries, which stay while T does. */
        if (nrows < 0 || (m + nrows + 1 > cap && !(tail = grow_tail(tail, &cap, m + nrows + 1)))) {
            if (nrows >= 0)
                free(rows);
            return MX_E_NOMEM;
        }
        uint64_t den = mx_tally_den_of(t, section, "all");
        for (unsigned j = 0; j < n; j++)
            den -= count(top[j], k);
        if (den) {
            tail[m++] = (tail_t){section, NULL, den};
            for (long i = 0; i < nrows; i++) {
                uint64_t num = rows[i].num;
                int mk = -1;
                for (int q = 0; q < p->nkeys && mk < 0; q++)
                    if (p->keys[q].section == section && p->keys[q].metric &&
                        !strcmp(p->keys[q].metric, rows[i].metric))
                        mk = q;
                for (unsigned j = 0; j < n; j++)
                    num -= count(top[j], mk);
                tail[m++] = (tail_t){section, rows[i].metric, num};
            }
        }
        free(rows);
    }
    *out = tail;
    return m;
}

int mx_providers_share(const mx_providers_t *p, mx_tally_t *t, const char *section, unsigned top) {
    uint64_t den = 0;
    for (size_t i = 0; i < p->tab.cap; i++) {
        prov_t **at = mx_table_slot(&p->tab, i);
        den += at ? (*at)->domains : 0;
    }
    prov_t **best = calloc(top + 1, sizeof(*best));
    if (!best)
        return MX_E_NOMEM;
    unsigned n = pick(p, best, top);
    int rc = den && mx_tally_den(t, section, "all", den) < 0 ? MX_E_NOMEM : 0;
    for (unsigned i = 0; i < n && !rc; i++)
        if (mx_tally_add(t, section, "all", best[i]->name, best[i]->domains) < 0)
            rc = MX_E_NOMEM;
    free(best);
    return rc;
}

int mx_providers_tally(mx_providers_t *p, mx_tally_t *t, unsigned top) {
    if (!top)
        return 0;
    prov_t **best = calloc(top, sizeof(*best));
    if (!best)
        return MX_E_NOMEM;
    unsigned n = pick(p, best, top);
    tail_t *tail = NULL;
    long ntail = tail_of(p, t, best, n, &tail);
    int rc = ntail < 0 ? MX_E_NOMEM : 0;
    for (unsigned i = 0; i < n && !rc; i++) {
        char name[300];
        snprintf(name, sizeof(name), "provider: %s", best[i]->name);
        const char *b = keep(p, name);
        rc = !b ? MX_E_NOMEM : tally_one(p, best[i], t, b);
    }
    char name[64];
    snprintf(name, sizeof(name), "without the top %u providers", n);
    const char *b = rc ? NULL : keep(p, name);
    if (!rc && !b)
        rc = MX_E_NOMEM;
    for (long i = 0; i < ntail && !rc; i++)
        if (tail[i].metric ? mx_tally_add(t, tail[i].section, b, tail[i].metric, tail[i].n) < 0
                           : mx_tally_den(t, tail[i].section, b, tail[i].n) < 0)
            rc = MX_E_NOMEM;
    free(tail);
    free(best);
    return rc;
}

void mx_providers_free(mx_providers_t *p) {
    if (!p)
        return;
    for (size_t i = 0; i < p->tab.cap; i++) {
        prov_t **at = mx_table_slot(&p->tab, i);
        if (!at)
            continue;
        free((*at)->name);
        free((*at)->c);
        free(*at);
    }
    mx_table_close(&p->tab);
    for (int i = 0; i < p->nbuckets; i++)
        free(p->buckets[i]);
    free(p->buckets);
    free(p->keys);
    free(p);
}
