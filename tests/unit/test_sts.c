/* The MTA-STS and TLS-RPT record readers and the policy parser, against the examples of RFC 8461
 * and RFC 8460 and each way a record or policy can break their grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/sts.h"

/* Reads the N records of RECS (NUL-terminated) as an MTA-STS (STS 1) or TLS-RPT set. */
static const char *read_txt(int sts, mx_sts_txt_t *out, int n, const char *const *recs) {
    size_t len[8];
    for (int i = 0; i < n; i++)
        len[i] = strlen(recs[i]);
    mx_txt_set_t set = {recs, len, n};
    if (sts)
        mx_sts_txt_read(&set, out);
    else
        mx_tlsrpt_txt_read(&set, out);
    return out->status;
}

static const char *sts1(const char *rec, mx_sts_txt_t *out) {
    const char *recs[] = {rec};
    return read_txt(1, out, 1, recs);
}

static void test_sts_record(void **state) {
    (void)state;
    mx_sts_txt_t t;
    /* RFC 8461 section 3.1's example */
    assert_string_equal(sts1("v=STSv1; id=20160831085700Z;", &t), "ok");
    assert_string_equal(t.id, "20160831085700Z");
    assert_string_equal(sts1("v=STSv1;id=abc", &t), "ok");
    assert_string_equal(sts1("v=STSv1 ; id=abc ;", &t), "ok");
    assert_string_equal(sts1("v=STSv1; id=abc; ext_1-x.y=some:value", &t), "ok");
    assert_string_equal(sts1("v=STSv1; id=12345678901234567890123456789012", &t), "ok");
    /* broken */
    assert_string_equal(sts1("v=STSv1; id=123456789012345678901234567890123", &t), "invalid");
    assert_string_equal(sts1("v=STSv1;", &t), "invalid");            /* no field */
    assert_string_equal(sts1("v=STSv1; ext=1", &t), "invalid");      /* no id */
    assert_string_equal(sts1("v=STSv1; id=a; id=b", &t), "invalid"); /* two ids */
    assert_string_equal(sts1("v=STSv1; id=a-b", &t), "invalid");     /* id not alphanumeric */
    assert_string_equal(sts1("v=STSv1; id=", &t), "invalid");
    assert_string_equal(sts1("v=STSv1 id=abc", &t), "invalid"); /* no ";" */
    assert_string_equal(sts1("v=STSv1; id=abc; =x", &t), "invalid");
    assert_string_equal(sts1("v=STSv1; id=abc; x=", &t), "invalid");
    assert_string_equal(t.id, "");
    /* not an MTA-STS record at all */
    assert_string_equal(sts1("v=STSv10; id=abc", &t), "none");
    assert_string_equal(sts1("v=spf1 -all", &t), "none");
    assert_string_equal(sts1("V=STSv1; id=abc", &t), "none"); /* the tag is case-sensitive */
    const char *two[] = {"v=STSv1; id=a", "v=STSv1; id=b"};
    assert_string_equal(read_txt(1, &t, 2, two), "multiple");
    const char *mixed[] = {"v=spf1 -all", "v=STSv1; id=a", "google-site-verification=x"};
    assert_string_equal(read_txt(1, &t, 3, mixed), "ok");
    assert_string_equal(t.id, "a");
    assert_string_equal(read_txt(1, &t, 0, NULL), "none");
    /* a NUL inside the record (DNS allows any byte) */
    const char nul[] = "v=STSv1; id=ab\0cd";
    const char *r[] = {nul};
    size_t len[] = {sizeof(nul) - 1};
    mx_txt_set_t set = {r, len, 1};
    mx_sts_txt_read(&set, &t);
    assert_string_equal(t.status, "invalid");
}

static const char *rpt1(const char *rec, mx_sts_txt_t *out) {
    const char *recs[] = {rec};
    return read_txt(0, out, 1, recs);
}

static void test_tlsrpt_record(void **state) {
    (void)state;
    mx_sts_txt_t t;
    /* RFC 8460 section 3's examples */
    assert_string_equal(rpt1("v=TLSRPTv1;rua=mailto:reports@example.com", &t), "ok");
    assert_string_equal(t.rua, "mailto:reports@example.com");
    assert_int_equal(t.rua_count, 1);
    assert_string_equal(rpt1("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", &t), "ok");
    assert_string_equal(rpt1("v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x", &t),
                        "ok");
    assert_int_equal(t.rua_count, 2);
    assert_string_equal(rpt1("v=TLSRPTv1; rua=mailto:a@example.com; ext=1;", &t), "ok");
    /* broken */
    assert_string_equal(rpt1("v=TLSRPTv1;", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv1; ext=1", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv1; rua=http://example.com/r", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv1; rua=mailto:nobody", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv1; rua=mailto:@example.com", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv1; rua=mailto:a@example.com,", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv1; rua=mailto:a@x.com; rua=mailto:b@x.com", &t), "invalid");
    assert_string_equal(rpt1("v=TLSRPTv2; rua=mailto:a@example.com", &t), "none");
    assert_string_equal(t.rua, "");
}

static const char *policy(const char *text, mx_sts_policy_t *p) {
    mx_sts_policy_parse(text, strlen(text), p);
    return p->status;
}

static void test_policy(void **state) {
    (void)state;
    mx_sts_policy_t p;
    /* RFC 8461 section 3.2's example, CRLF lines */
    assert_string_equal(policy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                               "mx: *.example.net\r\nmx: backupmx.example.com\r\n"
                               "max_age: 604800\r\n",
                               &p),
                        "ok");
    assert_int_equal(p.mode, MX_STS_ENFORCE);
    assert_int_equal(p.max_age, 604800);
    assert_int_equal(p.nmx, 3);
    assert_string_equal(p.mx[1], "*.example.net");
    assert_string_equal(mx_sts_mode_name(p.mode), "enforce");
    assert_true(mx_sts_policy_allows(&p, "mail.example.com"));
    assert_true(mx_sts_policy_allows(&p, "MX1.Example.NET."));
    assert_false(mx_sts_policy_allows(&p, "a.b.example.net"));
    assert_false(mx_sts_policy_allows(&p, "example.net"));
    assert_false(mx_sts_policy_allows(&p, "mail.example.org"));
    /* LF lines, blank lines at the end, extensions, spaces after the colon */
    assert_string_equal(
        policy("version:STSv1\nmode:   testing\nmx: MX.Example.COM\nmax_age: 0\nx-ext: a b\n\n\n",
               &p),
        "ok");
    assert_int_equal(p.mode, MX_STS_TESTING);
    assert_string_equal(p.mx[0], "mx.example.com");
    assert_string_equal(policy("version: STSv1\nmode: none\nmax_age: 86400\n", &p), "ok");
    assert_int_equal(p.mode, MX_STS_NONE);
    /* each fault with its token */
    assert_string_equal(policy("version: STSv1\n\nmode: enforce\nmx: a.b\nmax_age: 1\n", &p),
                        "policy_syntax");
    assert_string_equal(policy("<html>not found</html>", &p), "policy_syntax");
    assert_string_equal(policy("version: STSv1\nmode enforce\n", &p), "policy_syntax");
    assert_string_equal(policy("version: STSv1\nmode: \n", &p), "policy_syntax");
    assert_string_equal(policy("version: STSv1\nmode: enf\xc3\xa9rce\n", &p), "policy_syntax");
    assert_string_equal(policy("mode: enforce\nmx: a.b\nmax_age: 1\n", &p), "policy_version");
    assert_string_equal(policy("version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n", &p),
                        "policy_version");
    assert_string_equal(policy("version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n", &p),
                        "policy_mode");
    assert_string_equal(policy("version: STSv1\nmode: enforce\nmx: a.b\n", &p), "policy_max_age");
    assert_string_equal(policy("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", &p),
                        "policy_max_age");
    assert_string_equal(
        policy("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901\n", &p),
        "policy_max_age");
    assert_string_equal(policy("version: STSv1\nmode: enforce\nmax_age: 1\n", &p), "policy_mx");
    assert_string_equal(policy("version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", &p),
                        "policy_mx");
    assert_string_equal(policy("version: STSv1\nmode: enforce\nmx: -a.b\nmax_age: 1\n", &p),
                        "policy_mx");
    assert_string_equal(policy("version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n", &p),
                        "policy_mx");
    /* the first version, mode and max_age count */
    assert_string_equal(
        policy("version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\nmax_age: 1\n", &p), "ok");
    assert_int_equal(p.mode, MX_STS_TESTING);
    /* a NUL byte inside */
    const char nul[] = "version: STSv1\nmode: enforce\0\nmx: a.b\nmax_age: 1\n";
    mx_sts_policy_parse(nul, sizeof(nul) - 1, &p);
    assert_string_equal(p.status, "policy_syntax");
    /* more patterns than are kept: all read, the first kept */
    char big[MX_STS_MAX_MX * 20 + 200];
    size_t n = (size_t)snprintf(big, sizeof(big), "version: STSv1\nmode: enforce\nmax_age: 1\n");
    for (int i = 0; i < MX_STS_MAX_MX + 10; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "mx: m%d.example\n", i);
    mx_sts_policy_parse(big, n, &p);
    assert_string_equal(p.status, "ok");
    assert_int_equal(p.nmx, MX_STS_MAX_MX);
    assert_true(mx_sts_policy_allows(&p, "m0.example"));
}

static void test_mx_match(void **state) {
    (void)state;
    assert_true(mx_sts_mx_match("mail.example.com", "mail.example.com"));
    assert_true(mx_sts_mx_match("mail.example.com.", "MAIL.example.com"));
    assert_false(mx_sts_mx_match("mail.example.com", "xmail.example.com"));
    assert_true(mx_sts_mx_match("*.example.com", "mx1.example.com"));
    assert_false(mx_sts_mx_match("*.example.com", "example.com"));
    assert_false(mx_sts_mx_match("*.example.com", "a.mx1.example.com"));
    assert_false(mx_sts_mx_match("*.example.com", ".example.com"));
    assert_false(mx_sts_mx_match("*.example.com", "mx1.badexample.com"));
    assert_false(mx_sts_mx_match("", ""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sts_record),
        cmocka_unit_test(test_tlsrpt_record),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_mx_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
