/* An HTTP/1.1 response as an MTA-STS policy fetch reads it (RFC 9112): status line, header
 * fields, and a body delimited by Content-Length, chunked coding or the close, fed in pieces
 * as they arrive. Every byte comes from a web server anyone may run: lines, header fields and
 * the body are bounded, and the body is kept only up to the caller's cap. */
#ifndef MXTLS_HTTP_H
#define MXTLS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define MX_HTTP_LINE_MAX 8192   /* the status line, one header field, one chunk-size line */
#define MX_HTTP_HEADERS_MAX 100 /* header fields in one response */

enum { MX_HTTP_AGAIN = 0, MX_HTTP_DONE = 1, MX_HTTP_FAIL = -1 };

typedef struct {
    /* What was read: the final status code, the header fields that matter to a policy fetch
     * and the body. */
    int code;
    int text_plain; /* Content-Type is text/plain (parameters aside) */
    int location;   /* a Location field was sent */
    char *body;     /* the body (NUL-terminated), up to CAP bytes; NULL until one byte */
    size_t body_len;
    const char *error; /* on MX_HTTP_FAIL: http_syntax, http_too_large, http_truncated,
                        * out_of_memory */

    /* The reader's state. */
    size_t cap;
    int state, chunked, headers, close_delimited;
    uint64_t left; /* bytes of the body (Content-Length) or of the chunk still to come */
    size_t line_len;
    char line[MX_HTTP_LINE_MAX];
} mx_http_resp_t;

/* A reader that keeps at most CAP bytes of body (more is http_too_large). */
void mx_http_resp_init(mx_http_resp_t *r, size_t cap);
void mx_http_resp_free(mx_http_resp_t *r);

/* Reads the LEN bytes at DATA: MX_HTTP_AGAIN (more needed), MX_HTTP_DONE (the response is
 * complete; bytes after it are ignored) or MX_HTTP_FAIL (error says why; later calls return
 * the same). */
int mx_http_resp_feed(mx_http_resp_t *r, const char *data, size_t len);

/* The server closed: MX_HTTP_DONE when the response was complete or delimited by the close,
 * else MX_HTTP_FAIL with http_truncated. */
int mx_http_resp_end(mx_http_resp_t *r);

#endif
