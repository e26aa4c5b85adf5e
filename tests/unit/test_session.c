/* The SMTP session with no socket and no clock: every transcript of tests/data/transcripts
 * (the same ones tests/e2e/net_probe_hostile.py plays over TCP) is played here by a scripted
 * server against mx_session_t, with a virtual clock that runs the timers, and an in-memory
 * mbedTLS server for STARTTLS. Each ends with the columns its transcript expects. */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mxtls/rows.h"
#include "mxtls/session.h"
#include "mxtls/writer.h"
#include "smtp/smtp_int.h"
#include "testutil.h"
#include "tls_pair.h"

static tls_identity_t id;
static mbedtls_ssl_config scfg;
static mx_tls_config_t *tls;

typedef struct {
    mx_session_t *s;
    uint64_t now, due; /* virtual ms; due 0: no timer */
    int closed, redials, have_result, deferred, holds;
    int redial_status; /* what the second connection's dial gives; 0: the server refuses it */
    mx_record_t rec;
    char *fields;               /* copies of the record's strings */
    unsigned char c2s[1 << 16]; /* what the client sent, not yet read by the server */
    size_t c2s_len;
    int tls_on; /* the server speaks TLS */
    mbedtls_ssl_context sv;
    tls_pipe_t to_server, to_client;
    tls_duplex_t sio;
} play_t;

/* ---- the session's side of the harness ---- */

static int io_send(void *io, const void *data, size_t len) {
    play_t *p = io;
    if (p->closed)
        return UV_EPIPE;
    assert_true(p->c2s_len + len <= sizeof(p->c2s));
    memcpy(p->c2s + p->c2s_len, data, len);
    p->c2s_len += len;
    return 0;
}

static void io_arm(void *io, uint64_t ms) {
    play_t *p = io;
    p->due = p->now + ms;
}

static void io_redial(void *io) {
    play_t *p = io;
    p->redials++; /* a second connection: the scripted server refuses it */
    p->due = 0;
}

static void io_close(void *io) {
    play_t *p = io;
    p->closed = 1;
    p->due = 0;
}

static uint64_t io_now(void *io) {
    return ((play_t *)io)->now;
}

static const mx_session_io_t io = {io_send, io_arm, io_redial, io_close, io_now,
                                   NULL,    NULL,   NULL,      NULL,     NULL};

/* A driver with a gate's held queue, and no handshake gate: whether the session is in it. */
static int in_held_queue;

static void io_gate_hold(void *drv) {
    (void)drv;
    assert_false(in_held_queue);
    in_held_queue = 1;
}

static void io_gate_unhold(void *drv) {
    (void)drv;
    in_held_queue = 0;
}

static const mx_session_io_t held_io = {io_send, io_arm, io_redial,    io_close,
                                        io_now,  NULL,   NULL,         NULL,
                                        NULL,    NULL,   io_gate_hold, io_gate_unhold};

/* The row of the result, its strings copied as the writer would write them. */
static void keep_row(void *ud, const mx_record_t *rec_in, mx_row_outcome_t out) {
    play_t *p = ud;
    mx_record_t rec = *rec_in;
    size_t need = 0;
    (void)out;
    for (int c = 0; c < MX_COL__COUNT; c++)
        need += 4 * strlen(mx_record_get(&rec, (mx_column_t)c)) + 1;
    char *q = p->fields = malloc(need);
    for (int c = 0; c < MX_COL__COUNT; c++) { /* as the writer would write them */
        const char *v = mx_record_get(&rec, (mx_column_t)c);
        p->rec.f[c] = q;
        q += mx_field_sanitize((mx_column_t)c, v, strlen(v), q);
        *q++ = 0;
    }
}

static void on_result(void *ud, const mx_probe_result_t *res) {
    play_t *p = ud;
    mx_intern_t *strings = mx_intern_new();
    mx_host_result_t h;
    assert_non_null(strings);
    assert_int_equal(mx_host_result_make(&h, res, strings), 0);
    mx_rows_host("hostile.example", "192.0.2.1", &h, strings, keep_row, p);
    mx_intern_free(strings);
    p->have_result = 1;
    p->deferred = res->deferred;
    p->holds = res->holds;
}

/* ---- time and bytes towards the session ---- */

/* Runs the virtual clock to T, firing the timer on the way. */
static void advance(play_t *p, uint64_t t) {
    while (!p->have_result && p->due && p->due <= t) {
        p->now = p->due;
        p->due = 0;
        mx_session_timeout(p->s);
    }
    if (t > p->now)
        p->now = t;
}

static void deliver_raw(play_t *p, const unsigned char *data, size_t len) {
    while (len && !p->have_result && !p->closed) {
        char *buf;
        size_t room;
        mx_session_reserve(p->s, &buf, &room);
        size_t n = len < room ? len : room;
        if (!n)
            return;
        memcpy(buf, data, n);
        mx_session_received(p->s, (ssize_t)n);
        data += n;
        len -= n;
    }
}

/* The server's TLS records so far, to the client. */
static void flush_tls(play_t *p) {
    tls_pipe_t *q = &p->to_client; /* unread: data[head, len) */
    size_t head = q->head, n = q->len - q->head;
    q->head = q->len = 0;
    deliver_raw(p, q->data + head, n);
}

static void deliver(play_t *p, const unsigned char *data, size_t len) {
    if (!p->tls_on) {
        deliver_raw(p, data, len);
        return;
    }
    assert_int_equal(mbedtls_ssl_write(&p->sv, data, len), (int)len);
    flush_tls(p);
}

/* What the client sent reaches the server's TLS input. */
static void to_server(play_t *p) {
    tls_pipe_t *q = &p->to_server; /* unread: data[head, len) */
    memmove(q->data, q->data + q->head, q->len - q->head);
    q->len -= q->head;
    q->head = 0;
    memcpy(q->data + q->len, p->c2s, p->c2s_len);
    q->len += p->c2s_len;
    p->c2s_len = 0;
}

/* Reads one line the client sent (plaintext); 0 when none is complete. */
static int take_line(play_t *p, char *line, size_t cap) {
    if (p->tls_on) {
        to_server(p);
        int n = mbedtls_ssl_read(&p->sv, (unsigned char *)p->c2s, sizeof(p->c2s) - 1);
        flush_tls(p);
        if (n > 0)
            p->c2s_len = (size_t)n; /* one short command per record */
        else
            return 0;
    }
    unsigned char *nl = memchr(p->c2s, '\n', p->c2s_len);
    if (!nl)
        return 0;
    size_t n = (size_t)(nl - p->c2s) + 1;
    snprintf(line, cap, "%.*s", (int)n, (const char *)p->c2s);
    memmove(p->c2s, p->c2s + n, p->c2s_len - n);
    p->c2s_len -= n;
    return 1;
}

/* ---- the scripted server ---- */

static size_t unescape(const char *text, unsigned char *out) {
    size_t n = 0;
    for (const char *t = text; *t; t++) {
        if (*t != '\\') {
            out[n++] = (unsigned char)*t;
            continue;
        }
        t++;
        if (*t == 'r')
            out[n++] = '\r';
        else if (*t == 'n')
            out[n++] = '\n';
        else if (*t == 'x') {
            unsigned v;
            sscanf(t + 1, "%2x", &v);
            out[n++] = (unsigned char)v;
            t += 2;
        } else
            out[n++] = (unsigned char)*t;
    }
    return n;
}

static void drip(play_t *p, const char *text, uint64_t gap_ms) {
    unsigned char b[4096];
    size_t n = unescape(text, b);
    for (size_t i = 0; i < n && !p->have_result; i++) {
        deliver(p, b + i, 1);
        advance(p, p->now + gap_ms);
    }
}

/* Waits for a command starting with PREFIX; 0 when the session ended first. */
static int wait_for(play_t *p, const char *prefix) {
    char line[1024];
    for (;;) {
        while (take_line(p, line, sizeof(line))) {
            for (char *c = line; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            if (strncmp(line, prefix, strlen(prefix)) == 0)
                return 1;
        }
        if (p->have_result || !p->due)
            return 0;
        advance(p, p->due);
    }
}

static void start_tls(play_t *p) {
    mbedtls_ssl_init(&p->sv);
    assert_int_equal(mbedtls_ssl_setup(&p->sv, &scfg), 0);
    p->sio = (tls_duplex_t){&p->to_client, &p->to_server};
    mbedtls_ssl_set_bio(&p->sv, &p->sio, tls_pair_send, tls_pair_recv, NULL);
    p->tls_on = 1;
    for (int round = 0; round < 100 && !p->have_result; round++) {
        to_server(p);
        int rc = mbedtls_ssl_handshake(&p->sv);
        flush_tls(p);
        if (rc == 0)
            return;
        assert_true(rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
    }
}

/* One action; 0 ends the script (as the TCP player does when the client went away). */
static int act(play_t *p, const char *verb, const char *rest) {
    unsigned char b[4096];
    if (!strcmp(verb, "send"))
        deliver(p, b, unescape(rest, b));
    else if (!strcmp(verb, "drip"))
        drip(p, rest, 5);
    else if (!strcmp(verb, "slowdrip"))
        drip(p, strchr(rest, ' ') + 1, (uint64_t)(atof(rest) * 1000));
    else if (!strcmp(verb, "wait"))
        return wait_for(p, rest);
    else if (!strcmp(verb, "sleep"))
        advance(p, p->now + (uint64_t)(atof(rest) * 1000));
    else if (!strcmp(verb, "repeat")) {
        char v[32];
        int n, off;
        sscanf(rest, "%d %31s %n", &n, v, &off);
        for (int i = 0; i < n; i++)
            act(p, v, rest + off);
    } else if (!strcmp(verb, "close"))
        return 0;
    else if (!strcmp(verb, "starttls"))
        start_tls(p);
    else if (!strcmp(verb, "redial")) /* the second dial fails here, with this errno */
        p->redial_status = !strcmp(rest, "EMFILE") ? UV_EMFILE : UV_EADDRNOTAVAIL;
    else
        assert_string_equal(verb, "pause"); /* TCP only: the ClientHello stays in the socket */
    return !p->have_result;
}

static void play_file(const char *path) {
    static mx_probe_config_t cfg = {.ehlo = "scanner.example",
                                    .timeout_connect_ms = 10000,
                                    .timeout_read_ms = 2000,
                                    .deadline_ms = 10000};
    play_t *p = calloc(1, sizeof(*p));
    char expect[1024] = "", line[8192];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    cfg.tls = tls;
    p->now = 1000;
    p->s = mx_session_new(&cfg, &io, p, "hostile.example", on_result, p);
    mx_session_start(p->s);
    mx_session_connected(p->s, 0);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!line[0] || line[0] == '#')
            continue;
        if (sp)
            *sp++ = 0;
        if (!strcmp(line, "expect"))
            snprintf(expect, sizeof(expect), "%s", sp);
        else if (!act(p, line, sp ? sp : ""))
            break;
    }
    fclose(f);
    if (!p->have_result) /* the server closes when its script ends */
        mx_session_received(p->s, UV_EOF);
    if (!p->have_result && p->redials) /* the scripted server refuses a second connection */
        mx_session_connected(p->s, p->redial_status ? p->redial_status : UV_ECONNREFUSED);
    while (!p->have_result && p->due)
        advance(p, p->due);
    assert_true(p->have_result);
    assert_true(p->closed);
    assert_true(p->now - 1000 <= cfg.deadline_ms); /* never past the deadline */
    for (char *item = strtok(expect, " "); item; item = strtok(NULL, " ")) {
        char *eq = strchr(item, '=');
        *eq = 0;
        if (!strcmp(item, "connections")) { /* not a column: the first and any redials */
            if (1 + p->redials != atoi(eq + 1))
                fail_msg("%s: %d connections, the transcript expects %s", path, 1 + p->redials,
                         eq + 1);
            continue;
        }
        int col = mx_column_find(item, strlen(item));
        assert_true(col >= 0);
        const char *got = mx_record_get(&p->rec, (mx_column_t)col);
        if (strcmp(got, eq + 1) != 0)
            fail_msg("%s: %s is '%s', the transcript expects '%s'", path, item, got, eq + 1);
    }
    printf("%-60s ok\n", strrchr(path, '/') + 1);
    mx_session_free(p->s);
    if (p->tls_on)
        mbedtls_ssl_free(&p->sv);
    free(p->fields);
    free(p);
}

static void test_transcripts(void **state) {
    (void)state;
    const char *data = getenv("MXTLS_TEST_DATA");
    char dir[1024], path[2048];
    snprintf(dir, sizeof(dir), "%s/transcripts", data ? data : "tests/data");
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".txt")) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            play_file(path);
            n++;
        }
    closedir(d);
    assert_true(n >= 14);
}

static int defer_asks, defer_yes; /* questions asked; how many are answered yes */

static int defer_tls(void *ud, uint64_t rtt_ms) {
    play_t *p = ud;
    assert_false(p->have_result);
    assert_int_equal(rtt_ms, 300); /* as the last reply took */
    return defer_asks++ < defer_yes;
}

/* A session asked whether to put off STARTTLS YES times, its server answering every command
 * 300 ms later, up to its EHLO reply. */
static play_t *held_session(mx_probe_config_t *cfg, int yes, const mx_session_io_t *drv) {
    *cfg = (mx_probe_config_t){.ehlo = "scanner.example",
                               .timeout_connect_ms = 10000,
                               .timeout_read_ms = 2000,
                               .deadline_ms = 10000,
                               .tls = tls,
                               .defer_tls = defer_tls};
    defer_asks = 0;
    defer_yes = yes;
    play_t *p = calloc(1, sizeof(*p));
    unsigned char b[256];
    p->now = 1000;
    in_held_queue = 0;
    p->s = mx_session_new(cfg, drv, p, "hostile.example", on_result, p);
    mx_session_start(p->s);
    mx_session_connected(p->s, 0);
    deliver(p, b, unescape("220 mx.example\\r\\n", b));
    assert_true(wait_for(p, "EHLO"));
    advance(p, p->now + 300);
    deliver(p, b, unescape("250-mx.example\\r\\n250 STARTTLS\\r\\n", b));
    return p;
}

/* Each hold: nothing for HOLD_QUIET_MS after the reply before it (no gate releases it), then
 * a NOOP. Returns the next line the session sends. */
static void next_line(play_t *p, char *line, size_t cap) {
    line[0] = 0;
    if (!take_line(p, line, cap) && p->due) {
        assert_int_equal(p->due, p->now + HOLD_QUIET_MS); /* the quiet pause */
        advance(p, p->due);
        assert_true(take_line(p, line, cap));
    }
}

static void held_free(play_t *p) {
    mx_session_free(p->s);
    free(p->fields);
    free(p);
}

/* Asked before STARTTLS whether our backlog is too long: no, and STARTTLS goes out as ever; yes,
 * and the session pauses, then sends NOOP, asking again at each reply, then goes on with
 * STARTTLS, or after HOLD_MAX NOOPs ends in QUIT, marked deferred. The deadline moves by
 * the holds: a probe held for longer than its deadline still completes. */
static void test_defer_holds(void **state) {
    (void)state;
    for (int yes = 0; yes <= HOLD_MAX + 1; yes++) {
        mx_probe_config_t cfg;
        play_t *p = held_session(&cfg, yes, &held_io);
        unsigned char b[256];
        char line[64];
        int noops = 0;
        for (next_line(p, line, sizeof(line)); strcmp(line, "NOOP\r\n") == 0;
             next_line(p, line, sizeof(line))) {
            noops++;
            advance(p, p->now + 300);
            deliver(p, b, unescape("250 ok\\r\\n", b));
        }
        int held = yes < HOLD_MAX ? yes : HOLD_MAX;
        assert_int_equal(noops, held);
        assert_int_equal(defer_asks, yes <= HOLD_MAX ? yes + 1 : HOLD_MAX + 1);
        if (yes > HOLD_MAX) {
            assert_string_equal(line, "QUIT\r\n");
            deliver(p, b, unescape("221 bye\\r\\n", b));
            assert_true(p->have_result && p->deferred && p->closed);
        } else {
            assert_string_equal(line, "STARTTLS\r\n");
            advance(p, p->now + 300);
            deliver(p, b, unescape("454 not now\\r\\n", b));
            assert_true(wait_for(p, "QUIT"));
            mx_session_received(p->s, UV_EOF);
            assert_true(p->have_result && !p->deferred);
            assert_string_equal(p->rec.f[MX_COL_STARTTLS_CODE], "454");
        }
        assert_int_equal(p->holds, held);
        held_free(p);
    }
}

/* What ends a hold is ours, never the server's: a NOOP refused, the server speaking or closing
 * while we pause, a NOOP not answered. Each ends the session deferred, without an error row. */
static void test_defer_hold_ends(void **state) {
    (void)state;
    for (int way = 0; way < 4; way++) {
        mx_probe_config_t cfg;
        play_t *p = held_session(&cfg, 1, way == 3 ? &io : &held_io);
        unsigned char b[256];
        char line[64] = "";
        if (way == 1) { /* speaks while we pause */
            deliver(p, b, unescape("421 too slow\\r\\n", b));
        } else if (way == 2) { /* closes while we pause */
            mx_session_received(p->s, UV_EOF);
        } else {
            next_line(p, line, sizeof(line));
            assert_string_equal(line, "NOOP\r\n");
            if (way == 0) {
                advance(p, p->now + 300);
                deliver(p, b, unescape("502 no\\r\\n", b));
            } else {
                advance(p, p->now + cfg.timeout_read_ms); /* no answer */
            }
        }
        if (!p->have_result) {
            assert_true(wait_for(p, "QUIT"));
            mx_session_received(p->s, UV_EOF);
        }
        assert_true(p->have_result && p->deferred);
        assert_false(in_held_queue);
        held_free(p);
    }
}

/* A held probe the gate releases sends STARTTLS at once, out of the held queue, and its deadline
 * moves by the time held: the server's replies still get their whole timeout. */
static void test_defer_release(void **state) {
    (void)state;
    mx_probe_config_t cfg;
    play_t *p = held_session(&cfg, 1, &held_io);
    char line[64] = "";
    assert_true(in_held_queue);
    assert_false(take_line(p, line, sizeof(line)));
    uint64_t deadline = mx_session_deadline(p->s);
    advance(p, p->now + HOLD_QUIET_MS / 2);
    assert_false(take_line(p, line, sizeof(line)));
    in_held_queue = 0; /* the gate unlinks what it releases */
    mx_session_released(p->s);
    assert_true(take_line(p, line, sizeof(line)));
    assert_string_equal(line, "STARTTLS\r\n");
    assert_int_equal(mx_session_deadline(p->s), deadline + HOLD_QUIET_MS / 2);
    assert_int_equal(p->due, p->now + cfg.timeout_read_ms);
    mx_session_released(p->s); /* a second release is nothing */
    assert_false(take_line(p, line, sizeof(line)));
    mx_session_received(p->s, UV_EOF);
    assert_true(p->have_result && !p->deferred && p->holds == 0);
    held_free(p);
}

int main(void) {
    char err[256];
    tls_identity_make(&id, 1, "hostile.example");
    const char *ca = tu_path("ca.der");
    tu_write_file(ca, id.ca.raw.p, id.ca.raw.len);
    assert_int_equal(mx_tls_config_new(&tls, ca, err, sizeof(err)), 0);
    mbedtls_ssl_config_init(&scfg);
    tls_pair_check(mbedtls_ssl_config_defaults(&scfg, MBEDTLS_SSL_IS_SERVER,
                                               MBEDTLS_SSL_TRANSPORT_STREAM,
                                               MBEDTLS_SSL_PRESET_DEFAULT),
                   "server config");
    mbedtls_ssl_conf_rng(&scfg, mbedtls_ctr_drbg_random, tls_pair_drbg());
    tls_pair_check(mbedtls_ssl_conf_own_cert(&scfg, &id.crt, &id.key), "own_cert");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcripts), cmocka_unit_test(test_defer_holds),
        cmocka_unit_test(test_defer_hold_ends), cmocka_unit_test(test_defer_release)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mbedtls_ssl_config_free(&scfg);
    mx_tls_config_free(tls);
    return rc;
}
