/* Helpers shared by the unit tests: scratch files, gzip in memory, a seeded PRNG. */
#ifndef MXTLS_TESTUTIL_H
#define MXTLS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh scratch directory for this test process (removed at exit). */
const char *tu_tmpdir(void);

/* Path NAME inside the scratch directory (static buffer, rotated among 8). */
const char *tu_path(const char *name);

/* Writes LEN bytes to PATH; aborts the test on failure. */
void tu_write_file(const char *path, const void *data, size_t len);

/* Reads a whole file; *len gets its size. Caller frees. */
unsigned char *tu_read_file(const char *path, size_t *len);

/* gzip-compresses LEN bytes into a new buffer (*out_len bytes). Caller frees. */
unsigned char *tu_gzip(const void *data, size_t len, size_t *out_len);

/* xorshift64* PRNG, deterministic per seed. */
uint64_t tu_rand(uint64_t *state);

#endif
