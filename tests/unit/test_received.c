/* The Received header parser: each MTA's format (a fact about its output, from the fixtures in
 * tests/data/received), and every malformed form, as a pure function over bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/received.h"

static mx_hop_t parse(const char *s) {
    mx_hop_t h;
    mx_received_parse(s, strlen(s), &h);
    return h;
}

#define HOP(s, from_, by_, proto, enc, ver, ciph, mta_)                                            \
    do {                                                                                           \
        mx_hop_t h = parse(s);                                                                     \
        assert_string_equal(h.from, from_);                                                        \
        assert_string_equal(h.by, by_);                                                            \
        assert_string_equal(h.protocol, proto);                                                    \
        assert_string_equal(h.encrypted, enc);                                                     \
        assert_string_equal(h.version, ver);                                                       \
        assert_string_equal(h.cipher, ciph);                                                       \
        assert_string_equal(h.mta, mta_);                                                          \
    } while (0)

static void test_formats(void **state) {
    (void)state;
    HOP("from a.example (a.example [192.0.2.1]) (using TLSv1.3 with cipher "
        "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS "
        "(2048 bits) server-digest SHA256) by mx.example (Postfix) with ESMTPS id 1; Mon, 1 Jan "
        "2024",
        "a.example", "mx.example", "ESMTPS", "yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "Postfix");
    HOP("from a.example (using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)) by "
        "mx.example (Postfix) with ESMTPSA id 2",
        "a.example", "mx.example", "ESMTPSA", "yes", "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "Postfix");
    HOP("from [198.51.100.7] (helo=old) by mail.example with esmtps (TLSv1:RC4-SHA:128) (Exim "
        "4.69) id 1",
        "[198.51.100.7]", "mail.example", "ESMTPS", "yes", "TLSv1.0", "TLS_RSA_WITH_RC4_128_SHA",
        "Exim");
    HOP("from h by m with esmtps (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256) (Exim 4.92) id 2", "h",
        "m", "ESMTPS", "yes", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "Exim");
    /* GnuTLS builds name a TLS 1.2-style suite next to TLS1.3: both kept as written */
    HOP("from h by m with esmtps (TLS1.3) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim 4.96) "
        "id 3",
        "h", "m", "ESMTPS", "yes", "TLSv1.3", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "Exim");
    HOP("from a.outlook.com (2a01::1) by b.outlook.com (2603::1) with Microsoft SMTP Server "
        "(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.1; Mon",
        "a.outlook.com", "b.outlook.com", "MICROSOFT SMTP SERVER", "yes", "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "Microsoft Exchange");
    HOP("from s.example (s.example. [203.0.113.5]) by mx.google.com with ESMTPS id b2 for "
        "<x@gmail.com> (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256); Mon",
        "s.example", "mx.google.com", "ESMTPS", "yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384",
        "Gmail");
    HOP("from c.example (c.example [192.0.2.20]) by mail.example.edu (8.15.2/8.15.2) with ESMTPS "
        "id 41 (version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 verify=NOT) for <d>",
        "c.example", "mail.example.edu", "ESMTPS", "yes", "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "Sendmail");
    HOP("from mx.example by smtpd.example (OpenSMTPD) with ESMTPS id 1a "
        "(TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO) for <e>",
        "mx.example", "smtpd.example", "ESMTPS", "yes", "TLSv1.3", "TLS_AES_256_GCM_SHA384",
        "OpenSMTPD");
}

static void test_without_details(void **state) {
    (void)state;
    /* ESMTPS without a protocol: encrypted, version unknown */
    HOP("from a by b with ESMTPS id 1", "a", "b", "ESMTPS", "yes", "", "", "");
    /* plain SMTP keywords without TLS data: not encrypted */
    HOP("from a by b with ESMTP id 1", "a", "b", "ESMTP", "no", "", "", "");
    HOP("from a by b with SMTP", "a", "b", "SMTP", "no", "", "", "");
    HOP("from a by b with ESMTPA", "a", "b", "ESMTPA", "no", "", "", "");
    /* not SMTP: unknown, never a guess */
    HOP("from a by b with HTTP", "a", "b", "HTTP", "unknown", "", "", "");
    HOP("by b with local id 1", "", "b", "LOCAL", "unknown", "", "", "");
    HOP("(qmail 1234 invoked by uid 0); 1 Jan 2024", "", "", "", "unknown", "", "", "qmail");
    mx_hop_t h = parse("from a by b with LMTP");
    assert_string_equal(h.encrypted, "no");
    assert_int_equal(h.smtp, 0); /* local delivery, not a hop between MTAs */
}

static void test_malformed(void **state) {
    (void)state;
    /* nested comments, an unclosed one, an escaped parenthesis */
    HOP("from a (b (c (d) e) f) by g with ESMTP (x \\) y) id 1", "a", "g", "ESMTP", "no", "", "",
        "");
    HOP("from a by g with ESMTPS (TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256:128", "a", "g", "ESMTPS",
        "yes", "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "");
    HOP("", "", "", "", "unknown", "", "", "");
    HOP("from", "", "", "", "unknown", "", "", "");
    HOP("with", "", "", "", "unknown", "", "", "");
    /* a version that is not one, a cipher that names no suite: kept as written */
    HOP("from a by b with ESMTPS (version=TLS9_9 cipher=FOO)", "a", "b", "ESMTPS", "yes", "", "FOO",
        "");
    /* 8-bit and control bytes do not pass into the fields */
    HOP("from \xff\x01x by b\x7f with ESMTP", "\xff?x", "b?", "ESMTP", "no", "", "", "");
    /* absurdly long: every field capped */
    size_t n = 200000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memcpy(big, "from ", 5);
    memset(big + 5, 'a', n - 5);
    big[n] = 0;
    mx_hop_t h = parse(big);
    assert_int_equal(strlen(h.from), sizeof(h.from) - 1);
    assert_string_equal(h.encrypted, "unknown");
    memset(big, '(', n); /* 200,000 nested comments */
    h = parse(big);
    assert_string_equal(h.encrypted, "unknown");
    free(big);
}

static void test_versions(void **state) {
    char out[16];
    (void)state;
    static const char *const pairs[][2] = {{"TLSv1.3", "TLSv1.3"}, {"TLS1_3", "TLSv1.3"},
                                           {"TLS1.2", "TLSv1.2"},  {"TLSv1", "TLSv1.0"},
                                           {"TLS1_0", "TLSv1.0"},  {"TLSv1.1", "TLSv1.1"},
                                           {"SSLv3", "SSLv3"},     {"TLS", ""},
                                           {"TLSv2", ""},          {"XYZ", ""}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        mx_tls_version_normalize(pairs[i][0], strlen(pairs[i][0]), out, sizeof(out));
        assert_string_equal(out, pairs[i][1]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_without_details),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
