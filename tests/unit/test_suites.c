/* The cipher-suite table against two independent sources: OpenSSL's own list (`openssl
 * ciphers -V -stdname`: ID, IANA name, OpenSSL name, key exchange, AEAD) and mbedTLS's (every
 * suite the probe can negotiate must be in the table). Names in every spelling map back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/ssl.h>

#include "mxtls/suites.h"

static void test_against_openssl(void **state) {
    (void)state;
    FILE *p =
        popen("openssl ciphers -V -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' 2>/dev/null", "r");
    char line[512];
    int compared = 0;
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        unsigned hi, lo;
        char iana[128], ossl[128], kx[64], mac[64];
        char *k = strstr(line, "Kx="), *m = strstr(line, "Mac=");
        if (sscanf(line, " 0x%x,0x%x - %127s - %127s", &hi, &lo, iana, ossl) != 4 || !k || !m)
            continue;
        sscanf(k, "Kx=%63s", kx);
        sscanf(m, "Mac=%63s", mac);
        const mx_suite_t *s = mx_suite_by_id((uint16_t)(hi << 8 | lo));
        if (!s)
            continue; /* PSK, SRP, ARIA and the like: not seen on mail servers */
        compared++;
        assert_string_equal(s->iana, iana);
        assert_string_equal(s->openssl, ossl);
        if (s->aead != (strcmp(mac, "AEAD") == 0))
            fail_msg("%s: aead %d, OpenSSL says Mac=%s", iana, s->aead, mac);
        int eph = strcmp(kx, "ECDH") == 0 || strcmp(kx, "DH") == 0 || strcmp(kx, "any") == 0;
        if (s->fs != eph)
            fail_msg("%s: fs %d, OpenSSL says Kx=%s", iana, s->fs, kx);
    }
    pclose(p);
    if (compared < 40)
        fail_msg("only %d suites compared with OpenSSL", compared);
}

static void test_mbedtls_suites_named(void **state) {
    (void)state;
    int n = 0, missing = 0;
    for (const int *id = mbedtls_ssl_list_ciphersuites(); *id; id++) {
        /* PSK suites need a pre-shared key; a survey client never offers them. */
        if (strstr(mbedtls_ssl_get_ciphersuite_name(*id), "PSK"))
            continue;
        if (!mx_suite_by_id((uint16_t)*id)) {
            printf("mbedTLS suite 0x%04x (%s) is not in the table\n", *id,
                   mbedtls_ssl_get_ciphersuite_name(*id));
            missing++;
        }
        n++;
    }
    assert_int_equal(missing, 0);
    assert_true(n > 20);
}

static void test_names(void **state) {
    (void)state;
    static const struct {
        const char *name;
        uint16_t id;
    } cases[] = {
        {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030},
        {"ecdhe-rsa-aes256-gcm-sha384", 0xC030},
        {"ECDHE_RSA_AES_256_GCM_SHA384", 0xC030},
        {"ECDHE_RSA_AES_128_CBC_SHA1", 0xC013},
        {"RSA_ARCFOUR_128_SHA1", 0x0005},
        {"RC4-SHA", 0x0005},
        {"ANON_DH_AES_128_CBC_SHA1", 0x0034},
        {"TLS_AES_256_GCM_SHA384", 0x1302},
        {"DES-CBC3-SHA", 0x000A},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const mx_suite_t *s = mx_suite_by_name(cases[i].name);
        if (!s || s->id != cases[i].id)
            fail_msg("%s: want 0x%04x got %s", cases[i].name, cases[i].id, s ? s->iana : "none");
    }
    assert_null(mx_suite_by_name("NOT-A-SUITE"));
    char g[128];
    mx_suite_gnutls_name(mx_suite_by_id(0x0005), g, sizeof(g));
    assert_string_equal(g, "RSA_ARCFOUR_128_SHA1");
}

static void test_groups(void **state) {
    (void)state;
    assert_string_equal(mx_group_name(0x001D), "x25519");
    assert_string_equal(mx_group_name(0x0017), "secp256r1");
    assert_string_equal(mx_group_name(0x0100), "ffdhe2048");
    assert_null(mx_group_name(0x7777));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_openssl),
        cmocka_unit_test(test_mbedtls_suites_named),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
