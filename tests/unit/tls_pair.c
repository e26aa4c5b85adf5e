/* A TLS client and server over memory pipes (tls_pair.h). */
#include "tls_pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

int tls_pair_send(void *ctx, const unsigned char *buf, size_t len) {
    tls_pipe_t *p = ((tls_duplex_t *)ctx)->out;
    if (len > sizeof(p->data) - p->len)
        len = sizeof(p->data) - p->len;
    if (!len)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    memcpy(p->data + p->len, buf, len);
    p->len += len;
    return (int)len;
}

int tls_pair_recv(void *ctx, unsigned char *buf, size_t len) {
    tls_pipe_t *p = ((tls_duplex_t *)ctx)->in;
    size_t have = p->len - p->head;
    if (!have)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (len > have)
        len = have;
    memcpy(buf, p->data + p->head, len);
    p->head += len;
    if (p->head == p->len)
        p->head = p->len = 0;
    return (int)len;
}

void tls_pair_check(int rc, const char *what) {
    if (rc != 0) {
        char msg[128];
        mbedtls_strerror(rc, msg, sizeof(msg));
        fprintf(stderr, "%s: %s (-0x%04x)\n", what, msg, (unsigned)-rc);
        exit(2);
    }
}

mbedtls_ctr_drbg_context *tls_pair_drbg(void) {
    static mbedtls_entropy_context entropy;
    static mbedtls_ctr_drbg_context drbg;
    static int seeded;
    if (!seeded) {
        tls_pair_check(psa_crypto_init() == PSA_SUCCESS ? 0 : -1, "psa_crypto_init");
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        tls_pair_check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0),
                       "drbg");
        seeded = 1;
    }
    return &drbg;
}

static void gen_key(mbedtls_pk_context *k, int ec) {
    mbedtls_pk_init(k);
    if (ec) {
        tls_pair_check(mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)),
                       "pk_setup");
        tls_pair_check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k),
                                           mbedtls_ctr_drbg_random, tls_pair_drbg()),
                       "ecp_gen_key");
    } else {
        tls_pair_check(mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), "pk_setup");
        tls_pair_check(mbedtls_rsa_gen_key(mbedtls_pk_rsa(*k), mbedtls_ctr_drbg_random,
                                           tls_pair_drbg(), 2048, 65537),
                       "rsa_gen_key");
    }
}

/* A certificate for SUBJECT_KEY named SUBJECT, signed by ISSUER_KEY named ISSUER, into OUT. */
static void make_cert(mbedtls_pk_context *subject_key, const char *subject,
                      mbedtls_pk_context *issuer_key, const char *issuer, int is_ca, int serial_no,
                      mbedtls_x509_crt *out) {
    static unsigned char der[4096];
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    mbedtls_mpi_lset(&serial, serial_no);
    mbedtls_x509write_crt_set_subject_key(&w, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
    tls_pair_check(mbedtls_x509write_crt_set_subject_name(&w, subject), "subject");
    tls_pair_check(mbedtls_x509write_crt_set_issuer_name(&w, issuer), "issuer");
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    tls_pair_check(mbedtls_x509write_crt_set_serial(&w, &serial), "serial");
    tls_pair_check(mbedtls_x509write_crt_set_validity(&w, "20250101000000", "20350101000000"),
                   "validity");
    if (is_ca)
        tls_pair_check(mbedtls_x509write_crt_set_basic_constraints(&w, 1, -1), "constraints");
    int n =
        mbedtls_x509write_crt_der(&w, der, sizeof(der), mbedtls_ctr_drbg_random, tls_pair_drbg());
    if (n < 0)
        tls_pair_check(n, "crt_der");
    mbedtls_x509_crt_init(out);
    tls_pair_check(mbedtls_x509_crt_parse_der(out, der + sizeof(der) - n, (size_t)n), "crt_parse");
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
}

void tls_identity_make(tls_identity_t *id, int ec, const char *name) {
    char subject[300];
    snprintf(subject, sizeof(subject), "CN=%s", name);
    gen_key(&id->ca_key, ec);
    gen_key(&id->key, ec);
    make_cert(&id->ca_key, "CN=test CA", &id->ca_key, "CN=test CA", 1, 1, &id->ca);
    make_cert(&id->key, subject, &id->ca_key, "CN=test CA", 0, 2, &id->crt);
}

void tls_pair_handshake(mbedtls_ssl_context *client, mbedtls_ssl_context *server) {
    int cdone = 0, sdone = 0;
    for (int rounds = 0; !(cdone && sdone); rounds++) {
        if (rounds > 1000) {
            fprintf(stderr, "handshake does not finish\n");
            exit(2);
        }
        mbedtls_ssl_context *side[2] = {client, server};
        int *done[2] = {&cdone, &sdone};
        for (int i = 0; i < 2; i++) {
            if (*done[i])
                continue;
            int rc = mbedtls_ssl_handshake(side[i]);
            if (rc == 0)
                *done[i] = 1;
            else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
                tls_pair_check(rc, i ? "server handshake" : "client handshake");
        }
    }
}
