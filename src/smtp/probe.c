/* The probe's libuv driver (mxtls/probe.h): the connection, the timer and the handshake gate
 * of one SMTP session (mxtls/session.h).
 *
 * One heap object per probe embeds its TCP handle, timer, connect request and gate entry;
 * callbacks recover it from the handles' data. It is freed in the last close callback, so the
 * result the session delivered stays valid through the caller's callback. */
#include "mxtls/probe.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mxtls/error.h"
#include "mxtls/session.h"

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    mx_gate_entry_t entry;
    mx_gate_t *gate;
    mx_probe_set_t *set;
    void *prev, *next; /* in SET */
    void *ud;          /* the caller's, for mx_probe_abort_all() */
    mx_session_t *s;
    struct sockaddr_storage addr;
    int handles;          /* open handles; the probe is freed when the last one closes */
    int tcp_open;         /* the TCP handle is initialised and not closing */
    int deferred;         /* the timer was put off once for input waiting in the socket */
    uint64_t short_since; /* the legacy redial has waited for a descriptor since (loop ms) */
} probe_t;

/* How long, and how often, the legacy probe's second dial waits for a descriptor another
 * probe gives back: the first connection's was freed just before, and may have been taken. */
#define REDIAL_PATIENCE_MS 1000
#define REDIAL_RETRY_MS 20

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    char data[];
} wreq_t;

static void set_unlink(probe_t *p) {
    if (!p->set)
        return;
    if (p->prev)
        ((probe_t *)p->prev)->next = p->next;
    else
        p->set->head = p->next;
    if (p->next)
        ((probe_t *)p->next)->prev = p->prev;
    p->set = NULL;
}

static void on_closed(uv_handle_t *h) {
    probe_t *p = h->data;
    if (--p->handles > 0)
        return;
    set_unlink(p);
    mx_session_free(p->s);
    free(p);
}

void mx_probe_abort_all(mx_probe_set_t *set, void (*forget)(void *ud)) {
    for (probe_t *p = set->head; p; p = p->next) {
        if (mx_session_done(p->s))
            continue; /* its result went out: the caller has its UD back */
        mx_session_abort(p->s);
        if (forget)
            forget(p->ud);
    }
}

static void on_written(uv_write_t *req, int status) {
    probe_t *p = req->handle->data;
    free(req);
    if (status < 0)
        mx_session_write_failed(p->s, status);
}

static int io_send(void *io, const void *data, size_t len) {
    probe_t *p = io;
    wreq_t *w = malloc(sizeof(*w) + len);
    if (!w)
        return MX_E_NOMEM;
    memcpy(w->data, data, len);
    w->buf = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&p->tcp, &w->buf, 1, on_written);
    if (rc < 0)
        free(w);
    return rc;
}

/* 1 when the socket holds bytes (or the end) not yet read. A loop busy for seconds with other
 * connections runs its timers before its I/O, so a reply that arrived in time may still be
 * waiting in the socket when the timer fires: that is not a timeout. */
static int input_waiting(probe_t *p) {
    uv_os_fd_t fd;
    char c;
    if (mx_session_connecting(p->s) || !p->tcp_open || uv_fileno((uv_handle_t *)&p->tcp, &fd) < 0)
        return 0;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static void on_timeout(uv_timer_t *t) {
    probe_t *p = t->data;
    if (!p->deferred && uv_now(t->loop) < mx_session_deadline(p->s) && input_waiting(p)) {
        /* Once per arming, and never past the deadline: let the I/O phase read it first. */
        p->deferred = 1;
        uv_timer_start(&p->timer, on_timeout, 1, 0);
        return;
    }
    mx_session_timeout(p->s);
}

static void io_arm(void *io, uint64_t ms) {
    probe_t *p = io;
    p->deferred = 0;
    uv_timer_start(&p->timer, on_timeout, ms, 0);
}

static uint64_t io_now(void *io) {
    return uv_now(((probe_t *)io)->timer.loop);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    probe_t *p = h->data;
    size_t len;
    (void)suggested;
    mx_session_reserve(p->s, &buf->base, &len);
    buf->len = len;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    mx_session_received(((probe_t *)stream->data)->s, n);
}

static void on_connect(uv_connect_t *req, int status) {
    probe_t *p = req->data;
    if (mx_session_done(p->s))
        return;
    if (status == 0)
        uv_tcp_nodelay(&p->tcp, 1);
    mx_session_connected(p->s, status);
    if (status == 0 && !mx_session_done(p->s) &&
        (status = uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read)) < 0)
        mx_session_received(p->s, status); /* recorded as a read error */
}

static void redial_later(uv_timer_t *t);

static int dial(probe_t *p, uv_loop_t *loop) {
    int rc = uv_tcp_init_ex(loop, &p->tcp, p->addr.ss_family);
    if (rc < 0)
        return rc;
    p->tcp.data = p;
    p->tcp_open = 1;
    p->handles++;
    rc = uv_tcp_connect(&p->connect_req, &p->tcp, (struct sockaddr *)&p->addr, on_connect);
    return rc;
}

static void redial(probe_t *p) {
    uv_loop_t *loop = p->timer.loop;
    int rc = dial(p, loop);
    uint64_t now = uv_now(loop);
    if (rc < 0 && !p->tcp_open && mx_err_local_shortage(rc) &&
        now - p->short_since < REDIAL_PATIENCE_MS) {
        uv_timer_start(&p->timer, redial_later, REDIAL_RETRY_MS, 0);
        return;
    }
    mx_session_waited_locally(p->s, now - p->short_since);
    if (rc < 0) {
        mx_session_connected(p->s, rc);
        return;
    }
    mx_session_start(p->s);
}

static void redial_later(uv_timer_t *t) {
    redial(t->data);
}

static void redial_closed(uv_handle_t *h) {
    probe_t *p = h->data;
    if (mx_session_done(p->s)) { /* ended meanwhile: nothing to dial for */
        on_closed(h);
        return;
    }
    p->handles--;
    p->short_since = uv_now(p->timer.loop);
    redial(p);
}

static void io_redial(void *io) {
    probe_t *p = io;
    uv_timer_stop(&p->timer);
    uv_read_stop((uv_stream_t *)&p->tcp);
    p->tcp_open = 0;
    uv_close((uv_handle_t *)&p->tcp, redial_closed);
}

static void io_close(void *io) {
    probe_t *p = io;
    uv_close((uv_handle_t *)&p->timer, on_closed);
    if (p->tcp_open) {
        p->tcp_open = 0;
        uv_close((uv_handle_t *)&p->tcp, on_closed);
    }
}

static probe_t *of_entry(mx_gate_entry_t *e) {
    return (probe_t *)((char *)e - offsetof(probe_t, entry));
}

static void on_admit(mx_gate_entry_t *e) {
    mx_session_admitted(of_entry(e)->s);
}

static void on_work(mx_gate_entry_t *e) {
    mx_session_work(of_entry(e)->s);
}

static int io_gate_enter(void *io) {
    probe_t *p = io;
    return mx_gate_enter(p->gate, &p->entry);
}

static void io_gate_ready(void *io) {
    probe_t *p = io;
    mx_gate_ready(p->gate, &p->entry);
}

static void io_gate_unready(void *io) {
    probe_t *p = io;
    mx_gate_unready(p->gate, &p->entry);
}

static void io_gate_leave(void *io) {
    probe_t *p = io;
    mx_gate_leave(p->gate, &p->entry);
}

static void io_gate_coming(void *io, int delta) {
    probe_t *p = io;
    mx_gate_coming(p->gate, delta);
}

static void on_release(mx_gate_entry_t *e) {
    mx_session_released(of_entry(e)->s);
}

static void io_gate_hold(void *io) {
    probe_t *p = io;
    mx_gate_hold(p->gate, &p->entry);
}

static void io_gate_unhold(void *io) {
    probe_t *p = io;
    mx_gate_unhold(p->gate, &p->entry);
}

static const mx_session_io_t gated_io = {
    io_send,       io_arm,          io_redial,     io_close,       io_now,       io_gate_enter,
    io_gate_ready, io_gate_unready, io_gate_leave, io_gate_coming, io_gate_hold, io_gate_unhold};
static const mx_session_io_t plain_io = {io_send, io_arm, io_redial, io_close, io_now, NULL,
                                         NULL,    NULL,   NULL,      NULL,     NULL,   NULL};

int mx_probe_start(uv_loop_t *loop, const mx_probe_config_t *cfg, const char *mx_host,
                   const struct sockaddr *addr, const mx_tlsa_set_t *tlsa, mx_probe_cb cb,
                   void *ud) {
    probe_t *p = calloc(1, sizeof(*p));
    int rc;
    if (!p ||
        !(p->s = mx_session_new(cfg, cfg->gate ? &gated_io : &plain_io, p, mx_host, cb, ud)) ||
        (tlsa && mx_session_set_tlsa(p->s, tlsa) < 0)) {
        if (p)
            mx_session_free(p->s);
        free(p);
        return MX_E_NOMEM;
    }
    p->gate = cfg->gate;
    p->ud = ud;
    p->entry.admit = on_admit;
    p->entry.work = on_work;
    p->entry.release = on_release;
    memcpy(&p->addr, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    uv_timer_init(loop, &p->timer);
    p->timer.data = p->connect_req.data = p;
    p->handles = 1;
    if ((rc = dial(p, loop)) < 0) {
        /* Started nothing: close quietly, no callback (the caller gets the error). */
        mx_session_free(p->s);
        p->s = NULL;
        uv_close((uv_handle_t *)&p->timer, on_closed);
        if (p->tcp_open)
            uv_close((uv_handle_t *)&p->tcp, on_closed);
        return rc;
    }
    if ((p->set = cfg->set)) {
        p->next = p->set->head;
        if (p->next)
            ((probe_t *)p->next)->prev = p;
        p->set->head = p;
    }
    mx_session_start(p->s);
    return 0;
}
