/* The MTA-STS policy fetch (mxtls/sts_fetch.h). One heap object per fetch embeds its TCP
 * handle, timer and connect request, the TLS connection and the response reader; it is freed in
 * the last close callback. The request goes out only once the certificate has been verified:
 * a sender would not read a policy from a host it cannot authenticate (RFC 8461 section 3.3),
 * and neither does the survey. */
#include "mxtls/sts_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/http.h"
#include "mxtls/record.h"

enum { F_CONNECT, F_TLS, F_HTTP };

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    const mx_sts_fetch_config_t *cfg;
    mx_sts_fetch_cb cb;
    void *ud;
    mx_tls_conn_t *tls;
    mx_http_resp_t resp;
    mx_sts_fetch_result_t res;
    uint64_t t0, deadline;
    int state, done, handles;
    void *prev, *next; /* in the config's set */
    char host[300];
} fetch_t;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    char data[];
} wreq_t;

static void set_unlink(fetch_t *f) {
    mx_sts_fetch_set_t *set = f->cfg->set;
    if (!set)
        return;
    if (f->prev)
        ((fetch_t *)f->prev)->next = f->next;
    else if (set->head == f)
        set->head = f->next;
    if (f->next)
        ((fetch_t *)f->next)->prev = f->prev;
    f->prev = f->next = NULL;
}

static void on_closed(uv_handle_t *h) {
    fetch_t *f = h->data;
    if (--f->handles > 0)
        return;
    mx_tls_conn_free(f->tls);
    mx_http_resp_free(&f->resp);
    free(f);
}

/* What the response says, once it is complete. */
static const char *judge(fetch_t *f) {
    mx_http_resp_t *r = &f->resp;
    f->res.http_code = r->code;
    if (r->code >= 300 && r->code < 400)
        return "http_redirect";
    if (r->code != 200)
        return "http_status";
    if (!r->text_plain)
        return "content_type";
    mx_sts_policy_parse(r->body ? r->body : "", r->body_len, &f->res.pol);
    return f->res.pol.status;
}

/* Closes F's handles (it is freed in the last close callback), without a result. */
static void close_all(fetch_t *f) {
    f->done = 1;
    set_unlink(f);
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->tcp, on_closed);
    uv_close((uv_handle_t *)&f->timer, on_closed);
}

static void finish(fetch_t *f, const char *status) {
    if (f->done)
        return;
    f->res.status = status;
    f->res.t_total_ms = (int64_t)(uv_now(f->timer.loop) - f->t0);
    close_all(f); /* the result stays valid until the close callbacks run */
    f->cb(f->ud, &f->res);
}

void mx_sts_fetch_abort_all(mx_sts_fetch_set_t *set, void (*forget)(void *ud)) {
    while (set->head) {
        fetch_t *f = set->head;
        close_all(f);
        if (forget)
            forget(f->ud);
    }
}

static void on_timeout(uv_timer_t *t) {
    fetch_t *f = t->data;
    finish(f, f->state == F_CONNECT ? "connect_timeout" : "timeout");
}

/* The read timeout from now, never past the deadline. */
static void arm(fetch_t *f, uint64_t ms) {
    uint64_t now = uv_now(f->timer.loop), left = f->deadline > now ? f->deadline - now : 0;
    uv_timer_start(&f->timer, on_timeout, ms < left ? ms : left, 0);
}

static void on_written(uv_write_t *req, int status) {
    (void)status; /* a failed write shows as a read error or a close */
    free(req);
}

static int tls_send(void *ud, const void *data, size_t len) {
    fetch_t *f = ud;
    wreq_t *w = malloc(sizeof(*w) + len);
    if (!w)
        return MX_E_NOMEM;
    memcpy(w->data, data, len);
    w->buf = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&f->tcp, &w->buf, 1, on_written);
    if (rc < 0)
        free(w);
    return rc;
}

/* The handshake is done: the certificate must verify for the policy host before the GET. */
static void send_request(fetch_t *f) {
    mx_cert_summary_t *c = mx_tls_conn_take_cert(f->tls);
    const char *bad = !c || strcmp(c->valid, "ok") != 0 ? "cert_invalid"
                      : !c->name_match                  ? "cert_name"
                                                        : NULL;
    free(c);
    if (bad) {
        finish(f, bad);
        return;
    }
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\nUser-Agent: mxtls "
                     "(MTA-STS survey)\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
                     f->host);
    f->state = F_HTTP;
    if (mx_tls_conn_write(f->tls, req, (size_t)n) < 0)
        finish(f, "tls");
}

/* Plaintext that arrived, into the response reader. */
static void read_http(fetch_t *f) {
    char buf[4096];
    for (;;) {
        ssize_t n = mx_tls_conn_read(f->tls, buf, sizeof(buf));
        if (n == MX_TLS_AGAIN)
            return;
        int rc = n > 0                  ? mx_http_resp_feed(&f->resp, buf, (size_t)n)
                 : n == MX_TLS_E_CLOSED ? mx_http_resp_end(&f->resp)
                                        : MX_HTTP_FAIL;
        if (rc == MX_HTTP_DONE) {
            finish(f, judge(f));
            return;
        }
        if (rc == MX_HTTP_FAIL) {
            finish(f, f->resp.error ? f->resp.error : "tls");
            return;
        }
        if (n <= 0)
            return;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    fetch_t *f = h->data;
    size_t len = 0;
    (void)suggested;
    mx_tls_conn_reserve(f->tls, &buf->base, &len);
    buf->len = len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    fetch_t *f = s->data;
    (void)buf;
    if (f->done || n == 0)
        return;
    if (n < 0) { /* the close, or a reset */
        if (f->state == F_HTTP && n == UV_EOF) {
            int rc = mx_http_resp_end(&f->resp);
            finish(f, rc == MX_HTTP_DONE ? judge(f) : f->resp.error);
        } else
            finish(f, f->state == F_HTTP ? "http_truncated" : "tls");
        return;
    }
    mx_tls_conn_commit(f->tls, (size_t)n);
    if (f->state == F_TLS) {
        int rc = mx_tls_conn_step(f->tls);
        if (rc == MX_TLS_E_FAIL) {
            finish(f, "tls");
            return;
        }
        if (rc == MX_TLS_AGAIN) {
            arm(f, f->cfg->timeout_read_ms);
            return;
        }
        send_request(f);
        if (f->done)
            return;
    }
    read_http(f);
    if (!f->done)
        arm(f, f->cfg->timeout_read_ms);
}

static void on_connect(uv_connect_t *req, int status) {
    fetch_t *f = req->data;
    if (f->done)
        return;
    if (status < 0) { /* no local port or buffer is the scanner's trouble, not the host's */
        finish(f, mx_err_local_shortage(status) ? MX_LOCAL_OVERLOAD
                  : status == UV_ECONNREFUSED   ? "connect_refused"
                  : status == UV_ETIMEDOUT      ? "connect_timeout"
                                                : "connect_error");
        return;
    }
    f->state = F_TLS;
    if (!(f->tls = mx_tls_conn_new(f->cfg->tls, f->host, 0, tls_send, f))) {
        finish(f, MX_LOCAL_OVERLOAD); /* out of memory */
        return;
    }
    if (uv_read_start((uv_stream_t *)&f->tcp, on_alloc, on_read) < 0 ||
        mx_tls_conn_step(f->tls) == MX_TLS_E_FAIL) {
        finish(f, "tls");
        return;
    }
    arm(f, f->cfg->timeout_read_ms);
}

int mx_sts_fetch_start(uv_loop_t *loop, const mx_sts_fetch_config_t *cfg, const char *domain,
                       const struct sockaddr *addr, mx_sts_fetch_cb cb, void *ud) {
    struct sockaddr_storage sa;
    fetch_t *f = calloc(1, sizeof(*f));
    if (!f)
        return MX_E_NOMEM;
    f->cfg = cfg;
    f->cb = cb;
    f->ud = ud;
    snprintf(f->host, sizeof(f->host), "mta-sts.%s", domain);
    mx_http_resp_init(&f->resp, MX_STS_POLICY_MAX);
    memcpy(&sa, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    ((struct sockaddr_in *)&sa)->sin_port = htons(cfg->port); /* same place in sockaddr_in6 */
    int rc = uv_tcp_init_ex(loop, &f->tcp, sa.ss_family);
    if (rc < 0) {
        free(f);
        return rc;
    }
    uv_timer_init(loop, &f->timer);
    f->tcp.data = f->timer.data = f->creq.data = f;
    f->handles = 2;
    f->t0 = uv_now(loop);
    f->deadline = f->t0 + cfg->deadline_ms;
    if ((rc = uv_tcp_connect(&f->creq, &f->tcp, (struct sockaddr *)&sa, on_connect)) < 0) {
        close_all(f); /* no callback: the caller has the error */
        return rc;
    }
    if (cfg->set) {
        f->next = cfg->set->head;
        if (f->next)
            ((fetch_t *)f->next)->prev = f;
        cfg->set->head = f;
    }
    uv_timer_start(&f->timer, on_timeout, cfg->timeout_connect_ms, 0);
    return 0;
}
