/* The HTTP/1.1 response reader of the MTA-STS fetch: each way a body is delimited, interim
 * responses, and each way a hostile or broken web server can break the grammar or the bounds.
 * Every response is read whole and again byte by byte: the outcome must not depend on how
 * the bytes arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/http.h"

typedef struct {
    int rc, code, text_plain, location;
    char body[256];
    size_t body_len;
    const char *error;
} got_t;

/* Reads TEXT (LEN bytes) in pieces of STEP bytes (0: whole), then the close when CLOSE. */
static got_t read_resp(const char *text, size_t len, size_t step, int close, size_t cap) {
    static mx_http_resp_t r; /* 8 KiB line buffer: not on the stack */
    got_t g;
    memset(&g, 0, sizeof(g));
    mx_http_resp_init(&r, cap);
    int rc = MX_HTTP_AGAIN;
    for (size_t at = 0; at < len && rc == MX_HTTP_AGAIN;) {
        size_t n = step && step < len - at ? step : len - at;
        rc = mx_http_resp_feed(&r, text + at, n);
        at += n;
    }
    if (rc == MX_HTTP_AGAIN && close)
        rc = mx_http_resp_end(&r);
    g.rc = rc;
    g.code = r.code;
    g.text_plain = r.text_plain;
    g.location = r.location;
    g.error = r.error;
    g.body_len = r.body_len;
    if (r.body)
        memcpy(g.body, r.body, r.body_len < sizeof(g.body) ? r.body_len : sizeof(g.body) - 1);
    mx_http_resp_free(&r);
    return g;
}

/* TEXT read whole and byte by byte must agree; returns the whole reading. */
static got_t check(const char *text, int close, size_t cap) {
    got_t a = read_resp(text, strlen(text), 0, close, cap);
    got_t b = read_resp(text, strlen(text), 1, close, cap);
    assert_int_equal(a.rc, b.rc);
    assert_int_equal(a.code, b.code);
    assert_int_equal(a.body_len, b.body_len);
    assert_memory_equal(a.body, b.body, sizeof(a.body));
    assert_true(a.error == b.error || (a.error && b.error && !strcmp(a.error, b.error)));
    return a;
}

#define POLICY "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 86400\r\n"

static void test_bodies(void **state) {
    (void)state;
    got_t g =
        check("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 69\r\n\r\n" POLICY
              "trailing bytes are ignored",
              0, 65536);
    assert_int_equal(g.rc, MX_HTTP_DONE);
    assert_int_equal(g.code, 200);
    assert_true(g.text_plain);
    assert_int_equal(g.body_len, strlen(POLICY));
    assert_string_equal(g.body, POLICY);
    /* chunked, with an extension and a trailer; charset parameter; bare LF */
    g = check("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Type: Text/Plain; "
              "charset=utf-8\n\n10;x=y\nversion: STSv1\r\n\n8\nmode: no\n2\nne\n0\nX-T: 1\n\n",
              0, 65536);
    assert_int_equal(g.rc, MX_HTTP_DONE);
    assert_true(g.text_plain);
    assert_string_equal(g.body, "version: STSv1\r\nmode: none");
    /* delimited by the close */
    g = check("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nabc", 0, 65536);
    assert_int_equal(g.rc, MX_HTTP_AGAIN);
    g = check("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nabc", 1, 65536);
    assert_int_equal(g.rc, MX_HTTP_DONE);
    assert_false(g.text_plain);
    assert_string_equal(g.body, "abc");
    /* an interim response, then the final one */
    g = check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0,
              65536);
    assert_int_equal(g.rc, MX_HTTP_DONE);
    assert_int_equal(g.code, 404);
    /* a redirect: not followed, but seen */
    g = check("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\nContent-Length: "
              "0\r\n\r\n",
              0, 65536);
    assert_int_equal(g.code, 301);
    assert_true(g.location);
    g = check("HTTP/1.1 204 No Content\r\n\r\n", 0, 65536);
    assert_int_equal(g.rc, MX_HTTP_DONE);
    assert_int_equal(g.body_len, 0);
}

static void test_bounds(void **state) {
    (void)state;
    got_t g = check("HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\nxx", 0, 65536);
    assert_int_equal(g.rc, MX_HTTP_FAIL);
    assert_string_equal(g.error, "http_too_large"); /* said at once, not after 64 KiB */
    g = check("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 0, 65536);
    assert_string_equal(g.error, "http_too_large");
    g = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA00000\r\n", 0, 65536);
    assert_string_equal(g.error, "http_too_large");
    g = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n"
              "10\r\n0123456789abcdef\r\n",
              0, 20);
    assert_string_equal(g.error, "http_too_large"); /* chunks adding up past the cap */
    g = check("HTTP/1.1 200 OK\r\n\r\n0123456789abcdef0123456789", 1, 20);
    assert_string_equal(g.error, "http_too_large"); /* a close-delimited body past it */
    g = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 0,
              65536);
    assert_int_equal(g.rc, MX_HTTP_FAIL);
    /* an endless line, endless header fields */
    char *big = malloc(3 * MX_HTTP_LINE_MAX);
    strcpy(big, "HTTP/1.1 200 OK\r\nX-Long: ");
    memset(big + strlen(big), 'a', 2 * MX_HTTP_LINE_MAX);
    big[strlen("HTTP/1.1 200 OK\r\nX-Long: ") + 2 * MX_HTTP_LINE_MAX] = 0;
    g = check(big, 0, 65536);
    assert_string_equal(g.error, "http_syntax");
    big[0] = 0;
    strcat(big, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= MX_HTTP_HEADERS_MAX; i++)
        strcat(big, "X: 1\r\n");
    g = check(big, 0, 65536);
    assert_string_equal(g.error, "http_syntax");
    free(big);
}

static void test_grammar(void **state) {
    (void)state;
    static const char *const broken[] = {
        "SMTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 x\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded: value\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
        "\x15\x03\x03\x01\x02\n", /* TLS bytes where HTTP was due */
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        got_t g = check(broken[i], 1, 65536);
        if (g.rc != MX_HTTP_FAIL || strcmp(g.error, "http_syntax") != 0)
            fail_msg("case %zu read as %d %s", i, g.rc, g.error ? g.error : "-");
    }
    /* the same length twice is allowed */
    got_t g = check("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length:2\r\n\r\nab", 0, 99);
    assert_int_equal(g.rc, MX_HTTP_DONE);
    /* cut short */
    g = check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1, 99);
    assert_string_equal(g.error, "http_truncated");
    g = check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 1, 99);
    assert_string_equal(g.error, "http_truncated");
    g = check("HTTP/1.1 200", 1, 99);
    assert_string_equal(g.error, "http_truncated");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_grammar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
