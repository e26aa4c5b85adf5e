/* The probe's SMTP session (mxtls/session.h).
 *
 * Each step is a send_<cmd>() / on_<state>() pair through one state setter; every way out goes
 * through mx__session_finish(), after which callers return at once. Replies are parsed from the
 * session's own buffer (grown only when a reply does not fit), so an idle session holds about 1
 * KiB; once STARTTLS is accepted the buffer is given up, the bytes go to the TLS connection, and
 * replies are parsed from the plaintext it yields. */
#include "mxtls/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "mxtls/error.h"
#include "smtp/smtp_int.h"

const char *const mx__session_stages[] = {
#define X(id, stage) stage,
    STATES(X)
#undef X
};

void mx__session_set_state(mx_session_t *s, state_t st) {
#ifdef MXTLS_TRACE
    fprintf(stderr, "probe %s: %s -> %s\n", s->host, mx__session_stages[s->state],
            mx__session_stages[st]);
#endif
    s->state = st;
}

uint64_t mx__session_now_ms(const mx_session_t *s) {
    return s->io->now(s->ioud);
}

/* Keeps LEN bytes of TEXT in *SLOT and returns it ("" when out of memory). */
static const char *keep(char **slot, const char *text, size_t len) {
    free(*slot);
    if (!(*slot = malloc(len + 1)))
        return "";
    memcpy(*slot, text, len);
    (*slot)[len] = 0;
    return *slot;
}

void mx__session_gate_leave(mx_session_t *s) {
    if (s->pausing && s->io->gate_unhold)
        s->io->gate_unhold(s->ioud);
    s->waiting = s->ready = s->pausing = 0;
    if (s->io->gate_leave)
        s->io->gate_leave(s->ioud);
}

void mx__session_tls_free(mx_session_t *s) {
    mx_tls_conn_free(s->tls);
    s->tls = NULL;
}

void mx__session_coming(mx_session_t *s, int on) {
    if (s->coming == on || !s->io->gate_coming)
        return;
    s->coming = on;
    s->io->gate_coming(s->ioud, on ? 1 : -1);
}

/* The one way out: delivers the result and closes the connection. */
void mx__session_finish(mx_session_t *s) {
    if (s->done)
        return;
    s->done = 1;
    mx__session_coming(s, 0);
    s->res.t_total_ms = (int64_t)(mx__session_now_ms(s) - s->t0_ms);
    /* Injection after STARTTLS is a finding, not where the probe ended: it is the error only
     * when nothing else went wrong. */
    if (s->injected && !s->res.error)
        s->res.error = "data_after_starttls";
    /* A DANE sender finds no TLS here (not offered, refused, failed): it does not deliver. */
    int no_tls = s->res.starttls == 0 || s->res.tls == MX_TLS_NOT_OFFERED ||
                 s->res.tls == MX_TLS_REJECTED || s->res.tls == MX_TLS_FAILED ||
                 s->res.tls == MX_TLS_CLOSED;
    if (s->ntlsa && !s->res.dane && !s->res.local_overload && no_tls)
        s->res.dane = "mismatch";
    mx__session_tls_free(s); /* as soon as it is no longer needed */
    /* Closed before the result goes out: the caller may dial the same address at once, and a
     * server must never see two connections from us at the same time. */
    s->io->close(s->ioud);
    mx__session_gate_leave(
        s); /* after the close: a failed handshake ends there for the server too */
    s->cb(s->ud, &s->res);
}

/* Records a failure at the current state (the first one wins). */
void mx__session_fail(mx_session_t *s, const char *error) {
    if (s->state == S_HOLD) {
        /* We held the session for our own backlog: whatever ends it then is probed again, not
         * written as the server's. */
        s->res.deferred = 1;
        return;
    }
    if (!s->res.error) {
        s->res.error = error;
        s->res.stage = mx__session_stages[s->state];
    }
}

static const char *reply_failure(int code) {
    return code >= 500 ? "perm_failure" : code >= 400 ? "temp_failure" : "bad_reply";
}

/* Arms the timer for MS, never past the probe's deadline. */
void mx__session_arm(mx_session_t *s, uint64_t ms) {
    uint64_t now = mx__session_now_ms(s), left = s->deadline_at > now ? s->deadline_at - now : 0;
    s->io->arm(s->ioud, ms < left ? ms : left);
}

void mx__session_send_cmd(mx_session_t *s, const char *cmd, state_t next) {
    mx__session_set_state(s, next);
    s->t_cmd = mx__session_now_ms(s);
    mx_reply_init(&s->reply);
    int rc = s->tls_up ? mx_tls_conn_write(s->tls, cmd, strlen(cmd))
                       : s->io->send(s->ioud, cmd, strlen(cmd));
    if (rc < 0) {
        mx__session_fail(s, "closed");
        mx__session_finish(s);
        return;
    }
    mx__session_arm(s, s->cfg->timeout_read_ms);
}

static void send_quit(mx_session_t *s) {
    mx__session_send_cmd(s, "QUIT\r\n", S_QUIT);
}

void mx__session_send_ehlo(mx_session_t *s, state_t st) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "%s %s\r\n", st == S_HELO ? "HELO" : "EHLO", s->cfg->ehlo);
    mx__session_send_cmd(s, cmd, st);
}

/* ---- replies ---- */

static void on_greeting(mx_session_t *s, int code, const char *buf) {
    const char *text;
    size_t len;
    s->res.banner_code = code;
    s->res.t_banner_ms = (int64_t)(mx__session_now_ms(s) - s->t0_ms);
    if (mx_reply_line(&s->reply, buf, 0, &text, &len) == 0) {
        char banner[257];
        if (len > sizeof(banner) - 1)
            len = sizeof(banner) - 1;
        memcpy(banner, text, len);
        for (size_t i = 0; i < len; i++)
            if (!banner[i])
                banner[i] = '?'; /* a NUL would cut the field short */
        s->res.banner = keep(&s->banner, banner, len);
    }
    if (code == 220) {
        mx__session_send_ehlo(s, S_EHLO);
        return;
    }
    mx__session_fail(s, reply_failure(code));
    send_quit(s);
}

static void on_ehlo(mx_session_t *s, int code, const char *buf) {
    s->res.ehlo_code = code;
    if (code == 250) {
        char caps[1024];
        int64_t size;
        int flags = mx_ehlo_caps(&s->reply, buf, caps, sizeof(caps), &size);
        s->res.ehlo_caps = keep(&s->ehlo_caps, caps, strlen(caps));
        s->res.size_limit = size;
        s->res.starttls = flags & 1;
        if (s->res.starttls) {
            mx__session_starttls_or_hold(s);
            return;
        }
        s->res.tls = MX_TLS_NOT_OFFERED;
        send_quit(s);
        return;
    }
    if (code >= 500) { /* refused EHLO: HELO still measures the greeting path */
        mx__session_send_ehlo(s, S_HELO);
        return;
    }
    mx__session_fail(s, code >= 400 ? "temp_failure" : "bad_reply");
    send_quit(s);
}

static void on_helo(mx_session_t *s, int code) {
    if (code == 250) {
        s->res.starttls = 0; /* HELO has no extensions: nothing is advertised */
        s->res.tls = MX_TLS_NOT_OFFERED;
    } else {
        mx__session_fail(s, reply_failure(code));
    }
    send_quit(s);
}

static void on_starttls(mx_session_t *s, int code) {
    mx__session_coming(s, 0);
    s->res.starttls_code = code;
    if (code == 220) {
        /* Bytes after the 220 and before our ClientHello are a protocol violation (and a known
         * injection vector); never feed them into TLS. */
        if (s->in_len > s->reply.end)
            s->injected = 1;
        s->in_len = 0;
        mx__session_begin_tls(s);
        return;
    }
    s->res.tls = MX_TLS_REJECTED;
    send_quit(s);
}

static void on_ehlo_tls(mx_session_t *s, int code, const char *buf) {
    if (code == 250) {
        char caps[1024];
        int64_t size;
        mx_ehlo_caps(&s->reply, buf, caps, sizeof(caps), &size);
        s->res.ehlo_tls_caps = keep(&s->ehlo_tls_caps, caps, strlen(caps));
    }
    send_quit(s);
}

static void on_reply(mx_session_t *s, int code, const char *buf) {
    if (s->legacy) {
        mx__session_legacy_reply(s, code, buf);
        return;
    }
    switch (s->state) {
    case S_GREETING:
        on_greeting(s, code, buf);
        return;
    case S_EHLO:
        on_ehlo(s, code, buf);
        return;
    case S_HELO:
        on_helo(s, code);
        return;
    case S_HOLD:
        mx__session_hold_reply(s, code);
        return;
    case S_STARTTLS:
        on_starttls(s, code);
        return;
    case S_EHLO_TLS:
        on_ehlo_tls(s, code, buf);
        return;
    case S_QUIT:
        mx__session_finish(s);
        return;
    default:
        return;
    }
}

/* Parses replies out of BUF (the raw input before TLS, the plaintext after). */
void mx__session_replies(mx_session_t *s, char *buf, size_t *len) {
    while (!s->done && *len) {
        state_t st = s->state;
        int rc = mx_reply_parse(&s->reply, buf, *len);
        if (rc == MX_REPLY_AGAIN)
            return;
        if (rc < 0) {
            mx__session_fail(s, mx_reply_error_token(rc));
            mx__session_finish(s);
            return;
        }
        size_t end = s->reply.end;
        on_reply(s, s->reply.code, buf);
        if (s->done || s->state == S_TLS)
            return; /* the input was consumed by the switch to TLS */
        memmove(buf, buf + end, *len - end);
        *len -= end;
        if (s->state == st)
            return;
        /* Anything left would be a reply to a command not yet sent: servers that answer early
         * are recorded as they come, against the command now pending. */
    }
}

void mx_session_work(mx_session_t *s) {
    s->ready = 0;
    if (!s->done && s->tls)
        mx__session_tls_input(s);
}

/* ---- what the driver reports ---- */

void mx_session_reserve(mx_session_t *s, char **buf, size_t *len) {
    if (s->tls && !s->waiting) {
        mx_tls_conn_reserve(s->tls, buf, len);
    } else {
        if (s->in_cap - s->in_len < 512 && s->in_cap < IN_MAX) {
            size_t cap = s->in_cap * 2 > IN_MAX ? IN_MAX : s->in_cap * 2;
            char *p = realloc(s->in, cap);
            if (p) {
                s->in = p;
                s->in_cap = cap;
            }
        }
        *buf = s->in + s->in_len;
        *len = s->in_cap - s->in_len;
    }
    s->rbuf = *buf;
}

/* The connection ended (N < 0) while the probe was still on. */
static void on_end(mx_session_t *s, ssize_t n) {
    if (s->waiting) { /* the server gave up while we sat at the gate */
        mx__session_local_overload(s);
        return;
    }
    if (s->legacy) {
        if (s->state == S_TLS && s->tls)
            mx__session_legacy_done(s); /* what came before the close may hold the ServerHello */
        else
            mx__session_finish(s);
        return;
    }
    if (s->ready) {
        /* Handshake bytes wait for the gate's turn: what came before the end (an alert asking
         * for an older protocol, say) decides the outcome, so they go first. */
        s->ready = 0;
        if (s->io->gate_unready)
            s->io->gate_unready(s->ioud);
        mx__session_tls_input(s);
        if (s->done || s->legacy)
            return;
    }
    if (s->state == S_QUIT) {
        mx__session_finish(s); /* closing after QUIT without a 221 is common and harmless */
        return;
    }
    if (s->state == S_TLS && s->tls_grace && !s->tls_rx) {
        mx__session_not_tls(s); /* it answered the ClientHello with something else, then closed */
        return;
    }
    if (n == UV_ECONNRESET && !s->got_bytes && s->state == S_GREETING)
        s->res.conn = MX_CONN_RESET;
    if (s->state == S_TLS)
        s->res.tls = MX_TLS_CLOSED;
    mx__session_fail(s, n == UV_ECONNRESET ? "reset" : n == UV_EOF ? "closed" : "read_error");
    if (s->state == S_TLS && !s->res.tls_error)
        s->res.tls_error = "tls_closed";
    /* Closed on our first flight without a word: old stacks do that to a ClientHello they do
     * not understand, as others send an alert. The legacy ClientHello is tried as after one. */
    if (s->state == S_TLS && !s->tls_rx && !s->tls_up) {
        mx__session_legacy_restart(s);
        return;
    }
    mx__session_finish(s);
}

void mx_session_received(mx_session_t *s, ssize_t n) {
    if (s->done || n == 0)
        return;
    if (n < 0) {
        on_end(s, n);
        return;
    }
    s->got_bytes = 1;
    if (s->waiting) { /* our ClientHello is not sent yet: nothing may come */
        /* At once, it is injection; after we kept the server waiting a while, it is most
         * likely the server's own timeout on us (Postfix: "421 ... Error: timeout"). */
        if (mx__session_now_ms(s) - s->t_wait0 >= LOCAL_PATIENCE_MS)
            mx__session_local_overload(s);
        else
            s->injected = 1;
        return;
    }
    if (s->tls) {
        if (!s->tls_rx && !(n = (ssize_t)mx__session_before_tls(s, (size_t)n)))
            return;
        mx_tls_conn_commit(s->tls, (size_t)n);
        if (s->legacy) {
            if (mx_tls_conn_step(s->tls) != MX_TLS_AGAIN)
                mx__session_legacy_done(s);
        } else if (!s->tls_up) {
            mx__session_tls_work(s);
        } else {
            mx__session_tls_input(s);
        }
        return;
    }
    s->in_len += (size_t)n;
    if (s->in_len == s->in_cap && s->in_cap >= IN_MAX) {
        mx__session_fail(s, "reply_too_long");
        mx__session_finish(s);
        return;
    }
    mx__session_replies(s, s->in, &s->in_len);
}

void mx_session_abort(mx_session_t *s) {
    if (s->done)
        return;
    s->done = 1;
    mx__session_tls_free(s);
    s->io->close(s->ioud);
    mx__session_gate_leave(s);
}

void mx_session_timeout(mx_session_t *s) {
    if (s->done)
        return;
    if (s->pausing) {
        mx__session_hold_paused(s);
        return;
    }
    if (s->waiting) { /* the gate's wait ran out */
        mx__session_local_overload(s);
        return;
    }
    if (s->ready) {
        /* Its input is in, waiting for the gate's turn: not the server's delay. */
        if (mx__session_now_ms(s) < s->deadline_at)
            mx__session_arm(s, 10);
        else
            mx__session_local_overload(s);
        return;
    }
    if (s->tls_grace && s->state == S_TLS && !s->tls_rx) {
        mx__session_not_tls(s);
        return;
    }
    if (s->legacy) {
        if (s->state == S_TLS && s->tls)
            mx__session_legacy_done(s);
        else
            mx__session_finish(s); /* the first connection's result stands */
        return;
    }
    if (s->state == S_CONNECT) {
        s->res.conn = MX_CONN_TIMEOUT;
        mx__session_fail(s, "timeout");
        mx__session_finish(s);
        return;
    }
    if (s->state == S_QUIT && s->res.stage) {
        mx__session_finish(s); /* the probe had already failed; QUIT was a courtesy */
        return;
    }
    if (s->state == S_TLS && !s->tls_up) {
        s->res.tls = MX_TLS_TIMEOUT;
        s->res.tls_error = "tls_timeout";
    }
    mx__session_fail(s, "timeout");
    mx__session_finish(s);
}

void mx_session_write_failed(mx_session_t *s, int status) {
    if (s->done || status == UV_ECANCELED)
        return;
    mx__session_fail(s, status == UV_ECONNRESET ? "reset" : "closed");
    if (s->state == S_TLS)
        s->res.tls = MX_TLS_CLOSED;
    mx__session_finish(s);
}

static int connect_conn(int status) {
    switch (status) {
    case UV_ECONNREFUSED:
        return MX_CONN_REFUSED;
    case UV_ETIMEDOUT:
        return MX_CONN_TIMEOUT;
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
        return MX_CONN_UNREACHABLE;
    case UV_ECONNRESET:
        return MX_CONN_RESET;
    default:
        return MX_CONN_ERROR;
    }
}

void mx_session_connected(mx_session_t *s, int status) {
    if (s->done)
        return;
    if (status < 0 && mx_err_local_shortage(status)) {
        /* No descriptor or local port for the (second) dial: ours to redo, not the server's. */
        mx__session_local_overload(s);
        return;
    }
    if (s->legacy && status < 0) {
        mx__session_finish(s);
        return;
    }
    if (!s->legacy && status < 0) {
        s->res.conn = connect_conn(status);
        /* A reset reported to connect() means the server accepted and reset at once (a refusal
         * is ECONNREFUSED): the connection existed; it ended before the greeting. */
        if (status == UV_ECONNRESET)
            mx__session_set_state(s, S_GREETING);
        mx__session_fail(s, s->res.conn == MX_CONN_ERROR ? "connect_error"
                                                         : mx_conn_name(s->res.conn));
        mx__session_finish(s);
        return;
    }
    if (!s->legacy) {
        s->res.conn = MX_CONN_OK;
        s->res.t_connect_ms = (int64_t)(mx__session_now_ms(s) - s->t0_ms);
    }
    mx__session_set_state(s, S_GREETING);
    mx_reply_init(&s->reply);
    mx__session_arm(s, s->cfg->timeout_read_ms);
}

void mx_session_start(mx_session_t *s) {
    if (!s->legacy) { /* the legacy probe's second dial is within the same deadline */
        s->t0_ms = mx__session_now_ms(s);
        s->deadline_at = s->t0_ms + s->cfg->deadline_ms;
    }
    mx__session_set_state(s, S_CONNECT);
    mx__session_arm(s, s->cfg->timeout_connect_ms);
}

void mx_session_waited_locally(mx_session_t *s, uint64_t ms) {
    s->res.local_wait_ms += (int64_t)ms;
    s->deadline_at += ms;
}

uint64_t mx_session_deadline(const mx_session_t *s) {
    return s->deadline_at;
}

int mx_session_connecting(const mx_session_t *s) {
    return s->state == S_CONNECT;
}

int mx_session_done(const mx_session_t *s) {
    return s->done;
}

mx_session_t *mx_session_new(const mx_probe_config_t *cfg, const mx_session_io_t *io, void *ioud,
                             const char *mx_host, mx_probe_cb cb, void *ud) {
    mx_session_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->in = malloc(IN_INITIAL))) {
        free(s);
        return NULL;
    }
    s->in_cap = IN_INITIAL;
    s->cfg = cfg;
    s->io = io;
    s->ioud = ioud;
    s->cb = cb;
    s->ud = ud;
    snprintf(s->host, sizeof(s->host), "%s", mx_host);
    s->res.conn = MX_CONN_ERROR;
    s->res.banner = s->res.ehlo_caps = s->res.ehlo_tls_caps = "";
    s->res.size_limit = -1;
    s->res.starttls = -1;
    s->res.tls = -1;
    s->res.t_connect_ms = s->res.t_banner_ms = s->res.t_tls_ms = -1;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->res.scanned_at, sizeof(s->res.scanned_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return s;
}

int mx_session_set_tlsa(mx_session_t *s, const mx_tlsa_set_t *set) {
    mx_tlsa_t recs[MX_TLSA_MAX];
    int n = 0, read = mx_tlsa_set_read(set, recs);
    for (int i = 0; i < read; i++) /* only these bind a DANE sender (RFC 7672 3.1.3) */
        if (mx_tlsa_usable(&recs[i]))
            recs[n++] = recs[i];
    if (!n)
        return 0; /* unusable records: the row builder says so, no probe is needed for it */
    size_t head = (size_t)n * sizeof(*recs);
    if (!(s->tlsa = malloc(head + set->len)))
        return MX_E_NOMEM;
    uint8_t *data = (uint8_t *)s->tlsa + head;
    memcpy(data, set->data, set->len);
    for (int i = 0; i < n; i++) {
        s->tlsa[i] = recs[i];
        s->tlsa[i].data = data + (recs[i].data - set->data);
    }
    s->ntlsa = n;
    return 0;
}

void mx_session_free(mx_session_t *s) {
    if (!s)
        return;
    free(s->tlsa);
    mx__session_tls_free(s);
    free(s->in);
    free(s->plain);
    free(s->banner);
    free(s->ehlo_caps);
    free(s->ehlo_tls_caps);
    free(s->cert);
    free(s);
}
