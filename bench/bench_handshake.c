/* bench_handshake [N] [ec] [verify]: client CPU per TLS handshake in mbedTLS, client and server in
 * one thread over memory buffers, so nothing but the cryptography and the library's own work is
 * measured. Built twice: against the project's mbedTLS configuration and against the same source
 * with its stock configuration, to show what the configuration buys (DESIGN.md, Dependencies).
 * Server: RSA-2048 (or with "ec", ECDSA P-256) self-signed certificate, X25519 only; TLS 1.2
 * with ECDHE-*-AES128-GCM-SHA256, and TLS 1.3 with TLS_AES_128_GCM_SHA256. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

typedef struct {
    unsigned char data[1 << 16];
    size_t head, len;
} pipe_t;

/* One side's view: it writes into OUT and reads from IN. */
typedef struct {
    pipe_t *out, *in;
} duplex_t;

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
    pipe_t *p = ((duplex_t *)ctx)->out;
    if (len > sizeof(p->data) - p->len)
        len = sizeof(p->data) - p->len;
    if (!len)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    memcpy(p->data + p->len, buf, len);
    p->len += len;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
    pipe_t *p = ((duplex_t *)ctx)->in;
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

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int rc, const char *what) {
    if (rc != 0) {
        char msg[128];
        mbedtls_strerror(rc, msg, sizeof(msg));
        fprintf(stderr, "%s: %s (-0x%04x)\n", what, msg, (unsigned)-rc);
        exit(2);
    }
}

static mbedtls_ctr_drbg_context drbg;
static mbedtls_pk_context key;
static mbedtls_x509_crt crt;

static mbedtls_pk_context ca_key;
static mbedtls_x509_crt ca; /* the issuer of the server's certificate, the client's trust anchor */

static void gen_key(mbedtls_pk_context *k, int ec) {
    mbedtls_pk_init(k);
    if (ec) {
        check(mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "pk_setup");
        check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k),
                                  mbedtls_ctr_drbg_random, &drbg),
              "ecp_gen_key");
    } else {
        check(mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), "pk_setup");
        check(mbedtls_rsa_gen_key(mbedtls_pk_rsa(*k), mbedtls_ctr_drbg_random, &drbg, 2048, 65537),
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
    check(mbedtls_x509write_crt_set_subject_name(&w, subject), "subject");
    check(mbedtls_x509write_crt_set_issuer_name(&w, issuer), "issuer");
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    check(mbedtls_x509write_crt_set_serial(&w, &serial), "serial");
    check(mbedtls_x509write_crt_set_validity(&w, "20250101000000", "20350101000000"), "validity");
    if (is_ca)
        check(mbedtls_x509write_crt_set_basic_constraints(&w, 1, -1), "basic constraints");
    int n = mbedtls_x509write_crt_der(&w, der, sizeof(der), mbedtls_ctr_drbg_random, &drbg);
    if (n < 0)
        check(n, "crt_der");
    mbedtls_x509_crt_init(out);
    check(mbedtls_x509_crt_parse_der(out, der + sizeof(der) - n, (size_t)n), "crt_parse");
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
}

/* The server's key and certificate, issued by a CA (same key type) that the client trusts, so
 * that verifying the chain costs what the probe's verification of a farm leaf costs. */
static void make_identity(int ec) {
    gen_key(&ca_key, ec);
    gen_key(&key, ec);
    make_cert(&ca_key, "CN=bench CA", &ca_key, "CN=bench CA", 1, 1, &ca);
    make_cert(&key, "CN=bench.example", &ca_key, "CN=bench CA", 0, 2, &crt);
}

/* Runs N handshakes at VERSION; returns client and server CPU seconds per handshake. */
static int use_ec;
static int verify_chain; /* also verify the server's chain afterwards, as the probe does */

static void run(mbedtls_ssl_protocol_version version, int n, double *client_s, double *server_s) {
    /* P-256 too: a TLS 1.2 server uses an ECDSA certificate only on a curve the client has. */
    static const uint16_t groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1, 0};
    const int suites12[] = {use_ec ? MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                                   : MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                            0};
    static const int suites13[] = {MBEDTLS_TLS1_3_AES_128_GCM_SHA256, 0};
    mbedtls_ssl_config ccfg, scfg;
    double c = 0, s = 0;
    mbedtls_ssl_config_init(&ccfg);
    mbedtls_ssl_config_init(&scfg);
    check(mbedtls_ssl_config_defaults(&ccfg, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT),
          "client config");
    check(mbedtls_ssl_config_defaults(&scfg, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT),
          "server config");
    for (int i = 0; i < 2; i++) {
        mbedtls_ssl_config *cfg = i ? &scfg : &ccfg;
        mbedtls_ssl_conf_rng(cfg, mbedtls_ctr_drbg_random, &drbg);
        mbedtls_ssl_conf_min_tls_version(cfg, version);
        mbedtls_ssl_conf_max_tls_version(cfg, version);
        mbedtls_ssl_conf_groups(cfg, groups);
        mbedtls_ssl_conf_ciphersuites(cfg,
                                      version == MBEDTLS_SSL_VERSION_TLS1_3 ? suites13 : suites12);
    }
    mbedtls_ssl_conf_authmode(&ccfg, MBEDTLS_SSL_VERIFY_NONE);
    check(mbedtls_ssl_conf_own_cert(&scfg, &crt, &key), "own_cert");
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(&ccfg, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
    static pipe_t to_server, to_client;
    duplex_t cio = {&to_server, &to_client}, sio = {&to_client, &to_server};
    for (int i = 0; i < n; i++) {
        mbedtls_ssl_context cl, sv;
        int cdone = 0, sdone = 0, rounds = 0;
        to_server.head = to_server.len = to_client.head = to_client.len = 0;
        mbedtls_ssl_init(&cl);
        mbedtls_ssl_init(&sv);
        double t = thread_cpu();
        check(mbedtls_ssl_setup(&cl, &ccfg), "client setup");
        check(mbedtls_ssl_set_hostname(&cl, "bench.example"), "hostname");
        mbedtls_ssl_set_bio(&cl, &cio, bio_send, bio_recv, NULL);
        c += thread_cpu() - t;
        check(mbedtls_ssl_setup(&sv, &scfg), "server setup");
        mbedtls_ssl_set_bio(&sv, &sio, bio_send, bio_recv, NULL);
        while (!(cdone && sdone)) {
            if (++rounds > 1000) {
                fprintf(stderr, "handshake does not finish\n");
                exit(2);
            }
            if (!cdone) {
                t = thread_cpu();
                int rc = mbedtls_ssl_handshake(&cl);
                c += thread_cpu() - t;
                if (rc == 0)
                    cdone = 1;
                else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
                    check(rc, "client handshake");
            }
            if (!sdone) {
                t = thread_cpu();
                int rc = mbedtls_ssl_handshake(&sv);
                s += thread_cpu() - t;
                if (rc == 0)
                    sdone = 1;
                else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
                    check(rc, "server handshake");
            }
        }
        t = thread_cpu();
        if (verify_chain) {
            uint32_t flags = 0;
            const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&cl);
            mbedtls_x509_crt_verify((mbedtls_x509_crt *)(uintptr_t)peer, &ca, NULL, NULL, &flags,
                                    NULL, NULL);
            if (flags) {
                fprintf(stderr, "verification failed: 0x%x\n", flags);
                exit(2);
            }
        }
        mbedtls_ssl_free(&cl);
        c += thread_cpu() - t;
        mbedtls_ssl_free(&sv);
    }
    *client_s = c / n;
    *server_s = s / n;
    mbedtls_ssl_config_free(&ccfg);
    mbedtls_ssl_config_free(&scfg);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300;
    for (int i = 2; i < argc; i++) {
        use_ec |= strcmp(argv[i], "ec") == 0;
        verify_chain |= strcmp(argv[i], "verify") == 0;
    }
    char ver[16];
    mbedtls_entropy_context entropy;
    double c12, s12, c13, s13;
    if (n <= 0)
        n = 300;
    mbedtls_version_get_string(ver);
    check(psa_crypto_init() == PSA_SUCCESS ? 0 : -1, "psa_crypto_init");
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0), "drbg");
    make_identity(use_ec);
    run(MBEDTLS_SSL_VERSION_TLS1_2, n / 10 + 1, &c12, &s12); /* warm-up */
    run(MBEDTLS_SSL_VERSION_TLS1_2, n, &c12, &s12);
    run(MBEDTLS_SSL_VERSION_TLS1_3, n, &c13, &s13);
    printf("mbedtls %s, %s configuration, %d handshakes each, %s server, X25519%s\n", ver,
#if defined(MXTLS_STOCK_CONFIG)
           "stock",
#else
           "project",
#endif
           n, use_ec ? "ECDSA P-256" : "RSA-2048", verify_chain ? ", chain verified after" : "");
    printf("TLS 1.2 ECDHE-AES128-GCM: client %.3f ms, server %.3f ms CPU per handshake\n",
           c12 * 1e3, s12 * 1e3);
    printf("TLS 1.3 AES-128-GCM:      client %.3f ms, server %.3f ms CPU per handshake\n",
           c13 * 1e3, s13 * 1e3);
    return 0;
}
