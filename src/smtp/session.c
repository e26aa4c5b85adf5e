/* The probe session (mxtls/probe.h).
 *
 * One heap object per probe embeds its TCP handle, timer, input buffer, reply parser and, after
 * STARTTLS is accepted, its TLS context; it is freed in the last close callback. Each step is a
 * send_<cmd>() / on_<state>() pair through one state setter; every way out goes through
 * finish(), after which callers return at once. Replies are parsed from the session's own
 * buffer (grown only when a reply does not fit), so an idle session holds about 1 KiB. */
#include "mxtls/probe.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "mxtls/error.h"
#include "mxtls/reply.h"
#include "mxtls/suites.h"

#define STATES(X)                                                                                  \
    X(CONNECT, "connect")                                                                          \
    X(GREETING, "greeting")                                                                        \
    X(EHLO, "ehlo")                                                                                \
    X(HELO, "ehlo")                                                                                \
    X(STARTTLS, "starttls")                                                                        \
    X(TLS, "tls")                                                                                  \
    X(EHLO_TLS, "ehlo_tls")                                                                        \
    X(QUIT, "quit")

typedef enum {
#define X(id, stage) S_##id,
    STATES(X)
#undef X
} state_t;

static const char *const stage_names[] = {
#define X(id, stage) stage,
    STATES(X)
#undef X
};

#define IN_INITIAL 1024
#define IN_MAX (MX_REPLY_MAX + 4096)

/* A session's place in one of the gate's queues. */
typedef struct {
    struct session *prev, *next;
} link_t;

typedef struct session {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    const mx_probe_config_t *cfg;
    mx_probe_cb cb;
    void *ud;
    char host[256];
    state_t state;
    int handles;
    int done;
    int got_bytes; /* any byte received (a reset before that is conn=reset) */
    int deferred;  /* the timer was put off once for input waiting in the socket */
    uint64_t t0_ms, deadline_at, t_starttls;
    char *in; /* raw bytes: replies before TLS, records after */
    size_t in_len, in_cap;
    size_t in_off; /* after TLS starts: bytes of `in` mbedTLS has already taken */
    char *plain;   /* decrypted bytes after the handshake */
    size_t plain_len, plain_cap;
    mx_reply_t reply;
    mbedtls_ssl_context *ssl;
    mx_hello_t hello;
    int tls_up;
    int legacy;   /* the second connection: a raw ClientHello after STARTTLS */
    int injected; /* bytes came after the 220 to STARTTLS */
    int tls_rx;   /* the server's first TLS record has begun */
    struct sockaddr_storage addr;
    mx_probe_result_t res;
    char *banner, *ehlo_caps, *ehlo_tls_caps; /* what RES points to */
    mx_cert_summary_t *cert;
    int gated;   /* holds one of the gate's handshakes */
    int waiting; /* in the gate's waiting queue */
    link_t wlink;
    int ready; /* handshake work queued on the gate */
    link_t rlink;
} session_t;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    char data[];
} wreq_t;

static void set_state(session_t *s, state_t st) {
#ifdef MXTLS_TRACE
    fprintf(stderr, "probe %s: %s -> %s\n", s->host, stage_names[s->state], stage_names[st]);
#endif
    s->state = st;
}

static uint64_t now_ms(const session_t *s) {
    return uv_now(s->tcp.loop);
}

static void on_closed(uv_handle_t *h) {
    session_t *s = h->data;
    if (--s->handles > 0)
        return;
    if (s->ssl) {
        mbedtls_ssl_free(s->ssl);
        free(s->ssl);
    }
    mx_hello_free(&s->hello);
    free(s->in);
    free(s->plain);
    free(s->banner);
    free(s->ehlo_caps);
    free(s->ehlo_tls_caps);
    free(s->cert);
    free(s);
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

/* The summary of CHAIN, in the session; NULL when out of memory. */
static mx_cert_summary_t *summarize(session_t *s, const mbedtls_x509_crt *chain) {
    free(s->cert);
    s->res.cert = s->cert = mx_cert_summarize(s->cfg->tls, chain, s->host);
    return s->cert;
}

static void start_tls(session_t *s);
static void tls_input(session_t *s);

/* The link at offset OFF in session S (wlink or rlink). */
#define LINK(s, off) ((link_t *)((char *)(s) + (off)))

static void queue_push(mx_probe_queue_t *q, session_t *s, size_t off) {
    LINK(s, off)->prev = q->tail;
    LINK(s, off)->next = NULL;
    if (q->tail)
        LINK(q->tail, off)->next = s;
    else
        q->head = s;
    q->tail = s;
}

static void queue_unlink(mx_probe_queue_t *q, session_t *s, size_t off) {
    link_t *l = LINK(s, off);
    if (l->prev)
        LINK(l->prev, off)->next = l->next;
    else
        q->head = l->next;
    if (l->next)
        LINK(l->next, off)->prev = l->prev;
    else
        q->tail = l->prev;
}

/* The handshakes' CPU work, at most GATE_BUDGET_NS per turn of the loop, oldest first. */
#define GATE_BUDGET_NS 10000000u

static void ready_unlink(session_t *s);

static void on_gate_idle(uv_idle_t *h) {
    mx_probe_gate_t *g = h->data;
    uint64_t until = uv_hrtime() + GATE_BUDGET_NS;
    while (g->ready.head && uv_hrtime() < until) {
        session_t *s = g->ready.head;
        ready_unlink(s);
        tls_input(s);
    }
    if (!g->ready.head)
        uv_idle_stop(h);
}

void mx_probe_gate_close(mx_probe_gate_t *g) {
    uv_close((uv_handle_t *)&g->idle, NULL);
}

int mx_probe_gate_init(mx_probe_gate_t *g, uv_loop_t *loop, unsigned limit) {
    memset(g, 0, sizeof(*g));
    g->limit = limit;
    g->idle.data = g;
    return uv_idle_init(loop, &g->idle);
}

/* Work for the gate's idle handle: S's handshake has input (or is to start). */
static void ready_push(session_t *s) {
    mx_probe_gate_t *g = s->cfg->gate;
    if (s->ready)
        return;
    s->ready = 1;
    queue_push(&g->ready, s, offsetof(session_t, rlink));
    uv_idle_start(&g->idle, on_gate_idle);
}

static void ready_unlink(session_t *s) {
    mx_probe_gate_t *g = s->cfg->gate;
    if (!s->ready)
        return;
    queue_unlink(&g->ready, s, offsetof(session_t, rlink));
    s->ready = 0;
}

/* Takes S out of the gate's queues, or gives its handshake back; the freed handshakes go to the
 * probes waiting longest. */
static void gate_leave(session_t *s) {
    mx_probe_gate_t *g = s->cfg->gate;
    if (!g)
        return;
    ready_unlink(s);
    if (s->waiting) {
        queue_unlink(&g->waiting, s, offsetof(session_t, wlink));
        s->waiting = 0;
    }
    if (!s->gated)
        return;
    s->gated = 0;
    g->busy--;
    if (g->draining) /* an outer call hands them out: no recursion through start_tls() */
        return;
    g->draining = 1;
    while (g->busy < g->limit && g->waiting.head) {
        session_t *w = g->waiting.head;
        queue_unlink(&g->waiting, w, offsetof(session_t, wlink));
        w->waiting = 0;
        w->gated = 1;
        g->busy++;
        start_tls(w);
    }
    g->draining = 0;
}

/* The one way out: delivers the result and closes the session. */
static void finish(session_t *s) {
    if (s->done)
        return;
    s->done = 1;
    s->res.t_total_ms = (int64_t)(now_ms(s) - s->t0_ms);
    /* Injection after STARTTLS is a finding, not where the probe ended: it is the error only
     * when nothing else went wrong. */
    if (s->injected && !s->res.error)
        s->res.error = "data_after_starttls";
    if (s->ssl) { /* free the TLS context as soon as it is no longer needed */
        mbedtls_ssl_free(s->ssl);
        free(s->ssl);
        s->ssl = NULL;
    }
    /* Closed before the result goes out: the caller may dial the same address at once, and a
     * server must never see two connections from us at the same time. The session is freed
     * once both handles have closed, on a later turn of the loop, so RES outlives the call. */
    uv_close((uv_handle_t *)&s->timer, on_closed);
    uv_close((uv_handle_t *)&s->tcp, on_closed);
    gate_leave(s); /* after the close: a failed handshake ends there for the server too */
    s->cb(s->ud, &s->res);
}

/* Records a failure at the current state (the first one wins). */
static void fail(session_t *s, const char *error) {
    if (!s->res.error) {
        s->res.error = error;
        s->res.stage = stage_names[s->state];
    }
}

static void on_timeout(uv_timer_t *t);

/* Arms the timer for MS, never past the probe's deadline. */
static void arm(session_t *s, uint64_t ms) {
    uint64_t now = now_ms(s), left = s->deadline_at > now ? s->deadline_at - now : 0;
    s->deferred = 0;
    uv_timer_start(&s->timer, on_timeout, ms < left ? ms : left, 0);
}

static void on_written(uv_write_t *req, int status) {
    session_t *s = req->handle->data;
    free(req);
    if (status < 0 && status != UV_ECANCELED && !s->done) {
        fail(s, status == UV_ECONNRESET ? "reset" : "closed");
        if (s->state == S_TLS)
            s->res.tls = MX_TLS_CLOSED;
        finish(s);
    }
}

static int write_raw(session_t *s, const void *data, size_t len) {
    wreq_t *w = malloc(sizeof(*w) + len);
    if (!w)
        return MX_E_NOMEM;
    memcpy(w->data, data, len);
    w->buf = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &w->buf, 1, on_written);
    if (rc < 0)
        free(w);
    return rc;
}

/* Sends an SMTP command (over TLS once it is up) and waits for its reply. */
static void send_cmd(session_t *s, const char *cmd, state_t next) {
    int rc;
    set_state(s, next);
    mx_reply_init(&s->reply);
    if (s->tls_up) {
        rc = mbedtls_ssl_write(s->ssl, (const unsigned char *)cmd, strlen(cmd));
        rc = rc < 0 ? rc : 0;
    } else {
        rc = write_raw(s, cmd, strlen(cmd));
    }
    if (rc < 0) {
        fail(s, "closed");
        finish(s);
        return;
    }
    arm(s, s->cfg->timeout_read_ms);
}

static void send_quit(session_t *s) {
    send_cmd(s, "QUIT\r\n", S_QUIT);
}

static void send_ehlo(session_t *s, state_t st) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "%s %s\r\n", st == S_HELO ? "HELO" : "EHLO", s->cfg->ehlo);
    send_cmd(s, cmd, st);
}

/* ---- TLS ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
    session_t *s = ctx;
    if (write_raw(s, buf, len) < 0)
        return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
    session_t *s = ctx;
    size_t have = s->in_len - s->in_off;
    if (!have)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (len > have)
        len = have;
    /* mbedTLS reads a record header, then its body: take from an offset instead of moving the
     * rest of the buffer down on every call. */
    memcpy(buf, s->in + s->in_off, len);
    s->in_off += len;
    if (s->in_off == s->in_len)
        s->in_off = s->in_len = 0;
    return (int)len;
}

static void tls_step(session_t *s);

static void start_tls(session_t *s) {
    set_state(s, S_TLS);
    s->t_starttls = now_ms(s);
    s->ssl = calloc(1, sizeof(*s->ssl));
    if (!s->ssl) {
        fail(s, "out_of_memory");
        finish(s);
        return;
    }
    mbedtls_ssl_init(s->ssl);
    int rc = mbedtls_ssl_setup(s->ssl, mx_tls_ssl_config(s->cfg->tls));
    /* SNI names the MX host; an address literal is not a host name (RFC 6066). */
    if (!rc && s->res.conn == MX_CONN_OK && strspn(s->host, "0123456789.:") != strlen(s->host))
        rc = mbedtls_ssl_set_hostname(s->ssl, s->host);
    if (rc) {
        s->res.tls = MX_TLS_FAILED;
        s->res.tls_error = mx_tls_error_token(rc, NULL);
        fail(s, s->res.tls_error);
        finish(s);
        return;
    }
    mbedtls_ssl_set_bio(s->ssl, s, bio_send, bio_recv, NULL);
    mx_hello_init(&s->hello, 0);
    arm(s, s->cfg->timeout_read_ms);
    if (s->cfg->gate)
        ready_push(s); /* the ClientHello's key generation too */
    else
        tls_step(s);
}

/* After the 220 to STARTTLS: the handshake starts now, or when the gate has room. Waiting is
 * the scanner's own delay, so only the deadline bounds it. */
static void begin_tls(session_t *s) {
    mx_probe_gate_t *g = s->cfg->gate;
    if (!g || !g->limit || g->busy < g->limit) {
        if (g && g->limit) {
            g->busy++;
            s->gated = 1;
        }
        start_tls(s);
        return;
    }
    set_state(s, S_TLS);
    s->waiting = 1;
    queue_push(&g->waiting, s, offsetof(session_t, wlink));
    arm(s, UINT64_MAX);
}

static void tls_done(session_t *s) {
    s->tls_up = 1;
    s->res.tls = MX_TLS_OK;
    s->res.t_tls_ms = (int64_t)(now_ms(s) - s->t_starttls);
    s->res.tls_version = mbedtls_ssl_get_version_number(s->ssl) == MBEDTLS_SSL_VERSION_TLS1_3
                             ? "TLSv1.3"
                             : "TLSv1.2";
    uint16_t id = (uint16_t)mbedtls_ssl_get_ciphersuite_id_from_ssl(s->ssl);
    const mx_suite_t *suite = mx_suite_by_id(id);
    s->res.tls_cipher = suite ? suite->iana : "unknown";
    mx_tls_group_of(&s->hello, id, s->res.tls_group, sizeof(s->res.tls_group));
    const mbedtls_x509_crt *chain = mbedtls_ssl_get_peer_cert(s->ssl);
    if (chain) {
        summarize(s, chain);
        /* The parsed chain (kilobytes) would stay through the two replies still to come; with
         * renegotiation off mbedTLS never reads it again, and frees the emptied head itself. */
        mbedtls_x509_crt_free((mbedtls_x509_crt *)(uintptr_t)chain);
    }
    mx_hello_free(&s->hello);
    /* The server's certificate flight may have grown the raw buffer to many KiB; what follows
     * are records of short SMTP replies, and the session lives two more round trips. */
    size_t left = s->in_len - s->in_off;
    if (s->in_cap > IN_INITIAL && left <= IN_INITIAL / 2) {
        memmove(s->in, s->in + s->in_off, left);
        s->in_len = left;
        s->in_off = 0;
        char *p = realloc(s->in, IN_INITIAL);
        if (p) {
            s->in = p;
            s->in_cap = IN_INITIAL;
        }
    }
    send_ehlo(s, S_EHLO_TLS);
}

static void on_connect(uv_connect_t *req, int status);

/* Whether a failed handshake is a server that speaks only what mbedTLS does not (TLS 1.0/1.1,
 * SSLv3, RC4, 3DES ...), to be asked again with a raw ClientHello. */
static int wants_legacy(int rc, const mx_hello_t *h) {
    if (rc == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION)
        return 1;
    if (h->result == MX_HELLO_ALERT &&
        (h->alert_desc == 40 || h->alert_desc == 70 || h->alert_desc == 71))
        return 1;
    if (h->version && h->version < 0x0303)
        return 1;
    return h->cipher && !mbedtls_ssl_ciphersuite_from_id(h->cipher);
}

static void legacy_reconnect(uv_handle_t *h) {
    session_t *s = h->data;
    int rc = uv_tcp_init_ex(s->timer.loop, &s->tcp, s->addr.ss_family);
    if (rc < 0) {
        /* No handle to close: deliver what the first connection found, close the timer. */
        s->handles--;
        s->done = 1;
        s->res.t_total_ms = (int64_t)(now_ms(s) - s->t0_ms);
        s->cb(s->ud, &s->res);
        uv_close((uv_handle_t *)&s->timer, on_closed);
        return;
    }
    s->tcp.data = s;
    set_state(s, S_CONNECT);
    rc = uv_tcp_connect(&s->connect_req, &s->tcp, (struct sockaddr *)&s->addr, on_connect);
    if (rc < 0) {
        finish(s);
        return;
    }
    arm(s, s->cfg->timeout_connect_ms);
}

/* Closes this connection and opens another for the legacy probe; the result so far stays. */
static void legacy_restart(session_t *s) {
    s->legacy = 1;
    if (s->ssl) {
        mbedtls_ssl_free(s->ssl);
        free(s->ssl);
        s->ssl = NULL;
    }
    mx_hello_free(&s->hello);
    s->in_len = s->in_off = 0;
    s->tls_rx = 0;
    uv_timer_stop(&s->timer);
    uv_read_stop((uv_stream_t *)&s->tcp);
    uv_close((uv_handle_t *)&s->tcp, legacy_reconnect);
    gate_leave(s); /* the raw ClientHello of the second connection needs no TLS context */
}

/* The server's answer to the raw ClientHello is in (or the connection ended). */
static void legacy_done(session_t *s) {
    mx_hello_t *h = &s->hello;
    if (h->version && h->cipher) {
        const mx_suite_t *suite = mx_suite_by_id(h->cipher);
        s->res.tls = MX_TLS_LEGACY;
        s->res.tls_version = mx_tls_version_name(h->version);
        s->res.tls_cipher = suite ? suite->iana : "unknown";
        mx_tls_group_of(h, h->cipher, s->res.tls_group, sizeof(s->res.tls_group));
        mbedtls_x509_crt chain;
        mbedtls_x509_crt_init(&chain);
        for (unsigned i = 0; i < h->ncerts; i++)
            mbedtls_x509_crt_parse_der(&chain, h->certs + h->cert_off[i], h->cert_len[i]);
        mx_cert_summary_t *cert = chain.raw.p ? summarize(s, &chain) : NULL;
        if (cert)
            cert->chain_len = (int)h->chain_total;
        mbedtls_x509_crt_free(&chain);
        /* Complete through the legacy path: the first failure stays in tls_error only. */
        s->res.stage = NULL;
        s->res.error = NULL;
    }
    finish(s);
}

static void legacy_hello(session_t *s) {
    unsigned char hello[2048];
    size_t n = mx_legacy_client_hello(s->host, hello, sizeof(hello));
    set_state(s, S_TLS);
    mx_hello_init(&s->hello, 1);
    if (!n || write_raw(s, hello, n) < 0) {
        finish(s);
        return;
    }
    arm(s, s->cfg->timeout_read_ms);
}

static void tls_step(session_t *s) {
    int rc = mbedtls_ssl_handshake(s->ssl);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return;
    if (rc == 0) {
        gate_leave(s); /* our Finished is sent: the server's side ends with it */
        tls_done(s);
        return;
    }
    s->res.tls = MX_TLS_FAILED;
    s->res.tls_error = mx_tls_error_token(rc, &s->hello);
    fail(s, s->res.tls_error);
    if (wants_legacy(rc, &s->hello)) {
        legacy_restart(s);
        return;
    }
    finish(s); /* no QUIT: the connection is in an undefined TLS state */
}

/* ---- replies ---- */

static void on_reply(session_t *s, int code, const char *buf) {
    const char *text;
    size_t len;
    int64_t size;
    if (s->legacy) {
        /* The second connection only has to reach STARTTLS again. */
        if (s->state == S_GREETING && code == 220)
            send_ehlo(s, S_EHLO);
        else if (s->state == S_EHLO && code == 250 &&
                 (mx_ehlo_caps(&s->reply, buf, NULL, 0, &size) & 1))
            send_cmd(s, "STARTTLS\r\n", S_STARTTLS);
        else if (s->state == S_STARTTLS && code == 220)
            legacy_hello(s);
        else
            finish(s);
        return;
    }
    switch (s->state) {
    case S_GREETING:
        s->res.banner_code = code;
        s->res.t_banner_ms = (int64_t)(now_ms(s) - s->t0_ms);
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
            send_ehlo(s, S_EHLO);
            return;
        }
        fail(s, code >= 500 ? "perm_failure" : code >= 400 ? "temp_failure" : "bad_reply");
        send_quit(s);
        return;
    case S_EHLO:
        s->res.ehlo_code = code;
        if (code == 250) {
            char caps[1024];
            int flags = mx_ehlo_caps(&s->reply, buf, caps, sizeof(caps), &size);
            s->res.ehlo_caps = keep(&s->ehlo_caps, caps, strlen(caps));
            s->res.size_limit = size;
            s->res.starttls = flags & 1;
            if (s->res.starttls) {
                send_cmd(s, "STARTTLS\r\n", S_STARTTLS);
                return;
            }
            s->res.tls = MX_TLS_NOT_OFFERED;
            send_quit(s);
            return;
        }
        if (code >= 500) { /* refused EHLO: HELO still measures the greeting path */
            send_ehlo(s, S_HELO);
            return;
        }
        fail(s, code >= 400 ? "temp_failure" : "bad_reply");
        send_quit(s);
        return;
    case S_HELO:
        if (code == 250) {
            s->res.starttls = 0; /* HELO has no extensions: nothing is advertised */
            s->res.tls = MX_TLS_NOT_OFFERED;
        } else {
            fail(s, code >= 500 ? "perm_failure" : code >= 400 ? "temp_failure" : "bad_reply");
        }
        send_quit(s);
        return;
    case S_STARTTLS:
        s->res.starttls_code = code;
        if (code == 220) {
            /* Bytes after the 220 and before our ClientHello are a protocol violation (and a
             * known injection vector); never feed them into TLS. */
            if (s->in_len > s->reply.end)
                s->injected = 1;
            s->in_len = 0;
            begin_tls(s);
            return;
        }
        s->res.tls = MX_TLS_REJECTED;
        send_quit(s);
        return;
    case S_EHLO_TLS:
        if (code == 250) {
            char caps[1024];
            mx_ehlo_caps(&s->reply, buf, caps, sizeof(caps), &size);
            s->res.ehlo_tls_caps = keep(&s->ehlo_tls_caps, caps, strlen(caps));
        }
        send_quit(s);
        return;
    case S_QUIT:
        finish(s);
        return;
    default:
        return;
    }
}

/* Parses replies out of BUF (the raw input before TLS, the plaintext after). */
static void replies(session_t *s, char *buf, size_t *len) {
    while (!s->done && *len) {
        state_t st = s->state;
        int rc = mx_reply_parse(&s->reply, buf, *len);
        if (rc == MX_REPLY_AGAIN)
            return;
        if (rc < 0) {
            fail(s, mx_reply_error_token(rc));
            if (st == S_QUIT || st == S_GREETING) {
                finish(s);
                return;
            }
            finish(s);
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
        /* Anything left would be a reply to a command not yet sent: servers that answer
         * early are recorded as they come, against the command now pending. */
    }
}

static void tls_input(session_t *s) {
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
                fail(s, "reply_too_long");
                finish(s);
                return;
            }
            s->plain = p;
            s->plain_cap = cap;
        }
        int n = mbedtls_ssl_read(s->ssl, (unsigned char *)s->plain + s->plain_len,
                                 s->plain_cap - s->plain_len);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            break;
        if (n <= 0) {
            if (s->state != S_QUIT)
                fail(s, n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? "closed"
                                                                         : "tls_read_error");
            finish(s);
            return;
        }
        s->plain_len += (size_t)n;
    }
    replies(s, s->plain, &s->plain_len);
}

/* ---- libuv callbacks ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    session_t *s = h->data;
    (void)suggested;
    if (s->in_off && s->in_cap - s->in_len < 512) {
        memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
        s->in_len -= s->in_off;
        s->in_off = 0;
    }
    if (s->in_cap - s->in_len < 512 && s->in_cap < IN_MAX) {
        size_t cap = s->in_cap * 2 > IN_MAX ? IN_MAX : s->in_cap * 2;
        char *p = realloc(s->in, cap);
        if (p) {
            s->in = p;
            s->in_cap = cap;
        }
    }
    buf->base = s->in + s->in_len;
    buf->len = s->in_cap - s->in_len;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
    session_t *s = stream->data;
    if (s->done || n == 0)
        return;
    if (n < 0 && s->legacy) {
        if (s->state == S_TLS)
            legacy_done(s); /* what came before the close may hold the ServerHello */
        else
            finish(s);
        return;
    }
    if (n < 0 && s->ready) {
        /* Handshake bytes wait for the gate's turn: what came before the end (an alert asking
         * for an older protocol, say) decides the outcome, so they go first. */
        ready_unlink(s);
        tls_input(s);
        if (s->done || s->legacy)
            return;
    }
    if (n < 0) {
        if (s->state == S_QUIT) {
            finish(s); /* closing after QUIT without a 221 is common and harmless */
            return;
        }
        if (n == UV_ECONNRESET && !s->got_bytes && s->state == S_GREETING)
            s->res.conn = MX_CONN_RESET;
        if (s->state == S_TLS)
            s->res.tls = MX_TLS_CLOSED;
        fail(s, n == UV_ECONNRESET ? "reset" : n == UV_EOF ? "closed" : "read_error");
        if (s->state == S_TLS && !s->res.tls_error)
            s->res.tls_error = "tls_closed";
        finish(s);
        return;
    }
    s->got_bytes = 1;
    if (s->waiting) { /* our ClientHello is not sent yet: nothing may come */
        s->injected = 1;
        return;
    }
    if (s->state == S_TLS && !s->tls_rx) {
        /* Until the server's first TLS record, anything it sends is not TLS: a line injected
         * after the 220 that arrived in a later read than the 220 itself. Drop such lines
         * (recorded as data_after_starttls) instead of feeding them to the handshake. */
        char *p = buf->base;
        size_t left = (size_t)n;
        while (left && *p != 0x16 && *p != 0x15) {
            char *nl = memchr(p, '\n', left);
            size_t drop = nl ? (size_t)(nl - p) + 1 : left;
            s->injected = 1;
            p += drop;
            left -= drop;
        }
        if (!left)
            return;
        if (p != buf->base)
            memmove(buf->base, p, left);
        n = (ssize_t)left;
        s->tls_rx = 1;
    }
    if (s->legacy && s->state == S_TLS) {
        if (mx_hello_feed(&s->hello, (const unsigned char *)buf->base, (size_t)n) != MX_HELLO_AGAIN)
            legacy_done(s);
        return;
    }
    if (s->state == S_TLS && !s->tls_up && s->hello.result == MX_HELLO_AGAIN)
        mx_hello_feed(&s->hello, (const unsigned char *)buf->base, (size_t)n);
    s->in_len += (size_t)n;
    if (s->ssl) {
        if (!s->tls_up && s->cfg->gate)
            ready_push(s);
        else
            tls_input(s);
        return;
    }
    if (s->in_len == s->in_cap && s->in_cap >= IN_MAX) {
        fail(s, "reply_too_long");
        finish(s);
        return;
    }
    replies(s, s->in, &s->in_len);
}

/* 1 when the socket holds bytes (or the end) not yet read. A loop busy for seconds with other
 * connections runs its timers before its I/O, so a reply that arrived in time may still be
 * waiting in the socket when the timer fires: that is not a timeout. */
static int input_waiting(session_t *s) {
    uv_os_fd_t fd;
    char c;
    if (s->state == S_CONNECT || uv_fileno((uv_handle_t *)&s->tcp, &fd) < 0)
        return 0;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0;
}

static void on_timeout(uv_timer_t *t) {
    session_t *s = t->data;
    if (s->ready && now_ms(s) < s->deadline_at) {
        /* Its input is in, waiting for the gate's turn: not the server's delay. */
        uv_timer_start(&s->timer, on_timeout, 10, 0);
        return;
    }
    if (!s->deferred && now_ms(s) < s->deadline_at && input_waiting(s)) {
        /* Once per arming, and never past the deadline: let the I/O phase read it first. */
        s->deferred = 1;
        uv_timer_start(&s->timer, on_timeout, 1, 0);
        return;
    }
    if (s->legacy) {
        if (s->state == S_TLS)
            legacy_done(s);
        else
            finish(s); /* the first connection's result stands */
        return;
    }
    if (s->state == S_CONNECT) {
        s->res.conn = MX_CONN_TIMEOUT;
        fail(s, "timeout");
        finish(s);
        return;
    }
    if (s->state == S_QUIT && s->res.stage) {
        finish(s); /* the probe had already failed; QUIT was a courtesy */
        return;
    }
    if (s->state == S_TLS && !s->tls_up) {
        s->res.tls = MX_TLS_TIMEOUT;
        s->res.tls_error = "tls_timeout";
    }
    fail(s, "timeout");
    finish(s);
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

static void on_connect(uv_connect_t *req, int status) {
    session_t *s = req->data;
    if (s->done)
        return;
    if (s->legacy) {
        if (status < 0) {
            finish(s);
            return;
        }
        set_state(s, S_GREETING);
        mx_reply_init(&s->reply);
        arm(s, s->cfg->timeout_read_ms);
        if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) < 0)
            finish(s);
        return;
    }
    if (status < 0) {
        s->res.conn = connect_conn(status);
        /* A reset reported to connect() means the server accepted and reset at once (a
         * refusal is ECONNREFUSED): the connection existed; it ended before the greeting. */
        if (status == UV_ECONNRESET)
            set_state(s, S_GREETING);
        fail(s, s->res.conn == MX_CONN_ERROR ? "connect_error" : mx_conn_name(s->res.conn));
        finish(s);
        return;
    }
    s->res.conn = MX_CONN_OK;
    s->res.t_connect_ms = (int64_t)(now_ms(s) - s->t0_ms);
    uv_tcp_nodelay(&s->tcp, 1);
    set_state(s, S_GREETING);
    mx_reply_init(&s->reply);
    arm(s, s->cfg->timeout_read_ms);
    int rc = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
    if (rc < 0) {
        fail(s, "read_error");
        finish(s);
    }
}

int mx_probe_start(uv_loop_t *loop, const mx_probe_config_t *cfg, const char *mx_host,
                   const struct sockaddr *addr, mx_probe_cb cb, void *ud) {
    session_t *s = calloc(1, sizeof(*s));
    int rc;
    if (!s || !(s->in = malloc(IN_INITIAL))) {
        free(s);
        return MX_E_NOMEM;
    }
    s->in_cap = IN_INITIAL;
    s->cfg = cfg;
    s->cb = cb;
    s->ud = ud;
    snprintf(s->host, sizeof(s->host), "%s", mx_host);
    memcpy(&s->addr, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
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
    if ((rc = uv_tcp_init_ex(loop, &s->tcp, addr->sa_family)) < 0) {
        free(s->in);
        free(s);
        return rc;
    }
    uv_timer_init(loop, &s->timer);
    s->tcp.data = s->timer.data = s->connect_req.data = s;
    s->handles = 2;
    s->t0_ms = uv_now(loop);
    s->deadline_at = s->t0_ms + cfg->deadline_ms;
    set_state(s, S_CONNECT);
    if ((rc = uv_tcp_connect(&s->connect_req, &s->tcp, addr, on_connect)) < 0) {
        /* Started nothing: close quietly, no callback (the caller gets the error). */
        s->done = 1;
        uv_close((uv_handle_t *)&s->timer, on_closed);
        uv_close((uv_handle_t *)&s->tcp, on_closed);
        return rc;
    }
    arm(s, cfg->timeout_connect_ms);
    return 0;
}

void mx_probe_fill(const mx_probe_result_t *r, mx_record_t *rec, mx_probe_text_t *t) {
    int k = 0;
#define NUM(col, v)                                                                                \
    do {                                                                                           \
        if ((v) >= 0) {                                                                            \
            snprintf(t->n[k], sizeof(t->n[k]), "%lld", (long long)(v));                            \
            rec->f[col] = t->n[k++];                                                               \
        }                                                                                          \
    } while (0)
    rec->f[MX_COL_CONN] = mx_conn_name((mx_conn_t)r->conn);
    if (r->banner_code)
        NUM(MX_COL_BANNER_CODE, r->banner_code);
    rec->f[MX_COL_BANNER] = r->banner;
    if (r->ehlo_code)
        NUM(MX_COL_EHLO_CODE, r->ehlo_code);
    rec->f[MX_COL_EHLO_CAPS] = r->ehlo_caps;
    NUM(MX_COL_SIZE_LIMIT, r->size_limit);
    if (r->starttls >= 0)
        rec->f[MX_COL_STARTTLS] = r->starttls ? "yes" : "no";
    if (r->starttls_code)
        NUM(MX_COL_STARTTLS_CODE, r->starttls_code);
    if (r->tls >= 0)
        rec->f[MX_COL_TLS] = mx_tls_name((mx_tls_t)r->tls);
    rec->f[MX_COL_TLS_VERSION] = r->tls_version;
    rec->f[MX_COL_TLS_CIPHER] = r->tls_cipher;
    rec->f[MX_COL_TLS_GROUP] = r->tls_group;
    rec->f[MX_COL_TLS_ERROR] = r->tls_error;
    if (r->cert) {
        const mx_cert_summary_t *c = r->cert;
        rec->f[MX_COL_CERT_SHA256] = c->sha256;
        rec->f[MX_COL_CERT_CN] = c->cn;
        rec->f[MX_COL_CERT_SAN] = c->san;
        rec->f[MX_COL_CERT_ISSUER] = c->issuer;
        rec->f[MX_COL_CERT_NOT_BEFORE] = c->not_before;
        rec->f[MX_COL_CERT_NOT_AFTER] = c->not_after;
        rec->f[MX_COL_CERT_KEY] = c->key;
        rec->f[MX_COL_CERT_SIG] = c->sig;
        NUM(MX_COL_CHAIN_LEN, c->chain_len);
        rec->f[MX_COL_CERT_VALID] = c->valid;
        rec->f[MX_COL_CERT_NAME_MATCH] = c->name_match ? "yes" : "no";
    }
    rec->f[MX_COL_EHLO_TLS_CAPS] = r->ehlo_tls_caps;
    NUM(MX_COL_T_CONNECT_MS, r->t_connect_ms);
    NUM(MX_COL_T_BANNER_MS, r->t_banner_ms);
    NUM(MX_COL_T_TLS_MS, r->t_tls_ms);
    NUM(MX_COL_T_TOTAL_MS, r->t_total_ms);
    rec->f[MX_COL_SCANNED_AT] = r->scanned_at;
    rec->f[MX_COL_STAGE] = r->stage;
    rec->f[MX_COL_ERROR] = r->error;
#undef NUM
}
