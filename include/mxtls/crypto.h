/* The process's cryptography, set once before any thread: curve arithmetic through Nettle unless
 * MXTLS_CURVES=mbedtls asks for mbedTLS's own (benchmarks compare the two in one binary). */
#ifndef MXTLS_CRYPTO_H
#define MXTLS_CRYPTO_H

/* Chooses the curve arithmetic from the environment and names it in the versions (--version,
 * the manifest). */
void mx_crypto_init(void);

#endif
