/* Reading scan files back: binding by header name, RFC 4180 forms, several files and gzip
 * members as one stream, damage (truncation at every offset, a writer killed with SIGKILL,
 * corrupt bytes), and salvaging complete domain groups for --resume. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mxtls/error.h"
#include "mxtls/reader.h"
#include "mxtls/salvage.h"
#include "mxtls/writer.h"
#include "testutil.h"

static const uint64_t REQ_DOMAIN = 1ull << MX_COL_DOMAIN;

/* Row I of a deterministic scan-like sequence; groups of 1-4 rows share a domain. */
static void make_row(uint64_t i, mx_record_t *rec, char bufs[6][96]) {
    uint64_t g = i / 3; /* domain group: rows 3g..3g+2, except every 5th group has one row */
    memset(rec, 0, sizeof(*rec));
    snprintf(bufs[0], 96, "d%llu.example", (unsigned long long)(g % 5 == 0 ? i : g * 100000));
    snprintf(bufs[1], 96, "%llu", (unsigned long long)i);
    snprintf(bufs[2], 96, "mx%llu.host, \"quoted\"", (unsigned long long)(i % 97));
    snprintf(bufs[3], 96, "220 mail%llu ESMTP\xC3\xA9", (unsigned long long)(i * 7919 % 10007));
    uint64_t h = i * 0x9E3779B97F4A7C15ull;
    snprintf(bufs[4], 96, "%016llx%016llx%016llx", (unsigned long long)h,
             (unsigned long long)(h * 31 + 7), (unsigned long long)(h ^ (h >> 17)));
    snprintf(bufs[5], 96, "127.%llu.%llu.1", (unsigned long long)(i % 200),
             (unsigned long long)(i % 13));
    rec->f[MX_COL_DOMAIN] = bufs[0];
    rec->f[MX_COL_INPUT_LINE] = bufs[1];
    rec->f[MX_COL_MX_HOST] = bufs[2];
    rec->f[MX_COL_BANNER] = bufs[3];
    rec->f[MX_COL_CERT_SHA256] = bufs[4];
    rec->f[MX_COL_IP] = bufs[5];
    rec->f[MX_COL_DNS_STATUS] = "mx";
    rec->f[MX_COL_CONN] = "ok";
}

static void check_row(uint64_t i, const mx_record_t *got) {
    mx_record_t want;
    char bufs[6][96];
    make_row(i, &want, bufs);
    for (int c = 0; c < MX_COL__COUNT; c++)
        if (strcmp(mx_record_get(&want, c), mx_record_get(got, c)) != 0)
            fail_msg("row %llu column %s: want \"%s\" got \"%s\"", (unsigned long long)i,
                     mx_column_name(c), mx_record_get(&want, c), mx_record_get(got, c));
}

/* Writes N rows, a group end after each domain, to PATH. */
static void write_rows(const char *path, uint64_t n) {
    mx_writer_t *w;
    mx_record_t rec, next;
    char bufs[6][96], nbufs[6][96];
    assert_int_equal(mx_writer_open(&w, path), 0);
    for (uint64_t i = 0; i < n; i++) {
        make_row(i, &rec, bufs);
        assert_int_equal(mx_writer_row(w, &rec), 0);
        make_row(i + 1, &next, nbufs);
        if (i + 1 == n || strcmp(bufs[0], nbufs[0]) != 0)
            assert_int_equal(mx_writer_group_end(w, i * 10), 0);
    }
    assert_int_equal(mx_writer_close(w), 0);
}

/* Reads all rows of PATHS; checks each is row 0, 1, 2 ... in order; returns the count and the
 * final return code in *rc. */
static uint64_t read_prefix(const char *const *paths, int n, int *rc) {
    mx_reader_t *r;
    mx_record_t rec;
    uint64_t rows = 0;
    assert_int_equal(mx_reader_open(&r, paths, n, REQ_DOMAIN), 0);
    while ((*rc = mx_reader_next(r, &rec)) == 1)
        check_row(rows++, &rec);
    mx_reader_free(r);
    return rows;
}

static void test_forms(void **state) {
    (void)state;
    static const char text[] = "\xEF\xBB\xBF"
                               "future_col,domain,rank,banner,error\r\n"
                               "x,a.example,1,\"220 hello, \"\"world\"\"\",\r\n"
                               "\r\n"
                               "y,b.example,2,\"multi\nline\",timeout\n"
                               "z,c.example,3,plain\n"
                               "w,d.example,,\"\",";
    const char *p = tu_path("forms.csv");
    tu_write_file(p, text, sizeof(text) - 1);
    mx_reader_t *r;
    mx_record_t rec;
    assert_int_equal(mx_reader_open(&r, &p, 1, REQ_DOMAIN | (1ull << MX_COL_RANK)), 0);
    assert_int_equal(mx_reader_next(r, &rec), 1);
    assert_string_equal(mx_record_get(&rec, MX_COL_DOMAIN), "a.example");
    assert_string_equal(mx_record_get(&rec, MX_COL_RANK), "1");
    assert_string_equal(mx_record_get(&rec, MX_COL_BANNER), "220 hello, \"world\"");
    assert_string_equal(mx_record_get(&rec, MX_COL_ERROR), "");
    assert_string_equal(mx_record_get(&rec, MX_COL_TLS), ""); /* not in this file */
    assert_int_equal(mx_reader_next(r, &rec), 1);
    assert_string_equal(mx_record_get(&rec, MX_COL_BANNER), "multi\nline");
    assert_string_equal(mx_record_get(&rec, MX_COL_ERROR), "timeout");
    assert_int_equal(mx_reader_next(r, &rec), 1);
    assert_string_equal(mx_record_get(&rec, MX_COL_BANNER), "plain");
    assert_int_equal(mx_reader_next(r, &rec), 1);
    assert_string_equal(mx_record_get(&rec, MX_COL_DOMAIN), "d.example");
    assert_int_equal(mx_reader_row_number(r), 4);
    assert_int_equal(mx_reader_next(r, &rec), 0);
    mx_reader_free(r);
}

static void test_bad_files(void **state) {
    (void)state;
    mx_reader_t *r;
    mx_record_t rec;
    const char *p = tu_path("nocol.csv");
    tu_write_file(p, "rank,banner\n1,x\n", 16);
    assert_int_equal(mx_reader_open(&r, &p, 1, REQ_DOMAIN), 0);
    assert_int_equal(mx_reader_next(r, &rec), MX_E_NO_COLUMN);
    assert_non_null(strstr(mx_reader_error(r), "domain"));
    assert_non_null(strstr(mx_reader_error(r), p));
    mx_reader_free(r);

    const char *empty = tu_path("empty.csv");
    tu_write_file(empty, "", 0);
    assert_int_equal(mx_reader_open(&r, &empty, 1, 0), 0);
    assert_int_equal(mx_reader_next(r, &rec), MX_E_BAD_HEADER);
    mx_reader_free(r);

    const char *bin = tu_path("binary.bin");
    unsigned char junk[5000];
    uint64_t rng = 99;
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)tu_rand(&rng);
    junk[0] = 'q'; /* not the gzip magic */
    tu_write_file(bin, junk, sizeof(junk));
    assert_int_equal(mx_reader_open(&r, &bin, 1, 0), 0);
    assert_true(mx_reader_next(r, &rec) < 0);
    mx_reader_free(r);

    const char *missing = tu_path("does-not-exist.csv.gz");
    assert_int_equal(mx_reader_open(&r, &missing, 1, 0), 0);
    assert_int_equal(mx_reader_next(r, &rec), -2);
    assert_non_null(strstr(mx_reader_error(r), "does-not-exist"));
    mx_reader_free(r);
}

static void test_corrupt(void **state) {
    (void)state;
    const char *p = tu_path("good.csv.gz");
    write_rows(p, 3000);
    size_t n;
    unsigned char *data = tu_read_file(p, &n);
    uint64_t rng = 5;
    int detected = 0;
    for (int trial = 0; trial < 200; trial++) {
        unsigned char *copy = malloc(n);
        memcpy(copy, data, n);
        for (int k = 0; k < 4; k++)
            copy[10 + tu_rand(&rng) % (n - 10)] ^= (unsigned char)(1 + tu_rand(&rng) % 255);
        const char *q = tu_path("corrupt.csv.gz");
        tu_write_file(q, copy, n);
        mx_reader_t *r;
        mx_record_t rec;
        int rc;
        uint64_t rows = 0;
        assert_int_equal(mx_reader_open(&r, &q, 1, 0), 0);
        while ((rc = mx_reader_next(r, &rec)) == 1)
            rows++;
        /* Damage may change rows (inflate only knows at the member's CRC), but never yields
         * more than the compressed bytes can expand to, and is nearly always reported: only a
         * flip in ignored padding bits can pass unseen. */
        assert_true(rows <= n * 1032 / 40);
        detected += rc < 0;
        mx_reader_free(r);
        free(copy);
    }
    if (detected < 190)
        fail_msg("only %d of 200 damaged files were reported", detected);
    free(data);
}

static void test_shards_and_members(void **state) {
    (void)state;
    const char *a = tu_path("a.csv.gz"), *b = tu_path("b.csv.gz"), *ab = tu_path("ab.csv.gz");
    mx_writer_t *w;
    mx_record_t rec;
    char bufs[6][96];
    /* Shard a: rows 0..999, shard b: rows 1000..1999 (with its own header). */
    for (int s = 0; s < 2; s++) {
        assert_int_equal(mx_writer_open(&w, s ? b : a), 0);
        for (uint64_t i = (uint64_t)s * 1000; i < (uint64_t)(s + 1) * 1000; i++) {
            make_row(i, &rec, bufs);
            assert_int_equal(mx_writer_row(w, &rec), 0);
            assert_int_equal(mx_writer_group_end(w, 0), 0);
        }
        assert_int_equal(mx_writer_close(w), 0);
    }
    const char *both[] = {a, b};
    int rc;
    assert_int_equal(read_prefix(both, 2, &rc), 2000);
    assert_int_equal(rc, 0);
    /* cat a b > ab: two gzip members, the second header inside the stream. */
    size_t na, nb;
    unsigned char *da = tu_read_file(a, &na), *db = tu_read_file(b, &nb);
    unsigned char *cat = malloc(na + nb);
    memcpy(cat, da, na);
    memcpy(cat + na, db, nb);
    tu_write_file(ab, cat, na + nb);
    assert_int_equal(read_prefix(&ab, 1, &rc), 2000);
    assert_int_equal(rc, 0);
    /* A shard cut short in the middle of a snapshot: its rows, the report, then the next. */
    const char *cut = tu_path("cut.csv.gz");
    tu_write_file(cut, da, na / 2);
    const char *mixed[] = {cut, b};
    mx_reader_t *r;
    uint64_t rows = 0;
    assert_int_equal(mx_reader_open(&r, mixed, 2, REQ_DOMAIN), 0);
    while ((rc = mx_reader_next(r, &rec)) == 1)
        check_row(rows++, &rec);
    assert_int_equal(rc, MX_E_TRUNCATED);
    assert_non_null(strstr(mx_reader_error(r), "cut.csv.gz"));
    assert_true(rows > 100 && rows < 1000);
    uint64_t more = 0;
    while ((rc = mx_reader_next(r, &rec)) == 1)
        check_row(1000 + more++, &rec);
    assert_int_equal(rc, 0);
    assert_int_equal(more, 1000);
    mx_reader_free(r);
    free(da), free(db), free(cat);
}

/* Delivery that forks at each offset to check: the child sees the end of the file there, which
 * is exactly reading a file cut at that offset, and the parent goes on. A fork per offset is
 * the cost, so every offset is checked where the stream's structure is (the gzip header, the
 * first deflate block and the first flush point, the trailer) and every 61st in between, a
 * prime stride that falls on every position within a block over the file: the same cases at
 * a twentieth of the forks (a loaded machine took half an hour for every offset). */
typedef struct {
    unsigned char *data;
    size_t n, pos;
    int child;
    int report; /* pipe to the parent: rows the child read */
    uint64_t cuts_checked;
    uint64_t prev_rows;
    char failure[256];
} drip_t;

#define DENSE_HEAD (10 * 1024)
#define DENSE_TAIL 1024
#define STRIDE 61

/* MXTLS_CUT_SPARSE (scripts/test.sh sets it for the sanitizer build, where each fork copies
 * the sanitizer's shadow memory and costs a hundred times more): the header and every 997th
 * offset only. */
static int checked(const drip_t *d, size_t pos) {
    static int sparse = -1;
    if (sparse < 0)
        sparse = getenv("MXTLS_CUT_SPARSE") != NULL;
    if (sparse)
        return pos < 64 || pos + 64 >= d->n || pos % 997 == 0;
    return pos < DENSE_HEAD || pos + DENSE_TAIL >= d->n || pos % STRIDE == 0;
}

static int row_matches(uint64_t i, const mx_record_t *got) {
    mx_record_t want;
    char bufs[6][96];
    make_row(i, &want, bufs);
    for (int c = 0; c < MX_COL__COUNT; c++)
        if (strcmp(mx_record_get(&want, c), mx_record_get(got, c)) != 0)
            return 0;
    return 1;
}

static ssize_t drip_read(void *ud, void *buf, size_t cap) {
    drip_t *d = ud;
    (void)cap;
    if (d->child || d->pos >= d->n)
        return 0;
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        close(fds[0]);
        d->child = 1;
        d->report = fds[1];
        return 0; /* the file ends here for this process */
    }
    close(fds[1]);
    uint64_t rows = 0;
    int st;
    ssize_t got = read(fds[0], &rows, sizeof(rows));
    waitpid(pid, &st, 0);
    close(fds[0]);
    if (!d->failure[0] && (got != sizeof(rows) || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
        snprintf(d->failure, sizeof(d->failure), "cut at %zu: child status %d", d->pos, st);
    if (!d->failure[0] && rows < d->prev_rows)
        snprintf(d->failure, sizeof(d->failure), "cut at %zu: %llu rows, %llu at the cut before",
                 d->pos, (unsigned long long)rows, (unsigned long long)d->prev_rows);
    d->prev_rows = rows;
    d->cuts_checked++;
    size_t n = 1; /* up to the next offset to check */
    while (d->pos + n < d->n && n < cap && !checked(d, d->pos + n))
        n++;
    memcpy(buf, d->data + d->pos, n);
    d->pos += n;
    return (ssize_t)n;
}

/* A file of about 128 KiB cut at each offset to check reads back as a prefix of its rows: never
 * a wrong row, never a crash or a hang, and the cut is reported. */
static void test_truncation_every_offset(void **state) {
    (void)state;
    const char *p = tu_path("full.csv.gz");
    uint64_t total = 2800;
    write_rows(p, total);
    drip_t d = {0};
    d.data = tu_read_file(p, &d.n);
    if (d.n < 110 * 1024 || d.n > 150 * 1024)
        fail_msg("file is %zu bytes, not about 128 KiB", d.n);
    mx_reader_t *r;
    mx_record_t rec;
    uint64_t rows = 0;
    int rc, ok = 1;
    assert_int_equal(mx_reader_open_fn(&r, drip_read, &d), 0);
    while ((rc = mx_reader_next(r, &rec)) == 1)
        ok &= row_matches(rows++, &rec);
    mx_reader_free(r);
    if (d.child) {
        /* A cut file: right rows, and the cut reported (no gzip header at all is an error). */
        ok &= rc == (d.pos < 10 ? rc : MX_E_TRUNCATED) && rc < 0;
        if (write(d.report, &rows, sizeof(rows)) != sizeof(rows))
            _exit(3);
        _exit(ok ? 0 : 1);
    }
    if (d.failure[0])
        fail_msg("%s", d.failure);
    assert_true(ok);
    assert_int_equal(rc, 0);
    assert_int_equal(rows, total);
    uint64_t want = 0;
    for (size_t pos = 0; pos < d.n; pos++)
        want += checked(&d, pos);
    assert_int_equal(d.cuts_checked, want);
    free(d.data);
}

/* A writer killed with SIGKILL mid-stream: the file reads back as a prefix of what was written,
 * and at least every row the child had flushed before it died. */
static void test_sigkill(void **state) {
    (void)state;
    const char *p = tu_path("killed.csv.gz");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mx_writer_t *w;
        mx_record_t rec;
        char bufs[6][96];
        close(fds[0]);
        if (mx_writer_open(&w, p))
            _exit(1);
        for (uint64_t i = 0;; i++) {
            make_row(i, &rec, bufs);
            mx_writer_row(w, &rec);
            mx_writer_group_end(w, 0);
            if (i % 1000 == 999) {
                uint64_t done = i + 1;
                mx_writer_flush(w);
                if (write(fds[1], &done, sizeof(done)) != sizeof(done))
                    _exit(2);
            }
        }
    }
    close(fds[1]);
    uint64_t flushed = 0, v;
    while (flushed < 20000 && read(fds[0], &v, sizeof(v)) == sizeof(v))
        flushed = v;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        flushed = v; /* flushes reported before the kill landed */
    close(fds[0]);
    int rc;
    uint64_t rows = read_prefix(&p, 1, &rc);
    assert_int_equal(rc, MX_E_TRUNCATED);
    if (rows < flushed)
        fail_msg("killed file reads %llu rows, %llu were flushed", (unsigned long long)rows,
                 (unsigned long long)flushed);
}

static int collect(void *ud, const mx_record_t *row, size_t index) {
    uint64_t *count = ud;
    (void)row;
    *count += index == 0;
    return 0;
}

/* --resume's salvage: cut the file anywhere; the copy holds exactly the complete groups before
 * the last readable one, as one clean gzip stream. */
static void test_salvage(void **state) {
    (void)state;
    const char *p = tu_path("orig.csv.gz");
    uint64_t total = 3000;
    write_rows(p, total);
    size_t n;
    unsigned char *data = tu_read_file(p, &n);
    uint64_t rng = 11;
    for (int trial = 0; trial < 60; trial++) {
        size_t cut = trial == 0 ? n : 20 + tu_rand(&rng) % (n - 20);
        const char *c = tu_path("cut.csv.gz"), *out = tu_path("salvaged.csv.gz");
        tu_write_file(c, data, cut);
        int rc;
        uint64_t readable = read_prefix(&c, 1, &rc);
        /* Groups among the readable rows, and the row where the last of them starts. */
        uint64_t groups = 0, last_start = 0;
        char prev[96] = "";
        for (uint64_t i = 0; i < readable; i++) {
            mx_record_t rec;
            char bufs[6][96];
            make_row(i, &rec, bufs);
            if (strcmp(bufs[0], prev) != 0) {
                groups++;
                last_start = i;
                strcpy(prev, bufs[0]);
            }
        }
        mx_writer_t *w;
        mx_salvage_result_t res;
        uint64_t called = 0;
        char err[256];
        assert_int_equal(mx_writer_open(&w, out), 0);
        assert_int_equal(mx_salvage(c, w, collect, &called, &res, err, sizeof(err)), 0);
        assert_int_equal(mx_writer_close(w), 0);
        assert_int_equal(res.groups, groups ? groups - 1 : 0);
        assert_int_equal(called, res.groups);
        assert_int_equal(res.rows, groups ? last_start : 0);
        assert_int_equal(res.truncated, cut < n);
        uint64_t got = read_prefix(&out, 1, &rc);
        assert_int_equal(rc, 0);
        assert_int_equal(got, res.rows);
    }
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_shards_and_members),
        cmocka_unit_test(test_sigkill),
        cmocka_unit_test(test_salvage),
        cmocka_unit_test(test_truncation_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
