/* Writing scan records as gzip CSV (shared/SCHEMA.md).
 *
 * Fields are sanitised on the way out: control characters (C0, DEL, C1) and invalid UTF-8 become
 * '?', a field starting with = + - @ gets a ' prefix, fields and lists are capped per column, and
 * RFC 4180 quoting is applied. Rows are written in domain groups: the caller ends each group,
 * and the writer makes a gzip flush point (Z_SYNC_FLUSH) only between groups, at least every
 * flush interval and every MX_WRITER_FLUSH_ROWS rows, so a killed process leaves a file that
 * reads back up to its last flush point. */
#ifndef MXTLS_WRITER_H
#define MXTLS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "mxtls/record.h"

#define MX_WRITER_FLUSH_ROWS 4096
#define MX_WRITER_FLUSH_MS 2000

typedef struct mx_writer mx_writer_t;

/* Creates (truncates) PATH and writes the header row. Returns 0 or -errno; on failure
 * mx_writer_error() of the NULL writer is not available, so the caller reports PATH itself. */
int mx_writer_open(mx_writer_t **out, const char *path);

/* As mx_writer_open, with only the columns in the bit mask COLUMNS (1ull << MX_COL_x), for files
 * that determine only some columns (the farm's ground truth). */
int mx_writer_open_columns(mx_writer_t **out, const char *path, uint64_t columns);

/* Appends one row to the current domain group. Returns 0 or a negative code. */
int mx_writer_row(mx_writer_t *w, const mx_record_t *rec);

/* Ends the current domain group; flushes when a flush is due at NOW_MS (a monotonic clock in
 * milliseconds). Returns 0 or -errno. */
int mx_writer_group_end(mx_writer_t *w, uint64_t now_ms);

/* Flushes at NOW_MS if rows are pending for longer than the flush interval (call from a
 * timer, so quiet periods do not hold rows back). Returns 0 or -errno. */
int mx_writer_tick(mx_writer_t *w, uint64_t now_ms);

/* Makes a flush point now. Returns 0 or -errno. */
int mx_writer_flush(mx_writer_t *w);

/* Rows written so far (after a failure: the rows before the last flush point, which the file
 * holds whole), and compressed bytes handed to the file so far. */
uint64_t mx_writer_rows(const mx_writer_t *w);
uint64_t mx_writer_bytes(const mx_writer_t *w);

/* "PATH: reason" for the first failure, or NULL. */
const char *mx_writer_error(const mx_writer_t *w);

/* Finishes the gzip stream (Z_FINISH), closes and frees. Returns 0 or the first error. */
int mx_writer_close(mx_writer_t *w);

/* Writes the sanitised form of LEN bytes at S for column COL into OUT (at least
 * mx_column_cap(COL) + 1 bytes), without CSV quoting. Returns the length written. */
size_t mx_field_sanitize(mx_column_t col, const char *s, size_t len, char *out);

/* Writes the CSV line for the COLUMNS (bit mask) of REC (sanitised, quoted, LF-terminated) into
 * BUF of CAP bytes. Returns the length, or 0 when CAP is below MX_ROW_MAX. COLUMNS may carry
 * MX_FORMAT_PLAIN: no formula guard (--csv-dialect plain). */
size_t mx_record_format(const mx_record_t *rec, uint64_t columns, char *buf, size_t cap);
#define MX_FORMAT_PLAIN (1ull << 63)

/* Rows from now on in the plain dialect: no ' before a field that begins with = + - or @. */
void mx_writer_set_plain(mx_writer_t *w);

/* Every column of the schema, as a mask. */
#define MX_ALL_COLUMNS (~0ull >> (64 - MX_COL__COUNT))

/* Upper bound of the length of one formatted row. */
#define MX_ROW_MAX (MX_COL__COUNT * (2 * MX_FIELD_MAX + 3) + 2)

#endif
