/* The legacy probe's raw ClientHello (mxtls/hello.h). mbedTLS 3.6 speaks only TLS 1.2 and
 * 1.3 with modern suites; to learn what an older server does speak, this hello offers the
 * widest set a client ever sent, and only the server's cleartext answer is read. */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "mxtls/hello.h"
#include "mxtls/suites.h"

typedef struct {
    unsigned char *p;
    size_t n, cap;
} out_t;

static void u8(out_t *o, unsigned v) {
    if (o->n < o->cap)
        o->p[o->n] = (unsigned char)v;
    o->n++;
}

static void u16(out_t *o, unsigned v) {
    u8(o, v >> 8);
    u8(o, v & 255);
}

/* Writes a 2-byte (or 3-byte) length at AT for what followed it. */
static void len_at(out_t *o, size_t at, int bytes) {
    size_t len = o->n - at - (size_t)bytes;
    if (at + (size_t)bytes > o->cap)
        return;
    if (bytes == 3)
        o->p[at++] = (unsigned char)(len >> 16);
    o->p[at] = (unsigned char)(len >> 8);
    o->p[at + 1] = (unsigned char)len;
}

size_t mx_legacy_client_hello(const char *host, unsigned char *buf, size_t cap) {
    static const uint16_t groups[] = {0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x0016, 0x0015,
                                      0x0013, 0x001A, 0x001B, 0x001C, 0x0100, 0x0101, 0x0102};
    static const uint16_t sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401,
                                       0x0501, 0x0601, 0x0203, 0x0201, 0x0402, 0x0202};
    out_t o = {buf, 0, cap};
    size_t n;
    const mx_suite_t *suites = mx_suites_all(&n);
    unsigned char random[32];
    if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
        memset(random, 0x5A, sizeof(random));

    u8(&o, 22); /* handshake record, TLS 1.0 record version as widely sent */
    u16(&o, 0x0301);
    size_t rec_len = o.n;
    u16(&o, 0);
    u8(&o, 1); /* ClientHello */
    size_t hs_len = o.n;
    u8(&o, 0), u16(&o, 0);
    u16(&o, 0x0303);
    for (size_t i = 0; i < 32; i++)
        u8(&o, random[i]);
    u8(&o, 0); /* no session id */
    size_t cs_len = o.n;
    u16(&o, 0);
    for (size_t i = 0; i < n; i++)
        if (suites[i].kx != MX_KX_TLS13 && suites[i].kx != MX_KX_PSK)
            u16(&o, suites[i].id);
    u16(&o, 0x00FF); /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
    len_at(&o, cs_len, 2);
    u8(&o, 1), u8(&o, 0); /* compression: null only */
    size_t ext_len = o.n;
    u16(&o, 0);
    int is_name = host && *host && strspn(host, "0123456789.:") != strlen(host);
    if (is_name && strlen(host) < 256) {
        size_t hl = strlen(host);
        u16(&o, 0), u16(&o, (unsigned)hl + 5), u16(&o, (unsigned)hl + 3), u8(&o, 0);
        u16(&o, (unsigned)hl);
        for (size_t i = 0; i < hl; i++)
            u8(&o, (unsigned char)host[i]);
    }
    u16(&o, 10), u16(&o, (unsigned)sizeof(groups) + 2), u16(&o, (unsigned)sizeof(groups));
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        u16(&o, groups[i]);
    u16(&o, 11), u16(&o, 2), u8(&o, 1), u8(&o, 0); /* ec_point_formats: uncompressed */
    u16(&o, 13), u16(&o, (unsigned)sizeof(sigalgs) + 2), u16(&o, (unsigned)sizeof(sigalgs));
    for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
        u16(&o, sigalgs[i]);
    len_at(&o, ext_len, 2);
    len_at(&o, hs_len, 3);
    len_at(&o, rec_len, 2);
    return o.n <= cap ? o.n : 0;
}
