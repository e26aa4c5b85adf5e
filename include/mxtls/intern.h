/* Interned strings: each distinct string stored once and named by a 32-bit id. A scan keeps
 * every host's result until the end (a late domain may name any host), and most columns repeat
 * across hosts (capabilities, issuers, ciphers, timings), so a million results cost ids, not
 * copies. Not thread-safe: callers serialise mx_intern(); a string, once interned, never moves,
 * so mx_intern_str() needs no lock for an id the caller was handed under one. */
#ifndef MXTLS_INTERN_H
#define MXTLS_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct mx_intern mx_intern_t;

#define MX_INTERN_FAIL UINT32_MAX /* out of memory */
#define MX_INTERN_MAX 65535       /* longer strings are cut to this many bytes */

/* Returns an empty table, or NULL when out of memory. */
mx_intern_t *mx_intern_new(void);

/* The id of S (NULL and "" are id 0), adding it when new; MX_INTERN_FAIL when out of memory. */
uint32_t mx_intern(mx_intern_t *t, const char *s);

/* The string of ID. */
const char *mx_intern_str(const mx_intern_t *t, uint32_t id);

/* Bytes held: strings and the index. */
size_t mx_intern_bytes(const mx_intern_t *t);

void mx_intern_free(mx_intern_t *t);

#endif
