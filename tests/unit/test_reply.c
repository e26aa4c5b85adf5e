/* The SMTP reply parser on recorded byte sequences: every well-formed shape, bytes arriving
 * one at a time, data after the reply, and every malformed form with its error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/reply.h"

/* Parses S whole and byte by byte; both must agree. Returns the result, R filled. */
static int parse(const char *s, size_t len, mx_reply_t *r) {
    mx_reply_t drip;
    int whole, rc = MX_REPLY_AGAIN;
    mx_reply_init(r);
    whole = mx_reply_parse(r, s, len);
    mx_reply_init(&drip);
    for (size_t n = 1; n <= len && rc == MX_REPLY_AGAIN; n++)
        rc = mx_reply_parse(&drip, s, n);
    assert_int_equal(whole, rc);
    if (whole == MX_REPLY_DONE) {
        assert_int_equal(r->end, drip.end);
        assert_int_equal(r->lines, drip.lines);
    }
    return whole;
}

static void test_shapes(void **state) {
    (void)state;
    mx_reply_t r;
    const char *t;
    size_t n;
    static const char one[] = "220 mx.example ESMTP Postfix\r\n";
    assert_int_equal(parse(one, strlen(one), &r), MX_REPLY_DONE);
    assert_int_equal(r.code, 220);
    assert_int_equal(r.lines, 1);
    assert_int_equal(r.end, strlen(one));
    assert_int_equal(mx_reply_line(&r, one, 0, &t, &n), 0);
    assert_int_equal(n, strlen("mx.example ESMTP Postfix"));
    assert_memory_equal(t, "mx.example ESMTP Postfix", n);

    static const char multi[] = "220-first\r\n220-second\n220 last\r\nNEXT";
    assert_int_equal(parse(multi, strlen(multi), &r), MX_REPLY_DONE);
    assert_int_equal(r.lines, 3);
    assert_int_equal(r.end, strlen(multi) - 4); /* what follows is not part of the reply */
    assert_int_equal(mx_reply_line(&r, multi, 1, &t, &n), 0);
    assert_memory_equal(t, "second", n);
    assert_int_equal(mx_reply_line(&r, multi, 3, &t, &n), -1);

    static const char bare[] = "250\r\n";
    assert_int_equal(parse(bare, strlen(bare), &r), MX_REPLY_DONE);
    assert_int_equal(mx_reply_line(&r, bare, 0, &t, &n), 0);
    assert_int_equal(n, 0);

    static const char partial[] = "250-PIPELINING\r\n250 SIZE";
    assert_int_equal(parse(partial, strlen(partial), &r), MX_REPLY_AGAIN);
}

static void test_malformed(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int rc;
        size_t len; /* 0: strlen */
    } cases[] = {
        {"2x0 hello\r\n", MX_REPLY_E_BAD},
        {"620 hello\r\n", MX_REPLY_E_BAD},
        {"022 hello\r\n", MX_REPLY_E_BAD},
        {"250x hello\r\n", MX_REPLY_E_BAD},
        {"25\r\n", MX_REPLY_E_BAD},
        {"\r\n", MX_REPLY_E_BAD},
        {"250-a\r\n251 b\r\n", MX_REPLY_E_BAD},
        {"HTTP/1.1 400 Bad Request\r\n", MX_REPLY_E_BAD},
        {"\x16\x03\x01\x00\x05hello\n", MX_REPLY_E_BAD, 11},
        {"\x16\x03\x01\x00\x05", MX_REPLY_E_BAD, 5}, /* refused before any line end */
        {"220 but no line end yet", MX_REPLY_AGAIN},
        {"22", MX_REPLY_AGAIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mx_reply_t r;
        int rc = parse(cases[i].in, cases[i].len ? cases[i].len : strlen(cases[i].in), &r);
        if (rc != cases[i].rc)
            fail_msg("case %zu: want %d got %d", i, cases[i].rc, rc);
    }
    assert_string_equal(mx_reply_error_token(MX_REPLY_E_BAD), "bad_reply");
    assert_string_equal(mx_reply_error_token(MX_REPLY_E_TOO_LONG), "reply_too_long");
}

static void test_limits(void **state) {
    (void)state;
    mx_reply_t r;
    char *buf = malloc(MX_REPLY_MAX * 2);
    /* A line of exactly the cap (with its LF) is accepted; one byte more is not. */
    memcpy(buf, "220 ", 4);
    memset(buf + 4, 'a', MX_REPLY_LINE_MAX - 5);
    buf[MX_REPLY_LINE_MAX - 1] = '\n';
    mx_reply_init(&r);
    assert_int_equal(mx_reply_parse(&r, buf, MX_REPLY_LINE_MAX), MX_REPLY_DONE);
    buf[MX_REPLY_LINE_MAX - 1] = 'a';
    buf[MX_REPLY_LINE_MAX] = '\n';
    mx_reply_init(&r);
    assert_int_equal(mx_reply_parse(&r, buf, MX_REPLY_LINE_MAX + 1), MX_REPLY_E_TOO_LONG);
    /* No line end at all: refused as soon as the cap is reached, not later. */
    mx_reply_init(&r);
    assert_int_equal(mx_reply_parse(&r, buf, MX_REPLY_LINE_MAX - 1), MX_REPLY_AGAIN);

    size_t o = 0;
    for (int i = 0; i < MX_REPLY_LINES + 5; i++)
        o += (size_t)sprintf(buf + o, "250-line %d\r\n", i);
    mx_reply_init(&r);
    assert_int_equal(mx_reply_parse(&r, buf, o), MX_REPLY_E_TOO_MANY_LINES);

    o = 0;
    while (o < MX_REPLY_MAX + 4000)
        o += (size_t)sprintf(buf + o, "250-%03000d\r\n", 0);
    mx_reply_init(&r);
    assert_int_equal(mx_reply_parse(&r, buf, o), MX_REPLY_E_TOO_LONG);
    free(buf);
}

static void test_ehlo_caps(void **state) {
    (void)state;
    static const char ehlo[] = "250-mx.example Hello scanner.example\r\n"
                               "250-PIPELINING\r\n"
                               "250-SIZE 10240000\r\n"
                               "250-8bitmime\r\n"
                               "250-AUTH=LOGIN PLAIN\r\n"
                               "250-STARTTLS\r\n"
                               "250-X-BAD\x01KW\r\n"
                               "250-\r\n"
                               "250 DSN\r\n";
    mx_reply_t r;
    char caps[256];
    int64_t size;
    assert_int_equal(parse(ehlo, strlen(ehlo), &r), MX_REPLY_DONE);
    assert_int_equal(mx_ehlo_caps(&r, ehlo, caps, sizeof(caps), &size), 1);
    assert_string_equal(caps, "PIPELINING|SIZE|8BITMIME|AUTH|STARTTLS|DSN");
    assert_int_equal(size, 10240000);

    static const char nosize[] = "250-mx\r\n250-SIZE\r\n250 SMTPUTF8\r\n";
    assert_int_equal(parse(nosize, strlen(nosize), &r), MX_REPLY_DONE);
    assert_int_equal(mx_ehlo_caps(&r, nosize, caps, sizeof(caps), &size), 0);
    assert_string_equal(caps, "SIZE|SMTPUTF8");
    assert_int_equal(size, -1);

    static const char junk[] = "250-mx\r\n250 SIZE 12x\r\n";
    assert_int_equal(parse(junk, strlen(junk), &r), MX_REPLY_DONE);
    mx_ehlo_caps(&r, junk, caps, sizeof(caps), &size);
    assert_int_equal(size, -1);

    /* A small output buffer keeps whole keywords only. */
    assert_int_equal(parse(ehlo, strlen(ehlo), &r), MX_REPLY_DONE);
    mx_ehlo_caps(&r, ehlo, caps, 16, &size);
    assert_string_equal(caps, "PIPELINING|SIZE");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_ehlo_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
