/* Streaming reader of scan files (mxtls/reader.h).
 *
 * Decompressed bytes accumulate in one buffer; a record ends at the first LF outside quotes,
 * found by a scan that resumes where the last one stopped (quote state kept), so no byte is
 * examined twice however slowly the data arrives. Fields are unquoted in place (unquoting only
 * shrinks) and the record's column pointers aim into the buffer, which is compacted only when
 * the next record is wanted. */
#include "mxtls/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/source.h"

/* Reads arrive in 32 KiB pieces; the buffer starts at two of them (below the allocators' mmap
 * threshold, so opening many small files stays cheap) and doubles for a longer row. */
#define CHUNK (32 * 1024)

struct mx_reader {
    char **paths;
    int npaths, next_path;
    const void *mem; /* a memory reader's bytes, read as the one "file" */
    size_t mem_len;
    mx_source_fn fn; /* or a caller's byte function */
    void *fn_ud;
    uint64_t required;
    mx_source_t *src; /* current file, NULL between files */
    const char *file;
    int header_done;
    int binding[256]; /* field index -> column, -1 unknown */
    int nbind;
    char *buf;
    size_t cap, start, len, scan; /* record starts at start; bytes [start, len); scanned to scan */
    int in_quote;
    int eof;
    uint64_t row;
    char errmsg[1024];
};

int mx_reader_open(mx_reader_t **out, const char *const *paths, int npaths, uint64_t required) {
    mx_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return MX_E_NOMEM;
    r->paths = calloc((size_t)npaths + 1, sizeof(char *));
    r->cap = 2 * CHUNK;
    r->buf = malloc(r->cap);
    if (!r->paths || !r->buf)
        goto nomem;
    for (int i = 0; i < npaths; i++)
        if (!(r->paths[i] = strdup(paths[i])))
            goto nomem;
    r->npaths = npaths;
    r->required = required;
    *out = r;
    return 0;
nomem:
    mx_reader_free(r);
    return MX_E_NOMEM;
}

int mx_reader_open_mem(mx_reader_t **out, const void *data, size_t len) {
    static const char *const name = "(memory)";
    int rc = mx_reader_open(out, &name, 1, 0);
    if (rc)
        return rc;
    (*out)->mem = data ? data : "";
    (*out)->mem_len = len;
    return 0;
}

int mx_reader_open_fn(mx_reader_t **out, mx_source_fn fn, void *ud) {
    static const char *const name = "(stream)";
    int rc = mx_reader_open(out, &name, 1, 0);
    if (rc)
        return rc;
    (*out)->fn = fn;
    (*out)->fn_ud = ud;
    return 0;
}

static int set_error(mx_reader_t *r, int err, const char *detail) {
    snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s%s%s", r->file ? r->file : "(none)",
             mx_strerror(err), detail ? ": " : "", detail ? detail : "");
    return err;
}

static void close_file(mx_reader_t *r) {
    mx_source_free(r->src);
    r->src = NULL;
    r->start = r->len = r->scan = 0;
    r->in_quote = 0;
    r->eof = 0;
}

/* Finds the end of the next record. Returns 1 with *end (index of its LF, or len at a final
 * record without LF), 0 at a clean end of file, or a negative code. */
static int find_record(mx_reader_t *r, size_t *end) {
    for (;;) {
        /* memchr for the line end, then the quote parity of the line: most rows hold no
         * quote at all, so this runs at memchr speed. */
        while (r->scan < r->len) {
            char *p = r->buf + r->scan, *lim = r->buf + r->len;
            char *nl = memchr(p, '\n', (size_t)(lim - p));
            char *stop = nl ? nl : lim;
            for (char *q = p; (q = memchr(q, '"', (size_t)(stop - q))) != NULL; q++)
                r->in_quote = !r->in_quote;
            r->scan = (size_t)(stop - r->buf) + (nl ? 1 : 0);
            if (nl && !r->in_quote) {
                *end = (size_t)(nl - r->buf);
                return 1;
            }
        }
        if (r->eof) {
            if (r->start == r->len)
                return 0;
            if (r->in_quote)
                return set_error(r, MX_E_TRUNCATED, "unterminated quoted field");
            *end = r->len;
            return 1;
        }
        if (r->len - r->start > MX_READER_ROW_MAX)
            return set_error(r, MX_E_TOO_LONG, NULL);
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->len - r->start);
            r->len -= r->start;
            r->scan -= r->start;
            r->start = 0;
        }
        if (r->cap - r->len < CHUNK) {
            char *nb = realloc(r->buf, r->cap * 2);
            if (!nb)
                return set_error(r, MX_E_NOMEM, NULL);
            r->buf = nb;
            r->cap *= 2;
        }
        ssize_t n = mx_source_read(r->src, r->buf + r->len, r->cap - r->len);
        if (n < 0)
            return set_error(r, (int)n, n == MX_E_TRUNCATED ? "rows after the cut are lost" : NULL);
        if (n == 0)
            r->eof = 1;
        r->len += (size_t)n;
    }
}

/* Splits [P, END) into fields in place, unquoting them. Returns the field count. */
static int split(char *p, char *end, char **fields, int max) {
    int n = 0;
    if (end > p && end[-1] == '\r')
        end--;
    for (;;) {
        char *out = p, *field = p;
        if (p < end && *p == '"') {
            p++;
            while (p < end) {
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            /* RFC 4180 has nothing after the closing quote; tolerate and keep it. */
            while (p < end && *p != ',')
                *out++ = *p++;
        } else {
            char *comma = memchr(p, ',', (size_t)(end - p));
            p = comma ? comma : end;
            out = p;
        }
        int last = p >= end;
        *out = 0;
        if (n < max)
            fields[n] = field;
        n++;
        if (last)
            return n;
        p++;
    }
}

static int bind_header(mx_reader_t *r, char **fields, int n) {
    uint64_t have = 0;
    int known = 0;
    if (n > (int)(sizeof(r->binding) / sizeof(r->binding[0])))
        n = (int)(sizeof(r->binding) / sizeof(r->binding[0]));
    if (n > 0 && strncmp(fields[0], "\xEF\xBB\xBF", 3) == 0)
        fields[0] += 3;
    for (int i = 0; i < n; i++) {
        int c = mx_column_find(fields[i], strlen(fields[i]));
        /* A repeated name binds its first occurrence only. */
        if (c >= 0 && (have & (1ull << c)))
            c = -1;
        r->binding[i] = c;
        if (c >= 0) {
            have |= 1ull << c;
            known++;
        }
    }
    r->nbind = n;
    if (!known)
        return set_error(r, MX_E_BAD_HEADER, NULL);
    uint64_t missing = r->required & ~have;
    if (missing) {
        for (int c = 0; c < MX_COL__COUNT; c++)
            if (missing & (1ull << c))
                return set_error(r, MX_E_NO_COLUMN, mx_column_name((mx_column_t)c));
    }
    return 0;
}

int mx_reader_next(mx_reader_t *r, mx_record_t *rec) {
    char *fields[256];
    for (;;) {
        if (!r->src) {
            if (r->next_path >= r->npaths)
                return 0;
            r->file = r->paths[r->next_path++];
            r->header_done = 0;
            r->row = 0;
            int rc = r->fn    ? mx_source_open_fn(&r->src, r->fn, r->fn_ud)
                     : r->mem ? mx_source_open_mem(&r->src, r->mem, r->mem_len)
                              : mx_source_open(&r->src, r->file);
            if (rc)
                return set_error(r, rc, NULL);
            mx_source_skip_hash(r->src); /* scan files are read, not fingerprinted */
        }
        size_t end = 0;
        int rc = find_record(r, &end);
        if (rc < 0) {
            close_file(r);
            return rc;
        }
        if (rc == 0) {
            int had_header = r->header_done;
            close_file(r);
            if (!had_header)
                return set_error(r, MX_E_BAD_HEADER, "empty file");
            continue;
        }
        char *p = r->buf + r->start;
        r->start = end < r->len ? end + 1 : end;
        int n = split(p, r->buf + end, fields, 256);
        if (n > 256)
            n = 256;
        if (!r->header_done) {
            rc = bind_header(r, fields, n);
            if (rc) {
                close_file(r);
                return rc;
            }
            r->header_done = 1;
            continue;
        }
        if (n == 1 && fields[0][0] == 0)
            continue; /* a blank line */
        if (strcmp(fields[0], "rank") == 0) {
            /* A header inside the stream: files joined with cat(1). Ranks are integers, so
             * this cannot be a data row; its columns may differ, so bind them anew. */
            if ((rc = bind_header(r, fields, n))) {
                close_file(r);
                return rc;
            }
            continue;
        }
        memset(rec, 0, sizeof(*rec));
        for (int i = 0; i < n && i < r->nbind; i++)
            if (r->binding[i] >= 0)
                rec->f[r->binding[i]] = fields[i];
        r->row++;
        return 1;
    }
}

const char *mx_reader_error(const mx_reader_t *r) {
    return r->errmsg[0] ? r->errmsg : NULL;
}

const char *mx_reader_file(const mx_reader_t *r) {
    return r->file;
}

uint64_t mx_reader_row_number(const mx_reader_t *r) {
    return r->row;
}

void mx_reader_free(mx_reader_t *r) {
    if (!r)
        return;
    mx_source_free(r->src);
    if (r->paths)
        for (int i = 0; i < r->npaths; i++)
            free(r->paths[i]);
    free(r->paths);
    free(r->buf);
    free(r);
}
