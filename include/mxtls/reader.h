/* Reading scan records back: a stream of rows from one or several files (the shards of one
 * snapshot), gzip (any number of members) or plain CSV, with RFC 4180 quoting. Columns are bound
 * by header name; unknown columns are ignored. A file cut short (a killed scan) yields every
 * complete row before the cut and then reports the truncation; nothing is loaded whole. */
#ifndef MXTLS_READER_H
#define MXTLS_READER_H

#include <stddef.h>
#include <stdint.h>

#include "mxtls/record.h"
#include "mxtls/source.h"

typedef struct mx_reader mx_reader_t;

/* Rows longer than this (decompressed) are refused as MX_E_TOO_LONG. */
#define MX_READER_ROW_MAX (1u << 20)

/* Opens NPATHS files to be read in order as one stream. REQUIRED is a bit mask of columns
 * (1ull << MX_COL_x) each file's header must name. Files are opened lazily, so errors about a
 * file come from mx_reader_next(). Returns 0 or MX_E_NOMEM. */
int mx_reader_open(mx_reader_t **out, const char *const *paths, int npaths, uint64_t required);

/* A reader over LEN bytes at DATA (not copied), as if they were a file named "(memory)"; for
 * tests and fuzzers. Returns 0 or MX_E_NOMEM. */
int mx_reader_open_mem(mx_reader_t **out, const void *data, size_t len);

/* A reader over a caller's byte function (source.h), named "(stream)". */
int mx_reader_open_fn(mx_reader_t **out, mx_source_fn fn, void *ud);

/* Next row into REC (strings live until the next call). Returns 1 with a row, 0 at the end of
 * the last file, or a negative code: MX_E_TRUNCATED, MX_E_CORRUPT, MX_E_BAD_HEADER,
 * MX_E_NO_COLUMN, MX_E_TOO_LONG or -errno, with mx_reader_error() saying which file and what.
 * After MX_E_TRUNCATED the caller may go on: the next call moves to the next file. */
int mx_reader_next(mx_reader_t *r, mx_record_t *rec);

/* "FILE: what went wrong" for the last error, or NULL. */
const char *mx_reader_error(const mx_reader_t *r);

/* File name and 1-based row number (data rows, per file) of the last row returned. */
const char *mx_reader_file(const mx_reader_t *r);
uint64_t mx_reader_row_number(const mx_reader_t *r);

void mx_reader_free(mx_reader_t *r);

#endif
