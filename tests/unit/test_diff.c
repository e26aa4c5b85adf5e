/* mxtls diff's per-domain transitions on hand-made snapshots, the cases farm truth files cannot
 * show (certificates are made per farm run): a renewal, an issuer change, a domain only in one
 * snapshot; and the two-proportion test against a value worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "mxtls/diff.h"
#include "mxtls/reader.h"

#define HEAD                                                                                       \
    "domain,dns_status,mx_pref,mx_host,ip,conn,banner_code,starttls,tls,tls_version,cert_sha256,"  \
    "cert_cn,cert_key,cert_issuer,cert_valid,cert_name_match\n"

static const char old_csv[] = HEAD
    "a.test,mx,10,mx.a.test,127.0.0.1,ok,220,yes,ok,TLSv1.2,aa,mx.a.test,rsa:2048,CN=R1,ok,yes\n"
    "b.test,mx,10,mx.b.test,127.0.0.2,ok,220,yes,ok,TLSv1.3,bb,mx.b.test,rsa:2048,CN=R1,ok,yes\n"
    "c.test,mx,10,mx.c.test,127.0.0.3,ok,220,no,not_offered,,,,,,,\n"
    "gone.test,nxdomain,,,,,,,,,,,,,,\n";
static const char new_csv[] = HEAD
    "a.test,mx,10,mx.a.test,127.0.0.1,ok,220,yes,ok,TLSv1.3,a2,mx.a.test,rsa:2048,CN=R1,ok,yes\n"
    "b.test,mx,10,mx.b.test,127.0.0.2,ok,220,yes,ok,TLSv1.3,b2,mx.b.test,rsa:2048,CN=E5,"
    "untrusted,yes\n"
    "c.test,mx,10,mx.c.test,127.0.0.3,ok,220,yes,ok,TLSv1.3,cc,mx.c.test,ec:secp256r1,CN=E5,ok,"
    "yes\n"
    "new.test,null_mx,,,,,,,,,,,,,,\n";

static int changed;
static char b_issuer_old[64], b_issuer_new[64];

static void on_change(void *ud, const mx_diff_change_t *c) {
    (void)ud;
    changed++;
    if (!strcmp(c->domain, "b.test")) {
        strcpy(b_issuer_old, c->old_value[MX_DIFF_ISSUER]);
        strcpy(b_issuer_new, c->new_value[MX_DIFF_ISSUER]);
        assert_null(c->old_value[MX_DIFF_STARTTLS]); /* unchanged: not reported */
    }
}

static void feed(mx_diff_t *d, const char *csv, int new_side) {
    mx_reader_t *r;
    mx_record_t rec;
    int rc;
    assert_int_equal(mx_reader_open_mem(&r, csv, strlen(csv)), 0);
    while ((rc = mx_reader_next(r, &rec)) == 1)
        assert_int_equal(new_side ? mx_diff_new_row(d, &rec) : mx_diff_old_row(d, &rec), 0);
    assert_int_equal(rc, 0);
    mx_reader_free(r);
}

#define CHANGES "changes (domains in both)"

static void test_transitions(void **state) {
    (void)state;
    mx_diff_t *d = mx_diff_new(0, on_change, NULL);
    assert_non_null(d);
    feed(d, old_csv, 0);
    feed(d, new_csv, 1);
    assert_int_equal(mx_diff_end(d), 0);
    const mx_tally_t *t = mx_diff_tally(d);
    assert_int_equal(mx_tally_num_of(t, "snapshots: domains", "all", "in both"), 3);
    assert_int_equal(mx_tally_num_of(t, "snapshots: domains", "all", "only in the old"), 1);
    assert_int_equal(mx_tally_num_of(t, "snapshots: domains", "all", "only in the new"), 1);
    assert_int_equal(mx_tally_den_of(t, "snapshots: domains", "all"), 5);
    /* a: new fingerprint, same name, key type and issuer: a renewal; and 1.2 -> 1.3 */
    /* b: new fingerprint from another issuer, which does not verify */
    /* c: STARTTLS gained; its certificate is new, not changed */
    assert_int_equal(mx_tally_num_of(t, CHANGES, "all", "primary MX certificate changed"), 2);
    assert_int_equal(
        mx_tally_num_of(t, CHANGES, "all", "... renewed (same name, key type and issuer)"), 1);
    assert_int_equal(mx_tally_num_of(t, CHANGES, "all", "... issuer changed"), 1);
    assert_int_equal(mx_tally_num_of(t, CHANGES, "all", "best protocol up"), 2);
    assert_int_equal(
        mx_tally_num_of(t, CHANGES, "all", "STARTTLS gained (no MX -> some or every MX)"), 1);
    assert_int_equal(mx_tally_num_of(t, CHANGES, "all", "certificates became invalid (some MX)"),
                     1);
    assert_int_equal(mx_tally_num_of(t, CHANGES, "all", "certificates became valid (every MX)"), 1);
    assert_int_equal(mx_tally_num_of(t, CHANGES, "all", "MX host set changed"), 0);
    assert_int_equal(changed, 3);
    assert_string_equal(b_issuer_old, "CN=R1");
    assert_string_equal(b_issuer_new, "CN=E5");
    mx_diff_free(d);
}

static void test_two_proportion(void **state) {
    (void)state;
    /* 50/100 against 60/100: pooled p 0.55, se = sqrt(.55 * .45 * .02) = 0.070356, z = 1.4213,
     * two-sided p = 0.15523 */
    assert_true(fabs(mx_two_proportion_p(50, 100, 60, 100) - 0.15523) < 0.0001);
    assert_true(mx_two_proportion_p(5, 10, 5, 10) > 0.999);
    assert_true(mx_two_proportion_p(0, 0, 1, 2) == 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_two_proportion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
