/* The farm's SMTP servers (smtp_server.h).
 *
 * One connection object per client, freed in the last close callback. Replies are delayed by
 * the configured latency with the connection's timer, never by sleeping, so one process holds
 * tens of thousands of slow conversations. After STARTTLS the connection's bytes go through an
 * OpenSSL object over memory BIOs: OpenSSL never touches the socket. */
#include "farm/smtp_server.h"

#include "farm/listen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>

#define IN_MAX 2048
#define IDLE_MS (300 * 1000)

typedef enum { S_GREETING, S_COMMANDS, S_TLS_HANDSHAKE, S_CLOSING } state_t;

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    farm_smtp_t *srv;
    farm_host_t host;
    uint32_t addr;
    int handles; /* open handles; freed at 0 */
    state_t state;
    int tls_up;
    int busy;        /* a delayed reply is waiting on the timer */
    int close_after; /* close once the pending reply is out */
    int start_tls;   /* switch to TLS once the pending reply is out */
    int hello_seen;  /* the client's first TLS bytes are in (logged) */
    size_t drip_pos;
    SSL *ssl;
    BIO *rbio, *wbio;
    char pending[1024];
    size_t pending_len;
    char in[IN_MAX];
    size_t inlen;
    uint64_t rng;
} conn_t;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    char data[];
} wreq_t;

static void on_closed(uv_handle_t *h) {
    conn_t *c = h->data;
    if (--c->handles == 0) {
        if (c->ssl)
            SSL_free(c->ssl);
        free(c);
    }
}

static void log_event(conn_t *c, char ev) {
    char ip[16];
    if (!c->srv->accept_log)
        return;
    farm_addr_str(c->addr, ip);
    /* The turn says which events one epoll batch delivered: accepting drains the backlog, so a
     * connection dialled just after another closed may be accepted one turn before that close
     * is read; readers of the log need to know. */
    fprintf(c->srv->accept_log, "%c %llu %llu %s\n", ev, (unsigned long long)uv_now(c->srv->loop),
            c->srv->turn, ip);
}

static void conn_close(conn_t *c) {
    if (c->state == S_CLOSING)
        return;
    c->state = S_CLOSING;
    c->srv->open--;
    log_event(c, 'C');
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void written(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

static void send_raw(conn_t *c, const char *data, size_t len) {
    if (c->state == S_CLOSING || !len)
        return;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    size_t off = n > 0 ? (size_t)n : 0;
    wreq_t *w = malloc(sizeof(*w) + len - off);
    if (!w) {
        conn_close(c);
        return;
    }
    memcpy(w->data, data + off, len - off);
    w->buf = uv_buf_init(w->data, (unsigned)(len - off));
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, written) < 0) {
        free(w);
        conn_close(c);
    }
}

/* Moves what OpenSSL wrote into the memory BIO onto the socket. */
static void flush_tls(conn_t *c) {
    char buf[16384];
    int n;
    while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
        send_raw(c, buf, (size_t)n);
}

static void send_text(conn_t *c, const char *text, size_t len) {
    if (c->tls_up) {
        SSL_write(c->ssl, text, (int)len);
        flush_tls(c);
    } else {
        send_raw(c, text, len);
    }
}

static double next_unit(conn_t *c) {
    c->rng = farm_hash(c->rng, 0, 0, 0);
    return ((double)(c->rng >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static uint64_t latency_ms(conn_t *c) {
    const farm_latency_t *l = &c->srv->latency;
    if (l->median_ms > 0) {
        double z = sqrt(-2 * log(next_unit(c))) * cos(2 * M_PI * next_unit(c));
        return (uint64_t)(l->median_ms * exp(l->sigma * z));
    }
    return (uint64_t)l->fixed_ms;
}

static void process_input(conn_t *c);
static void start_tls(conn_t *c);

static void reply_due(uv_timer_t *t) {
    conn_t *c = t->data;
    c->busy = 0;
    send_text(c, c->pending, c->pending_len);
    if (c->close_after) {
        conn_close(c);
        return;
    }
    if (c->start_tls) {
        c->start_tls = 0;
        if (c->host.garbage)
            send_raw(c, "250 garbage after STARTTLS\r\n", 28);
        start_tls(c);
        return;
    }
    uv_timer_start(&c->timer, reply_due, IDLE_MS, 0); /* idle: close, as MTAs do */
    c->close_after = 1;
    c->pending_len = 0;
    process_input(c);
}

/* Queues a reply after the latency; FLAGS: close after it, or switch to TLS after it. */
static void reply(conn_t *c, const char *text, int close_after, int tls_after) {
    size_t n = strlen(text);
    if (n > sizeof(c->pending))
        n = sizeof(c->pending);
    memcpy(c->pending, text, n);
    c->pending_len = n;
    c->close_after = close_after;
    c->start_tls = tls_after;
    c->busy = 1;
    uv_timer_start(&c->timer, reply_due, latency_ms(c), 0);
}

void farm_ehlo_keywords(const farm_host_t *h, int after_tls, char *out, size_t cap) {
    static const char *const names[] = {
#define X(n) #n,
        FARM_CAPS(X)
#undef X
    };
    size_t o = 0;
    out[0] = 0;
    for (int b = 0; b < (int)(sizeof(names) / sizeof(names[0])); b++) {
        if (h->caps & (1u << b))
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "|" : "", names[b]);
        if (b == FARM_CAP_BIT_ETRN) {
            if (!after_tls && h->starttls)
                o += (size_t)snprintf(out + o, cap - o, "%sSTARTTLS", o ? "|" : "");
            if (after_tls)
                o += (size_t)snprintf(out + o, cap - o, "%sAUTH", o ? "|" : "");
        }
    }
}

static void ehlo_reply(conn_t *c) {
    char kw[256], text[1024];
    size_t o = 0;
    farm_ehlo_keywords(&c->host, c->tls_up, kw, sizeof(kw));
    o += (size_t)snprintf(text, sizeof(text), "250%c%s Hello\r\n", kw[0] ? '-' : ' ', c->host.name);
    for (char *save = NULL, *k = strtok_r(kw, "|", &save); k; k = strtok_r(NULL, "|", &save)) {
        const char *param = strcmp(k, "AUTH") == 0 ? " PLAIN LOGIN" : "";
        char size[32] = "";
        if (strcmp(k, "SIZE") == 0)
            snprintf(size, sizeof(size), " %u", c->host.size), param = size;
        int last = save == NULL || *save == 0;
        o += (size_t)snprintf(text + o, sizeof(text) - o, "250%c%s%s\r\n", last ? ' ' : '-', k,
                              param);
    }
    reply(c, text, 0, 0);
}

static void command(conn_t *c, char *line) {
    if (c->host.greet == FARM_G_554 && strncasecmp(line, "QUIT", 4) != 0) {
        reply(c, "503 5.5.1 No SMTP service\r\n", 0, 0);
    } else if (strncasecmp(line, "EHLO", 4) == 0) {
        ehlo_reply(c);
    } else if (strncasecmp(line, "HELO", 4) == 0) {
        char text[300];
        snprintf(text, sizeof(text), "250 %s\r\n", c->host.name);
        reply(c, text, 0, 0);
    } else if (strncasecmp(line, "STARTTLS", 8) == 0 && !c->tls_up) {
        if (!c->host.starttls)
            reply(c, "502 5.5.1 Command not implemented\r\n", 0, 0);
        else if (c->host.starttls_454)
            reply(c, "454 4.7.0 TLS not available due to local problem\r\n", 0, 0);
        else
            reply(c, "220 2.0.0 Ready to start TLS\r\n", 0, 1);
    } else if (strncasecmp(line, "QUIT", 4) == 0) {
        reply(c, "221 2.0.0 Bye\r\n", 1, 0);
    } else if (strncasecmp(line, "NOOP", 4) == 0 || strncasecmp(line, "RSET", 4) == 0) {
        reply(c, "250 2.0.0 Ok\r\n", 0, 0);
    } else {
        reply(c, "502 5.5.2 Command not recognised\r\n", 0, 0);
    }
}

/* Handles complete lines in the input while no reply is pending. */
static void process_input(conn_t *c) {
    while (!c->busy && c->state == S_COMMANDS) {
        char *nl = memchr(c->in, '\n', c->inlen);
        if (!nl) {
            if (c->inlen == IN_MAX)
                reply(c, "500 5.5.6 Line too long\r\n", 1, 0);
            return;
        }
        size_t len = (size_t)(nl - c->in);
        *nl = 0;
        if (len && c->in[len - 1] == '\r')
            c->in[len - 1] = 0;
        char line[IN_MAX];
        memcpy(line, c->in, len + 1);
        memmove(c->in, nl + 1, c->inlen - len - 1);
        c->inlen -= len + 1;
        command(c, line);
        if (c->start_tls)
            return; /* bytes after STARTTLS belong to the TLS layer */
    }
}

static void tls_advance(conn_t *c) {
    if (!c->tls_up && !c->hello_seen && BIO_pending(c->rbio) > 0) {
        c->hello_seen = 1;
        log_event(c, 'T');
    }
    if (!c->tls_up) {
        int rc = SSL_do_handshake(c->ssl);
        flush_tls(c);
        if (rc <= 0) {
            int e = SSL_get_error(c->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                conn_close(c);
            }
            return;
        }
        c->tls_up = 1;
        c->srv->handshakes++;
        log_event(c, 'H');
        c->state = S_COMMANDS;
    }
    for (;;) {
        if (c->inlen == IN_MAX) {
            conn_close(c);
            return;
        }
        int n = SSL_read(c->ssl, c->in + c->inlen, (int)(IN_MAX - c->inlen));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            flush_tls(c);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                conn_close(c);
            }
            break;
        }
        c->inlen += (size_t)n;
    }
    process_input(c);
}

static void start_tls(conn_t *c) {
    X509 *leaf, *chain;
    EVP_PKEY *key;
    SSL_CTX *ctx = farm_certs_ctx(c->srv->certs, &c->host);
    if (!ctx || farm_certs_leaf(c->srv->certs, &c->host, &leaf, &key, &chain) < 0 ||
        !(c->ssl = SSL_new(ctx))) {
        conn_close(c);
        return;
    }
    SSL_use_certificate(c->ssl, leaf);
    SSL_use_PrivateKey(c->ssl, key);
    if (chain)
        SSL_add1_chain_cert(c->ssl, chain);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_accept_state(c->ssl);
    c->state = S_TLS_HANDSHAKE;
    uv_timer_start(&c->timer, reply_due, IDLE_MS, 0);
    c->close_after = 1;
    c->pending_len = 0;
    /* Bytes the client sent right after STARTTLS (its ClientHello) are TLS records. */
    if (c->inlen) {
        BIO_write(c->rbio, c->in, (int)c->inlen);
        c->inlen = 0;
    }
    tls_advance(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    conn_t *c = h->data;
    (void)suggested;
    if (c->state == S_TLS_HANDSHAKE || c->tls_up) {
        static char tls_buf[16384]; /* copied into the BIO at once; one loop per process */
        buf->base = tls_buf;
        buf->len = sizeof(tls_buf);
        return;
    }
    buf->base = c->in + c->inlen;
    buf->len = IN_MAX - c->inlen;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    conn_t *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->state == S_CLOSING || n == 0)
        return;
    if (c->state == S_TLS_HANDSHAKE || c->tls_up) {
        BIO_write(c->rbio, buf->base, (int)n);
        tls_advance(c);
        return;
    }
    c->inlen += (size_t)n;
    if (c->state == S_COMMANDS)
        process_input(c);
    else if (c->inlen == IN_MAX)
        c->inlen = 0; /* a client talking before the greeting is ignored */
}

static void greeting_text(conn_t *c, char *text, size_t cap) {
    const char *name = c->host.name;
    switch (c->host.greet) {
    case FARM_G_421:
        snprintf(text, cap, "421 4.7.0 %s Too many connections, try again later\r\n", name);
        break;
    case FARM_G_554:
        snprintf(text, cap, "554 5.7.1 %s No SMTP service here\r\n", name);
        break;
    default:
        if (c->host.multiline)
            snprintf(text, cap,
                     "220-%s ESMTP farm\r\n220-This server is part of the mxtls test farm.\r\n"
                     "220 Ready\r\n",
                     name);
        else
            snprintf(text, cap, "220 %s ESMTP farm\r\n", name);
    }
}

static void drip(uv_timer_t *t) {
    conn_t *c = t->data;
    char text[512];
    snprintf(text, sizeof(text), "220 %s ESMTP farm tarpit, one byte a second\r\n", c->host.name);
    if (c->drip_pos < strlen(text))
        send_raw(c, text + c->drip_pos++, 1);
    else
        uv_timer_start(t, drip, IDLE_MS, 0), c->drip_pos = 0;
}

static void greet(uv_timer_t *t) {
    conn_t *c = t->data;
    char text[512];
    if (c->host.greet == FARM_G_DRIP) {
        uv_timer_start(t, drip, 1000, 1000);
        return;
    }
    greeting_text(c, text, sizeof(text));
    c->state = S_COMMANDS;
    /* The latency was part of the greeting's delay: send it now. */
    reply(c, text, c->host.greet == FARM_G_421, 0);
    uv_timer_start(&c->timer, reply_due, 0, 0);
}

static void on_connection(uv_stream_t *server, int status) {
    farm_smtp_t *s = server->data;
    if (status < 0)
        return;
    conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    struct sockaddr_storage local;
    int len = sizeof(local);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
        uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&local, &len) < 0 ||
        local.ss_family != AF_INET) {
        c->state = S_CLOSING;
        uv_close((uv_handle_t *)&c->timer, on_closed);
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    c->addr = ntohl(((struct sockaddr_in *)&local)->sin_addr.s_addr);
    s->accepted++;
    s->open++;
    if (s->open > s->max_open)
        s->max_open = s->open;
    c->rng = farm_hash(s->rng, s->accepted, c->addr, 7);
    log_event(c, 'O');
    if (farm_host(s->farm, c->addr, &c->host) < 0) {
        conn_close(c);
        return;
    }
    if (c->host.greet == FARM_G_RESET) {
        c->state = S_CLOSING;
        s->open--;
        log_event(c, 'C');
        uv_close((uv_handle_t *)&c->timer, on_closed);
        uv_tcp_close_reset(&c->tcp, on_closed);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (c->host.greet == FARM_G_SILENT) {
        uv_timer_start(&c->timer, reply_due, IDLE_MS, 0);
        c->close_after = 1;
        return;
    }
    uint64_t delay = latency_ms(c) + (c->host.delay6 ? 6000 : 0);
    uv_timer_start(&c->timer, greet, delay, 0);
}

static void on_turn(uv_check_t *h) {
    ((farm_smtp_t *)h->data)->turn++;
}

int farm_smtp_start(farm_smtp_t *s, uv_loop_t *loop, const farm_t *farm, farm_certs_t *certs,
                    const struct sockaddr *addr) {
    s->loop = loop;
    uv_check_init(loop, &s->turns);
    s->turns.data = s;
    uv_check_start(&s->turns, on_turn);
    uv_unref((uv_handle_t *)&s->turns);
    s->farm = farm;
    s->certs = certs;
    int rc = farm_tcp_listen(loop, &s->listener, addr, 4096, on_connection);
    s->listener.data = s; /* read by the first accept, from the loop */
    return rc;
}

void farm_smtp_stop(farm_smtp_t *s) {
    uv_close((uv_handle_t *)&s->turns, NULL);
    uv_close((uv_handle_t *)&s->listener, NULL);
}
