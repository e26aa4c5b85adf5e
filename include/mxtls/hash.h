/* The one string hash of the project: 64-bit FNV-1a, and a finaliser for when its low bits must
 * be even (a modulus, a shard number). Every table, set and shard split hashes through here, so
 * that a change of function is made once. */
#ifndef MXTLS_HASH_H
#define MXTLS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MX_HASH_INIT 0xcbf29ce484222325ull

/* FNV-1a of the NUL-terminated S. */
uint64_t mx_hash(const char *s);

/* FNV-1a of LEN bytes at P, continuing from H (MX_HASH_INIT for a new hash). */
uint64_t mx_hash_more(uint64_t h, const void *p, size_t len);

/* The splitmix64 finaliser: FNV-1a spreads its low bits poorly, this makes `h % N` even. */
uint64_t mx_hash_mix(uint64_t h);

#endif
