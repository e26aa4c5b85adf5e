/* bench_tls_memory [N]: heap bytes a client's TLS context holds once its handshake is over, the
 * state a probe keeps while it waits for the EHLO and QUIT replies over TLS. N handshakes per
 * version (ECDSA P-256 server, as the farm's cheap model), client contexts kept, server
 * contexts freed; glibc's malloc accounting before and after, divided by N. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS /* the buffer sizes, to show where the bytes are */

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "tls_pair.h"

static tls_identity_t id;

static void run(mbedtls_ssl_protocol_version version, int n) {
    mbedtls_ssl_config cc, sc;
    mbedtls_ssl_config *cfgs[2] = {&cc, &sc};
    mbedtls_ssl_context *cl = calloc((size_t)n, sizeof(*cl));
    static tls_pipe_t a, b;
    tls_duplex_t cio = {&a, &b}, sio = {&b, &a};
    if (!cl)
        exit(2);
    for (int i = 0; i < 2; i++) {
        mbedtls_ssl_config_init(cfgs[i]);
        tls_pair_check(
            mbedtls_ssl_config_defaults(cfgs[i], i ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                        MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT),
            "config");
        mbedtls_ssl_conf_rng(cfgs[i], mbedtls_ctr_drbg_random, tls_pair_drbg());
        mbedtls_ssl_conf_min_tls_version(cfgs[i], version);
        mbedtls_ssl_conf_max_tls_version(cfgs[i], version);
    }
    mbedtls_ssl_conf_authmode(&cc, MBEDTLS_SSL_VERIFY_NONE);
    tls_pair_check(mbedtls_ssl_conf_own_cert(&sc, &id.crt, &id.key), "own_cert");
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < n; i++) {
        mbedtls_ssl_context sv;
        a.head = a.len = b.head = b.len = 0;
        mbedtls_ssl_init(&cl[i]);
        mbedtls_ssl_init(&sv);
        tls_pair_check(mbedtls_ssl_setup(&cl[i], &cc), "client setup");
        tls_pair_check(mbedtls_ssl_setup(&sv, &sc), "server setup");
        tls_pair_check(mbedtls_ssl_set_hostname(&cl[i], "mx.bench.example"), "hostname");
        mbedtls_ssl_set_bio(&cl[i], &cio, tls_pair_send, tls_pair_recv, NULL);
        mbedtls_ssl_set_bio(&sv, &sio, tls_pair_send, tls_pair_recv, NULL);
        tls_pair_handshake(&cl[i], &sv);
        mbedtls_ssl_free(&sv);
    }
    size_t after = mallinfo2().uordblks;
    printf("%s: %.0f heap bytes per client context (input buffer %zu, output buffer %zu, "
           "handshake parameters %s), plus the %zu-byte context itself\n",
           version == MBEDTLS_SSL_VERSION_TLS1_3 ? "TLS 1.3" : "TLS 1.2",
           (double)(after - before) / n, cl[0].in_buf_len, cl[0].out_buf_len,
           cl[0].handshake ? "kept" : "freed", sizeof(*cl));
    for (int i = 0; i < n; i++)
        mbedtls_ssl_free(&cl[i]);
    free(cl);
    mbedtls_ssl_config_free(&cc);
    mbedtls_ssl_config_free(&sc);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 500;
    tls_identity_make(&id, 1, "mx.bench.example");
    run(MBEDTLS_SSL_VERSION_TLS1_2, n > 0 ? n : 500);
    run(MBEDTLS_SSL_VERSION_TLS1_3, n > 0 ? n : 500);
    return 0;
}
