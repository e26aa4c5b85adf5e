/* The project's string hash (mxtls/hash.h). */
#include "mxtls/hash.h"

#define FNV_PRIME 0x100000001b3ull

uint64_t mx_hash_more(uint64_t h, const void *p, size_t len) {
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

uint64_t mx_hash(const char *s) {
    uint64_t h = MX_HASH_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * FNV_PRIME;
    return h;
}

uint64_t mx_hash_mix(uint64_t h) {
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}
