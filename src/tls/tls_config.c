/* TLS client configuration and handshake results (mxtls/tls.h).
 *
 * Opportunistic TLS accepts any certificate, and so must the survey to see what a sending MTA
 * sees: verification is off during the handshake and done afterwards against the CA bundle,
 * where its result becomes data (cert_valid) instead of a failed handshake. */
#include "mxtls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/sha256.h>
#include <psa/crypto.h>

#include "mxtls/source.h"
#include "mxtls/suites.h"
#include "tls/tls_int.h"

static const char *const system_bundles[] = {"/etc/ssl/certs/ca-certificates.crt",
                                             "/etc/pki/tls/certs/ca-bundle.crt",
                                             "/etc/ssl/cert.pem", NULL};

static int rng(void *ctx, unsigned char *out, size_t len) {
    return mbedtls_ctr_drbg_random(ctx, out, len);
}

int mx_tls_config_new(mx_tls_config_t **out, const char *ca_file, char *err, size_t errlen) {
    static const uint16_t groups[] = {
        MBEDTLS_SSL_IANA_TLS_GROUP_X25519,    MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
        MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_X448,
        MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1, MBEDTLS_SSL_IANA_TLS_GROUP_BP256R1,
        MBEDTLS_SSL_IANA_TLS_GROUP_BP384R1,   MBEDTLS_SSL_IANA_TLS_GROUP_BP512R1,
        MBEDTLS_SSL_IANA_TLS_GROUP_FFDHE2048, MBEDTLS_SSL_IANA_TLS_GROUP_FFDHE3072,
        MBEDTLS_SSL_IANA_TLS_GROUP_FFDHE4096, MBEDTLS_SSL_IANA_TLS_GROUP_FFDHE6144,
        MBEDTLS_SSL_IANA_TLS_GROUP_FFDHE8192, MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
    mx_tls_config_t *c = calloc(1, sizeof(*c));
    int rc;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (psa_crypto_init() != PSA_SUCCESS) {
        snprintf(err, errlen, "psa_crypto_init failed");
        free(c);
        return -1;
    }
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    if ((rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                                    (const unsigned char *)"mxtls", 5)) != 0) {
        snprintf(err, errlen, "cannot seed the random generator (-0x%04x)", (unsigned)-rc);
        goto fail;
    }
    if (!ca_file)
        for (int i = 0; system_bundles[i] && !ca_file; i++)
            if (access(system_bundles[i], R_OK) == 0)
                ca_file = system_bundles[i];
    if (!ca_file) {
        snprintf(err, errlen, "no CA bundle found: install ca-certificates or give --ca-file");
        goto fail;
    }
    rc = mbedtls_x509_crt_parse_file(&c->ca, ca_file);
    if (rc < 0 || !c->ca.raw.p) {
        snprintf(err, errlen, "%s: not a PEM or DER certificate bundle (-0x%04x)", ca_file,
                 (unsigned)-rc);
        goto fail;
    }
    snprintf(c->ca_file, sizeof(c->ca_file), "%s", ca_file);
    if (mx_sha256_file(ca_file, c->ca_sha256) != 0)
        c->ca_sha256[0] = 0;
    mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                MBEDTLS_SSL_PRESET_DEFAULT);
    mbedtls_ssl_conf_rng(&c->conf, rng, &c->drbg);
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_groups(&c->conf, groups);
    mbedtls_ssl_conf_session_tickets(&c->conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    /* A survey makes one handshake per server; renegotiation is never wanted. */
    mbedtls_ssl_conf_renegotiation(&c->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    *out = c;
    return 0;
fail:
    mx_tls_config_free(c);
    return -1;
}

void mx_tls_config_free(mx_tls_config_t *c) {
    if (!c)
        return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c->cache);
    free(c);
}

const char *mx_tls_ca_sha256(const mx_tls_config_t *c) {
    return c->ca_sha256;
}

void mx__tls_group_of(const mx_hello_t *h, uint16_t cipher, char *out, size_t cap) {
    const mx_suite_t *s = mx_suite_by_id(cipher);
    const char *g = mx_group_name(h->group);
    out[0] = 0;
    if (s && s->kx == MX_KX_RSA)
        snprintf(out, cap, "rsa");
    else if (g)
        snprintf(out, cap, "%s", g);
    else if (h->dh_bits)
        snprintf(out, cap, "dhe%u", h->dh_bits);
}

static const char *alert_token(unsigned desc) {
    switch (desc) {
    case 10:
        return "tls_alert_unexpected_message";
    case 20:
        return "tls_alert_bad_record_mac";
    case 40:
        return "tls_alert_handshake_failure";
    case 42:
        return "tls_alert_bad_certificate";
    case 47:
        return "tls_alert_illegal_parameter";
    case 50:
        return "tls_alert_decode_error";
    case 51:
        return "tls_alert_decrypt_error";
    case 70:
        return "tls_alert_protocol_version";
    case 71:
        return "tls_alert_insufficient_security";
    case 80:
        return "tls_alert_internal_error";
    case 86:
        return "tls_alert_inappropriate_fallback";
    case 109:
        return "tls_alert_missing_extension";
    case 110:
        return "tls_alert_unsupported_extension";
    case 112:
        return "tls_alert_unrecognized_name";
    default:
        return "tls_alert_other";
    }
}

const char *mx__tls_error_token(int e, const mx_hello_t *h) {
    if (h && h->result == MX_HELLO_ALERT)
        return alert_token(h->alert_desc);
    switch (e) {
    case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
        return "tls_protocol_version";
    case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE:
        return "tls_handshake_failure";
    case MBEDTLS_ERR_SSL_CONN_EOF:
        return "tls_closed";
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
        return "tls_alert_other";
    case MBEDTLS_ERR_SSL_INVALID_MAC:
        return "tls_bad_record_mac";
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
    case MBEDTLS_ERR_SSL_DECODE_ERROR:
        return "tls_decode_error";
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
        return "tls_unexpected_message";
    case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
        return "tls_bad_certificate";
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
        return "tls_out_of_memory";
    default:
        break;
    }
    if (e <= -0x2000 && e > -0x3000)
        return "tls_bad_certificate"; /* MBEDTLS_ERR_X509_* */
    return "tls_library_error";
}
