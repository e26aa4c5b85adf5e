/* bench_handshake_openssl [N] [ec] [verify]: the OpenSSL twin of bench_handshake, the reference
 * the curve arithmetic issue measures against. The same handshakes, counted the same way: client
 * and server in one thread over a memory BIO pair, a server certificate issued by a CA (RSA-2048,
 * or with "ec" ECDSA P-256), X25519 only; TLS 1.2 with ECDHE-*-AES128-GCM-SHA256 and TLS 1.3
 * with TLS_AES_128_GCM_SHA256; no session resumption. The client's thread CPU from SSL_new to
 * SSL_free, the chain's verification included with "verify" (OpenSSL verifies during the
 * handshake, where mbedTLS's probe does it after). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "%s failed\n", what);
        ERR_print_errors_fp(stderr);
        exit(2);
    }
}

static EVP_PKEY *new_key(int ec) {
    EVP_PKEY *k = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    check(k != NULL, "key generation");
    return k;
}

/* A certificate for CN with KEY, signed by ISSUER_KEY under ISSUER (NULL: self-signed CA). */
static X509 *new_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key) {
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), issuer ? 2 : 1);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                              issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    if (issuer) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:bench.example");
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
    check(X509_sign(c, issuer_key, EVP_sha256()) > 0, "certificate signing");
    return c;
}

static int use_ec, verify_chain;
static X509 *ca, *crt;
static EVP_PKEY *key;

static SSL_CTX *context(int server, int version) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    check(ctx != NULL, "SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    check(SSL_CTX_set1_groups_list(ctx, "X25519:P-256"), "groups");
    check(SSL_CTX_set_cipher_list(ctx, use_ec ? "ECDHE-ECDSA-AES128-GCM-SHA256"
                                              : "ECDHE-RSA-AES128-GCM-SHA256"),
          "TLS 1.2 suites");
    check(SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256"), "TLS 1.3 suites");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server) {
        check(SSL_CTX_use_certificate(ctx, crt) == 1, "server certificate");
        check(SSL_CTX_use_PrivateKey(ctx, key) == 1, "server key");
    } else if (verify_chain) {
        check(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) == 1, "trust anchor");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* N handshakes at VERSION; the client's CPU seconds per handshake. */
static double run(int version, int n) {
    SSL_CTX *cctx = context(0, version), *sctx = context(1, version);
    double c = 0;
    for (int i = 0; i < n; i++) {
        BIO *cb, *sb;
        check(BIO_new_bio_pair(&cb, 1 << 16, &sb, 1 << 16) == 1, "BIO pair");
        double t = thread_cpu();
        SSL *cl = SSL_new(cctx);
        SSL_set_bio(cl, cb, cb);
        SSL_set_tlsext_host_name(cl, "bench.example");
        if (verify_chain)
            SSL_set1_host(cl, "bench.example");
        SSL_set_connect_state(cl);
        c += thread_cpu() - t;
        SSL *sv = SSL_new(sctx);
        SSL_set_bio(sv, sb, sb);
        SSL_set_accept_state(sv);
        int cdone = 0, sdone = 0;
        for (int rounds = 0; !(cdone && sdone); rounds++) {
            check(rounds < 1000, "a finished handshake");
            if (!cdone) {
                t = thread_cpu();
                int rc = SSL_do_handshake(cl);
                c += thread_cpu() - t;
                cdone = rc == 1;
                check(cdone || SSL_get_error(cl, rc) == SSL_ERROR_WANT_READ, "client handshake");
            }
            if (!sdone) {
                int rc = SSL_do_handshake(sv);
                sdone = rc == 1;
                check(sdone || SSL_get_error(sv, rc) == SSL_ERROR_WANT_READ, "server handshake");
            }
        }
        t = thread_cpu();
        SSL_free(cl);
        c += thread_cpu() - t;
        SSL_free(sv);
    }
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return c / n;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300;
    for (int i = 2; i < argc; i++) {
        use_ec |= strcmp(argv[i], "ec") == 0;
        verify_chain |= strcmp(argv[i], "verify") == 0;
    }
    if (n <= 0)
        n = 300;
    EVP_PKEY *ca_key = new_key(use_ec);
    key = new_key(use_ec);
    ca = new_cert("bench CA", ca_key, NULL, ca_key);
    crt = new_cert("bench.example", key, ca, ca_key);
    run(TLS1_2_VERSION, n / 10 + 1); /* warm-up */
    double c12 = run(TLS1_2_VERSION, n), c13 = run(TLS1_3_VERSION, n);
    printf("%s, %d handshakes each, %s server, X25519%s\n", OpenSSL_version(OPENSSL_VERSION), n,
           use_ec ? "ECDSA P-256" : "RSA-2048", verify_chain ? ", chain verified" : "");
    printf("TLS 1.2 ECDHE-AES128-GCM: client %.3f ms CPU per handshake\n", c12 * 1e3);
    printf("TLS 1.3 AES-128-GCM:      client %.3f ms CPU per handshake\n", c13 * 1e3);
    X509_free(crt);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return 0;
}
