/* The probe's TLS client side (mbedTLS 3.6): one configuration per worker, made once, and what
 * a finished handshake tells about the server: protocol, suite, group, and the certificate
 * summary with its verification against the CA bundle, cached per chain. */
#ifndef MXTLS_TLS_H
#define MXTLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "mxtls/hello.h"

typedef struct mx_tls_config mx_tls_config_t;

/* Client configuration: TLS 1.2 and 1.3, every suite and group mbedTLS has (X25519 first),
 * verification off during the handshake, CA bundle CA_FILE (NULL: the system bundle) for the
 * verification done afterwards. Returns 0, or -1 with a one-line message in ERR. */
int mx_tls_config_new(mx_tls_config_t **out, const char *ca_file, char *err, size_t errlen);
void mx_tls_config_free(mx_tls_config_t *c);

/* The shared mbedtls_ssl_config for mbedtls_ssl_setup(). */
const mbedtls_ssl_config *mx_tls_ssl_config(const mx_tls_config_t *c);

/* SHA-256 (hex) of the CA bundle, for the manifest. */
const char *mx_tls_ca_sha256(const mx_tls_config_t *c);

/* One allocation: the long texts (up to 256, 1023 and 511 bytes) are kept at their length,
 * since a probe holds its summary for two more round trips. */
typedef struct {
    char sha256[65];
    const char *cn, *san, *issuer; /* into text */
    char not_before[21], not_after[21];
    char key[32];
    char sig[40];
    int chain_len;
    char valid[80];
    int name_match;
    char text[];
} mx_cert_summary_t;

/* Summarises CHAIN (leaf first, as received) for HOST: fields, verification reasons (cached by
 * chain fingerprint), name match. Returns a new summary (free() it), or NULL when CHAIN is
 * empty or memory is out. */
mx_cert_summary_t *mx_cert_summarize(mx_tls_config_t *c, const mbedtls_x509_crt *chain,
                                     const char *host);

/* Whether certificate name PATTERN (a DNS SAN or CN) covers HOST, RFC 6125: exact, or a
 * left-most "*" label standing for exactly one label. */
int mx_name_matches(const char *pattern, size_t len, const char *host);

/* The schema's name of the key exchange seen by HELLO for suite CIPHER: a group name,
 * "dhe<bits>", or "rsa" for RSA key transport; "" when unknown. */
void mx_tls_group_of(const mx_hello_t *hello, uint16_t cipher, char *out, size_t cap);

/* A stable error token for an mbedTLS error, using the alert HELLO saw when there was one
 * ("tls_alert_handshake_failure", "tls_protocol_version", "tls_closed" ...). */
const char *mx_tls_error_token(int mbedtls_err, const mx_hello_t *hello);

#endif
