/* Fuzz target: Nettle's curve arithmetic (mxtls/fast_ec.h) against mbedTLS's own on arbitrary
 * public keys, signatures and digests: the first byte picks the curve (P-256, P-384, X25519),
 * the next the key's length. For P-256 and P-384 the rest is a key encoding, a digest length, a
 * digest and a DER signature, verified both ways; for X25519 it is a u-coordinate and a scalar,
 * multiplied both ways. The two must agree on every verdict, refusal and product. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS /* point coordinates and context members */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

#include "mxtls/fast_ec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rng(void *ud, unsigned char *out, size_t len) {
    (void)ud;
    memset(out, 0x5a, len);
    return 0;
}

static int verify(mbedtls_ecp_group_id id, const uint8_t *key, size_t klen, const uint8_t *hash,
                  size_t hlen, const uint8_t *sig, size_t slen, int fast) {
    mbedtls_ecdsa_context ctx;
    mbedtls_ecdsa_init(&ctx);
    int r = mbedtls_ecp_group_load(&ctx.grp, id);
    if (r == 0)
        r = mbedtls_ecp_point_read_binary(&ctx.grp, &ctx.Q, key, klen);
    if (r == 0) {
        mx_fast_ec_enable(fast);
        r = mbedtls_ecdsa_read_signature(&ctx, hash, hlen, sig, slen);
        mx_fast_ec_enable(0);
    }
    mbedtls_ecdsa_free(&ctx);
    return r;
}

static void x25519(const uint8_t *u, const uint8_t *k) {
    mbedtls_ecp_group g;
    mbedtls_ecp_point p, r[2];
    mbedtls_mpi d;
    unsigned char s[32];
    int rc[2];
    mbedtls_ecp_group_init(&g);
    mbedtls_ecp_point_init(&p);
    mbedtls_mpi_init(&d);
    memcpy(s, k, 32);
    s[0] &= 248, s[31] &= 127, s[31] |= 64; /* a private key, as mbedTLS requires */
    if (mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_CURVE25519) == 0 &&
        mbedtls_ecp_point_read_binary(&g, &p, u, 32) == 0 &&
        mbedtls_mpi_read_binary_le(&d, s, 32) == 0) {
        for (int fast = 0; fast < 2; fast++) {
            mbedtls_ecp_point_init(&r[fast]);
            mx_fast_ec_enable(fast);
            rc[fast] = mbedtls_ecp_mul(&g, &r[fast], &d, &p, rng, NULL);
            mx_fast_ec_enable(0);
        }
        if (rc[0] != rc[1] || (rc[0] == 0 && (mbedtls_mpi_cmp_mpi(&r[0].X, &r[1].X) != 0 ||
                                              mbedtls_mpi_cmp_mpi(&r[0].Z, &r[1].Z) != 0)))
            __builtin_trap();
        mbedtls_ecp_point_free(&r[0]);
        mbedtls_ecp_point_free(&r[1]);
    }
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_group_free(&g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    int curve = data[0] % 3;
    if (curve == 2) {
        if (size >= 65)
            x25519(data + 1, data + 33);
        return 0;
    }
    size_t klen = data[1], o = 2;
    if (o + klen + 1 > size)
        return 0;
    const uint8_t *key = data + o;
    o += klen;
    size_t hlen = data[o++] % 65;
    if (o + hlen > size)
        return 0;
    const uint8_t *hash = data + o;
    o += hlen;
    mbedtls_ecp_group_id id = curve ? MBEDTLS_ECP_DP_SECP384R1 : MBEDTLS_ECP_DP_SECP256R1;
    if (verify(id, key, klen, hash, hlen, data + o, size - o, 0) !=
        verify(id, key, klen, hash, hlen, data + o, size - o, 1))
        __builtin_trap();
    return 0;
}
