/* Domain list reading: every line form, every invalid form with its reason and line number,
 * gzip (by magic, not name), standard input, duplicates and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#include <cmocka.h>

#include "mxtls/domain_list.h"
#include "mxtls/error.h"
#include "mxtls/source.h"
#include "testutil.h"

typedef struct {
    unsigned long line;
    long rank;
    const char *domain;
    const char *invalid;
} want_t;

static void expect_items(const char *path, const want_t *want, size_t n, int final_rc) {
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    assert_int_equal(mx_domain_reader_open(&r, path), 0);
    for (size_t i = 0; i < n; i++) {
        int rc = mx_domain_reader_next(r, &it);
        assert_int_equal(rc, 1);
        assert_int_equal(it.line, want[i].line);
        assert_int_equal(it.rank, want[i].rank);
        assert_string_equal(it.domain, want[i].domain);
        if (want[i].invalid)
            assert_non_null(it.invalid), assert_string_equal(it.invalid, want[i].invalid);
        else
            assert_null(it.invalid);
    }
    assert_int_equal(mx_domain_reader_next(r, &it), final_rc);
    mx_domain_reader_free(r);
}

static const char list_text[] = "\xEF\xBB\xBF# a comment\r\n"
                                "1,Example.COM.\r\n"
                                "\n"
                                "  2 , example.org  \n"
                                "example.net\n"
                                "   # indented comment\n"
                                "3,example.com\n"
                                "x,example.edu\n"
                                "4,a,b\n"
                                "localhost\n"
                                "-bad.example\n"
                                "bad-.example\n"
                                "under_score.example\n"
                                "a..b\n"
                                "1.2.3.4\n"
                                "b\xC3\xBC"
                                "cher.example\n"
                                "0,zero.example\n"
                                "xn--bcher-kva.example\n"
                                "\t\n"
                                "last.example";

static const want_t list_want[] = {
    {2, 1, "example.com", NULL},
    {4, 2, "example.org", NULL},
    {5, 0, "example.net", NULL},
    /* line 7 repeats example.com: dropped */
    {8, 0, "x,example.edu", "invalid_rank"},
    {9, 0, "4,a,b", "invalid_fields"},
    {10, 0, "localhost", "invalid_single_label"},
    {11, 0, "-bad.example", "invalid_hyphen"},
    {12, 0, "bad-.example", "invalid_hyphen"},
    {13, 0, "under_score.example", "invalid_char"},
    {14, 0, "a..b", "invalid_label_length"},
    {15, 0, "1.2.3.4", "invalid_numeric_tld"},
    {16, 0, "xn--bcher-kva.example", NULL},
    {17, 0, "0,zero.example", "invalid_rank"},
    /* line 18 is the A-label of line 16: a duplicate */
    {20, 0, "last.example", NULL},
};

static void test_line_forms(void **state) {
    (void)state;
    const char *p = tu_path("list.txt");
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    char hex[65];
    tu_write_file(p, list_text, sizeof(list_text) - 1);
    expect_items(p, list_want, sizeof(list_want) / sizeof(list_want[0]), 0);

    assert_int_equal(mx_domain_reader_open(&r, p), 0);
    while (mx_domain_reader_next(r, &it) == 1)
        ;
    const mx_domain_counts_t *c = mx_domain_reader_counts(r);
    assert_int_equal(c->lines, 20);
    assert_int_equal(c->domains, 5);
    assert_int_equal(c->invalid, 9);
    assert_int_equal(c->duplicates, 2);
    assert_int_equal(mx_domain_reader_sha256(r, hex), sizeof(list_text) - 1);
    char want_hex[65];
    assert_int_equal(mx_sha256_file(p, want_hex), 0);
    assert_string_equal(hex, want_hex);
    mx_domain_reader_free(r);
}

static void test_gzip_by_magic(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = tu_gzip(list_text, sizeof(list_text) - 1, &n);
    const char *p = tu_path("list-no-gz-suffix.txt");
    tu_write_file(p, gz, n);
    expect_items(p, list_want, sizeof(list_want) / sizeof(list_want[0]), 0);
    /* Cut in the middle: the items before the cut, then MX_E_TRUNCATED. */
    const char *cut = tu_path("cut.gz");
    tu_write_file(cut, gz, n - 8);
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    int rc, items = 0;
    assert_int_equal(mx_domain_reader_open(&r, cut), 0);
    while ((rc = mx_domain_reader_next(r, &it)) == 1)
        items++;
    /* Every whole line, and not the last one: the cut may have torn it ("last.ex"). */
    assert_int_equal(rc, MX_E_TRUNCATED);
    assert_int_equal(items, 13);
    mx_domain_reader_free(r);
    /* The whole-file check finds the cut, a flipped byte and a directory before any use. */
    char hex[65];
    assert_int_equal(mx_source_check_file(cut, hex, NULL), MX_E_TRUNCATED);
    gz[n / 2] ^= 0x20;
    const char *flip = tu_path("flip.gz");
    tu_write_file(flip, gz, n);
    assert_int_equal(mx_source_check_file(flip, hex, NULL), MX_E_CORRUPT);
    assert_int_equal(mx_source_check_file(tu_path(""), hex, NULL), -EISDIR);
    unsigned long long lines = 0;
    assert_int_equal(mx_source_check_file(p, hex, &lines), 0);
    assert_int_equal(lines, 20); /* as the reader counts them (test_counts) */
    free(gz);
}

/* A line the source's error cuts is dropped, not handed out as a name. */
static ssize_t torn(void *ud, void *buf, size_t cap) {
    int *calls = ud;
    const char text[] = "a.example\nb.exa";
    if ((*calls)++)
        return -EIO;
    assert_true(cap >= sizeof(text) - 1);
    memcpy(buf, text, sizeof(text) - 1);
    return (ssize_t)(sizeof(text) - 1);
}

static void test_torn_line(void **state) {
    (void)state;
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    int calls = 0;
    mx_source_t *src;
    assert_int_equal(mx_source_open_fn(&src, torn, &calls), 0);
    assert_int_equal(mx_domain_reader_open_source(&r, src), 0);
    assert_int_equal(mx_domain_reader_next(r, &it), 1);
    assert_string_equal(it.domain, "a.example");
    assert_int_equal(mx_domain_reader_next(r, &it), -EIO);
    mx_domain_reader_free(r);
}

/* A NUL inside a line neither ends its text nor hides the rest of a name. */
static void test_nul_in_line(void **state) {
    (void)state;
    static const char text[] = "ok.example\nb.com\0junk\n";
    const char *p = tu_path("nul.txt");
    tu_write_file(p, text, sizeof(text) - 1);
    static const want_t want[] = {{1, 0, "ok.example", NULL}, {2, 0, "b.com?junk", "invalid_char"}};
    expect_items(p, want, 2, 0);
}

/* --resume: names and invalid lines already done are counted, not handed out again. */
static void test_resumed(void **state) {
    (void)state;
    const char *p = tu_path("list.txt");
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    int handed = 0;
    tu_write_file(p, list_text, sizeof(list_text) - 1);
    assert_int_equal(mx_domain_reader_open(&r, p), 0);
    assert_int_equal(mx_domain_reader_mark_done(r, "example.com"), 0);
    assert_int_equal(mx_domain_reader_mark_done_line(r, 9), 0);
    while (mx_domain_reader_next(r, &it) == 1) {
        assert_string_not_equal(it.domain, "example.com");
        assert_int_not_equal(it.line, 9);
        handed++;
    }
    const mx_domain_counts_t *c = mx_domain_reader_counts(r);
    assert_int_equal(handed, 12);
    assert_int_equal(c->domains, 5);
    assert_int_equal(c->invalid, 9);
    assert_int_equal(c->duplicates, 2);
    assert_int_equal(c->resumed, 2);
    mx_domain_reader_free(r);
}

static void test_stdin(void **state) {
    (void)state;
    const char *p = tu_path("stdin.txt");
    tu_write_file(p, list_text, sizeof(list_text) - 1);
    int saved = dup(0);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    dup2(fd, 0);
    close(fd);
    expect_items("-", list_want, sizeof(list_want) / sizeof(list_want[0]), 0);
    dup2(saved, 0);
    close(saved);
}

static void test_long_line(void **state) {
    (void)state;
    size_t n = MX_LINE_MAX * 3;
    char *text = malloc(n + 64);
    memset(text, 'a', n);
    memcpy(text + n, "\nok.example\n", 12);
    const char *p = tu_path("long.txt");
    tu_write_file(p, text, n + 12);
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    assert_int_equal(mx_domain_reader_open(&r, p), 0);
    assert_int_equal(mx_domain_reader_next(r, &it), 1);
    assert_int_equal(it.line, 1);
    assert_string_equal(it.invalid, "invalid_line_too_long");
    assert_int_equal(strlen(it.domain), MX_LINE_MAX);
    assert_int_equal(mx_domain_reader_next(r, &it), 1);
    assert_int_equal(it.line, 2);
    assert_string_equal(it.domain, "ok.example");
    assert_int_equal(mx_domain_reader_next(r, &it), 0);
    mx_domain_reader_free(r);
    free(text);
}

static void test_normalize(void **state) {
    (void)state;
    char out[MX_DOMAIN_MAX + 1];
    char label63[64], label64[65], longname[300];
    memset(label63, 'a', 63), label63[63] = 0;
    memset(label64, 'a', 64), label64[64] = 0;
    static const struct {
        const char *in, *out, *reason;
    } cases[] = {
        {"EXAMPLE.Com", "example.com", NULL},
        {"example.com.", "example.com", NULL},
        {"example.com..", NULL, "invalid_label_length"},
        {".", NULL, "invalid_empty"},
        {"", NULL, "invalid_empty"},
        {"a.b", "a.b", NULL},
        {"3com.example", "3com.example", NULL},
        {"mail.example.123", NULL, "invalid_numeric_tld"},
        {"ex ample.com", NULL, "invalid_char"},
        {"ex*ample.com", NULL, "invalid_char"},
        {"M\xC3\x9CNCHEN.example", "xn--mnchen-3ya.example", NULL},
        {"\xE2\x98\x83.example", NULL, "invalid_idn_disallowed"},
        {"\xFF\xFE.example", NULL, "invalid_idn_encoding_error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *reason = mx_domain_normalize(cases[i].in, strlen(cases[i].in), out);
        if (cases[i].reason) {
            assert_non_null(reason);
            assert_string_equal(reason, cases[i].reason);
        } else {
            assert_null(reason);
            assert_string_equal(out, cases[i].out);
        }
    }
    snprintf(longname, sizeof(longname), "%s.example", label63);
    assert_null(mx_domain_normalize(longname, strlen(longname), out));
    snprintf(longname, sizeof(longname), "%s.example", label64);
    assert_string_equal(mx_domain_normalize(longname, strlen(longname), out),
                        "invalid_label_length");
    snprintf(longname, sizeof(longname), "%s.%s.%s.%s.com", label63, label63, label63, label63);
    assert_string_equal(mx_domain_normalize(longname, strlen(longname), out), "invalid_too_long");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),     cmocka_unit_test(test_line_forms),
        cmocka_unit_test(test_gzip_by_magic), cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_long_line),     cmocka_unit_test(test_torn_line),
        cmocka_unit_test(test_resumed),       cmocka_unit_test(test_nul_in_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
