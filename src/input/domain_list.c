/* Streaming reader of domain lists (mxtls/domain_list.h).
 *
 * Lines are cut from a fixed buffer; a line longer than MX_LINE_MAX is reported as invalid and
 * its remainder skipped, so memory does not depend on the input. Duplicates are found with a
 * set of 64-bit name hashes (8 bytes a domain, not the names): two different names collide with
 * probability about n^2 / 2^65, 3e-8 for a million names. */
#include "mxtls/domain_list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/hashset.h"
#include "mxtls/source.h"

#define BUF_SIZE (64 * 1024)

struct mx_domain_reader {
    mx_source_t *src;
    char *buf;
    size_t len, pos;
    int eof;
    int err;
    int skipping; /* inside the rest of an over-long line */
    mx_domain_counts_t counts;
    mx_hashset_t seen;
    mx_hashset_t done;       /* names a resumed file already holds */
    mx_hashset_t done_lines; /* invalid lines a resumed file already holds, by number */
    char line[MX_LINE_MAX + 1];
    char name[MX_DOMAIN_MAX + 1];
};

int mx_domain_reader_open_source(mx_domain_reader_t **out, mx_source_t *src) {
    mx_domain_reader_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->buf = malloc(BUF_SIZE))) {
        free(r);
        mx_source_free(src);
        return MX_E_NOMEM;
    }
    r->src = src;
    *out = r;
    return 0;
}

int mx_domain_reader_open(mx_domain_reader_t **out, const char *path) {
    mx_source_t *src;
    int rc = mx_source_open(&src, path);
    return rc ? rc : mx_domain_reader_open_source(out, src);
}

/* Adds NAME to the set. Returns 1 when added, 0 when already there, or MX_E_NOMEM. */
static int set_add(mx_domain_reader_t *r, const char *name) {
    return mx_hashset_add(&r->seen, mx_domain_hash(name));
}

int mx_domain_reader_mark_done(mx_domain_reader_t *r, const char *name) {
    int rc = mx_hashset_add(&r->done, mx_domain_hash(name));
    return rc < 0 ? rc : 0;
}

int mx_domain_reader_mark_done_line(mx_domain_reader_t *r, unsigned long line) {
    int rc = mx_hashset_add(&r->done_lines, mx_hash_mix(line));
    return rc < 0 ? rc : 0;
}

/* Cuts the next line into r->line. Returns 1 with a line (*too_long set when it was cut),
 * 0 at the end, or a negative code. */
static int next_line(mx_domain_reader_t *r, size_t *len, int *too_long) {
    size_t n = 0;
    *too_long = 0;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof)
                break;
            ssize_t got = mx_source_read(r->src, r->buf, BUF_SIZE);
            if (got < 0) {
                /* A line the damage cut is not a line: it is dropped, never scanned. */
                r->err = (int)got;
                return (int)got;
            }
            if (got == 0) {
                r->eof = 1;
                break;
            }
            r->len = (size_t)got;
            r->pos = 0;
        }
        char *start = r->buf + r->pos;
        char *nl = memchr(start, '\n', r->len - r->pos);
        size_t chunk = nl ? (size_t)(nl - start) : r->len - r->pos;
        if (n + chunk > MX_LINE_MAX) {
            size_t take = MX_LINE_MAX - n;
            memcpy(r->line + n, start, take);
            n = MX_LINE_MAX;
            *too_long = 1;
        } else {
            memcpy(r->line + n, start, chunk);
            n += chunk;
        }
        r->pos += chunk + (nl ? 1 : 0);
        if (nl) {
            r->line[n] = 0;
            *len = n;
            return 1;
        }
    }
    if (n == 0 && !*too_long)
        return 0;
    r->line[n] = 0;
    *len = n;
    return 1;
}

/* Whether the invalid line just counted is one a resumed file holds (then counted as resumed). */
static int was_done_line(mx_domain_reader_t *r) {
    if (!mx_hashset_has(&r->done_lines, mx_hash_mix(r->counts.lines)))
        return 0;
    r->counts.resumed++;
    return 1;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

static int parse_rank(const char *s, size_t len, long *rank) {
    long v = 0;
    if (len == 0 || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return -1;
    *rank = v;
    return 0;
}

int mx_domain_reader_next(mx_domain_reader_t *r, mx_domain_item_t *item) {
    for (;;) {
        size_t len = 0;
        int too_long;
        if (r->err && r->pos == r->len)
            return r->err;
        int rc = next_line(r, &len, &too_long);
        if (rc <= 0)
            return rc;
        r->counts.lines++;
        char *s = r->line;
        /* A NUL would end the line's text early: "a.com\0junk" read as a.com. It is a '?',
         * as the writer shows control characters, and makes the line invalid. */
        for (char *z = memchr(s, 0, len); z; z = memchr(z, 0, len - (size_t)(z - s)))
            *z = '?';
        if (r->counts.lines == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            len -= 3;
        }
        while (len && is_space(*s))
            s++, len--;
        while (len && is_space(s[len - 1]))
            len--;
        s[len] = 0;
        if (!too_long && (len == 0 || s[0] == '#'))
            continue;

        memset(item, 0, sizeof(*item));
        item->line = r->counts.lines;
        item->domain = s;
        if (too_long) {
            item->invalid = "invalid_line_too_long";
            r->counts.invalid++;
            if (was_done_line(r))
                continue;
            return 1;
        }
        const char *name = s;
        size_t name_len = len;
        char *comma = memchr(s, ',', len);
        if (comma) {
            size_t rank_len = (size_t)(comma - s);
            while (rank_len && is_space(s[rank_len - 1]))
                rank_len--;
            name = comma + 1;
            name_len = len - (size_t)(name - s);
            while (name_len && is_space(*name))
                name++, name_len--;
            if (memchr(name, ',', name_len))
                item->invalid = "invalid_fields";
            else if (parse_rank(s, rank_len, &item->rank) < 0)
                item->invalid = "invalid_rank";
        }
        if (!item->invalid)
            item->invalid = mx_domain_normalize(name, name_len, r->name);
        if (item->invalid) {
            r->counts.invalid++;
            if (was_done_line(r))
                continue;
            return 1;
        }
        rc = set_add(r, r->name);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            r->counts.duplicates++;
            continue;
        }
        item->domain = r->name;
        r->counts.domains++;
        if (mx_hashset_has(&r->done, mx_domain_hash(r->name))) {
            r->counts.resumed++;
            continue;
        }
        return 1;
    }
}

const mx_domain_counts_t *mx_domain_reader_counts(const mx_domain_reader_t *r) {
    return &r->counts;
}

unsigned long long mx_domain_reader_sha256(const mx_domain_reader_t *r, char hex[65]) {
    return mx_source_raw_bytes(r->src, hex);
}

void mx_domain_reader_free(mx_domain_reader_t *r) {
    if (!r)
        return;
    mx_source_free(r->src);
    mx_hashset_close(&r->seen);
    mx_hashset_close(&r->done);
    mx_hashset_close(&r->done_lines);
    free(r->buf);
    free(r);
}
