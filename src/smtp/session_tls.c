/* STARTTLS's handshake and the legacy probe of the SMTP session (mxtls/session.h): the TLS
 * connection (mxtls/tls.h) is made when the handshake may start, fed by the session, and
 * freed at the end; its results become the record's TLS columns. */
#include "mxtls/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_int.h"

static int tls_send(void *ud, const void *data, size_t len) {
    mx_session_t *s = ud;
    return s->io->send(s->ioud, data, len);
}

/* Handshake work: from the gate's turn, or at once without a gate. */
void mx__session_tls_work(mx_session_t *s) {
    if (s->io->gate_ready) {
        s->ready = 1;
        s->io->gate_ready(s->ioud);
    } else {
        mx__session_tls_input(s);
    }
}

static void start_tls(mx_session_t *s) {
    mx__session_set_state(s, S_TLS);
    s->t_starttls = mx__session_now_ms(s);
    free(s->in); /* the TLS connection has a buffer of its own */
    s->in = NULL;
    s->in_len = s->in_cap = 0;
    if (!(s->tls = mx_tls_conn_new(s->cfg->tls, s->host, 0, tls_send, s))) {
        mx__session_fail(s, "out_of_memory");
        mx__session_finish(s);
        return;
    }
    if (s->ntlsa)
        mx_tls_conn_set_tlsa(s->tls, s->tlsa, s->ntlsa);
    mx__session_arm(s, s->cfg->timeout_read_ms);
    mx__session_tls_work(s); /* the ClientHello's key generation too */
}

/* After the 220 to STARTTLS: the handshake starts now, or when the gate has room. Waiting is
 * the scanner's own delay: it is bounded on its own (local_wait_ms), and the deadline is put
 * off by as long as it lasted, so that it never eats into the server's time. */
void mx__session_begin_tls(mx_session_t *s) {
    if (!s->io->gate_enter || s->io->gate_enter(s->ioud)) {
        start_tls(s);
        return;
    }
    mx__session_set_state(s, S_TLS);
    s->waiting = 1;
    s->t_wait0 = mx__session_now_ms(s);
    uint64_t bound = s->cfg->local_wait_ms ? s->cfg->local_wait_ms : s->cfg->deadline_ms;
    s->io->arm(s->ioud, bound);
}

void mx_session_admitted(mx_session_t *s) {
    uint64_t waited = mx__session_now_ms(s) - s->t_wait0;
    s->waiting = 0;
    s->res.local_wait_ms += (int64_t)waited;
    s->deadline_at += waited;
    start_tls(s);
}

void mx__session_local_overload(mx_session_t *s) {
    if (s->waiting)
        s->res.local_wait_ms += (int64_t)(mx__session_now_ms(s) - s->t_wait0);
    s->res.local_overload = 1;
    s->res.tls = -1; /* unknown: nothing of the server's TLS was seen */
    s->res.tls_error = NULL;
    s->res.error = NULL; /* this, not what came before it, is why the probe ended */
    s->res.stage = NULL;
    mx__session_fail(s, MX_LOCAL_OVERLOAD);
    mx__session_finish(s);
}

static void tls_done(mx_session_t *s) {
    const mx_tls_info_t *info = mx_tls_conn_info(s->tls);
    s->tls_up = 1;
    s->res.tls = MX_TLS_OK;
    s->res.dane = info->dane;
    s->res.t_tls_ms = (int64_t)(mx__session_now_ms(s) - s->t_starttls);
    s->res.tls_version = info->version;
    s->res.tls_cipher = info->cipher;
    snprintf(s->res.tls_group, sizeof(s->res.tls_group), "%s", info->group);
    free(s->cert);
    s->res.cert = s->cert = mx_tls_conn_take_cert(s->tls);
    mx__session_send_ehlo(s, S_EHLO_TLS);
}

void mx__session_legacy_restart(mx_session_t *s) {
    s->legacy = 1;
    mx__session_tls_free(s);
    s->tls_rx = s->tls_grace = 0;
    if (!(s->in = malloc(IN_INITIAL))) {
        mx__session_finish(s);
        return;
    }
    s->in_cap = IN_INITIAL;
    s->in_len = 0;
    s->io->redial(s->ioud);
    mx__session_gate_leave(
        s); /* the raw ClientHello of the second connection needs no TLS context */
}

/* The server's answer to the raw ClientHello is in (or the connection ended). */
void mx__session_legacy_done(mx_session_t *s) {
    const mx_tls_info_t *info = mx_tls_conn_info(s->tls);
    if (info->answered) {
        s->res.tls = MX_TLS_LEGACY;
        s->res.tls_version = info->version[0] ? info->version : NULL;
        s->res.tls_cipher = info->cipher;
        snprintf(s->res.tls_group, sizeof(s->res.tls_group), "%s", info->group);
        free(s->cert);
        s->res.cert = s->cert = mx_tls_conn_take_cert(s->tls);
        /* Complete through the legacy path: the first failure stays in tls_error only. */
        s->res.stage = NULL;
        s->res.error = NULL;
    }
    mx__session_finish(s);
}

void mx__session_legacy_reply(mx_session_t *s, int code, const char *buf) {
    int64_t size;
    if (s->state == S_GREETING && code == 220)
        mx__session_send_ehlo(s, S_EHLO);
    else if (s->state == S_EHLO && code == 250 &&
             (mx_ehlo_caps(&s->reply, buf, NULL, 0, &size) & 1))
        mx__session_send_cmd(s, "STARTTLS\r\n", S_STARTTLS);
    else if (s->state == S_STARTTLS && code == 220)
        mx__session_legacy_hello(s);
    else
        mx__session_finish(s);
}

void mx__session_legacy_hello(mx_session_t *s) {
    mx__session_set_state(s, S_TLS);
    free(s->in);
    s->in = NULL;
    s->in_len = s->in_cap = 0;
    s->tls = mx_tls_conn_new(s->cfg->tls, s->host, 1, tls_send, s);
    if (!s->tls || mx_tls_conn_step(s->tls) < 0) {
        mx__session_finish(s);
        return;
    }
    mx__session_arm(s, s->cfg->timeout_read_ms);
}

static void tls_step(mx_session_t *s) {
    int rc = mx_tls_conn_step(s->tls);
    if (rc == MX_TLS_AGAIN)
        return;
    if (rc == MX_TLS_DONE) {
        mx__session_gate_leave(s); /* our Finished is sent: the server's side ends with it */
        tls_done(s);
        return;
    }
    const mx_tls_info_t *info = mx_tls_conn_info(s->tls);
    s->res.tls = MX_TLS_FAILED;
    s->res.tls_error = info->error;
    mx__session_fail(s, s->res.tls_error);
    if (info->legacy_wanted) {
        mx__session_legacy_restart(s);
        return;
    }
    mx__session_finish(s); /* no QUIT: the connection is in an undefined TLS state */
}

void mx__session_tls_input(mx_session_t *s) {
    if (!s->tls_up) {
        tls_step(s);
        if (!s->tls_up || s->done)
            return;
    }
    for (;;) {
        if (s->plain_cap - s->plain_len < 1024) {
            size_t cap = s->plain_cap ? s->plain_cap * 2 : 2048; /* replies are short */
            char *p = cap <= IN_MAX ? realloc(s->plain, cap) : NULL;
            if (!p) {
                mx__session_fail(s, "reply_too_long");
                mx__session_finish(s);
                return;
            }
            s->plain = p;
            s->plain_cap = cap;
        }
        ssize_t n = mx_tls_conn_read(s->tls, s->plain + s->plain_len, s->plain_cap - s->plain_len);
        if (n == MX_TLS_AGAIN)
            break;
        if (n < 0) {
            if (s->state != S_QUIT)
                mx__session_fail(s, n == MX_TLS_E_CLOSED ? "closed" : "tls_read_error");
            mx__session_finish(s);
            return;
        }
        s->plain_len += (size_t)n;
    }
    mx__session_replies(s, s->plain, &s->plain_len);
}

/* Until the server's first TLS record, anything it sends is not TLS: a line injected after the
 * 220 that arrived in a later read than the 220 itself, or an answer to our ClientHello that is
 * not TLS (an SMTP error reply). Such lines are dropped (recorded as data_after_starttls)
 * instead of being fed to the handshake. Returns the bytes left. */
static size_t drop_before_tls(mx_session_t *s, char *buf, size_t n) {
    char *p = buf;
    size_t left = n;
    while (left && *p != 0x16 && *p != 0x15) {
        char *nl = memchr(p, '\n', left);
        size_t drop = nl ? (size_t)(nl - p) + 1 : left;
        s->injected = 1;
        p += drop;
        left -= drop;
    }
    if (left) {
        if (p != buf)
            memmove(buf, p, left);
        s->tls_rx = 1;
    }
    return left;
}

/* After bytes that were not TLS, TLS must follow soon: an injected line is followed by the
 * server's handshake at once, while a server that answered the ClientHello with something
 * else will not send TLS at all, and waiting the read timeout for it would only turn the
 * finding into a timeout. So the handshake fails after this grace (RFC 8446 section 5 fails it
 * at the first such record; the grace keeps the injection finding's handshake, which a
 * loaded server may answer a little late). */
#define NOT_TLS_GRACE_MS 5000

void mx__session_not_tls(mx_session_t *s) {
    if (s->legacy) {
        mx__session_legacy_done(s); /* not an answer: the first failure stands */
        return;
    }
    s->res.tls = MX_TLS_FAILED;
    s->res.tls_error = "tls_not_tls";
    mx__session_fail(s, "data_after_starttls");
    mx__session_finish(s);
}

size_t mx__session_before_tls(mx_session_t *s, size_t n) {
    n = drop_before_tls(s, s->rbuf, n);
    if (!n) {
        if (!s->tls_grace)
            mx__session_arm(s, NOT_TLS_GRACE_MS < s->cfg->timeout_read_ms
                                   ? NOT_TLS_GRACE_MS
                                   : s->cfg->timeout_read_ms);
        s->tls_grace = 1;
        return 0;
    }
    if (s->tls_grace)
        mx__session_arm(s, s->cfg->timeout_read_ms);
    s->tls_grace = 0;
    return n;
}
