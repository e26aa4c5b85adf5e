/* A TLS client and server in one thread over memory pipes, with a CA-issued server identity:
 * for the handshake benchmark and for tests of the project's mbedTLS build. */
#ifndef MXTLS_TLS_PAIR_H
#define MXTLS_TLS_PAIR_H

#include <stddef.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

typedef struct {
    unsigned char data[1 << 16];
    size_t head, len;
} tls_pipe_t;

/* One side's view: it writes into OUT and reads from IN (mbedtls_ssl_set_bio context). */
typedef struct {
    tls_pipe_t *out, *in;
} tls_duplex_t;

/* mbedtls_ssl_send_t and mbedtls_ssl_recv_t over a tls_duplex_t. */
int tls_pair_send(void *ctx, const unsigned char *buf, size_t len);
int tls_pair_recv(void *ctx, unsigned char *buf, size_t len);

/* Exits with a message when RC is an mbedTLS error. */
void tls_pair_check(int rc, const char *what);

/* The random generator, seeded on first use (psa_crypto_init too). */
mbedtls_ctr_drbg_context *tls_pair_drbg(void);

typedef struct {
    mbedtls_pk_context ca_key, key;
    mbedtls_x509_crt ca, crt; /* the trust anchor, and the server's certificate it issued */
} tls_identity_t;

/* A CA and a server certificate for NAME, both ECDSA P-256 (EC) or RSA-2048. */
void tls_identity_make(tls_identity_t *id, int ec, const char *name);

/* Steps both handshakes until they finish; exits when they do not within 1,000 rounds. */
void tls_pair_handshake(mbedtls_ssl_context *client, mbedtls_ssl_context *server);

#endif
