/* The farm's certificates and TLS server contexts (OpenSSL).
 *
 * A root CA and an intermediate (ECDSA P-256) sign the leaves that are meant to verify; an
 * unknown root signs the "unknown CA" ones. Leaf keys come from a small pool, two keys per key
 * type (a renewal rolls a host over to the other, so that a TLSA record can go stale), cached
 * on disk so that RSA-4096 is generated once per machine, not per run. A leaf is
 * made on first use for a host and cached for the run; what a host's certificate looks like
 * (names, validity, issuer, key) follows from its behaviour, while signatures and therefore
 * fingerprints differ between runs. */
#ifndef MXTLS_FARM_CERTS_H
#define MXTLS_FARM_CERTS_H

#include <openssl/ssl.h>

#include "farm/farm.h"

typedef struct farm_certs farm_certs_t;

/* Loads or makes the keys (KEY_DIR: cache folder, created if missing) and the CAs. Returns
 * NULL with a message in ERR. */
farm_certs_t *farm_certs_new(const char *key_dir, char *err, size_t errlen);
void farm_certs_free(farm_certs_t *c);

/* Writes the farm's root CA certificate (PEM) for the scanner's --ca-file. Returns 0 or -1. */
int farm_certs_write_ca(farm_certs_t *c, const char *path);

/* The leaf for host H (made on first use), its key and the intermediate to send (or NULL).
 * Returns 0 or -1. The objects stay owned by C. */
int farm_certs_leaf(farm_certs_t *c, const farm_host_t *h, X509 **leaf, EVP_PKEY **key,
                    X509 **chain);

/* The server context for H's protocol, group and cipher preferences (shared, owned by C). */
SSL_CTX *farm_certs_ctx(farm_certs_t *c, const farm_host_t *h);

/* What a scan must record about H's TLS: IANA cipher name, group name ("rsa" for RSA key
 * transport), leaf SHA-256 hex (65 bytes; made now when FINGERPRINT, else ""), CN, key
 * ("rsa:2048"), chain length, cert_valid token, and whether the leaf is valid for NAME (RFC 6125).
 * Returns 0 or -1. */
typedef struct {
    const char *cipher;
    const char *group;
    char sha256[65];
    char cn[256];
    const char *key;
    int chain_len;
    const char *valid;
} farm_tls_truth_t;
int farm_certs_truth(farm_certs_t *c, const farm_host_t *h, int fingerprint, farm_tls_truth_t *t);

/* SHA-256 of the SubjectPublicKeyInfo of the KEY (farm_key_t) a host's leaf of generation GEN
 * (its renewals) has: the data of a DANE-EE TLSA record 3 1 1 for it. Thread-safe. */
const unsigned char *farm_certs_spki_sha256(const farm_certs_t *c, int key, uint32_t gen);

/* 1 when the certificate names of H's leaf cover NAME (exact or one-label wildcard). */
int farm_certs_name_match(farm_certs_t *c, const farm_host_t *h, const char *name);

#endif
