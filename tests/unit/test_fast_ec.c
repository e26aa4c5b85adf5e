/* Nettle's curve arithmetic (mxtls/fast_ec.h) against mbedTLS's own generic code, the reference:
 * every product, shared secret and verdict must be the same, and so must every refusal. Each
 * operation runs twice in one process, with the hooks installed and removed, on the same inputs:
 * random key pairs and signatures, then the edge cases of Wycheproof's ECDSA and ECDH sets as
 * their descriptions give them (r or s zero or >= n, high S, points off the curve or at
 * infinity, wrong-length and truncated encodings, truncated and long digests, X25519's low-order
 * and non-canonical u-coordinates). Nettle must also be seen to do the work. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS /* point coordinates and context members */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

#include "mxtls/fast_ec.h"
#include "testutil.h"

static uint64_t seed = 0x5eed;

/* Under ASan (test.sh sets MXTLS_CUT_SPARSE) a tenth of the rounds: mbedTLS's generic code, the
 * reference, is slow there, and the full rounds run in the plain build. */
static int rounds(int n) {
    return getenv("MXTLS_CUT_SPARSE") ? n / 10 : n;
}

static int rng(void *ud, unsigned char *out, size_t len) {
    (void)ud;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)tu_rand(&seed);
    return 0;
}

static const mbedtls_ecp_group_id CURVES[] = {MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
                                              MBEDTLS_ECP_DP_CURVE25519};

/* R = m * P both ways: the same status, and the same point when there is one. */
static void mul_both(mbedtls_ecp_group *g, const mbedtls_mpi *m, const mbedtls_ecp_point *P) {
    mbedtls_ecp_point a, b;
    mbedtls_ecp_point_init(&a);
    mbedtls_ecp_point_init(&b);
    mx_fast_ec_enable(1);
    int ra = mbedtls_ecp_mul(g, &a, m, P, rng, NULL);
    mx_fast_ec_enable(0);
    int rb = mbedtls_ecp_mul(g, &b, m, P, rng, NULL);
    assert_int_equal(ra, rb);
    if (ra == 0) {
        assert_int_equal(mbedtls_mpi_cmp_mpi(&a.X, &b.X), 0);
        assert_int_equal(mbedtls_mpi_cmp_mpi(&a.Z, &b.Z), 0);
        if (mbedtls_ecp_get_type(g) == MBEDTLS_ECP_TYPE_SHORT_WEIERSTRASS)
            assert_int_equal(mbedtls_mpi_cmp_mpi(&a.Y, &b.Y), 0);
    }
    mbedtls_ecp_point_free(&a);
    mbedtls_ecp_point_free(&b);
}

/* A DER signature of HASH checked both ways against Q: the same verdict or refusal. */
static int verify_both(mbedtls_ecp_group_id id, const mbedtls_ecp_point *Q,
                       const unsigned char *hash, size_t hlen, const unsigned char *sig,
                       size_t slen) {
    mbedtls_ecdsa_context ctx;
    int r[2];
    for (int fast = 0; fast < 2; fast++) {
        mbedtls_ecdsa_init(&ctx);
        assert_int_equal(mbedtls_ecp_group_load(&ctx.grp, id), 0);
        assert_int_equal(mbedtls_ecp_copy(&ctx.Q, Q), 0);
        mx_fast_ec_enable(fast);
        r[fast] = mbedtls_ecdsa_read_signature(&ctx, hash, hlen, sig, slen);
        mbedtls_ecdsa_free(&ctx);
    }
    mx_fast_ec_enable(0);
    assert_int_equal(r[0], r[1]);
    return r[0];
}

static void test_products_and_secrets(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof(CURVES) / sizeof(CURVES[0]); c++) {
        mbedtls_ecp_group g;
        mbedtls_ecp_group_init(&g);
        assert_int_equal(mbedtls_ecp_group_load(&g, CURVES[c]), 0);
        unsigned long long before = mx_fast_ec_done();
        for (int i = 0; i < rounds(1000); i++) {
            mbedtls_mpi d1, d2;
            mbedtls_ecp_point q1, q2;
            mbedtls_mpi_init(&d1);
            mbedtls_mpi_init(&d2);
            mbedtls_ecp_point_init(&q1);
            mbedtls_ecp_point_init(&q2);
            assert_int_equal(mbedtls_ecp_gen_privkey(&g, &d1, rng, NULL), 0);
            assert_int_equal(mbedtls_ecp_gen_privkey(&g, &d2, rng, NULL), 0);
            mul_both(&g, &d1, &g.G); /* key generation */
            mx_fast_ec_enable(1);    /* the public keys the fast way: mul_both checks that way */
            assert_int_equal(mbedtls_ecp_mul(&g, &q1, &d1, &g.G, rng, NULL), 0);
            assert_int_equal(mbedtls_ecp_mul(&g, &q2, &d2, &g.G, rng, NULL), 0);
            mx_fast_ec_enable(0);
            mul_both(&g, &d1, &q2); /* ECDH, both sides */
            mul_both(&g, &d2, &q1);
            mbedtls_mpi_free(&d1);
            mbedtls_mpi_free(&d2);
            mbedtls_ecp_point_free(&q1);
            mbedtls_ecp_point_free(&q2);
        }
        assert_true(mx_fast_ec_done() - before >= (unsigned long long)rounds(5000)); /* Nettle */
        mbedtls_ecp_group_free(&g);
    }
}

/* Scalars at and past the ends of the range (Weierstrass): refused alike, or equal products. */
static void test_scalar_edges(void **state) {
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        mbedtls_ecp_group g;
        mbedtls_mpi m;
        mbedtls_ecp_group_init(&g);
        mbedtls_mpi_init(&m);
        assert_int_equal(mbedtls_ecp_group_load(&g, CURVES[c]), 0);
        /* 0, 1, 2; then n - 2, n - 1, n, n + 1 */
        for (int i = 0; i < 7; i++) {
            if (i < 3)
                assert_int_equal(mbedtls_mpi_lset(&m, i), 0);
            else
                assert_int_equal(mbedtls_mpi_add_int(&m, &g.N, i - 5), 0);
            mul_both(&g, &m, &g.G);
        }
        mbedtls_mpi_free(&m);
        mbedtls_ecp_group_free(&g);
    }
}

/* X25519 public values that are points of small order, or not reduced mod p. */
static void test_x25519_edges(void **state) {
    (void)state;
    static const char *const U[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "cdeb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
        "0900000000000000000000000000000000000000000000000000000000000080",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    mbedtls_ecp_group g;
    mbedtls_mpi d;
    mbedtls_ecp_group_init(&g);
    mbedtls_mpi_init(&d);
    assert_int_equal(mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_CURVE25519), 0);
    for (size_t i = 0; i < sizeof(U) / sizeof(U[0]); i++) {
        unsigned char raw[32];
        mbedtls_ecp_point p;
        mbedtls_ecp_point_init(&p);
        for (int k = 0; k < 32; k++)
            raw[k] = (unsigned char)strtoul((char[]){U[i][2 * k], U[i][2 * k + 1], 0}, NULL, 16);
        int rr = mbedtls_ecp_point_read_binary(&g, &p, raw, sizeof(raw));
        if (rr == 0)
            for (int j = 0; j < 20; j++) {
                assert_int_equal(mbedtls_ecp_gen_privkey(&g, &d, rng, NULL), 0);
                mul_both(&g, &d, &p);
            }
        mbedtls_ecp_point_free(&p);
    }
    mbedtls_mpi_free(&d);
    mbedtls_ecp_group_free(&g);
}

/* Writes the DER signature (R, S) into SIG; returns its length. */
static size_t der(const mbedtls_mpi *r, const mbedtls_mpi *s, unsigned char *sig, size_t cap) {
    unsigned char buf[160] = {0}, *p = buf + sizeof(buf);
    int len = 0, n;
    assert_true((n = mbedtls_asn1_write_mpi(&p, buf, s)) >= 0), len += n;
    assert_true((n = mbedtls_asn1_write_mpi(&p, buf, r)) >= 0), len += n;
    assert_true((n = mbedtls_asn1_write_len(&p, buf, (size_t)len)) > 0), len += n;
    assert_true((n = mbedtls_asn1_write_tag(&p, buf,
                                            MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) > 0),
        len += n;
    assert_true((size_t)len <= cap);
    memcpy(sig, p, (size_t)len);
    return (size_t)len;
}

static void test_signatures(void **state) {
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        mbedtls_ecp_group g;
        mbedtls_ecp_group_init(&g);
        assert_int_equal(mbedtls_ecp_group_load(&g, CURVES[c]), 0);
        unsigned long long before = mx_fast_ec_done();
        for (int i = 0; i < rounds(200); i++) {
            mbedtls_mpi d, r, s, t;
            mbedtls_ecp_point q, other;
            unsigned char hash[64], sig[160];
            size_t hlen = (size_t[]){32, 48, 64, 20, 1}[i % 5];
            mbedtls_mpi_init(&d), mbedtls_mpi_init(&r), mbedtls_mpi_init(&s), mbedtls_mpi_init(&t);
            mbedtls_ecp_point_init(&q), mbedtls_ecp_point_init(&other);
            rng(NULL, hash, sizeof(hash));
            assert_int_equal(mbedtls_ecp_gen_keypair(&g, &d, &q, rng, NULL), 0);
            assert_int_equal(mbedtls_ecdsa_sign(&g, &r, &s, &d, hash, hlen, rng, NULL), 0);
            size_t n = der(&r, &s, sig, sizeof(sig));
            assert_int_equal(verify_both(g.id, &q, hash, hlen, sig, n), 0);
            /* High S: n - s verifies too (ECDSA is malleable); both must say so. */
            assert_int_equal(mbedtls_mpi_sub_mpi(&t, &g.N, &s), 0);
            assert_int_equal(verify_both(g.id, &q, hash, hlen, sig, der(&r, &t, sig, sizeof(sig))),
                             0);
            /* Another digest, another key: refused. */
            hash[0] ^= 0x80;
            assert_int_not_equal(verify_both(g.id, &q, hash, hlen, sig, n), 0);
            hash[0] ^= 0x80;
            assert_int_equal(mbedtls_ecp_gen_keypair(&g, &t, &other, rng, NULL), 0);
            n = der(&r, &s, sig, sizeof(sig));
            assert_int_not_equal(verify_both(g.id, &other, hash, hlen, sig, n), 0);
            /* r or s zero, n, n + 1, or 1 */
            const mbedtls_mpi *bad[] = {NULL, &g.N};
            for (int k = 0; k < 2; k++)
                for (int add = 0; add < 2; add++) {
                    if (bad[k])
                        assert_int_equal(mbedtls_mpi_add_int(&t, bad[k], add), 0);
                    else
                        assert_int_equal(mbedtls_mpi_lset(&t, add), 0);
                    verify_both(g.id, &q, hash, hlen, sig, der(&t, &s, sig, sizeof(sig)));
                    verify_both(g.id, &q, hash, hlen, sig, der(&r, &t, sig, sizeof(sig)));
                }
            /* Truncated, extended and bit-flipped DER */
            n = der(&r, &s, sig, sizeof(sig));
            for (size_t cut = 0; cut < n; cut += 7)
                verify_both(g.id, &q, hash, hlen, sig, cut);
            sig[n] = 0;
            verify_both(g.id, &q, hash, hlen, sig, n + 1);
            sig[(size_t)i % n] ^= (unsigned char)(1u << (i % 8));
            verify_both(g.id, &q, hash, hlen, sig, n);
            /* The key off the curve, and at infinity */
            n = der(&r, &s, sig, sizeof(sig));
            assert_int_equal(mbedtls_mpi_add_int(&q.Y, &q.Y, 1), 0);
            assert_int_not_equal(verify_both(g.id, &q, hash, hlen, sig, n), 0);
            mbedtls_ecp_set_zero(&q);
            assert_int_not_equal(verify_both(g.id, &q, hash, hlen, sig, n), 0);
            mbedtls_mpi_free(&d), mbedtls_mpi_free(&r), mbedtls_mpi_free(&s), mbedtls_mpi_free(&t);
            mbedtls_ecp_point_free(&q), mbedtls_ecp_point_free(&other);
        }
        assert_true(mx_fast_ec_done() - before >= (unsigned long long)rounds(200) * 4);
        mbedtls_ecp_group_free(&g);
    }
}

/* Public keys read from wrong-length and malformed encodings: refused alike before any product,
 * and any that is read multiplies alike. */
static void test_encodings(void **state) {
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        mbedtls_ecp_group g;
        mbedtls_mpi d;
        mbedtls_ecp_point q, p;
        unsigned char buf[200];
        size_t n;
        mbedtls_ecp_group_init(&g), mbedtls_mpi_init(&d);
        mbedtls_ecp_point_init(&q), mbedtls_ecp_point_init(&p);
        assert_int_equal(mbedtls_ecp_group_load(&g, CURVES[c]), 0);
        assert_int_equal(mbedtls_ecp_gen_keypair(&g, &d, &q, rng, NULL), 0);
        assert_int_equal(mbedtls_ecp_point_write_binary(&g, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n,
                                                        buf, sizeof(buf)),
                         0);
        for (size_t len = 0; len <= n + 1; len++)
            for (int flip = -1; flip < (int)len; flip += 5) {
                unsigned char e[200];
                memcpy(e, buf, sizeof(e));
                if (flip >= 0)
                    e[flip] ^= 0x01;
                if (mbedtls_ecp_point_read_binary(&g, &p, e, len) == 0 &&
                    mbedtls_ecp_check_pubkey(&g, &p) == 0)
                    mul_both(&g, &d, &p);
            }
        mbedtls_ecp_point_free(&q), mbedtls_ecp_point_free(&p);
        mbedtls_mpi_free(&d), mbedtls_ecp_group_free(&g);
    }
}

static void test_backend_named(void **state) {
    (void)state;
    mx_fast_ec_enable(1);
    assert_non_null(strstr(mx_fast_ec_backend(), "Nettle"));
    mx_fast_ec_enable(0);
    assert_string_equal(mx_fast_ec_backend(), "mbedTLS");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products_and_secrets),
        cmocka_unit_test(test_scalar_edges),
        cmocka_unit_test(test_x25519_edges),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_backend_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
