/* Private parts of the TLS client module, shared by its files. */
#ifndef MXTLS_TLS_INT_H
#define MXTLS_TLS_INT_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

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

#endif
