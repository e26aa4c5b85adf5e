/* The HTTP/1.1 response reader (mxtls/http.h). Lines are collected into a fixed buffer, so a
 * server that never ends one costs MX_HTTP_LINE_MAX bytes, and the body grows only up to the
 * cap. Bare LF ends a line as CRLF does (RFC 9112 section 2.2 allows a recipient that). */
#include "mxtls/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    S_STATUS,
    S_HEADER,
    S_BODY,
    S_BODY_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK,
    S_CHUNK_END,
    S_TRAILER,
    S_DONE,
    S_FAIL
};

void mx_http_resp_init(mx_http_resp_t *r, size_t cap) {
    memset(r, 0, sizeof(*r) - sizeof(r->line));
    r->cap = cap;
    r->state = S_STATUS;
}

void mx_http_resp_free(mx_http_resp_t *r) {
    free(r->body);
    r->body = NULL;
}

/* A failed response keeps no body, so that the outcome is the same however the bytes came. */
static int fail(mx_http_resp_t *r, const char *why) {
    r->error = why;
    r->body_len = 0;
    if (r->body)
        r->body[0] = 0;
    r->state = S_FAIL;
    return MX_HTTP_FAIL;
}

static int done(mx_http_resp_t *r) {
    r->state = S_DONE;
    return MX_HTTP_DONE;
}

/* "HTTP/1.x NNN[ reason]". */
static int status_line(mx_http_resp_t *r, const char *s, size_t n) {
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)s[7]) || s[8] != ' ' ||
        !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
        !isdigit((unsigned char)s[11]) || (n > 12 && s[12] != ' '))
        return fail(r, "http_syntax");
    r->code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (r->code < 100 || r->code > 599 || r->code == 101)
        return fail(r, "http_syntax");
    r->state = S_HEADER;
    r->headers = 0;
    r->chunked = r->text_plain = r->location = 0;
    r->left = UINT64_MAX; /* no Content-Length yet */
    return MX_HTTP_AGAIN;
}

static int is_tchar(char c) {
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Whether the N bytes at V (no surrounding space) are, case aside, WORD. */
static int value_is(const char *v, size_t n, const char *word) {
    return n == strlen(word) && !strncasecmp(v, word, n);
}

/* A decimal Content-Length; UINT64_MAX - 1 for one too large to matter (beyond any cap). */
static int content_length(const char *v, size_t n, uint64_t *out) {
    uint64_t x = 0;
    if (!n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        x = x > (UINT64_MAX - 10) / 10 ? UINT64_MAX - 1 : x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* After the empty line: how the body is delimited. */
static int headers_end(mx_http_resp_t *r) {
    if (r->code < 200) { /* an interim response: the final one follows */
        r->state = S_STATUS;
        return MX_HTTP_AGAIN;
    }
    if (r->code == 204 || r->code == 304)
        return done(r);
    if (r->chunked) {
        r->state = S_CHUNK_SIZE;
        return MX_HTTP_AGAIN;
    }
    if (r->left == UINT64_MAX) {
        r->state = S_BODY_CLOSE;
        r->close_delimited = 1;
        return MX_HTTP_AGAIN;
    }
    if (r->left > r->cap)
        return fail(r, "http_too_large");
    if (!r->left)
        return done(r);
    r->state = S_BODY;
    return MX_HTTP_AGAIN;
}

/* One header field line "name: value" (or the empty line ending them). */
static int header_line(mx_http_resp_t *r, const char *s, size_t n) {
    if (!n)
        return headers_end(r);
    if (++r->headers > MX_HTTP_HEADERS_MAX)
        return fail(r, "http_syntax");
    size_t k = 0;
    while (k < n && is_tchar(s[k]))
        k++;
    if (!k || k == n || s[k] != ':') /* no name, or obsolete line folding */
        return fail(r, "http_syntax");
    const char *v = s + k + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vn = (size_t)(end - v);
    if (value_is(s, k, "content-length")) {
        uint64_t len;
        if (content_length(v, vn, &len) < 0 || (r->left != UINT64_MAX && r->left != len))
            return fail(r, "http_syntax");
        r->left = len;
    } else if (value_is(s, k, "transfer-encoding")) {
        if (!value_is(v, vn, "chunked")) /* a coding this reader cannot undo */
            return fail(r, "http_syntax");
        r->chunked = 1;
    } else if (value_is(s, k, "content-type")) {
        const char *semi = memchr(v, ';', vn);
        size_t tn = semi ? (size_t)(semi - v) : vn;
        while (tn && (v[tn - 1] == ' ' || v[tn - 1] == '\t'))
            tn--;
        r->text_plain = value_is(v, tn, "text/plain");
    } else if (value_is(s, k, "location")) {
        r->location = 1;
    }
    return MX_HTTP_AGAIN;
}

/* A chunk-size line: hex digits, then optional extensions. */
static int chunk_size_line(mx_http_resp_t *r, const char *s, size_t n) {
    uint64_t x = 0;
    size_t i = 0;
    for (; i < n && isxdigit((unsigned char)s[i]); i++) {
        if (i >= 15)
            return fail(r, "http_too_large");
        x = x * 16 + (uint64_t)(isdigit((unsigned char)s[i])
                                    ? s[i] - '0'
                                    : (tolower((unsigned char)s[i]) - 'a' + 10));
    }
    if (!i || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
        return fail(r, "http_syntax");
    if (!x) {
        r->state = S_TRAILER;
        return MX_HTTP_AGAIN;
    }
    if (x > r->cap - r->body_len)
        return fail(r, "http_too_large");
    r->left = x;
    r->state = S_CHUNK;
    return MX_HTTP_AGAIN;
}

static int line_done(mx_http_resp_t *r, const char *s, size_t n) {
    switch (r->state) {
    case S_STATUS:
        return status_line(r, s, n);
    case S_HEADER:
        return header_line(r, s, n);
    case S_CHUNK_SIZE:
        return chunk_size_line(r, s, n);
    case S_CHUNK_END:
        if (n)
            return fail(r, "http_syntax");
        r->state = S_CHUNK_SIZE;
        return MX_HTTP_AGAIN;
    default: /* S_TRAILER: fields ignored, the empty line ends the response */
        return n ? MX_HTTP_AGAIN : done(r);
    }
}

/* Appends N body bytes at S, within the cap. */
static int body(mx_http_resp_t *r, const char *s, size_t n) {
    if (n > r->cap - r->body_len)
        return fail(r, "http_too_large");
    if (!r->body && !(r->body = malloc(r->cap + 1)))
        return fail(r, "out_of_memory");
    memcpy(r->body + r->body_len, s, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
    return MX_HTTP_AGAIN;
}

int mx_http_resp_feed(mx_http_resp_t *r, const char *data, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (r->state == S_DONE)
            return MX_HTTP_DONE;
        if (r->state == S_FAIL)
            return MX_HTTP_FAIL;
        if (r->state == S_BODY || r->state == S_CHUNK || r->state == S_BODY_CLOSE) {
            size_t n = len - i;
            if (r->state != S_BODY_CLOSE && n > r->left)
                n = (size_t)r->left;
            if (body(r, data + i, n) < 0)
                return MX_HTTP_FAIL;
            i += n;
            if (r->state == S_BODY_CLOSE)
                continue;
            r->left -= n;
            if (!r->left && r->state == S_BODY)
                return done(r);
            if (!r->left)
                r->state = S_CHUNK_END;
            continue;
        }
        char c = data[i++];
        if (c != '\n') {
            if (r->line_len == sizeof(r->line))
                return fail(r, "http_syntax");
            r->line[r->line_len++] = c;
            continue;
        }
        size_t n = r->line_len;
        if (n && r->line[n - 1] == '\r')
            n--;
        r->line_len = 0;
        if (line_done(r, r->line, n) < 0)
            return MX_HTTP_FAIL;
    }
    return r->state == S_DONE ? MX_HTTP_DONE : r->state == S_FAIL ? MX_HTTP_FAIL : MX_HTTP_AGAIN;
}

int mx_http_resp_end(mx_http_resp_t *r) {
    if (r->state == S_DONE || r->state == S_BODY_CLOSE)
        return done(r);
    if (r->state == S_FAIL)
        return MX_HTTP_FAIL;
    return fail(r, "http_truncated");
}
