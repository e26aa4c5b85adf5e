/* The hash table (mxtls/table.h). */
#include "mxtls/table.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL 1024

/* 0 marks an empty slot: a hash of 0 is stored as 1 (a lookup merely compares one more key). */
static uint64_t nonzero(uint64_t h) {
    return h ? h : 1;
}

void mx_table_init(mx_table_t *t, size_t item_size) {
    memset(t, 0, sizeof(*t));
    t->item_size = item_size;
}

void *mx_table_find(const mx_table_t *t, uint64_t hash, mx_table_eq_fn eq, const void *key) {
    if (!t->cap)
        return NULL;
    hash = nonzero(hash);
    for (size_t i = (size_t)hash & (t->cap - 1); t->hashes[i]; i = (i + 1) & (t->cap - 1))
        if (t->hashes[i] == hash && eq(t->items + i * t->item_size, key))
            return t->items + i * t->item_size;
    return NULL;
}

/* The empty slot HASH goes to. */
static size_t free_slot(const mx_table_t *t, uint64_t hash) {
    size_t i = (size_t)hash & (t->cap - 1);
    while (t->hashes[i])
        i = (i + 1) & (t->cap - 1);
    return i;
}

static int grow(mx_table_t *t) {
    mx_table_t n = *t;
    n.cap = t->cap ? t->cap * 2 : INITIAL;
    n.hashes = calloc(n.cap, sizeof(*n.hashes));
    n.items = calloc(n.cap, t->item_size);
    if (!n.hashes || !n.items) {
        free(n.hashes);
        free(n.items);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->hashes[i])
            continue;
        size_t j = free_slot(&n, t->hashes[i]);
        n.hashes[j] = t->hashes[i];
        memcpy(n.items + j * t->item_size, t->items + i * t->item_size, t->item_size);
    }
    free(t->hashes);
    free(t->items);
    *t = n;
    return 0;
}

void *mx_table_add(mx_table_t *t, uint64_t hash) {
    if ((t->used + 1) * 2 > t->cap && grow(t) < 0)
        return NULL;
    hash = nonzero(hash);
    size_t i = free_slot(t, hash);
    t->hashes[i] = hash;
    t->used++;
    return t->items + i * t->item_size; /* zeroed since the table was made or grown */
}

void *mx_table_slot(const mx_table_t *t, size_t i) {
    return t->hashes[i] ? t->items + i * t->item_size : NULL;
}

void mx_table_close(mx_table_t *t) {
    free(t->hashes);
    free(t->items);
    mx_table_init(t, t->item_size);
}
