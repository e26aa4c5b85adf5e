/* Round trip of hostile records through the gzip CSV writer and the reader: every field must
 * come back exactly as the schema says it is written (sanitised, prefixed, capped). The
 * expected form is computed here by an independent model of those rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/error.h"
#include "mxtls/reader.h"
#include "mxtls/writer.h"
#include "testutil.h"

#define NREC 10000

/* The model: returns the number of bytes of a valid UTF-8 character at S (1..4) or 0. */
static size_t model_char(const unsigned char *s, size_t left) {
    static const struct {
        unsigned char lead_lo, lead_hi, second_lo, second_hi;
        size_t len;
    } forms[] = {
        /* RFC 3629 table 4 (well-formed byte sequences), minus ASCII. */
        {0xC2, 0xDF, 0x80, 0xBF, 2}, {0xE0, 0xE0, 0xA0, 0xBF, 3}, {0xE1, 0xEC, 0x80, 0xBF, 3},
        {0xED, 0xED, 0x80, 0x9F, 3}, {0xEE, 0xEF, 0x80, 0xBF, 3}, {0xF0, 0xF0, 0x90, 0xBF, 4},
        {0xF1, 0xF3, 0x80, 0xBF, 4}, {0xF4, 0xF4, 0x80, 0x8F, 4},
    };
    if (s[0] >= 0x20 && s[0] < 0x7F)
        return 1;
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        if (s[0] < forms[f].lead_lo || s[0] > forms[f].lead_hi)
            continue;
        if (left < forms[f].len || s[1] < forms[f].second_lo || s[1] > forms[f].second_hi)
            return 0;
        for (size_t k = 2; k < forms[f].len; k++)
            if (s[k] < 0x80 || s[k] > 0xBF)
                return 0;
        return forms[f].len;
    }
    return 0;
}

static void model(mx_column_t col, const char *in, char *out) {
    const unsigned char *s = (const unsigned char *)in;
    size_t len = strlen(in), cap = mx_column_cap(col), o = 0;
    unsigned items = mx_column_items(col), pipes = 0;
    if (strchr("=+-@", s[0]) && s[0])
        out[o++] = '\'';
    for (size_t i = 0; i < len;) {
        size_t n = model_char(s + i, len - i), skip = 1;
        if (n == 2 && s[i] == 0xC2 && s[i + 1] <= 0x9F) /* C1 controls: one '?' */
            n = 0, skip = 2;
        if (s[i] == '|' && items && ++pipes >= items)
            break;
        if (o + (n ? n : 1) > cap)
            break;
        if (n)
            memcpy(out + o, s + i, n), o += n, i += n;
        else
            out[o++] = '?', i += skip;
    }
    out[o] = 0;
}

static const char *const pieces[] = {
    ",",
    "\"",
    "\r",
    "\n",
    "\r\n",
    "|",
    "=",
    "+",
    "-",
    "@",
    "'",
    " ",
    "\t",
    "\"\"",
    "\xC3\xA9",
    "\xC2\x85",
    "\xC2\x9F",
    "\xC2\x80",
    "\xC2\xA0",
    "\xE2\x82\xAC",
    "\xF0\x9F\x98\x80",
    "\xC3",
    "\xE2\x82",
    "\xF0\x9F\x98",
    "\xC0\x80",
    "\xED\xA0\x80",
    "\xF4\x90\x80\x80",
    "\xFF",
    "\x7F",
    "\x01",
    "abc",
    "x.example",
};

static char *random_field(uint64_t *rng) {
    uint64_t kind = tu_rand(rng) % 10;
    size_t target = kind < 3 ? 0 : kind < 8 ? tu_rand(rng) % 64 : tu_rand(rng) % 1500;
    char *s = malloc(target + 8);
    size_t n = 0;
    while (n < target) {
        if (tu_rand(rng) % 2) {
            unsigned char b = (unsigned char)(1 + tu_rand(rng) % 255);
            s[n++] = (char)b;
        } else {
            const char *p = pieces[tu_rand(rng) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t l = strlen(p);
            if (n + l > target + 4)
                break;
            memcpy(s + n, p, l);
            n += l;
        }
    }
    s[n] = 0;
    return s;
}

static void test_round_trip(void **state) {
    (void)state;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    char *(*fields)[MX_COL__COUNT] = calloc(NREC, sizeof(*fields));
    const char *path = tu_path("roundtrip.csv.gz");
    mx_writer_t *w;
    assert_int_equal(mx_writer_open(&w, path), 0);
    for (int i = 0; i < NREC; i++) {
        mx_record_t rec;
        for (int c = 0; c < MX_COL__COUNT; c++)
            rec.f[c] = fields[i][c] = random_field(&rng);
        assert_int_equal(mx_writer_row(w, &rec), 0);
        assert_int_equal(mx_writer_group_end(w, (uint64_t)i), 0);
    }
    assert_int_equal(mx_writer_rows(w), NREC);
    assert_int_equal(mx_writer_close(w), 0);

    mx_reader_t *r;
    mx_record_t got;
    char want[2 * MX_FIELD_MAX];
    assert_int_equal(mx_reader_open(&r, &path, 1, ~0ull >> (64 - MX_COL__COUNT)), 0);
    for (int i = 0; i < NREC; i++) {
        assert_int_equal(mx_reader_next(r, &got), 1);
        for (int c = 0; c < MX_COL__COUNT; c++) {
            model((mx_column_t)c, fields[i][c], want);
            if (strcmp(want, mx_record_get(&got, (mx_column_t)c)) != 0)
                fail_msg("row %d column %s: want \"%s\" got \"%s\"", i,
                         mx_column_name((mx_column_t)c), want, mx_record_get(&got, c));
            free(fields[i][c]);
        }
    }
    assert_int_equal(mx_reader_next(r, &got), 0);
    mx_reader_free(r);
    free(fields);
}

/* --csv-dialect plain: the same rows without the formula guard, everything else sanitised. */
static void test_plain_dialect(void **state) {
    (void)state;
    const char *path = tu_path("plain.csv.gz");
    static const char *const banners[] = {"=1+1",
                                          "+x",
                                          "-y",
                                          "@z",
                                          "'=kept",
                                          "a\x01"
                                          "b"};
    static const char *const want[] = {"=1+1", "+x", "-y", "@z", "'=kept", "a?b"};
    for (int plain = 0; plain < 2; plain++) {
        mx_writer_t *w;
        mx_record_t rec = {{0}};
        assert_int_equal(mx_writer_open(&w, path), 0);
        if (plain)
            mx_writer_set_plain(w);
        for (size_t i = 0; i < sizeof(banners) / sizeof(banners[0]); i++) {
            rec.f[MX_COL_BANNER] = banners[i];
            assert_int_equal(mx_writer_row(w, &rec), 0);
            assert_int_equal(mx_writer_group_end(w, 0), 0);
        }
        assert_int_equal(mx_writer_close(w), 0);
        mx_reader_t *r;
        mx_record_t got;
        assert_int_equal(mx_reader_open(&r, &path, 1, 1ull << MX_COL_BANNER), 0);
        for (size_t i = 0; i < sizeof(banners) / sizeof(banners[0]); i++) {
            char guarded[64];
            snprintf(guarded, sizeof(guarded), "%s%s", i < 4 ? "'" : "", want[i]);
            assert_int_equal(mx_reader_next(r, &got), 1);
            assert_string_equal(mx_record_get(&got, MX_COL_BANNER), plain ? want[i] : guarded);
        }
        mx_reader_free(r);
    }
}

static void test_write_error(void **state) {
    (void)state;
    mx_writer_t *w;
    assert_int_equal(mx_writer_open(&w, "/nonexistent-dir/x.csv.gz"), -ENOENT);
    /* /dev/full accepts the open and fails every write with ENOSPC, like a full disk. */
    assert_int_equal(mx_writer_open(&w, "/dev/full"), -ENOSPC);
}

/* A file that stops growing mid-scan (here RLIMIT_FSIZE, as a full disk would): the writer
 * reports the file name and the reason, and never drops rows silently. */
static void test_error_mid_stream(void **state) {
    (void)state;
    const char *path = tu_path("limited.csv.gz");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {8192, 8192};
        mx_writer_t *w;
        mx_record_t rec = {{0}};
        char field[16];
        uint64_t rng = 7;
        int rc = 0, i;
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        if (mx_writer_open(&w, path))
            _exit(10);
        rec.f[MX_COL_BANNER] = field;
        for (i = 0; i < 100000 && !rc; i++) {
            snprintf(field, sizeof(field), "%llx", (unsigned long long)tu_rand(&rng));
            rc = mx_writer_row(w, &rec);
            if (!rc)
                rc = mx_writer_group_end(w, (uint64_t)i * 1000);
        }
        if (rc != -EFBIG || !mx_writer_error(w) || !strstr(mx_writer_error(w), path) ||
            !strstr(mx_writer_error(w), "too large"))
            _exit(11);
        _exit(mx_writer_close(w) == -EFBIG ? 0 : 12);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_plain_dialect),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_error_mid_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
