/* Private parts of the TLS module, shared by its files. */
#ifndef MXTLS_TLS_INT_H
#define MXTLS_TLS_INT_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "mxtls/dane.h"
#include "mxtls/hello.h"
#include "mxtls/tls.h"

/* Verification results by chain fingerprint: the same chain is seen on many hosts (a
 * provider's MX addresses, a hoster's customers), and verifying costs signature checks. */
typedef struct {
    uint64_t key; /* 0: empty */
    uint32_t flags;
} mx__verify_slot_t;

#define MX__VERIFY_CACHE 4096 /* slots, a power of two; collisions simply overwrite */

struct mx_tls_config {
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    char ca_file[1024];
    char ca_sha256[65];
    mx__verify_slot_t *cache;
    unsigned long long cache_hits, cache_misses;
};

/* Summarises CHAIN (leaf first, as received) for HOST: fields, verification reasons (cached by
 * chain fingerprint), name match. Returns a new summary (free() it), or NULL when CHAIN is
 * empty or memory is out. */
mx_cert_summary_t *mx__tls_summarize(mx_tls_config_t *c, const mbedtls_x509_crt *chain,
                                     const char *host);

/* The schema's name of the key exchange seen by HELLO for suite CIPHER: a group name,
 * "dhe<bits>", or "rsa" for RSA key transport; "" when unknown. */
void mx__tls_group_of(const mx_hello_t *hello, uint16_t cipher, char *out, size_t cap);

/* A stable error token for an mbedTLS error, using the alert HELLO saw when there was one
 * ("tls_alert_handshake_failure", "tls_protocol_version", "tls_closed" ...). */
const char *mx__tls_error_token(int mbedtls_err, const mx_hello_t *hello);

/* The DANE verdict of usable or unusable records RECS (N > 0) against CHAIN (NULL or empty: no
 * chain), leaf first, for HOST: "unusable", "match" or "mismatch" (mxtls/dane.h). */
const char *mx__dane_check_crt(const mx_tlsa_t *recs, int n, mbedtls_x509_crt *chain,
                               const char *host);

#endif
