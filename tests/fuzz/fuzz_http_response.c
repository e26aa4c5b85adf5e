/* Fuzz target: the HTTP response reader of the MTA-STS fetch on arbitrary bytes, fed whole and
 * again in pieces whose sizes come from the input: the outcome must not depend on the pieces,
 * the body must stay within the cap, and a failure must name its token. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(mx_http_resp_t *r, const uint8_t *data, size_t size, size_t piece) {
    mx_http_resp_init(r, 1024);
    int rc = MX_HTTP_AGAIN;
    for (size_t at = 0; at < size && rc == MX_HTTP_AGAIN;) {
        size_t n = piece && piece < size - at ? piece : size - at;
        rc = mx_http_resp_feed(r, (const char *)data + at, n);
        at += n;
    }
    if (rc == MX_HTTP_AGAIN)
        rc = mx_http_resp_end(r);
    if (r->body_len > 1024 || (r->body && r->body[r->body_len] != 0))
        __builtin_trap();
    if ((rc == MX_HTTP_FAIL) != (r->error != NULL))
        __builtin_trap();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mx_http_resp_t a, b; /* the line buffers: not on the fuzzer's stack */
    size_t piece = size ? (size_t)(data[0] % 7) + 1 : 1;
    int ra = run(&a, data, size, 0), rb = run(&b, data, size, piece);
    if (ra != rb || a.code != b.code || a.body_len != b.body_len ||
        (a.body_len && memcmp(a.body, b.body, a.body_len) != 0) ||
        (ra == MX_HTTP_FAIL && strcmp(a.error, b.error) != 0))
        __builtin_trap();
    mx_http_resp_free(&a);
    mx_http_resp_free(&b);
    return 0;
}
