/* A set of 64-bit hashes (open addressing, grows by doubling): 8 bytes a member, used where a
 * scan must remember a million names without keeping them (duplicates, groups already seen). */
#ifndef MXTLS_HASHSET_H
#define MXTLS_HASHSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *slots;
    size_t cap, used;
} mx_hashset_t;

/* Adds H. Returns 1 when added, 0 when already present, MX_E_NOMEM. A zeroed struct is empty. */
int mx_hashset_add(mx_hashset_t *s, uint64_t h);

/* 1 when H is in the set. */
int mx_hashset_has(const mx_hashset_t *s, uint64_t h);

/* Frees the slots; the set is empty again. */
void mx_hashset_close(mx_hashset_t *s);

#endif
