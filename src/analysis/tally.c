/* Named counters (mxtls/tally.h): one table (mxtls/table.h) of entries keyed by
 * "section\x1fbucket\x1fmetric" (metric empty for a section's denominator). Each entry keeps
 * the order its section and bucket were first seen, so reports list them as the caller named
 * them. */
#include "mxtls/tally.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/table.h"

typedef struct {
    char *key;   /* section \x1f bucket \x1f metric */
    char *parts; /* the same, split at the separators */
    const char *section, *bucket, *metric;
    uint64_t count;
    uint32_t section_order, bucket_order;
} entry_t;

/* Callers name sections and buckets with string constants, so a cache keyed by their
 * addresses and the metric finds an entry without building and hashing the whole key: most
 * counts of a run hit it. Cleared when the table moves. */
#define CACHE 1024
typedef struct {
    const char *section, *bucket;
    char metric[48];
    entry_t *e;
} cached_t;

struct mx_tally {
    mx_table_t tab; /* entry_t */
    uint32_t next_order;
    cached_t cache[CACHE];
};

mx_tally_t *mx_tally_new(void) {
    mx_tally_t *t = calloc(1, sizeof(mx_tally_t));
    if (t)
        mx_table_init(&t->tab, sizeof(entry_t));
    return t;
}

static int same_key(const void *item, const void *key) {
    const char *k = ((const entry_t *)item)->key;
    return k && strcmp(k, key) == 0;
}

static entry_t *find(const mx_tally_t *t, const char *key) {
    return mx_table_find(&t->tab, mx_hash(key), same_key, key);
}

/* A new entry for KEY; the cache is cleared when the table moves. NULL when memory is out. */
static entry_t *add(mx_tally_t *t, const char *key) {
    size_t cap = t->tab.cap;
    entry_t *e = mx_table_add(&t->tab, mx_hash(key));
    if (t->tab.cap != cap)
        memset(t->cache, 0, sizeof(t->cache));
    if (e && !(e->key = strdup(key)))
        return NULL; /* the slot stays, with no key: never found, skipped when listed */
    return e;
}

static void make_key(char *out, size_t cap, const char *section, const char *bucket,
                     const char *metric) {
    size_t a = strlen(section), b = strlen(bucket), c = strlen(metric);
    if (a + b + c + 3 > cap) /* names are short; an absurd one is cut, never overflowed */
        c = cap > a + b + 3 ? cap - a - b - 3 : 0;
    memcpy(out, section, a);
    out[a] = '\x1f';
    memcpy(out + a + 1, bucket, b);
    out[a + 1 + b] = '\x1f';
    memcpy(out + a + b + 2, metric, c);
    out[a + b + 2 + c] = 0;
}

/* The order of the first entry naming SECTION (and BUCKET), or a new one. */
static uint32_t order_of(mx_tally_t *t, const char *section, const char *bucket) {
    char key[1200];
    make_key(key, sizeof(key), section, bucket ? bucket : "", "\x1e");
    entry_t *e = find(t, key);
    return e ? (uint32_t)e->count : UINT32_MAX;
}

static entry_t *get(mx_tally_t *t, const char *section, const char *bucket, const char *metric) {
    char key[1200];
    make_key(key, sizeof(key), section, bucket, metric);
    entry_t *e = find(t, key);
    if (e)
        return e;
    /* Order markers: hidden entries (metric "\x1e") remember when a section or bucket was
     * first seen. */
    uint32_t so = order_of(t, section, NULL), bo = order_of(t, section, bucket);
    if (so == UINT32_MAX || bo == UINT32_MAX) {
        char mk[1200];
        for (int pass = 0; pass < 2; pass++) {
            if ((pass == 0 && so != UINT32_MAX) || (pass == 1 && bo != UINT32_MAX))
                continue;
            make_key(mk, sizeof(mk), section, pass == 0 ? "" : bucket, "\x1e");
            entry_t *m = add(t, mk);
            if (!m)
                return NULL;
            m->count = t->next_order++;
            if (pass == 0)
                so = (uint32_t)m->count;
            else
                bo = (uint32_t)m->count;
        }
    }
    if (!(e = add(t, key)) || !(e->parts = strdup(key)))
        return NULL; /* (an entry without parts is skipped when listed) */
    char *p = e->parts;
    e->section = p;
    p = strchr(p, '\x1f');
    *p++ = 0;
    e->bucket = p;
    p = strchr(p, '\x1f');
    *p++ = 0;
    e->metric = p;
    e->section_order = so;
    e->bucket_order = bo;
    return e;
}

static entry_t *cached_get(mx_tally_t *t, const char *section, const char *bucket,
                           const char *metric) {
    size_t ml = strlen(metric);
    uintptr_t h = (uintptr_t)section * 31u + (uintptr_t)bucket;
    for (size_t i = 0; i < ml; i++)
        h = h * 131u + (unsigned char)metric[i];
    cached_t *c = &t->cache[(h ^ (h >> 17)) & (CACHE - 1)];
    if (c->e && c->section == section && c->bucket == bucket && strcmp(c->metric, metric) == 0)
        return c->e;
    entry_t *e = get(t, section, bucket, metric);
    if (e && ml < sizeof(c->metric)) {
        c->section = section;
        c->bucket = bucket;
        memcpy(c->metric, metric, ml + 1);
        c->e = e;
    }
    return e;
}

int mx_tally_add(mx_tally_t *t, const char *section, const char *bucket, const char *metric,
                 uint64_t n) {
    entry_t *e = cached_get(t, section, bucket, metric && *metric ? metric : "(none)");
    if (!e)
        return MX_E_NOMEM;
    e->count += n;
    return 0;
}

int mx_tally_den(mx_tally_t *t, const char *section, const char *bucket, uint64_t n) {
    entry_t *e = cached_get(t, section, bucket, "");
    if (!e)
        return MX_E_NOMEM;
    e->count += n;
    return 0;
}

uint64_t mx_tally_num_of(const mx_tally_t *t, const char *section, const char *bucket,
                         const char *metric) {
    char key[1200];
    make_key(key, sizeof(key), section, bucket, metric);
    const entry_t *e = find(t, key);
    return e ? e->count : 0;
}

uint64_t mx_tally_den_of(const mx_tally_t *t, const char *section, const char *bucket) {
    return mx_tally_num_of(t, section, bucket, "");
}

typedef struct {
    mx_tally_row_t row;
    uint32_t so, bo;
} sortable_t;

static int cmp(const void *pa, const void *pb) {
    const sortable_t *a = pa, *b = pb;
    if (a->so != b->so)
        return a->so < b->so ? -1 : 1;
    if (a->bo != b->bo)
        return a->bo < b->bo ? -1 : 1;
    if (a->row.num != b->row.num)
        return a->row.num > b->row.num ? -1 : 1;
    return strcmp(a->row.metric, b->row.metric);
}

long mx_tally_rows(const mx_tally_t *t, mx_tally_row_t **out) {
    sortable_t *s = calloc(t->tab.used + 1, sizeof(*s));
    size_t n = 0;
    if (!s)
        return MX_E_NOMEM;
    for (size_t i = 0; i < t->tab.cap; i++) {
        const entry_t *e = mx_table_slot(&t->tab, i);
        if (!e || !e->key || !e->metric || !*e->metric)
            continue; /* empty slot, order marker or denominator */
        s[n].row.section = e->section;
        s[n].row.bucket = e->bucket;
        s[n].row.metric = e->metric;
        s[n].row.num = e->count;
        s[n].so = e->section_order;
        s[n].bo = e->bucket_order;
        n++;
    }
    qsort(s, n, sizeof(*s), cmp);
    mx_tally_row_t *rows = malloc((n + 1) * sizeof(*rows));
    if (!rows) {
        free(s);
        return MX_E_NOMEM;
    }
    /* Sorted, a section's bucket is one run: its denominator is looked up once. */
    for (size_t i = 0; i < n; i++) {
        rows[i] = s[i].row;
        rows[i].den = i && s[i].so == s[i - 1].so && s[i].bo == s[i - 1].bo
                          ? rows[i - 1].den
                          : mx_tally_den_of(t, rows[i].section, rows[i].bucket);
    }
    free(s);
    *out = rows;
    return (long)n;
}

long mx_tally_rows_of(const mx_tally_t *t, const char *section, const char *bucket,
                      mx_tally_row_t **out) {
    size_t n = 0, cap = 16;
    mx_tally_row_t *rows = malloc(cap * sizeof(*rows));
    uint64_t den = mx_tally_den_of(t, section, bucket);
    if (!rows)
        return MX_E_NOMEM;
    for (size_t i = 0; i < t->tab.cap; i++) {
        const entry_t *e = mx_table_slot(&t->tab, i);
        if (!e || !e->key || !e->metric || !*e->metric || strcmp(e->section, section) != 0 ||
            strcmp(e->bucket, bucket) != 0)
            continue;
        if (n == cap) {
            mx_tally_row_t *g = realloc(rows, 2 * cap * sizeof(*rows));
            if (!g) {
                free(rows);
                return MX_E_NOMEM;
            }
            rows = g;
            cap *= 2;
        }
        rows[n++] = (mx_tally_row_t){e->section, e->bucket, e->metric, e->count, den};
    }
    *out = rows;
    return (long)n;
}

void mx_tally_free(mx_tally_t *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->tab.cap; i++) {
        entry_t *e = mx_table_slot(&t->tab, i);
        if (e) {
            free(e->key);
            free(e->parts);
        }
    }
    mx_table_close(&t->tab);
    free(t);
}
