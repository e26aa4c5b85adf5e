/* The one table of TLS cipher suites and key-exchange groups, shared by the probe, the legacy
 * probe, `mxtls stats` and `mxtls received`: suite ID -> IANA name, OpenSSL and GnuTLS
 * spellings, key exchange and properties; group ID -> name. mbedTLS names suites its own way
 * and has no getter for the negotiated group, so the schema's names come from here. */
#ifndef MXTLS_SUITES_H
#define MXTLS_SUITES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MX_KX_TLS13, /* TLS 1.3: key exchange is negotiated separately (always ephemeral) */
    MX_KX_ECDHE,
    MX_KX_DHE,
    MX_KX_RSA,  /* RSA key transport: no forward secrecy */
    MX_KX_ECDH, /* static ECDH */
    MX_KX_DH,   /* static DH */
    MX_KX_ANON, /* anonymous (EC)DH: no authentication */
    MX_KX_PSK
} mx_kx_t;

typedef struct {
    uint16_t id;
    const char *iana;    /* TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
    const char *openssl; /* ECDHE-RSA-AES128-GCM-SHA256 */
    uint8_t kx;          /* mx_kx_t */
    uint8_t fs;          /* forward secrecy */
    uint8_t aead;        /* AEAD cipher (GCM, CCM, ChaCha20-Poly1305) */
    uint8_t weak;        /* export, NULL, RC4, DES, 3DES, anonymous */
} mx_suite_t;

/* The suite with this IANA ID, or NULL. */
const mx_suite_t *mx_suite_by_id(uint16_t id);

/* The suite named NAME in any spelling: IANA, OpenSSL, GnuTLS (ECDHE_RSA_AES_128_GCM_SHA256,
 * ..._SHA1), case-insensitive; or NULL. Names that could mean two suites are not mapped. */
const mx_suite_t *mx_suite_by_name(const char *name);

/* GnuTLS's spelling of S into OUT (CAP bytes). */
void mx_suite_gnutls_name(const mx_suite_t *s, char *out, size_t cap);

/* Every suite, for ClientHellos that offer them all; *N gets the count. */
const mx_suite_t *mx_suites_all(size_t *n);

/* Schema name of a TLS named group ("x25519", "secp256r1", "ffdhe2048"), or NULL. */
const char *mx_group_name(uint16_t id);

#endif
