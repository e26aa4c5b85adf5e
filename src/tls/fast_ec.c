/* The Nettle side of mbedTLS's curve arithmetic hooks (mxtls/fast_ec.h). mbedTLS has checked the
 * arguments before a hook runs (a valid private scalar, a point on the curve, r and s in range);
 * a hook takes only what Nettle computes for certain and answers "feature unavailable" for the
 * rest, which mbedTLS then computes itself: another curve, a point Nettle refuses, a product
 * that is the point at infinity. Secret scalars go only to Nettle's side-channel-silent
 * multiplications (ecc_point_mul, ecc_point_mul_g, curve25519_mul). */
/* The point coordinates are what a hook exchanges with Nettle. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include "mxtls/fast_ec.h"

#include <stdatomic.h>
#include <stdio.h>

#if defined(MXTLS_FAST_EC)
#include <gmp.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>
#include <nettle/curve25519.h>
#include <nettle/dsa.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/version.h>

#define UNAVAILABLE MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE

static atomic_ullong done;
#define BYTES_MAX 48 /* P-384 */

static const struct ecc_curve *curve_of(const mbedtls_ecp_group *grp) {
    switch (grp->id) {
    case MBEDTLS_ECP_DP_SECP256R1:
        return nettle_get_secp_256r1();
    case MBEDTLS_ECP_DP_SECP384R1:
        return nettle_get_secp_384r1();
    default:
        return NULL;
    }
}

/* Z = X, big-endian through a buffer that is wiped after (X may be a secret scalar). */
static int to_mpz(mpz_t z, const mbedtls_mpi *x) {
    unsigned char buf[BYTES_MAX];
    size_t n = mbedtls_mpi_size(x);
    if (n > sizeof(buf) || mbedtls_mpi_write_binary(x, buf, n) != 0)
        return -1;
    mpz_import(z, n, 1, 1, 1, 0, buf);
    mbedtls_platform_zeroize(buf, sizeof(buf));
    return 0;
}

static int from_mpz(mbedtls_mpi *x, const mpz_t z) {
    unsigned char buf[BYTES_MAX];
    size_t n = (mpz_sizeinbase(z, 2) + 7) / 8;
    if (n > sizeof(buf))
        return UNAVAILABLE;
    mpz_export(buf, &n, 1, 1, 1, 0, z);
    return mbedtls_mpi_read_binary(x, buf, n);
}

static int point_set(struct ecc_point *p, const mbedtls_ecp_point *q) {
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    int ok = to_mpz(x, &q->X) == 0 && to_mpz(y, &q->Y) == 0 && ecc_point_set(p, x, y);
    mpz_clears(x, y, NULL);
    return ok;
}

static int is_generator(const mbedtls_ecp_group *grp, const mbedtls_ecp_point *p) {
    return mbedtls_mpi_cmp_mpi(&p->X, &grp->G.X) == 0 && mbedtls_mpi_cmp_mpi(&p->Y, &grp->G.Y) == 0;
}

static int mul_weierstrass(const struct ecc_curve *c, const mbedtls_ecp_group *grp,
                           mbedtls_ecp_point *R, const mbedtls_mpi *m, const mbedtls_ecp_point *P) {
    struct ecc_scalar n;
    struct ecc_point p, r;
    mpz_t z, x, y;
    int ret = UNAVAILABLE, gen = is_generator(grp, P);
    ecc_scalar_init(&n, c);
    ecc_point_init(&p, c);
    ecc_point_init(&r, c);
    mpz_inits(z, x, y, NULL);
    if (to_mpz(z, m) == 0 && ecc_scalar_set(&n, z) && (gen || point_set(&p, P))) {
        if (gen)
            ecc_point_mul_g(&r, &n);
        else
            ecc_point_mul(&r, &n, &p);
        ecc_point_get(&r, x, y);
        if ((ret = from_mpz(&R->X, x)) == 0 && (ret = from_mpz(&R->Y, y)) == 0)
            ret = mbedtls_mpi_lset(&R->Z, 1);
    }
    mpz_clears(z, x, y, NULL);
    ecc_point_clear(&r);
    ecc_point_clear(&p);
    ecc_scalar_clear(&n);
    return ret;
}

static int mul_x25519(const mbedtls_ecp_group *grp, mbedtls_ecp_point *R, const mbedtls_mpi *m,
                      const mbedtls_ecp_point *P) {
    unsigned char n[CURVE25519_SIZE], p[CURVE25519_SIZE], q[CURVE25519_SIZE], any = 0;
    int ret = UNAVAILABLE;
    if (mbedtls_mpi_write_binary_le(m, n, sizeof(n)) == 0 &&
        mbedtls_mpi_write_binary_le(&P->X, p, sizeof(p)) == 0) {
        if (mbedtls_mpi_cmp_mpi(&P->X, &grp->G.X) == 0)
            curve25519_mul_g(q, n);
        else
            curve25519_mul(q, n, p);
        for (size_t i = 0; i < sizeof(q); i++)
            any |= q[i];
        /* A low-order point gives zero; mbedTLS's own code decides what that is. */
        if (any && (ret = mbedtls_mpi_read_binary_le(&R->X, q, sizeof(q))) == 0) {
            mbedtls_mpi_free(&R->Y);
            ret = mbedtls_mpi_lset(&R->Z, 1);
        }
    }
    mbedtls_platform_zeroize(n, sizeof(n));
    mbedtls_platform_zeroize(q, sizeof(q));
    return ret;
}

static int mul_hook(const mbedtls_ecp_group *grp, mbedtls_ecp_point *R, const mbedtls_mpi *m,
                    const mbedtls_ecp_point *P) {
    const struct ecc_curve *c = curve_of(grp);
    int ret = c                                      ? mul_weierstrass(c, grp, R, m, P)
              : grp->id == MBEDTLS_ECP_DP_CURVE25519 ? mul_x25519(grp, R, m, P)
                                                     : UNAVAILABLE;
    if (ret != UNAVAILABLE)
        atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
    return ret;
}

static int verify_hook(const mbedtls_ecp_group *grp, const unsigned char *buf, size_t blen,
                       const mbedtls_ecp_point *Q, const mbedtls_mpi *r, const mbedtls_mpi *s) {
    const struct ecc_curve *c = curve_of(grp);
    struct ecc_point q;
    struct dsa_signature sig;
    int ret = UNAVAILABLE;
    if (!c)
        return UNAVAILABLE;
    ecc_point_init(&q, c);
    dsa_signature_init(&sig);
    if (point_set(&q, Q) && to_mpz(sig.r, r) == 0 && to_mpz(sig.s, s) == 0)
        ret = ecdsa_verify(&q, blen, buf, &sig) ? 0 : MBEDTLS_ERR_ECP_VERIFY_FAILED;
    dsa_signature_clear(&sig);
    ecc_point_clear(&q);
    if (ret != UNAVAILABLE)
        atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
    return ret;
}

int mx_fast_ec_enable(int on) {
    mbedtls_ecp_mul_hook = on ? mul_hook : NULL;
    mbedtls_ecdsa_verify_hook = on ? verify_hook : NULL;
    return 0;
}

unsigned long long mx_fast_ec_done(void) {
    return atomic_load(&done);
}

const char *mx_fast_ec_backend(void) {
    static char name[64];
    if (!mbedtls_ecp_mul_hook)
        return "mbedTLS";
    snprintf(name, sizeof(name), "Nettle %d.%d (P-256, P-384, X25519)", nettle_version_major(),
             nettle_version_minor());
    return name;
}

#else

int mx_fast_ec_enable(int on) {
    return on ? -1 : 0;
}

unsigned long long mx_fast_ec_done(void) {
    return 0;
}

const char *mx_fast_ec_backend(void) {
    return "mbedTLS";
}

#endif
