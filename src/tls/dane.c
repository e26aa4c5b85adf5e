/* DANE for SMTP (mxtls/dane.h). The chain is parsed with mbedTLS's X.509 reader; a DANE-TA
 * match is then verified as a chain from the server's certificate to the matched certificate,
 * which becomes the only trust anchor, with the host's name checked against the leaf. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include "mxtls/dane.h"

#include <string.h>

#include "tls/tls_int.h"

#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/x509_crt.h>

int mx_tlsa_parse(const uint8_t *rdata, size_t len, mx_tlsa_t *out) {
    if (len < 4)
        return -1;
    *out = (mx_tlsa_t){rdata[0], rdata[1], rdata[2], rdata + 3, len - 3};
    return 0;
}

int mx_tlsa_set_read(const mx_tlsa_set_t *set, mx_tlsa_t *recs) {
    int n = 0;
    for (size_t at = 0; n < MX_TLSA_MAX && at + 2 <= set->len;) {
        size_t len = (size_t)set->data[at] << 8 | set->data[at + 1];
        if (at + 2 + len > set->len)
            break;
        n += mx_tlsa_parse(set->data + at + 2, len, &recs[n]) == 0;
        at += 2 + len;
    }
    return n;
}

int mx_tlsa_usable(const mx_tlsa_t *t) {
    if ((t->usage != 2 && t->usage != 3) || t->selector > 1)
        return 0;
    return t->mtype == 0   ? t->len > 0
           : t->mtype == 1 ? t->len == 32
                           : t->mtype == 2 && t->len == 64;
}

/* Whether record T matches certificate C (its whole DER, or its SubjectPublicKeyInfo). */
static int matches(const mx_tlsa_t *t, const mbedtls_x509_crt *c) {
    const mbedtls_x509_buf *b = t->selector == 0 ? &c->raw : &c->pk_raw;
    unsigned char d[64];
    if (t->mtype == 0)
        return t->len == b->len && memcmp(t->data, b->p, b->len) == 0;
    if (t->mtype == 1) {
        mbedtls_sha256(b->p, b->len, d, 0);
        return memcmp(d, t->data, 32) == 0;
    }
    mbedtls_sha512(b->p, b->len, d, 0);
    return memcmp(d, t->data, 64) == 0;
}

/* Whether CHAIN verifies up to TA (a certificate of it, as the one trust anchor), now, for
 * HOST. */
static int verifies_to(mbedtls_x509_crt *chain, const mbedtls_x509_crt *ta, const char *host) {
    mbedtls_x509_crt anchor;
    uint32_t flags = 0;
    mbedtls_x509_crt_init(&anchor);
    int ok = mbedtls_x509_crt_parse_der(&anchor, ta->raw.p, ta->raw.len) == 0 &&
             mbedtls_x509_crt_verify(chain, &anchor, NULL, host, &flags, NULL, NULL) == 0 &&
             flags == 0;
    mbedtls_x509_crt_free(&anchor);
    return ok;
}

const char *mx__dane_check_crt(const mx_tlsa_t *recs, int n, mbedtls_x509_crt *chain,
                               const char *host) {
    int usable = 0;
    for (int i = 0; i < n; i++)
        usable += mx_tlsa_usable(&recs[i]);
    if (!usable)
        return "unusable";
    int match = 0;
    for (int i = 0; i < n && chain && chain->raw.p && !match; i++) {
        const mx_tlsa_t *t = &recs[i];
        if (!mx_tlsa_usable(t))
            continue;
        if (t->usage == 3) {
            match = matches(t, chain);
            continue;
        }
        for (const mbedtls_x509_crt *c = chain; c && !match; c = c->next)
            match = matches(t, c) && verifies_to(chain, c, host);
    }
    return match ? "match" : "mismatch";
}

const char *mx_dane_check(const mx_tlsa_t *recs, int n, int secure, const mx_chain_t *chain,
                          const char *host) {
    if (n <= 0)
        return "none";
    if (!secure)
        return "insecure";
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    for (int i = 0; i < chain->n; i++) /* a certificate mbedTLS cannot read ends the chain */
        if (mbedtls_x509_crt_parse_der(&crt, chain->der[i], chain->len[i]) != 0)
            break;
    const char *out = mx__dane_check_crt(recs, n, &crt, host);
    mbedtls_x509_crt_free(&crt);
    return out;
}
