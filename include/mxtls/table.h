/* The one hash table of the project: open addressing with linear probing over items stored in
 * place (any size: a pointer, or a small struct), each slot with the item's 64-bit hash
 * (mxtls/hash.h) so that growing never hashes again and a lookup compares keys only on a hash
 * match. The table doubles when half full; items move then, so a pointer to an item is good
 * until the next mx_table_add(). Not thread-safe. */
#ifndef MXTLS_TABLE_H
#define MXTLS_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *hashes; /* per slot; 0: empty */
    unsigned char *items;
    size_t item_size, cap, used;
} mx_table_t;

/* Whether ITEM has KEY. */
typedef int (*mx_table_eq_fn)(const void *item, const void *key);

/* An empty table of items of ITEM_SIZE bytes. */
void mx_table_init(mx_table_t *t, size_t item_size);

/* The item under HASH for which EQ(item, KEY) holds, or NULL. */
void *mx_table_find(const mx_table_t *t, uint64_t hash, mx_table_eq_fn eq, const void *key);

/* A new zeroed item under HASH (the caller makes sure there is none with its key yet); NULL
 * when memory is out. */
void *mx_table_add(mx_table_t *t, uint64_t hash);

/* The item in slot I (0 <= I < cap), NULL when the slot is empty: for visiting every item. */
void *mx_table_slot(const mx_table_t *t, size_t i);

/* Frees the slots (not what items point to); the table is empty again. */
void mx_table_close(mx_table_t *t);

#endif
