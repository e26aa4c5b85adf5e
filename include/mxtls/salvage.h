/* Salvaging a killed scan for --resume (shared/DESIGN.md, Writer): copy every complete domain
 * group of an old scan file into a new writer. The last group that can be read is dropped,
 * because a kill may have torn it, so it is scanned again. */
#ifndef MXTLS_SALVAGE_H
#define MXTLS_SALVAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mxtls/record.h"
#include "mxtls/writer.h"

/* Called for each copied row, INDEX being its place in its group (0 for a group's first row),
 * so the caller can skip what it holds when scanning and count it. */
typedef int (*mx_salvage_cb)(void *ud, const mx_record_t *row, size_t index);

typedef struct {
    uint64_t groups; /* domain groups copied */
    uint64_t rows;   /* rows copied */
    int truncated;   /* the old file was cut short (a killed run) */
} mx_salvage_result_t;

/* Copies the complete groups of OLD_PATH into W (one flush point at the end), calling CB per
 * row. A truncated old file is normal and not an error. Returns 0, a negative code from the
 * reader (with ERRBUF filled) or the first non-zero return of CB. */
int mx_salvage(const char *old_path, mx_writer_t *w, mx_salvage_cb cb, void *ud,
               mx_salvage_result_t *res, char *errbuf, unsigned long errlen);

#endif
