/* The cleartext handshake parser on handshakes built byte by byte: TLS 1.2 ECDHE with a
 * chain, TLS 1.3, SSLv3 with RC4, DHE with 3DES, alerts, messages split across records and
 * feeds, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "mxtls/hello.h"
#include "mxtls/suites.h"

typedef struct {
    unsigned char b[8192];
    size_t n;
} buf_t;

static void put(buf_t *b, const void *p, size_t n) {
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void u8(buf_t *b, unsigned v) {
    b->b[b->n++] = (unsigned char)v;
}
static void u16(buf_t *b, unsigned v) {
    u8(b, v >> 8), u8(b, v & 255);
}
static void u24(buf_t *b, unsigned v) {
    u8(b, v >> 16), u8(b, (v >> 8) & 255), u8(b, v & 255);
}

/* A handshake message of TYPE with BODY. */
static void msg(buf_t *out, unsigned type, const buf_t *body) {
    u8(out, type);
    u24(out, (unsigned)body->n);
    put(out, body->b, body->n);
}

/* MSGS wrapped in handshake records of at most CHUNK bytes each, record version VER. */
static void records(buf_t *out, const buf_t *msgs, unsigned ver, size_t chunk) {
    for (size_t o = 0; o < msgs->n; o += chunk) {
        size_t n = msgs->n - o < chunk ? msgs->n - o : chunk;
        u8(out, 22), u16(out, ver), u16(out, (unsigned)n);
        put(out, msgs->b + o, n);
    }
}

static void server_hello(buf_t *m, unsigned ver, unsigned cipher, const buf_t *exts) {
    buf_t body = {.n = 0};
    u16(&body, ver);
    for (int i = 0; i < 32; i++)
        u8(&body, (unsigned)i);
    u8(&body, 32);
    for (int i = 0; i < 32; i++)
        u8(&body, 0xAA);
    u16(&body, cipher);
    u8(&body, 0);
    if (exts) {
        u16(&body, (unsigned)exts->n);
        put(&body, exts->b, exts->n);
    }
    msg(m, 2, &body);
}

static void chain(buf_t *m, int certs) {
    buf_t body = {.n = 0}, list = {.n = 0};
    for (int c = 0; c < certs; c++) {
        u24(&list, 100 + (unsigned)c);
        for (int i = 0; i < 100 + c; i++)
            u8(&list, (unsigned)(c + 1));
    }
    u24(&body, (unsigned)list.n);
    put(&body, list.b, list.n);
    msg(m, 11, &body);
}

static void done(buf_t *m) {
    buf_t empty = {.n = 0};
    msg(m, 14, &empty);
}

/* Feeds IN whole and one byte at a time; both must end alike. */
static int feed(const buf_t *in, int keep, mx_hello_t *h) {
    mx_hello_t drip;
    mx_hello_init(h, keep);
    int rc = mx_hello_feed(h, in->b, in->n), rc2 = MX_HELLO_AGAIN;
    mx_hello_init(&drip, keep);
    for (size_t i = 0; i < in->n && rc2 == MX_HELLO_AGAIN; i++)
        rc2 = mx_hello_feed(&drip, in->b + i, 1);
    assert_int_equal(rc, rc2);
    assert_int_equal(h->version, drip.version);
    assert_int_equal(h->cipher, drip.cipher);
    assert_int_equal(h->group, drip.group);
    assert_int_equal(h->chain_total, drip.chain_total);
    mx_hello_free(&drip);
    return rc;
}

static void test_tls12_ecdhe_chain(void **state) {
    (void)state;
    buf_t m = {.n = 0}, in = {.n = 0}, exts = {.n = 0}, ske = {.n = 0};
    u16(&exts, 0xFF01), u16(&exts, 1), u8(&exts, 0); /* renegotiation_info */
    server_hello(&m, 0x0303, 0xC02F, &exts);
    chain(&m, 2);
    u8(&ske, 3), u16(&ske, 0x001D), u8(&ske, 32);
    for (int i = 0; i < 32; i++)
        u8(&ske, 7);
    msg(&m, 12, &ske);
    done(&m);
    records(&in, &m, 0x0303, 100); /* messages span records */
    mx_hello_t h;
    assert_int_equal(feed(&in, 1, &h), MX_HELLO_DONE);
    assert_int_equal(h.version, 0x0303);
    assert_string_equal(mx_tls_version_name(h.version), "TLSv1.2");
    assert_int_equal(h.cipher, 0xC02F);
    assert_int_equal(h.group, 0x001D);
    assert_int_equal(h.chain_total, 2);
    assert_int_equal(h.ncerts, 2);
    assert_int_equal(h.cert_len[1], 101);
    assert_int_equal(h.certs[h.cert_off[1]], 2);
    mx_hello_free(&h);
}

static void test_tls13(void **state) {
    (void)state;
    buf_t m = {.n = 0}, in = {.n = 0}, exts = {.n = 0};
    u16(&exts, 43), u16(&exts, 2), u16(&exts, 0x0304);
    u16(&exts, 51), u16(&exts, 4 + 65), u16(&exts, 0x0017), u16(&exts, 65);
    for (int i = 0; i < 65; i++)
        u8(&exts, 4);
    server_hello(&m, 0x0303, 0x1302, &exts);
    records(&in, &m, 0x0303, 16384);
    u8(&in, 20), u16(&in, 0x0303), u16(&in, 1), u8(&in, 1); /* compatibility CCS */
    mx_hello_t h;
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_DONE);
    assert_int_equal(h.version, 0x0304);
    assert_int_equal(h.cipher, 0x1302);
    assert_int_equal(h.group, 0x0017);
    mx_hello_free(&h);
}

static void test_sslv3_rc4_and_dhe(void **state) {
    (void)state;
    buf_t m = {.n = 0}, in = {.n = 0};
    server_hello(&m, 0x0300, 0x0004, NULL); /* SSLv3 hellos carry no extensions */
    chain(&m, 1);
    done(&m);
    records(&in, &m, 0x0300, 16384);
    mx_hello_t h;
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_DONE);
    assert_string_equal(mx_tls_version_name(h.version), "SSLv3");
    assert_int_equal(h.cipher, 0x0004);
    assert_int_equal(h.ncerts, 0); /* the chain is read only when asked for */
    mx_hello_free(&h);

    buf_t m2 = {.n = 0}, in2 = {.n = 0}, ske = {.n = 0};
    server_hello(&m2, 0x0301, 0x0016, NULL);
    u16(&ske, 129), u8(&ske, 0);
    u8(&ske, 0x80);
    for (int i = 0; i < 127; i++)
        u8(&ske, 0x11); /* p: 1024 bits after a leading zero byte */
    u16(&ske, 1), u8(&ske, 2);
    msg(&m2, 12, &ske);
    done(&m2);
    records(&in2, &m2, 0x0301, 16384);
    assert_int_equal(feed(&in2, 0, &h), MX_HELLO_DONE);
    assert_int_equal(h.dh_bits, 1024);
    assert_int_equal(h.group, 0);
    mx_hello_free(&h);
}

static void test_alert_and_malformed(void **state) {
    (void)state;
    static const unsigned char alert[] = {21, 3, 1, 0, 2, 2, 40};
    mx_hello_t h;
    buf_t in = {.n = 0};
    put(&in, alert, sizeof(alert));
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_ALERT);
    assert_int_equal(h.alert_desc, 40);

    static const unsigned char sslv2[] = {0x80, 0x2e, 0x04, 0x00};
    in.n = 0, put(&in, sslv2, sizeof(sslv2));
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_E_BAD);
    static const unsigned char smtp[] = "250 ok\r\n";
    in.n = 0, put(&in, smtp, 8);
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_E_BAD);
    static const unsigned char huge[] = {22, 3, 3, 0xff, 0xff};
    in.n = 0, put(&in, huge, sizeof(huge));
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_E_BAD);
    /* A ServerHello whose session id runs past its end. */
    static const unsigned char bad_sh[] = {22, 3, 3, 0, 41, 2, 0, 0, 37, 3, 3};
    buf_t b = {.n = 0};
    put(&b, bad_sh, sizeof(bad_sh));
    for (int i = 0; i < 32; i++)
        u8(&b, 0);
    u8(&b, 200); /* session id length */
    u16(&b, 0);
    assert_int_equal(feed(&b, 0, &h), MX_HELLO_E_BAD);
    /* Without ServerHelloDone the parser waits. */
    buf_t m = {.n = 0};
    server_hello(&m, 0x0303, 0xC030, NULL);
    in.n = 0;
    records(&in, &m, 0x0303, 16384);
    assert_int_equal(feed(&in, 0, &h), MX_HELLO_AGAIN);
    mx_hello_free(&h);
}

/* Real servers' bytes (OpenSSL, recorded from the farm after STARTTLS and a ClientHello):
 * each file is named VERSION-KEY-GROUP-CIPHER.bin. TLS 1.3 answers of 99 bytes are
 * HelloRetryRequests, which name the group the server wants. */
static void test_recorded(void **state) {
    (void)state;
    char dir[1024], path[2048];
    snprintf(dir, sizeof(dir), "%s/hello", getenv("MXTLS_TEST_DATA"));
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    assert_non_null(d);
    while ((e = readdir(d))) {
        char ver[16], key[32], group[32], cipher[96];
        if (sscanf(e->d_name, "%15[^-]-%31[^-]-%31[^-]-%95[^.].bin", ver, key, group, cipher) != 4)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        buf_t in = {.n = 0};
        in.n = fread(in.b, 1, sizeof(in.b), f);
        fclose(f);
        mx_hello_t h;
        int rc = feed(&in, 1, &h);
        if (rc != MX_HELLO_DONE && !(rc == MX_HELLO_AGAIN && in.n < 128))
            fail_msg("%s: rc %d", e->d_name, rc);
        if (strcmp(mx_tls_version_name(h.version), ver) != 0)
            fail_msg("%s: version %s", e->d_name, mx_tls_version_name(h.version));
        const mx_suite_t *s = mx_suite_by_id(h.cipher);
        if (!s || strcmp(s->iana, cipher) != 0)
            fail_msg("%s: cipher 0x%04x", e->d_name, h.cipher);
        const char *g = strcmp(group, "rsa") == 0 ? "rsa" : mx_group_name(h.group);
        if (!g || strcmp(g, group) != 0)
            fail_msg("%s: group 0x%04x", e->d_name, h.group);
        if (h.version < 0x0304 && (h.ncerts < 1 || h.ncerts != h.chain_total))
            fail_msg("%s: %u certificates kept of %u", e->d_name, h.ncerts, h.chain_total);
        mx_hello_free(&h);
        files++;
    }
    closedir(d);
    assert_true(files >= 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_ecdhe_chain), cmocka_unit_test(test_tls13),
        cmocka_unit_test(test_sslv3_rc4_and_dhe), cmocka_unit_test(test_alert_and_malformed),
        cmocka_unit_test(test_recorded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
