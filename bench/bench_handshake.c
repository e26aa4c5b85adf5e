/* bench_handshake [N] [ec] [verify]: client CPU per TLS handshake in mbedTLS, client and server in
 * one thread over memory buffers, so nothing but the cryptography and the library's own work is
 * measured. Built twice: against the project's mbedTLS configuration and against the same source
 * with its stock configuration, to show what the configuration buys (DESIGN.md, Dependencies).
 * Server: RSA-2048 (or with "ec", ECDSA P-256) self-signed certificate, X25519 only; TLS 1.2
 * with ECDHE-*-AES128-GCM-SHA256, and TLS 1.3 with TLS_AES_128_GCM_SHA256. The project's build
 * does its curve arithmetic in Nettle (mxtls/fast_ec.h) unless MXTLS_CURVES=mbedtls, as mxtls
 * does; bench_handshake_openssl is the OpenSSL twin. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tls_pair.h"
#if !defined(MXTLS_STOCK_CONFIG)
#include "mxtls/crypto.h"
#include "mxtls/fast_ec.h"
#endif

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tls_identity_t id; /* the server's, issued by a CA (same key type) the client trusts, so
                           * that verifying the chain costs what the probe's verification of a
                           * farm leaf costs */

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
    tls_pair_check(mbedtls_ssl_config_defaults(&ccfg, MBEDTLS_SSL_IS_CLIENT,
                                               MBEDTLS_SSL_TRANSPORT_STREAM,
                                               MBEDTLS_SSL_PRESET_DEFAULT),
                   "client config");
    tls_pair_check(mbedtls_ssl_config_defaults(&scfg, MBEDTLS_SSL_IS_SERVER,
                                               MBEDTLS_SSL_TRANSPORT_STREAM,
                                               MBEDTLS_SSL_PRESET_DEFAULT),
                   "server config");
    for (int i = 0; i < 2; i++) {
        mbedtls_ssl_config *cfg = i ? &scfg : &ccfg;
        mbedtls_ssl_conf_rng(cfg, mbedtls_ctr_drbg_random, tls_pair_drbg());
        mbedtls_ssl_conf_min_tls_version(cfg, version);
        mbedtls_ssl_conf_max_tls_version(cfg, version);
        mbedtls_ssl_conf_groups(cfg, groups);
        mbedtls_ssl_conf_ciphersuites(cfg,
                                      version == MBEDTLS_SSL_VERSION_TLS1_3 ? suites13 : suites12);
    }
    mbedtls_ssl_conf_authmode(&ccfg, MBEDTLS_SSL_VERIFY_NONE);
    tls_pair_check(mbedtls_ssl_conf_own_cert(&scfg, &id.crt, &id.key), "own_cert");
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(&ccfg, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
    static tls_pipe_t to_server, to_client;
    tls_duplex_t cio = {&to_server, &to_client}, sio = {&to_client, &to_server};
    for (int i = 0; i < n; i++) {
        mbedtls_ssl_context cl, sv;
        int cdone = 0, sdone = 0, rounds = 0;
        to_server.head = to_server.len = to_client.head = to_client.len = 0;
        mbedtls_ssl_init(&cl);
        mbedtls_ssl_init(&sv);
        double t = thread_cpu();
        tls_pair_check(mbedtls_ssl_setup(&cl, &ccfg), "client setup");
        tls_pair_check(mbedtls_ssl_set_hostname(&cl, "bench.example"), "hostname");
        mbedtls_ssl_set_bio(&cl, &cio, tls_pair_send, tls_pair_recv, NULL);
        c += thread_cpu() - t;
        tls_pair_check(mbedtls_ssl_setup(&sv, &scfg), "server setup");
        mbedtls_ssl_set_bio(&sv, &sio, tls_pair_send, tls_pair_recv, NULL);
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
                    tls_pair_check(rc, "client handshake");
            }
            if (!sdone) {
                t = thread_cpu();
                int rc = mbedtls_ssl_handshake(&sv);
                s += thread_cpu() - t;
                if (rc == 0)
                    sdone = 1;
                else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
                    tls_pair_check(rc, "server handshake");
            }
        }
        t = thread_cpu();
        if (verify_chain) {
            uint32_t flags = 0;
            const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&cl);
            mbedtls_x509_crt_verify((mbedtls_x509_crt *)(uintptr_t)peer, &id.ca, NULL, NULL, &flags,
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
    double c12, s12, c13, s13;
    if (n <= 0)
        n = 300;
    const char *curves = "mbedTLS";
#if !defined(MXTLS_STOCK_CONFIG)
    mx_crypto_init();
    curves = mx_fast_ec_backend();
#endif
    mbedtls_version_get_string(ver);
    tls_identity_make(&id, use_ec, "bench.example");
    run(MBEDTLS_SSL_VERSION_TLS1_2, n / 10 + 1, &c12, &s12); /* warm-up */
    run(MBEDTLS_SSL_VERSION_TLS1_2, n, &c12, &s12);
    run(MBEDTLS_SSL_VERSION_TLS1_3, n, &c13, &s13);
    printf("mbedtls %s, %s configuration, curves: %s, %d handshakes each, %s server, X25519%s\n",
           ver,
#if defined(MXTLS_STOCK_CONFIG)
           "stock",
#else
           "project",
#endif
           curves, n, use_ec ? "ECDSA P-256" : "RSA-2048",
           verify_chain ? ", chain verified after" : "");
    printf("TLS 1.2 ECDHE-AES128-GCM: client %.3f ms, server %.3f ms CPU per handshake\n",
           c12 * 1e3, s12 * 1e3);
    printf("TLS 1.3 AES-128-GCM:      client %.3f ms, server %.3f ms CPU per handshake\n",
           c13 * 1e3, s13 * 1e3);
    return 0;
}
