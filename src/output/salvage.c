/* Salvaging complete domain groups of a killed scan (mxtls/salvage.h).
 *
 * Rows of one domain are contiguous (the writer's contract), so a group ends where the domain
 * column changes. The reader's strings are transient, so the current group is held as copies
 * in one arena until the next group starts and proves it complete. */
#include "mxtls/salvage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/reader.h"

typedef struct {
    char *arena;
    size_t len, cap;
    size_t *offsets; /* per held row: MX_COL__COUNT offsets into the arena */
    size_t nrows, rows_cap;
} group_t;

static int hold(group_t *g, const mx_record_t *rec) {
    if (g->nrows == g->rows_cap) {
        size_t cap = g->rows_cap ? g->rows_cap * 2 : 16;
        size_t *o = realloc(g->offsets, cap * MX_COL__COUNT * sizeof(*o));
        if (!o)
            return MX_E_NOMEM;
        g->offsets = o;
        g->rows_cap = cap;
    }
    for (int c = 0; c < MX_COL__COUNT; c++) {
        const char *v = mx_record_get(rec, (mx_column_t)c);
        size_t n = strlen(v) + 1;
        if (g->len + n > g->cap) {
            size_t cap = g->cap ? g->cap : 4096;
            while (cap < g->len + n)
                cap *= 2;
            char *a = realloc(g->arena, cap);
            if (!a)
                return MX_E_NOMEM;
            g->arena = a;
            g->cap = cap;
        }
        memcpy(g->arena + g->len, v, n);
        g->offsets[g->nrows * MX_COL__COUNT + (size_t)c] = g->len;
        g->len += n;
    }
    g->nrows++;
    return 0;
}

static int emit(group_t *g, mx_writer_t *w, mx_salvage_cb cb, void *ud, mx_salvage_result_t *res) {
    mx_record_t rec;
    int rc;
    if (!g->nrows)
        return 0;
    for (size_t i = 0; i < g->nrows; i++) {
        for (int c = 0; c < MX_COL__COUNT; c++)
            rec.f[c] = g->arena + g->offsets[i * MX_COL__COUNT + (size_t)c];
        if ((rc = mx_writer_row(w, &rec)))
            return rc;
        if (cb && (rc = cb(ud, &rec, i)))
            return rc;
    }
    if ((rc = mx_writer_group_end(w, 0)))
        return rc;
    res->groups++;
    res->rows += g->nrows;
    g->len = 0;
    g->nrows = 0;
    return 0;
}

int mx_salvage(const char *old_path, mx_writer_t *w, mx_salvage_cb cb, void *ud,
               mx_salvage_result_t *res, char *errbuf, unsigned long errlen) {
    mx_reader_t *r;
    mx_record_t rec;
    group_t g = {0};
    int rc;
    memset(res, 0, sizeof(*res));
    if ((rc = mx_reader_open(&r, &old_path, 1, 1ull << MX_COL_DOMAIN)))
        return rc;
    while ((rc = mx_reader_next(r, &rec)) == 1) {
        const char *d = mx_record_get(&rec, MX_COL_DOMAIN),
                   *rank = mx_record_get(&rec, MX_COL_RANK);
        /* A scan writes a rank as digits or not at all. Any other rank is damage, and one that
         * reads "rank" would come back as a header line, not a row: nothing after it is kept. */
        if (strspn(rank, "0123456789") != strlen(rank)) {
            if (errbuf)
                snprintf(errbuf, errlen, "%s row %llu: rank '%.20s' is not a number: damaged there",
                         old_path, (unsigned long long)mx_reader_row_number(r), rank);
            errbuf = NULL; /* said */
            rc = MX_E_CORRUPT;
            break;
        }
        if (g.nrows && strcmp(d, g.arena + g.offsets[MX_COL_DOMAIN]) != 0 &&
            (rc = emit(&g, w, cb, ud, res)))
            break;
        if ((rc = hold(&g, &rec)))
            break;
    }
    if (rc == MX_E_TRUNCATED) {
        res->truncated = 1;
        rc = 0;
    } else if (rc < 0 && errbuf) {
        snprintf(errbuf, errlen, "%s", mx_reader_error(r) ? mx_reader_error(r) : mx_strerror(rc));
    }
    if (!rc)
        rc = mx_writer_flush(w);
    mx_reader_free(r);
    free(g.arena);
    free(g.offsets);
    return rc;
}
