/* The farm's MTA-STS policy hosts (https_server.h).
 *
 * One listening socket answers for every policy host address; a connection's destination
 * address says which domain's host it reached, and the domain's model says what that host
 * does: serve its policy, or fail in the one way it is drawn to. TLS runs over memory BIOs, as
 * in the SMTP server. */
#include "farm/https_server.h"

#include "farm/listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define REQ_MAX 4096
#define IDLE_MS (30 * 1000)
#define OVERSIZE (100 * 1024)

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    farm_https_t *srv;
    farm_domain_t dom;
    int handles, closing, answered;
    SSL *ssl;
    BIO *rbio, *wbio;
    char req[REQ_MAX];
    size_t req_len;
} conn_t;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    char data[];
} wreq_t;

static void on_closed(uv_handle_t *h) {
    conn_t *c = h->data;
    if (--c->handles > 0)
        return;
    SSL_free(c->ssl);
    free(c);
}

static void conn_close(conn_t *c) {
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void written(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

/* What OpenSSL wrote, onto the socket. */
static void flush(conn_t *c) {
    char buf[16384];
    int n;
    while (!c->closing && (n = BIO_read(c->wbio, buf, sizeof(buf))) > 0) {
        wreq_t *w = malloc(sizeof(*w) + (size_t)n);
        if (!w) {
            conn_close(c);
            return;
        }
        memcpy(w->data, buf, (size_t)n);
        w->buf = uv_buf_init(w->data, (unsigned)n);
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, written) < 0) {
            free(w);
            conn_close(c);
        }
    }
}

static void send_text(conn_t *c, const char *text, size_t len) {
    SSL_write(c->ssl, text, (int)len);
    flush(c);
}

/* The response of the domain's policy host, as its model draws it. */
static void respond(conn_t *c) {
    const farm_domain_t *d = &c->dom;
    char body[4096], head[512];
    c->answered = 1;
    farm_sts_policy(d, body, sizeof(body));
    const char *text = body;
    switch (d->sts_fault) {
    case FARM_SF_404:
        snprintf(head, sizeof(head),
                 "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                 "Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n");
        send_text(c, head, strlen(head));
        return;
    case FARM_SF_REDIRECT:
        snprintf(head, sizeof(head),
                 "HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.%s/.well-known/"
                 "mta-sts.txt\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                 d->name);
        send_text(c, head, strlen(head));
        return;
    case FARM_SF_OVERSIZE: {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                 "Connection: close\r\n\r\n",
                 OVERSIZE);
        send_text(c, head, strlen(head));
        char pad[1024];
        memset(pad, '#', sizeof(pad));
        for (int i = 0; i < OVERSIZE / (int)sizeof(pad); i++)
            send_text(c, pad, sizeof(pad));
        return;
    }
    case FARM_SF_MALFORMED:
        text = strchr(body, '\n') + 1; /* without its version line */
        break;
    default:
        break;
    }
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
             "%zu\r\nConnection: close\r\n\r\n",
             strlen(text));
    send_text(c, head, strlen(head));
    send_text(c, text, strlen(text));
}

/* Handshake, then the request: answered once its header has come. */
static void advance(conn_t *c) {
    if (!SSL_is_init_finished(c->ssl)) {
        int rc = SSL_do_handshake(c->ssl);
        flush(c);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                conn_close(c);
            return;
        }
    }
    int n;
    while (!c->answered && c->req_len < REQ_MAX &&
           (n = SSL_read(c->ssl, c->req + c->req_len, (int)(REQ_MAX - 1 - c->req_len))) > 0) {
        c->req_len += (size_t)n;
        c->req[c->req_len] = 0;
        if (strstr(c->req, "\r\n\r\n"))
            respond(c);
    }
    flush(c);
}

static void on_idle(uv_timer_t *t) {
    conn_close(t->data);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    static char in[16384]; /* copied into the BIO at once; one loop per process */
    (void)h;
    (void)suggested;
    buf->base = in;
    buf->len = sizeof(in);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    conn_t *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->closing || n == 0)
        return;
    BIO_write(c->rbio, buf->base, (int)n);
    advance(c);
}

/* The policy host that ADDR is, as a host of the certificate maker: its name and certificate
 * as the domain's fault says. */
static void policy_host(const farm_domain_t *d, farm_host_t *h) {
    memset(h, 0, sizeof(*h));
    h->tls = FARM_TLS13;
    h->group = FARM_GROUP_X25519;
    h->key = FARM_KEY_P256;
    h->intermediate = 1;
    h->cert = d->sts_fault == FARM_SF_CERT_EXPIRED      ? FARM_CERT_EXPIRED
              : d->sts_fault == FARM_SF_CERT_WRONG_NAME ? FARM_CERT_WRONG_NAME
                                                        : FARM_CERT_VALID;
    snprintf(h->name, sizeof(h->name), "mta-sts.%.240s", d->name);
}

static void on_connection(uv_stream_t *server, int status) {
    farm_https_t *s = server->data;
    struct sockaddr_storage local;
    int len = sizeof(local);
    farm_host_t h;
    X509 *leaf, *chain;
    EVP_PKEY *key;
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
    long i = -1;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0 &&
        uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&local, &len) == 0 &&
        local.ss_family == AF_INET)
        i = farm_sts_domain(s->farm, ntohl(((struct sockaddr_in *)&local)->sin_addr.s_addr));
    if (i >= 0)
        farm_domain(s->farm, (uint32_t)i, &c->dom);
    if (i < 0 || c->dom.sts == FARM_STS_NONE) {
        conn_close(c); /* not a policy host */
        return;
    }
    policy_host(&c->dom, &h);
    SSL_CTX *ctx = farm_certs_ctx(s->certs, &h);
    if (!ctx || farm_certs_leaf(s->certs, &h, &leaf, &key, &chain) < 0 ||
        !(c->ssl = SSL_new(ctx))) {
        conn_close(c);
        return;
    }
    s->accepted++;
    SSL_use_certificate(c->ssl, leaf);
    SSL_use_PrivateKey(c->ssl, key);
    if (chain)
        SSL_add1_chain_cert(c->ssl, chain);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_accept_state(c->ssl);
    uv_timer_start(&c->timer, on_idle, IDLE_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

int farm_https_start(farm_https_t *s, uv_loop_t *loop, const farm_t *farm, farm_certs_t *certs,
                     const struct sockaddr *addr) {
    s->loop = loop;
    s->farm = farm;
    s->certs = certs;
    int rc = farm_tcp_listen(loop, &s->listener, addr, 1024, on_connection);
    s->listener.data = s; /* read by the first accept, from the loop */
    return rc;
}

void farm_https_stop(farm_https_t *s) {
    uv_close((uv_handle_t *)&s->listener, NULL);
}
