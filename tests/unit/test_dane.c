/* DANE for SMTP against certificates and digests made by OpenSSL's command line, the reference:
 * a CA, a server certificate it signed for mx.example.test, an expired one, and a CA that
 * signed nothing here. Each usage, selector and matching type, each unusable form, and the
 * outcomes none and insecure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/dane.h"
#include "testutil.h"

/* Runs CMD in the scratch directory DIR. */
static void sh(const char *cmd, const char *dir) {
    char full[2048];
    snprintf(full, sizeof(full), "cd '%s' && %s", dir, cmd);
    assert_int_equal(system(full), 0);
}

/* OpenSSL's hex digest printed by CMD into OUT (bytes); returns the length. */
static size_t digest(const char *cmd, uint8_t *out) {
    char line[512], full[1024];
    snprintf(full, sizeof(full), "%s 2>/dev/null", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    char *hex = strrchr(line, ' ') ? strrchr(line, ' ') + 1 : line;
    size_t n = 0;
    unsigned v;
    while (sscanf(hex + 2 * n, "%2x", &v) == 1 && n < 64)
        out[n++] = (uint8_t)v;
    return n;
}

static struct {
    uint8_t *leaf, *ca, *old;
    size_t leaf_len, ca_len, old_len;
    uint8_t spki256[32], cert256[32], cert512[64], ca256[32], other256[32], old256[32];
    uint8_t *spki;
    size_t spki_len;
} k;

static int setup(void **state) {
    (void)state;
    const char *d = tu_tmpdir();
    /* A CA, a server certificate it signed, an expired one, another CA. */
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout ca.key -out ca.pem -days 30 -subj /CN=DANE-test-CA "
       "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign >/dev/null 2>&1",
       d);
    sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
       "-out leaf.csr -subj /CN=mx.example.test >/dev/null 2>&1 && printf "
       "'subjectAltName=DNS:mx.example.test\\n' > ext && openssl x509 -req -in leaf.csr -CA "
       "ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext -out leaf.pem >/dev/null 2>&1",
       d);
    /* OpenSSL 3.0's x509 command cannot backdate a certificate; its ca command can. */
    sh("mkdir -p db && touch db/index && echo 01 > db/serial && printf '[ca]\\ndefault_ca=d\\n"
       "[d]\\ndatabase=db/index\\nserial=db/serial\\nnew_certs_dir=db\\ndefault_md=sha256\\n"
       "policy=p\\n[p]\\ncommonName=supplied\\n' > ca.cnf && openssl ca -batch -notext -config "
       "ca.cnf -cert ca.pem -keyfile ca.key -in leaf.csr -startdate 20200101000000Z -enddate "
       "20200201000000Z -extfile ext -out old.pem >/dev/null 2>&1",
       d);
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "-keyout other.key -out other.pem -days 30 -subj /CN=Other-CA >/dev/null 2>&1",
       d);
    sh("for c in leaf ca old; do openssl x509 -in $c.pem -outform DER -out $c.der; done "
       "&& openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER -out "
       "spki.der",
       d);
    k.leaf = tu_read_file(tu_path("leaf.der"), &k.leaf_len);
    k.ca = tu_read_file(tu_path("ca.der"), &k.ca_len);
    k.old = tu_read_file(tu_path("old.der"), &k.old_len);
    k.spki = tu_read_file(tu_path("spki.der"), &k.spki_len);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 %s", tu_path("spki.der"));
    assert_int_equal(digest(cmd, k.spki256), 32);
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 %s", tu_path("leaf.der"));
    assert_int_equal(digest(cmd, k.cert256), 32);
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha512 %s", tu_path("leaf.der"));
    assert_int_equal(digest(cmd, k.cert512), 64);
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 %s", tu_path("ca.der"));
    assert_int_equal(digest(cmd, k.ca256), 32);
    snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -outform DER | openssl dgst -sha256",
             tu_path("other.pem"));
    assert_int_equal(digest(cmd, k.other256), 32);
    snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 %s", tu_path("old.der"));
    assert_int_equal(digest(cmd, k.old256), 32);
    return 0;
}

static const char *check1(uint8_t usage, uint8_t sel, uint8_t mtype, const uint8_t *data,
                          size_t len, int chain_n, int use_old, const char *host) {
    mx_tlsa_t t = {usage, sel, mtype, data, len};
    const uint8_t *der[2] = {use_old ? k.old : k.leaf, k.ca};
    size_t dl[2] = {use_old ? k.old_len : k.leaf_len, k.ca_len};
    mx_chain_t chain = {der, dl, chain_n};
    return mx_dane_check(&t, 1, 1, &chain, host);
}

static void test_dane_ee(void **state) {
    (void)state;
    const char *h = "mx.example.test";
    assert_string_equal(check1(3, 1, 1, k.spki256, 32, 1, 0, h), "match");
    assert_string_equal(check1(3, 0, 1, k.cert256, 32, 2, 0, h), "match");
    assert_string_equal(check1(3, 0, 2, k.cert512, 64, 2, 0, h), "match");
    assert_string_equal(check1(3, 1, 0, k.spki, k.spki_len, 1, 0, h), "match");
    assert_string_equal(check1(3, 0, 0, k.leaf, k.leaf_len, 1, 0, h), "match");
    /* DANE-EE ignores the name and the dates (RFC 7672 section 3.1.1) */
    assert_string_equal(check1(3, 1, 1, k.spki256, 32, 1, 0, "other.example"), "match");
    assert_string_equal(check1(3, 0, 1, k.old256, 32, 1, 1, h), "match");
    /* another certificate's digest; the CA's digest as DANE-EE */
    assert_string_equal(check1(3, 0, 1, k.old256, 32, 2, 0, h), "mismatch");
    assert_string_equal(check1(3, 0, 1, k.ca256, 32, 2, 0, h), "mismatch");
    uint8_t flipped[32];
    memcpy(flipped, k.spki256, 32);
    flipped[31] ^= 1;
    assert_string_equal(check1(3, 1, 1, flipped, 32, 1, 0, h), "mismatch");
    assert_string_equal(check1(3, 1, 1, k.spki256, 32, 0, 0, h), "mismatch"); /* no chain */
}

static void test_dane_ta(void **state) {
    (void)state;
    const char *h = "mx.example.test";
    assert_string_equal(check1(2, 0, 1, k.ca256, 32, 2, 0, h), "match");
    /* the name is checked, and the dates */
    assert_string_equal(check1(2, 0, 1, k.ca256, 32, 2, 0, "other.example.test"), "mismatch");
    assert_string_equal(check1(2, 0, 1, k.ca256, 32, 2, 1, h), "mismatch");
    /* a trust anchor the server did not send, or that signed nothing here */
    assert_string_equal(check1(2, 0, 1, k.ca256, 32, 1, 0, h), "mismatch");
    assert_string_equal(check1(2, 0, 1, k.other256, 32, 2, 0, h), "mismatch");
}

static void test_unusable_and_outcomes(void **state) {
    (void)state;
    const char *h = "mx.example.test";
    /* PKIX usages, an unknown selector or matching type, a digest of the wrong length */
    assert_string_equal(check1(0, 0, 1, k.ca256, 32, 2, 0, h), "unusable");
    assert_string_equal(check1(1, 1, 1, k.spki256, 32, 2, 0, h), "unusable");
    assert_string_equal(check1(3, 2, 1, k.spki256, 32, 2, 0, h), "unusable");
    assert_string_equal(check1(3, 1, 3, k.spki256, 32, 2, 0, h), "unusable");
    assert_string_equal(check1(3, 1, 1, k.spki256, 31, 2, 0, h), "unusable");
    assert_string_equal(check1(3, 1, 2, k.cert512, 32, 2, 0, h), "unusable");
    /* one usable record among unusable ones decides */
    mx_tlsa_t two[] = {{1, 1, 1, k.spki256, 32}, {3, 1, 1, k.spki256, 32}};
    const uint8_t *der[1] = {k.leaf};
    size_t dl[1] = {k.leaf_len};
    mx_chain_t chain = {der, dl, 1};
    assert_string_equal(mx_dane_check(two, 2, 1, &chain, h), "match");
    assert_string_equal(mx_dane_check(two, 2, 0, &chain, h), "insecure");
    assert_string_equal(mx_dane_check(two, 0, 1, &chain, h), "none");
    /* a certificate that is not DER */
    uint8_t junk[40] = {0x30, 0x26};
    const uint8_t *bad[1] = {junk};
    size_t bl[1] = {sizeof(junk)};
    mx_chain_t badc = {bad, bl, 1};
    assert_string_equal(mx_dane_check(two, 2, 1, &badc, h), "mismatch");
    /* record parsing */
    mx_tlsa_t t;
    const uint8_t rd[] = {3, 1, 1, 0xAB};
    assert_int_equal(mx_tlsa_parse(rd, 4, &t), 0);
    assert_int_equal(t.usage, 3);
    assert_int_equal(t.len, 1);
    assert_int_equal(mx_tlsa_parse(rd, 3, &t), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dane_ee),
        cmocka_unit_test(test_dane_ta),
        cmocka_unit_test(test_unusable_and_outcomes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
