/* Curve arithmetic at OpenSSL's speed: mbedTLS's scalar multiplications and ECDSA verifications
 * on P-256, P-384 and X25519 routed to Nettle through the hooks of patch 0004 (DESIGN.md,
 * "Curve arithmetic"). Anything else stays with mbedTLS's own code. */
#ifndef MXTLS_FAST_EC_H
#define MXTLS_FAST_EC_H

/* Installs (ON nonzero) or removes the hooks; before any thread uses mbedTLS. Returns 0, or -1
 * when this build has no fast path (a system mbedTLS without the hooks). */
int mx_fast_ec_enable(int on);

/* How many multiplications and verifications Nettle has done (not handed back to mbedTLS). */
unsigned long long mx_fast_ec_done(void);

/* The curve arithmetic in use, for --version and the manifest: "Nettle 3.8 (P-256, P-384,
 * X25519)" or "mbedTLS". */
const char *mx_fast_ec_backend(void);

#endif
