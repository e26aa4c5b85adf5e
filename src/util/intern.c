/* Interned strings (mxtls/intern.h). Strings live in 1 MiB chunks that never move, so an id is
 * (chunk << 20 | offset) and a string's address is stable for the table's life; an
 * open-addressed index of (hash, id) finds a string already stored. */
#include "mxtls/intern.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS 20
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS 4096 /* 4 GiB of distinct strings */

typedef struct {
    uint32_t hash, id; /* id 0: empty slot (the empty string is never indexed) */
} slot_t;

struct mx_intern {
    char *chunk[MAX_CHUNKS];
    uint32_t nchunks, used; /* bytes used in the last chunk */
    slot_t *slots;
    size_t cap, count;
    size_t bytes;
};

static uint32_t hash_of(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

mx_intern_t *mx_intern_new(void) {
    mx_intern_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->chunk[0] = malloc(CHUNK_SIZE))) {
        free(t);
        return NULL;
    }
    t->chunk[0][0] = 0; /* id 0 */
    t->nchunks = 1;
    t->used = 1;
    t->bytes = CHUNK_SIZE;
    return t;
}

const char *mx_intern_str(const mx_intern_t *t, uint32_t id) {
    return t->chunk[id >> CHUNK_BITS] + (id & (CHUNK_SIZE - 1));
}

static int grow(mx_intern_t *t) {
    size_t cap = t->cap ? t->cap * 2 : 4096;
    slot_t *n = calloc(cap, sizeof(*n));
    if (!n)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].id)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (n[j].id)
            j = (j + 1) & (cap - 1);
        n[j] = t->slots[i];
    }
    free(t->slots);
    t->bytes += (cap - t->cap) * sizeof(*n);
    t->slots = n;
    t->cap = cap;
    return 0;
}

uint32_t mx_intern(mx_intern_t *t, const char *s) {
    if (!s || !*s)
        return 0;
    size_t n = strnlen(s, MX_INTERN_MAX);
    if ((t->count + 1) * 2 > t->cap && grow(t) < 0)
        return MX_INTERN_FAIL;
    uint32_t h = hash_of(s, n);
    size_t j = h & (t->cap - 1);
    for (; t->slots[j].id; j = (j + 1) & (t->cap - 1)) {
        const char *o = mx_intern_str(t, t->slots[j].id);
        if (t->slots[j].hash == h && strncmp(o, s, n) == 0 && o[n] == 0)
            return t->slots[j].id;
    }
    if (t->used + n + 1 > CHUNK_SIZE) {
        if (t->nchunks == MAX_CHUNKS || !(t->chunk[t->nchunks] = malloc(CHUNK_SIZE)))
            return MX_INTERN_FAIL;
        t->nchunks++;
        t->used = 0;
        t->bytes += CHUNK_SIZE;
    }
    uint32_t id = (t->nchunks - 1) << CHUNK_BITS | t->used;
    char *p = t->chunk[t->nchunks - 1] + t->used;
    memcpy(p, s, n);
    p[n] = 0;
    t->used += (uint32_t)n + 1;
    t->slots[j].hash = h;
    t->slots[j].id = id;
    t->count++;
    return id;
}

size_t mx_intern_bytes(const mx_intern_t *t) {
    return t->bytes;
}

void mx_intern_free(mx_intern_t *t) {
    if (!t)
        return;
    for (uint32_t i = 0; i < t->nchunks; i++)
        free(t->chunk[i]);
    free(t->slots);
    free(t);
}
