/* A byte source: a file, standard input or a memory buffer, read as a stream, transparently
 * decompressed when it starts with the gzip magic (several concatenated gzip members are one
 * stream). Nothing is loaded whole. A gzip stream that ends inside a member is reported as
 * truncated; damaged data as corrupt. The raw bytes read are hashed (SHA-256) on the way, so
 * the manifest can name exactly which input a scan read. */
#ifndef MXTLS_SOURCE_H
#define MXTLS_SOURCE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct mx_source mx_source_t;

/* Opens PATH ("-" is standard input). Returns 0 and *out, or -errno; never blocks on reads. */
int mx_source_open(mx_source_t **out, const char *path);

/* A source over LEN bytes at DATA (not copied: they must outlive the source). */
int mx_source_open_mem(mx_source_t **out, const void *data, size_t len);

/* Raw bytes from a caller's function: FN returns up to CAP bytes into BUF, 0 at the end, or
 * -errno. For tests and fuzzers that control how the bytes arrive. */
typedef ssize_t (*mx_source_fn)(void *ud, void *buf, size_t cap);
int mx_source_open_fn(mx_source_t **out, mx_source_fn fn, void *ud);

/* Reads up to CAP decompressed bytes. Returns the count, 0 at the end of the stream, or a
 * negative code: MX_E_TRUNCATED (the compressed stream stops mid-member; every byte before
 * the cut has been returned), MX_E_CORRUPT, or -errno. Errors repeat on later calls. */
ssize_t mx_source_read(mx_source_t *src, void *buf, size_t cap);

/* 1 when the stream is gzip-compressed. */
int mx_source_is_gzip(const mx_source_t *src);

/* Stops hashing what is read (a reader that needs no digest saves its cost); HEX of
 * mx_source_raw_bytes() is empty from then on. Call before the first read. */
void mx_source_skip_hash(mx_source_t *src);

/* Raw bytes read so far; with the SHA-256 of exactly those bytes written to HEX (65 bytes). */
unsigned long long mx_source_raw_bytes(const mx_source_t *src, char hex[65]);

/* Closes the file (not standard input) and frees the source. NULL is allowed. */
void mx_source_free(mx_source_t *src);

/* SHA-256 of a whole file as lowercase hex. Returns 0 or -errno. */
int mx_sha256_file(const char *path, char hex[65]);

/* Reads a whole file through decompression, so that damage anywhere (a cut, a bad CRC) is
 * found before any of it is used, and writes the SHA-256 of its raw bytes to HEX and the number
 * of its lines to *LINES (when not NULL). Returns 0, or the code mx_source_read() gave
 * (MX_E_TRUNCATED, MX_E_CORRUPT, -errno). */
int mx_source_check_file(const char *path, char hex[65], unsigned long long *lines);

#endif
