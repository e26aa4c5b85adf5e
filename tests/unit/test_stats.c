/* mxtls stats on a hand-made snapshot whose every metric was worked out by hand (comments give
 * the reasoning), plus empty input and a file of invalid lines only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/reader.h"
#include "mxtls/stats.h"

static const char snapshot[] =
    "rank,domain,dns_status,mx_pref,mx_host,ip,conn,banner_code,ehlo_code,ehlo_caps,starttls,"
    "tls,tls_version,tls_cipher,tls_group,cert_sha256,cert_issuer,cert_not_after,cert_key,"
    "chain_len,cert_valid,cert_name_match,scanned_at\n"
    /* a: primary mx1 does TLS 1.3 and verifies; backup mx2 has no STARTTLS -> "some MX" */
    "1,a.test,mx,10,mx1.a.test,127.0.0.1,ok,220,250,PIPELINING|STARTTLS|SIZE,yes,ok,TLSv1.3,"
    "TLS_AES_128_GCM_SHA256,x25519,aa,CN=CA One,2026-12-10T00:00:00Z,ec:secp256r1,2,ok,yes,"
    "2026-11-28T10:00:00Z\n"
    "1,a.test,mx,20,mx2.a.test,127.0.0.2,ok,220,250,PIPELINING,no,not_offered,,,,,,,,,,,"
    "2026-11-28T10:00:00Z\n"
    /* b: two primaries tied at 10; the shared host speaks only TLS 1.0, the other timed out */
    "2,b.test,mx,10,mx.shared.test,127.0.0.3,ok,220,250,STARTTLS,yes,legacy,TLSv1.0,"
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,secp256r1,bb,CN=CA Two,2027-06-01T00:00:00Z,rsa:2048,1,"
    "ok,yes,2026-11-28T10:00:00Z\n"
    "2,b.test,mx,10,mx2.b.test,127.0.0.4,timeout,,,,,,,,,,,,,,,,2026-11-28T10:00:00Z\n"
    /* c: the shared host again (host metrics count it once) */
    "3,c.test,mx,5,mx.shared.test,127.0.0.3,ok,220,250,STARTTLS,yes,legacy,TLSv1.0,"
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,secp256r1,bb,CN=CA Two,2027-06-01T00:00:00Z,rsa:2048,1,"
    "ok,yes,2026-11-28T10:00:00Z\n"
    /* d: implicit MX that greets with 421: unknown, never "no STARTTLS" */
    "1500,d.test,implicit,0,d.test,127.0.0.5,ok,421,,,,,,,,,,,,,,,2026-11-28T10:00:00Z\n"
    "2000,e.test,nxdomain,,,,,,,,,,,,,,,,,,,,\n"
    ",bad..name,invalid,,,,,,,,,,,,,,,,,,,,\n";

static mx_stats_t *run(const char *csv) {
    mx_reader_t *r;
    mx_record_t rec;
    int rc;
    mx_stats_t *s = mx_stats_new(0);
    assert_non_null(s);
    assert_int_equal(mx_reader_open_mem(&r, csv, strlen(csv)), 0);
    while ((rc = mx_reader_next(r, &rec)) == 1)
        assert_int_equal(mx_stats_row(s, &rec), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(mx_stats_end(s), 0);
    mx_reader_free(r);
    return s;
}

#define EXPECT(s, section, bucket, metric, n, d)                                                   \
    do {                                                                                           \
        assert_int_equal(mx_tally_num_of(mx_stats_tally(s), section, bucket, metric), n);          \
        assert_int_equal(mx_tally_den_of(mx_stats_tally(s), section, bucket), d);                  \
    } while (0)

static void test_domains(void **state) {
    (void)state;
    mx_stats_t *s = run(snapshot);
    assert_int_equal(mx_stats_domains(s), 6);
    EXPECT(s, "domains: DNS status", "all", "mx", 3, 6);
    EXPECT(s, "domains: DNS status", "all", "implicit", 1, 6);
    EXPECT(s, "domains: DNS status", "all", "invalid", 1, 6);
    EXPECT(s, "domains: DNS status", "top 1k", "mx", 3, 3);
    EXPECT(s, "domains: DNS status", "top 10k", "nxdomain", 1, 5);
    /* mail domains with a known host: a, b, c; d's only host is unknown */
    EXPECT(s, "domains: STARTTLS on every / some / no MX", "all", "every MX", 2, 3);
    EXPECT(s, "domains: STARTTLS on every / some / no MX", "all", "some MX", 1, 3);
    EXPECT(s, "domains: STARTTLS on every / some / no MX", "all", "no MX", 0, 3);
    EXPECT(s, "domains: MX hosts whose STARTTLS is unknown", "all", "every MX host unknown", 1, 4);
    EXPECT(s, "domains: MX hosts whose STARTTLS is unknown", "all", "some MX hosts unknown", 1, 4);
    EXPECT(s, "domains: TLS on the primary MX", "all", "TLS completes on every primary MX", 3, 3);
    EXPECT(s, "domains: best protocol across the MX hosts", "all", "TLSv1.3", 1, 3);
    EXPECT(s, "domains: best protocol across the MX hosts", "all", "legacy (TLS 1.1 and older)", 2,
           3);
    /* a's backup has no TLS; b's and c's known hosts verify and match */
    EXPECT(s, "domains: every MX verifies and matches its name", "all",
           "every MX verifies and matches", 2, 3);
    EXPECT(s, "domains: provider of the primary MX", "all", "shared.test", 2, 4);
    EXPECT(s, "domains: provider of the primary MX", "all", "a.test", 1, 4);
    mx_stats_free(s);
}

static void test_hosts(void **state) {
    (void)state;
    mx_stats_t *s = run(snapshot);
    /* five (mx_host, ip): mx1.a, mx2.a, mx.shared, mx2.b, d */
    EXPECT(s, "hosts: connection", "all", "ok", 4, 5);
    EXPECT(s, "hosts: connection", "all", "timeout", 1, 5);
    EXPECT(s, "hosts: STARTTLS unknown (probe ended before)", "all", "unknown", 2, 5);
    EXPECT(s, "hosts: greeting code", "all", "421", 1, 4);
    EXPECT(s, "hosts: STARTTLS offered", "all", "offered", 2, 3);
    EXPECT(s, "hosts: TLS outcome", "all", "legacy", 1, 2);
    EXPECT(s, "hosts: protocol version", "all", "TLSv1.0", 1, 2);
    EXPECT(s, "hosts: forward secrecy and AEAD", "all", "forward secrecy", 2, 2);
    EXPECT(s, "hosts: forward secrecy and AEAD", "all", "AEAD", 1, 2);
    EXPECT(s, "hosts: certificate verification", "all", "verifies", 2, 2);
    EXPECT(s, "hosts: certificate expiry", "all", "expires within 30 days", 1, 2);
    EXPECT(s, "hosts: certificate expiry", "all", "expired", 0, 2);
    EXPECT(s, "hosts: certificate issuer", "all", "CN=CA Two", 1, 2);
    EXPECT(s, "hosts: EHLO extensions", "all", "STARTTLS", 2, 3);
    EXPECT(s, "hosts: EHLO extensions", "all", "PIPELINING", 2, 3);
    mx_stats_free(s);
}

static void test_empty_and_invalid_only(void **state) {
    (void)state;
    mx_stats_t *s = run("rank,domain,dns_status\n");
    assert_int_equal(mx_stats_domains(s), 0);
    mx_tally_row_t *rows;
    assert_int_equal(mx_tally_rows(mx_stats_tally(s), &rows), 0);
    free(rows);
    mx_stats_free(s);
    s = run("rank,domain,dns_status,error\n,-x,invalid,invalid_name\n,a b,invalid,invalid_name\n");
    EXPECT(s, "domains: DNS status", "all", "invalid", 2, 2);
    assert_int_equal(
        mx_tally_den_of(mx_stats_tally(s), "domains: STARTTLS on every / some / no MX", "all"), 0);
    mx_stats_free(s);
}

static void test_provider(void **state) {
    char out[256];
    (void)state;
    mx_provider_of("mx1.mail.example.co.uk", out, sizeof(out));
    assert_string_equal(out, "example.co.uk");
    mx_provider_of("aspmx.l.google.com", out, sizeof(out));
    assert_string_equal(out, "google.com");
    mx_provider_of("192.0.2.1", out, sizeof(out));
    assert_string_equal(out, "192.0.2.1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domains),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_empty_and_invalid_only),
        cmocka_unit_test(test_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
