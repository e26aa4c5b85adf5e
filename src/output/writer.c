/* The gzip CSV record writer (mxtls/writer.h).
 *
 * Rows are formatted into a buffer and deflated; compressed bytes go to the file with write(2)
 * as soon as zlib hands them out. A flush point (Z_SYNC_FLUSH) ends a group: everything before
 * it decompresses from the file alone, which is what makes a killed scan readable up to its
 * last flush and lets --resume salvage it. Z_FINISH on close adds the gzip trailer. */
#include "mxtls/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mxtls/error.h"

#define OUT_BUF (64 * 1024)

struct mx_writer {
    int fd;
    z_stream zs;
    char *path;
    unsigned char *out;
    char *row;
    uint64_t rows, bytes;
    uint64_t columns;
    int plain;              /* --csv-dialect plain: no formula guard */
    uint64_t pending_rows;  /* rows written since the last flush point */
    uint64_t durable_rows;  /* rows before the last flush point: readable whatever comes next */
    uint64_t pending_since; /* time of the first pending group end */
    int err;
    char errmsg[512];
};

static int fail(mx_writer_t *w, int err) {
    if (!w->err) {
        w->err = err;
        snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s", w->path, mx_strerror(err));
    }
    return w->err;
}

static int write_all(mx_writer_t *w, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return fail(w, -errno);
        }
        p += k;
        n -= (size_t)k;
        w->bytes += (uint64_t)k;
    }
    return 0;
}

/* Feeds LEN bytes (may be 0) to deflate with FLUSH and writes out whatever it produces. */
static int deflate_out(mx_writer_t *w, const void *data, size_t len, int flush) {
    if (w->err)
        return w->err;
    w->zs.next_in = (Bytef *)(uintptr_t)data;
    w->zs.avail_in = (uInt)len;
    for (;;) {
        w->zs.next_out = w->out;
        w->zs.avail_out = OUT_BUF;
        int zr = deflate(&w->zs, flush);
        if (zr == Z_STREAM_ERROR)
            return fail(w, MX_E_NOMEM);
        size_t have = OUT_BUF - w->zs.avail_out;
        if (have && write_all(w, w->out, have))
            return w->err;
        if (flush == Z_FINISH ? zr == Z_STREAM_END : w->zs.avail_out != 0 && w->zs.avail_in == 0)
            return 0;
    }
}

void mx_writer_set_plain(mx_writer_t *w) {
    w->plain = 1;
}

int mx_writer_open(mx_writer_t **out, const char *path) {
    return mx_writer_open_columns(out, path, MX_ALL_COLUMNS);
}

int mx_writer_open_columns(mx_writer_t **out, const char *path, uint64_t columns) {
    mx_writer_t *w = calloc(1, sizeof(*w));
    int rc;
    if (!w)
        return MX_E_NOMEM;
    w->columns = columns & MX_ALL_COLUMNS;
    w->path = strdup(path);
    w->out = malloc(OUT_BUF);
    w->row = malloc(MX_ROW_MAX);
    if (!w->path || !w->out || !w->row) {
        rc = MX_E_NOMEM;
        goto fail;
    }
    /* windowBits 15 + 16: a gzip wrapper; memLevel 8 and level 6 are zlib's defaults. */
    if (deflateInit2(&w->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        rc = MX_E_NOMEM;
        goto fail;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = -errno;
        deflateEnd(&w->zs);
        goto fail;
    }
    char header[MX_COL__COUNT * 24];
    size_t n = 0;
    for (int c = 0; c < MX_COL__COUNT; c++)
        if (w->columns & (1ull << c))
            n += (size_t)snprintf(header + n, sizeof(header) - n, "%s%s", n ? "," : "",
                                  mx_column_name((mx_column_t)c));
    header[n++] = '\n';
    rc = deflate_out(w, header, n, Z_SYNC_FLUSH);
    if (rc) {
        mx_writer_close(w);
        return rc;
    }
    *out = w;
    return 0;
fail:
    free(w->row);
    free(w->out);
    free(w->path);
    free(w);
    return rc;
}

int mx_writer_row(mx_writer_t *w, const mx_record_t *rec) {
    size_t n =
        mx_record_format(rec, w->columns | (w->plain ? MX_FORMAT_PLAIN : 0), w->row, MX_ROW_MAX);
    int rc = deflate_out(w, w->row, n, Z_NO_FLUSH);
    if (rc)
        return rc;
    w->rows++;
    w->pending_rows++;
    return 0;
}

int mx_writer_flush(mx_writer_t *w) {
    int rc = deflate_out(w, NULL, 0, Z_SYNC_FLUSH);
    if (!rc) {
        w->pending_rows = 0;
        w->pending_since = 0;
        w->durable_rows = w->rows;
    }
    return rc;
}

int mx_writer_group_end(mx_writer_t *w, uint64_t now_ms) {
    if (w->err)
        return w->err;
    if (!w->pending_rows)
        return 0;
    if (!w->pending_since)
        w->pending_since = now_ms ? now_ms : 1;
    if (w->pending_rows >= MX_WRITER_FLUSH_ROWS || now_ms - w->pending_since >= MX_WRITER_FLUSH_MS)
        return mx_writer_flush(w);
    return 0;
}

int mx_writer_tick(mx_writer_t *w, uint64_t now_ms) {
    if (w->err)
        return w->err;
    if (w->pending_since && now_ms - w->pending_since >= MX_WRITER_FLUSH_MS)
        return mx_writer_flush(w);
    return 0;
}

uint64_t mx_writer_rows(const mx_writer_t *w) {
    return w->err ? w->durable_rows : w->rows;
}

uint64_t mx_writer_bytes(const mx_writer_t *w) {
    return w->bytes;
}

const char *mx_writer_error(const mx_writer_t *w) {
    return w->err ? w->errmsg : NULL;
}

int mx_writer_close(mx_writer_t *w) {
    int rc;
    if (!w)
        return 0;
    deflate_out(w, NULL, 0, Z_FINISH);
    deflateEnd(&w->zs);
    if (close(w->fd) < 0)
        fail(w, -errno);
    rc = w->err;
    free(w->row);
    free(w->out);
    free(w->path);
    free(w);
    return rc;
}
