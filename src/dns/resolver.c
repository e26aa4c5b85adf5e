/* The DNS stage (mxtls/dns.h).
 *
 * c-ares runs on the worker's libuv loop: its socket-state callback opens, changes and closes a
 * uv_poll per socket, and one uv_timer follows ares_timeout(). Queries beyond the in-flight cap
 * wait in a FIFO. A domain is a job: its MX query, then one lookup per MX host through the
 * host cache; the job completes when its last host lookup does. SERVFAIL and REFUSED are
 * answers to record (ARES_FLAG_NOCHECKRESP), not reasons to try every server. */
#include "mxtls/dns.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "dns/dns_int.h"
#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/table.h"

typedef struct job job_t;
typedef struct host host_t;

/* A job waiting for a host lookup: which MX entry of which job. */
typedef struct waiter {
    job_t *job;
    int mx;
    struct waiter *next;
} waiter_t;

/* An MX host as a job collects it: fixed slots, since a job lives only while it resolves. */
/* Records kept of one TXT or TLSA answer: length-prefixed RDATA (dns_int.h). */
typedef struct {
    const char *status; /* NULL: not asked; "ok"; or the failure token */
    int ad, n;
    size_t len;
    uint8_t data[MX_DNS_RDATA_MAX];
} rdata_t;

typedef struct {
    uint16_t pref;
    char host[256];
    const char *status;
    int naddrs, nprobe;
    char addrs[MX_DNS_MAX_ADDRS][46];
    rdata_t *tlsa; /* the host's, copied at its size (with --policy) */
} job_mx_t;

typedef struct {
    const char *status;
    int nmx, mx_ad;
    job_mx_t *mx;
    rdata_t *sts, *rpt;   /* with --policy, TXT at _mta-sts and _smtp._tls at their records' size
                           * once answered: the read-ahead keeps tens of thousands of jobs */
    const char *sts_host; /* the policy host's A lookup: NULL when not asked */
    char sts_addr[46];    /* its first address */
} job_result_t;

struct host {
    mx_dns_t *dns;
    char *name;
    const char *status; /* NULL while in flight */
    int naddrs;
    char (*addrs)[46];
    int pending; /* queries outstanding (A, AAAA, TLSA) */
    waiter_t *waiters;
    rdata_t *tlsa; /* with --policy (DANE), allocated to its records' size (the cache holds
                    * every MX host of a scan); NULL until answered */
};

struct job {
    mx_dns_t *d;
    job_t *next_done; /* in the delivery queue */
    char *domain;
    mx_dns_cb cb;
    void *ud;
    job_result_t res;
    int pending; /* host lookups outstanding */
    int implicit_pending;
};

typedef struct query {
    char *name;
    int type;
    ares_callback cb;
    void *arg;
    struct query *next;
} query_t;

typedef struct {
    uv_poll_t poll;
    ares_socket_t fd;
    mx_dns_t *d;
} sock_t;

struct mx_dns {
    uv_loop_t *loop;
    ares_channel channel;
    mx_dns_config_t cfg;
    uv_timer_t timer;
    sock_t **socks;
    size_t nsocks, capsocks;
    query_t *qhead, *qtail;
    mx_table_t hosts; /* host_t *, by name: the scan's cache of MX hosts */
    int closing, handles;
    uv_idle_t deliver; /* completed jobs are handed back from the loop, never from inside a
                        * call (c-ares may answer synchronously: no server reachable) */
    job_t *done_head, *done_tail;
    mx_dns_stats_t st;
    rdata_t scratch; /* a TXT or TLSA answer as it is read, before it is kept at its size */
};

/* ---- c-ares on libuv ---- */

static void arm_timer(mx_dns_t *d);

static void on_poll(uv_poll_t *p, int status, int events) {
    sock_t *s = p->data;
    ares_socket_t r = ARES_SOCKET_BAD, w = ARES_SOCKET_BAD;
    if (status < 0 || (events & UV_READABLE))
        r = s->fd;
    if (status < 0 || (events & UV_WRITABLE))
        w = s->fd;
    mx_dns_t *d = s->d;
    ares_process_fd(d->channel, r, w);
    arm_timer(d);
}

static void poll_closed(uv_handle_t *h) {
    sock_t *s = h->data;
    mx_dns_t *d = s->d;
    free(s);
    if (--d->handles == 0 && d->closing)
        free(d);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable) {
    mx_dns_t *d = data;
    size_t i;
    for (i = 0; i < d->nsocks; i++)
        if (d->socks[i]->fd == fd)
            break;
    if (!readable && !writable) {
        if (i < d->nsocks) {
            sock_t *s = d->socks[i];
            d->socks[i] = d->socks[--d->nsocks];
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, poll_closed);
        }
        return;
    }
    if (i == d->nsocks) {
        if (d->nsocks == d->capsocks) {
            size_t cap = d->capsocks ? d->capsocks * 2 : 8;
            sock_t **n = realloc(d->socks, cap * sizeof(*n));
            if (!n)
                return;
            d->socks = n;
            d->capsocks = cap;
        }
        sock_t *s = calloc(1, sizeof(*s));
        if (!s || uv_poll_init_socket(d->loop, &s->poll, fd) < 0) {
            free(s);
            return;
        }
        /* c-ares asked for 8 MiB and got net.core.rmem_max (208 KiB by default: a few hundred
         * answers, a moment's worth when the loop is late). Where the process may pass that
         * cap (CAP_NET_ADMIN), answers a busy loop has not read yet wait instead of being
         * dropped and written as timeouts. */
        int size = 8 * 1024 * 1024;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
        s->fd = fd;
        s->d = d;
        s->poll.data = s;
        d->handles++;
        d->socks[d->nsocks++] = s;
    }
    uv_poll_start(&d->socks[i]->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  on_poll);
}

/* c-ares's timeouts are served by a steady tick while queries are in flight, not by
 * ares_timeout() after every event: in c-ares 1.18 that call walks every query in flight, and
 * with thousands of them it took half of the stage's CPU. A 50 ms tick is precise enough for
 * timeouts of seconds. */
#define TICK_MS 50

/* Reads the answers waiting in the sockets before c-ares expires queries. After the process
 * has been held up (its CPUs busy, a stop), libuv runs due timers before it polls for input,
 * and a query whose answer sat in the socket all along would be taken for the server's
 * timeout: the scanner's stall written as someone else's. One ares_process() reads every
 * socket before it looks at timeouts; a descriptor past FD_SETSIZE, which fd_set cannot hold,
 * is read on its own (its timeouts looked at after it). */
static void read_waiting(mx_dns_t *d) {
    struct pollfd pf[64];
    size_t n = 0;
    for (size_t i = 0; i < d->nsocks && n < 64; i++)
        pf[n++] = (struct pollfd){.fd = d->socks[i]->fd, .events = POLLIN};
    if (n == 0 || poll(pf, n, 0) <= 0)
        return;
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        if (pf[i].fd < FD_SETSIZE) {
            FD_SET(pf[i].fd, &rd);
            any = 1;
        } else {
            ares_process_fd(d->channel, pf[i].fd, ARES_SOCKET_BAD);
        }
    }
    if (any)
        ares_process(d->channel, &rd, &wr);
}

static void on_timer(uv_timer_t *t) {
    mx_dns_t *d = t->data;
    read_waiting(d);
    ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    if (!d->st.inflight)
        uv_timer_stop(&d->timer);
}

static void arm_timer(mx_dns_t *d) {
    if (!d->closing && d->st.inflight && !uv_is_active((uv_handle_t *)&d->timer))
        uv_timer_start(&d->timer, on_timer, TICK_MS, TICK_MS);
}

/* ---- queries, within the in-flight cap ---- */

typedef struct {
    mx_dns_t *d;
    ares_callback cb;
    void *arg;
    char name[256];
} qctx_t;

/* With ARES_FLAG_NOCHECKRESP c-ares also passes on answers to another question; an answer must
 * be about the name asked, or it is not an answer (and not data to record). */
static int same_question(const unsigned char *abuf, int alen, const char *name) {
    char *qname = NULL;
    long len = 0;
    if (!abuf || alen < 12 || ((abuf[4] << 8) | abuf[5]) != 1)
        return 0;
    if (ares_expand_name(abuf + 12, abuf, alen, &qname, &len) != ARES_SUCCESS)
        return 0;
    int same = strcasecmp(qname, strcmp(name, ".") ? name : "") == 0; /* the root: "" */
    ares_free_string(qname);
    return same;
}

static void drain(mx_dns_t *d);

/* What ares_query() makes of an answer's RCODE and answer count, which ares_send() (used to set
 * the AD bit) leaves to the caller. */
static int answer_status(const unsigned char *abuf, int alen) {
    if (alen < 12)
        return ARES_EBADRESP;
    switch (abuf[3] & 0x0F) {
    case 0:
        return (abuf[6] << 8 | abuf[7]) ? ARES_SUCCESS : ARES_ENODATA;
    case 1:
        return ARES_EFORMERR;
    case 2:
        return ARES_ESERVFAIL;
    case 3:
        return ARES_ENOTFOUND;
    case 4:
        return ARES_ENOTIMP;
    case 5:
        return ARES_EREFUSED;
    default:
        return ARES_EBADRESP;
    }
}

static void query_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    qctx_t *q = arg;
    mx_dns_t *d = q->d;
    d->st.inflight--;
    if (abuf && !same_question(abuf, alen, q->name)) {
        status = ARES_EBADRESP;
        abuf = NULL;
        alen = 0;
    }
    if (status == ARES_SUCCESS && abuf)
        status = answer_status(abuf, alen);
    if (status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED)
        d->st.timeouts++; /* refused: the resolver's port is closed, as good as silent */
    else if (status != ARES_EDESTRUCTION && status != ARES_ENOMEM) {
        d->st.answers++;
        d->st.last_answer_ms = uv_now(d->loop);
    }
    q->cb(q->arg, status, timeouts, abuf, alen);
    free(q);
    drain(d);
}

static void send_query(mx_dns_t *d, const char *name, int type, ares_callback cb, void *arg) {
    qctx_t *q = malloc(sizeof(*q));
    if (!q) {
        cb(arg, ARES_ENOMEM, 0, NULL, 0);
        return;
    }
    q->d = d;
    q->cb = cb;
    q->arg = arg;
    snprintf(q->name, sizeof(q->name), "%s", name);
    d->st.inflight++;
    d->st.queries++;
    /* The AD bit set in the query asks a validating resolver to say whether it validated the
     * answer (RFC 6840 section 5.7), without the signatures DO would bring along. */
    unsigned char *buf = NULL;
    int len = 0;
    if (ares_create_query(name, 1 /* C_IN */, type, 0, 1, &buf, &len, 0) != ARES_SUCCESS) {
        query_done(q, ARES_EBADNAME, 0, NULL, 0);
        return;
    }
    buf[3] |= 0x20;
    ares_send(d->channel, buf, len, query_done, q);
    ares_free_string(buf);
    arm_timer(d);
}

static void submit(mx_dns_t *d, const char *name, int type, ares_callback cb, void *arg) {
    if (d->closing) {
        cb(arg, ARES_EDESTRUCTION, 0, NULL, 0);
        return;
    }
    if (d->st.inflight < d->cfg.max_inflight && !d->qhead) {
        send_query(d, name, type, cb, arg);
        return;
    }
    query_t *q = malloc(sizeof(*q));
    if (!q || !(q->name = strdup(name))) {
        free(q);
        cb(arg, ARES_ENOMEM, 0, NULL, 0);
        return;
    }
    q->type = type;
    q->cb = cb;
    q->arg = arg;
    q->next = NULL;
    if (d->qtail)
        d->qtail->next = q;
    else
        d->qhead = q;
    d->qtail = q;
    d->st.queued++;
}

static void drain(mx_dns_t *d) {
    while (d->qhead && d->st.inflight < d->cfg.max_inflight && !d->closing) {
        query_t *q = d->qhead;
        d->qhead = q->next;
        if (!d->qhead)
            d->qtail = NULL;
        d->st.queued--;
        send_query(d, q->name, q->type, q->cb, q->arg);
        free(q->name);
        free(q);
    }
}

/* The schema's token for a failed lookup. */
static const char *failure(int status) {
    switch (status) {
    case ARES_ENOTFOUND:
        return "nxdomain";
    case ARES_ENODATA:
        return "nodata";
    case ARES_ESERVFAIL:
        return "servfail";
    case ARES_EREFUSED:
        return "refused";
    default:
        return "timeout"; /* timeouts, unreachable resolvers, malformed answers */
    }
}

/* ---- jobs ---- */

/* The job's result packed into one allocation; NULL when memory is out. */
/* R's records copied to *P (advanced past them), as the answer describes them; nothing when R
 * was not asked. */
static mx_dns_rdata_t put_rdata(const rdata_t *r, char **p) {
    if (!r)
        return (mx_dns_rdata_t){0};
    mx_dns_rdata_t out = {r->status, (uint8_t)r->ad, (uint8_t)(r->n > 255 ? 255 : r->n),
                          (uint16_t)r->len, (const uint8_t *)*p};
    memcpy(*p, r->data, r->len);
    *p += r->len;
    return out;
}

static mx_dns_answer_t *pack(const job_result_t *res) {
    size_t text =
        (res->sts ? res->sts->len : 0) + (res->rpt ? res->rpt->len : 0) + strlen(res->sts_addr) + 1;
    for (int i = 0; i < res->nmx; i++) {
        text += strlen(res->mx[i].host) + 1 + (res->mx[i].tlsa ? res->mx[i].tlsa->len : 0);
        for (int a = 0; a < res->mx[i].naddrs; a++)
            text += strlen(res->mx[i].addrs[a]) + 1;
    }
    mx_dns_answer_t *ans = malloc(sizeof(*ans) + (size_t)res->nmx * sizeof(ans->mx[0]) + text);
    if (!ans)
        return NULL;
    ans->status = res->status;
    ans->nmx = res->nmx;
    ans->mx_ad = (uint8_t)res->mx_ad;
    char *p = (char *)(ans->mx + res->nmx);
    for (int i = 0; i < res->nmx; i++) {
        const job_mx_t *m = &res->mx[i];
        ans->mx[i] =
            (mx_dns_mx_t){m->status, p, m->pref, (uint8_t)m->naddrs, (uint8_t)m->nprobe, {0}};
        p = stpcpy(p, m->host) + 1;
        for (int a = 0; a < m->naddrs; a++)
            p = stpcpy(p, m->addrs[a]) + 1;
    }
    ans->sts_host = res->sts_host;
    ans->sts_addr = p;
    p = stpcpy(p, res->sts_addr) + 1;
    /* Binary records after every text, so that mx_dns_next() walks texts only. */
    for (int i = 0; i < res->nmx; i++)
        ans->mx[i].tlsa = put_rdata(res->mx[i].tlsa, &p);
    ans->sts = put_rdata(res->sts, &p);
    ans->rpt = put_rdata(res->rpt, &p);
    return ans;
}

static void deliver(uv_idle_t *idle) {
    mx_dns_t *d = idle->data;
    job_t *j = d->done_head;
    d->done_head = d->done_tail = NULL;
    uv_idle_stop(idle);
    while (j) {
        job_t *next = j->next_done;
        j->cb(j->ud, j->domain, pack(&j->res));
        for (int i = 0; i < j->res.nmx; i++)
            free(j->res.mx[i].tlsa);
        free(j->res.mx);
        free(j->res.sts);
        free(j->res.rpt);
        free(j->domain);
        free(j);
        j = next;
    }
}

static void job_done(job_t *j) {
    mx_dns_t *d = j->d;
    j->next_done = NULL;
    if (d->done_tail)
        d->done_tail->next_done = j;
    else
        d->done_head = j;
    d->done_tail = j;
    if (!d->closing)
        uv_idle_start(&d->deliver, deliver);
}

static void job_step(job_t *j) {
    if (--j->pending == 0) {
        j->d->st.domains_pending--;
        job_done(j);
    }
}

/* A copy of R as large as its records (NULL when memory is out): R's data array is sized for
 * the largest answer kept, and most answers hold a few bytes or none. */
static rdata_t *rdata_dup(const rdata_t *r) {
    rdata_t *c = malloc(offsetof(rdata_t, data) + r->len);
    if (c)
        memcpy(c, r, offsetof(rdata_t, data) + r->len);
    return c;
}

/* Copies host H's answer into MX entry I of job J. */
static void fill(job_t *j, int i, const host_t *h) {
    job_mx_t *m = &j->res.mx[i];
    m->status = h->status;
    m->naddrs = h->naddrs;
    if (h->naddrs)
        memcpy(m->addrs, h->addrs, sizeof(m->addrs[0]) * (size_t)h->naddrs);
    m->nprobe = h->naddrs < (int)j->d->cfg.max_addrs ? h->naddrs : (int)j->d->cfg.max_addrs;
    if (h->tlsa) { /* out of memory: left out, as if not asked */
        free(m->tlsa);
        m->tlsa = rdata_dup(h->tlsa);
    }
}

/* Appends the addresses of an A or AAAA answer to H; the array grows to what is needed, since
 * the cache holds every MX host of the scan (most have one or two addresses). */
static void add_addrs(host_t *h, const unsigned char *abuf, int alen, int v6) {
    char text[MX_DNS_MAX_ADDRS][46];
    int got = mx__dns_read_addrs(abuf, alen, v6, text, MX_DNS_MAX_ADDRS);
    if (h->naddrs + got > MX_DNS_MAX_ADDRS)
        got = MX_DNS_MAX_ADDRS - h->naddrs;
    if (got <= 0)
        return;
    char(*grown)[46] = realloc(h->addrs, (size_t)(h->naddrs + got) * sizeof(*grown));
    if (!grown)
        return;
    h->addrs = grown;
    memcpy(h->addrs + h->naddrs, text, (size_t)got * sizeof(text[0]));
    h->naddrs += got;
}

/* Reads a TXT or TLSA answer into R. */
static void read_rdata(rdata_t *r, int type, int status, const unsigned char *abuf, int alen) {
    r->ad = mx__dns_ad(abuf, alen);
    r->len = 0;
    if (status != ARES_SUCCESS) {
        r->status = failure(status);
        r->n = 0;
        return;
    }
    r->n = mx__dns_read_rdata(abuf, alen, type, r->data, sizeof(r->data), &r->len);
    r->status = r->n < 0 ? "servfail" : r->n ? "ok" : "nodata";
    if (r->n < 0)
        r->n = 0;
}

/* A TXT or TLSA answer (TYPE) kept at its records' size, read through the stage's scratch
 * buffer (NULL when memory is out: left out, as if not asked). A name too long to exist is
 * kept as ARES_ENOTFOUND with no answer. */
static rdata_t *kept(mx_dns_t *d, int type, int status, const unsigned char *abuf, int alen) {
    read_rdata(&d->scratch, type, status, abuf, alen);
    return rdata_dup(&d->scratch);
}

static void host_settle(host_t *h);

static void host_tlsa(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    host_t *h = arg;
    (void)timeouts;
    free(h->tlsa);
    h->tlsa = kept(h->dns, 52, status, abuf, alen);
    host_settle(h);
}

static void host_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    host_t *h = arg;
    (void)timeouts;
    if (status == ARES_SUCCESS)
        add_addrs(h, abuf, alen, 0);
    else if (!h->status)
        h->status = failure(status);
    host_settle(h);
}

/* One of H's queries is answered; with the last, its waiters get the host. */
static void host_settle(host_t *h) {
    if (--h->pending)
        return;
    if (h->naddrs)
        h->status = "ok";
    waiter_t *w = h->waiters;
    h->waiters = NULL;
    while (w) {
        waiter_t *next = w->next;
        fill(w->job, w->mx, h);
        job_step(w->job);
        free(w);
        w = next;
    }
}

static void host_answer6(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    host_t *h = arg;
    if (status == ARES_SUCCESS) {
        add_addrs(h, abuf, alen, 1);
        status = ARES_ENODATA; /* addresses counted; the A answer decides the failure token */
    }
    host_answer(h, status == ARES_ENODATA && h->status ? ARES_ENODATA : status, timeouts, NULL, 0);
}

static int same_name(const void *item, const void *name) {
    return strcmp((*(host_t *const *)item)->name, name) == 0;
}

/* Sends H's address queries. */
static void ask_host(mx_dns_t *d, host_t *h) {
    char name[300];
    int tlsa = d->cfg.policy && snprintf(name, sizeof(name), "_25._tcp.%s", h->name) < 254;
    if (d->cfg.policy && !tlsa) { /* a name too long to have TLSA records */
        free(h->tlsa);
        h->tlsa = kept(d, 52, ARES_ENOTFOUND, NULL, 0);
    }
    h->pending = (d->cfg.ipv6 ? 2 : 1) + tlsa;
    if (tlsa) /* first: its answer completes the host, and TLSA is asked once per host */
        submit(d, name, 52 /* TLSA */, host_tlsa, h);
    submit(d, h->name, 1 /* A */, host_answer, h);
    if (d->cfg.ipv6)
        submit(d, h->name, 28 /* AAAA */, host_answer6, h);
}

/* Looks MX entry I of job J up through the cache. */
static void lookup_host(job_t *j, int i) {
    mx_dns_t *d = j->d;
    job_mx_t *m = &j->res.mx[i];
    uint64_t hash = mx_hash(m->host);
    host_t **found = mx_table_find(&d->hosts, hash, same_name, m->host);
    host_t *cached = found ? *found : NULL;
    if (cached && cached->status && !cached->pending && strcmp(cached->status, "timeout") != 0) {
        d->st.cache_hits++;
        fill(j, i, cached);
        job_step(j);
        return;
    }
    waiter_t *w = malloc(sizeof(*w));
    if (!w) {
        m->status = "timeout";
        job_step(j);
        return;
    }
    w->job = j;
    w->mx = i;
    if (cached && cached->pending) { /* in flight: wait on it */
        d->st.cache_hits++;
        w->next = cached->waiters;
        cached->waiters = w;
        return;
    }
    if (cached) { /* it timed out before: ask again */
        cached->status = NULL;
        cached->naddrs = 0;
        w->next = NULL;
        cached->waiters = w;
        ask_host(d, cached);
        return;
    }
    host_t *h = calloc(1, sizeof(*h)), **slot = NULL;
    if (!h || !(h->name = strdup(m->host)) ||

        !(slot = mx_table_add(&d->hosts, hash))) {
        if (h) {
            free(h->name);
            free(h->tlsa);
        }
        free(h);
        free(w);
        m->status = "timeout"; /* out of memory: recorded as the lookup that could not be made */
        job_step(j);
        return;
    }
    *slot = h;
    h->dns = d;
    w->next = NULL;
    h->waiters = w;
    ask_host(d, h);
}

static void ping_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    (void)arg, (void)status, (void)timeouts, (void)abuf, (void)alen;
}

void mx_dns_ping(mx_dns_t *d) {
    submit(d, ".", 2 /* NS of the root */, ping_answer, NULL);
}

static int is_literal(const char *s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void implicit_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    job_t *j = arg;
    job_mx_t *m = &j->res.mx[0];
    host_t tmp = {0};
    (void)timeouts;
    if (status == ARES_SUCCESS) {
        add_addrs(&tmp, abuf, alen, 0);
        for (int i = 0; i < tmp.naddrs && m->naddrs < MX_DNS_MAX_ADDRS; i++)
            memcpy(m->addrs[m->naddrs++], tmp.addrs[i], 46);
        free(tmp.addrs);
    } else if (status != ARES_ENODATA && !m->status) {
        m->status = failure(status);
    }
    if (--j->implicit_pending)
        return;
    if (m->naddrs) {
        j->res.status = "implicit";
        m->status = "ok";
        m->nprobe = m->naddrs < (int)j->d->cfg.max_addrs ? m->naddrs : (int)j->d->cfg.max_addrs;
        j->res.nmx = 1;
    } else {
        /* No MX and no address: nodata, unless the address query itself failed. */
        j->res.status = m->status ? m->status : "nodata";
        if (strcmp(j->res.status, "nxdomain") == 0)
            j->res.status = "nodata"; /* the MX query said the name exists */
        j->res.nmx = 0;
    }
    job_step(j);
}

static void implicit_answer6(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    job_t *j = arg;
    job_mx_t *m = &j->res.mx[0];
    if (status == ARES_SUCCESS) {
        host_t tmp = {0};
        add_addrs(&tmp, abuf, alen, 1);
        for (int i = 0; i < tmp.naddrs && m->naddrs < MX_DNS_MAX_ADDRS; i++)
            memcpy(m->addrs[m->naddrs++], tmp.addrs[i], 46);
        free(tmp.addrs);
        status = ARES_ENODATA;
    }
    implicit_answer(j, status, timeouts, NULL, 0);
}

static void mx_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    job_t *j = arg;
    mx_dns_t *d = j->d;
    (void)timeouts;
    j->res.mx_ad = mx__dns_ad(abuf, alen);
    if (status == ARES_ENODATA) {
        /* RFC 5321 5.1: no MX, so the domain itself is the implicit MX. */
        j->res.mx = calloc(1, sizeof(*j->res.mx));
        if (!j->res.mx) {
            j->res.status = "timeout";
            job_step(j);
            return;
        }
        snprintf(j->res.mx[0].host, sizeof(j->res.mx[0].host), "%s", j->domain);
        j->implicit_pending = d->cfg.ipv6 ? 2 : 1;
        submit(d, j->domain, 1, implicit_answer, j);
        if (d->cfg.ipv6)
            submit(d, j->domain, 28, implicit_answer6, j);
        return;
    }
    mx__dns_mx_t *mx = NULL;
    int n = 0;
    const char *st = status == ARES_SUCCESS ? mx__dns_read_mx(abuf, alen, &mx, &n) : NULL;
    if (status != ARES_SUCCESS || !st || strcmp(st, "mx") != 0) {
        j->res.status = status != ARES_SUCCESS ? failure(status) : st ? st : "timeout";
        job_step(j);
        return;
    }
    j->res.mx = calloc((size_t)n, sizeof(*j->res.mx));
    if (!j->res.mx) {
        free(mx);
        j->res.status = "timeout";
        job_step(j);
        return;
    }
    for (int k = 0; k < n; k++) {
        j->res.mx[k].pref = mx[k].pref;
        memcpy(j->res.mx[k].host, mx[k].host, sizeof(mx[k].host));
    }
    free(mx);
    j->res.nmx = n;
    j->res.status = "mx";
    for (int i = 0; i < n; i++) {
        job_mx_t *m = &j->res.mx[i];
        if (i >= (int)d->cfg.max_mx) {
            m->status = "skipped";
            continue;
        }
        if (is_literal(m->host)) {
            m->status = "ip_literal";
            snprintf(m->addrs[0], 46, "%.45s", m->host);
            m->naddrs = m->nprobe = 1;
            continue;
        }
        j->pending++;
        lookup_host(j, i);
    }
    job_step(j);
}

static void sts_host_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    job_t *j = arg;
    char addr[1][46];
    (void)timeouts;
    if (status != ARES_SUCCESS)
        j->res.sts_host = failure(status);
    else if (mx__dns_read_addrs(abuf, alen, 0, addr, 1) < 1)
        j->res.sts_host = "nodata";
    else {
        j->res.sts_host = "ok";
        memcpy(j->res.sts_addr, addr[0], sizeof(addr[0]));
    }
    job_step(j);
}

/* Whether the TXT records R hold one that begins as an MTA-STS record does: the policy host is
 * then looked up at once (whether the record is valid is the reader's to say). */
static int has_sts_record(const rdata_t *r) {
    for (size_t at = 0; r && r->status && !strcmp(r->status, "ok") && at + 2 <= r->len;) {
        size_t len = (size_t)r->data[at] << 8 | r->data[at + 1];
        if (len >= 7 && !memcmp(r->data + at + 2, "v=STSv1", 7))
            return 1;
        at += 2 + len;
    }
    return 0;
}

static void sts_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    job_t *j = arg;
    char name[300];
    (void)timeouts;
    j->res.sts = kept(j->d, 16, status, abuf, alen);
    if (has_sts_record(j->res.sts) && snprintf(name, sizeof(name), "mta-sts.%s", j->domain) < 254) {
        j->pending++;
        submit(j->d, name, 1 /* A */, sts_host_answer, j);
    }
    job_step(j);
}

static void rpt_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
    job_t *j = arg;
    (void)timeouts;
    j->res.rpt = kept(j->d, 16, status, abuf, alen);
    job_step(j);
}

/* The TXT question PREFIX.DOMAIN for J into *R, answered through CB. */
static void ask_txt(job_t *j, const char *prefix, rdata_t **r, ares_callback cb) {
    char name[300];
    if (snprintf(name, sizeof(name), "%s.%s", prefix, j->domain) >= 254) {
        *r = kept(j->d, 16, ARES_ENOTFOUND, NULL, 0); /* a name too long to exist */
        return;
    }
    j->pending++;
    submit(j->d, name, 16 /* TXT */, cb, j);
}

int mx_dns_resolve(mx_dns_t *d, const char *domain, mx_dns_cb cb, void *ud) {
    job_t *j = calloc(1, sizeof(*j));
    if (!j || !(j->domain = strdup(domain))) {
        free(j);
        return MX_E_NOMEM;
    }
    j->d = d;
    j->cb = cb;
    j->ud = ud;
    j->pending = 1; /* the MX query itself */
    d->st.domains_pending++;
    /* The policy records are asked beside the MX, not after it: a domain's answer then waits
     * for one round trip, not two. */
    if (d->cfg.policy) {
        ask_txt(j, "_mta-sts", &j->res.sts, sts_answer);
        ask_txt(j, "_smtp._tls", &j->res.rpt, rpt_answer);
    }
    submit(d, domain, 15 /* MX */, mx_answer, j);
    return 0;
}

int mx_dns_new(mx_dns_t **out, uv_loop_t *loop, const mx_dns_config_t *cfg, char *err,
               size_t errlen) {
    static int initialised;
    struct ares_options o;
    mx_dns_t *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!initialised && ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS)
        initialised = 1;
    d->loop = loop;
    mx_table_init(&d->hosts, sizeof(host_t *));
    d->cfg = *cfg;
    if (!d->cfg.max_inflight)
        d->cfg.max_inflight = 2000;
    memset(&o, 0, sizeof(o));
    o.flags = ARES_FLAG_NOCHECKRESP;
    o.timeout = (int)(cfg->timeout_ms ? cfg->timeout_ms : 2000);
    o.tries = (int)(cfg->tries ? cfg->tries : 3);
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = d;
    /* c-ares 1.18 puts every UDP query to a server on one socket: with thousands in flight, a
     * default receive buffer (208 KiB, a few hundred answers) overflows and answers are lost
     * as timeouts. The kernel caps this at net.core.rmem_max. */
    o.socket_receive_buffer_size = 8 * 1024 * 1024;
    int rc = ares_init_options(&d->channel, &o,
                               ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                   ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        free(d);
        return -1;
    }
    if (cfg->nresolvers) {
        char csv[4096];
        size_t n = 0;
        for (int i = 0; i < cfg->nresolvers; i++)
            n +=
                (size_t)snprintf(csv + n, sizeof(csv) - n, "%s%s", i ? "," : "", cfg->resolvers[i]);
        rc = ares_set_servers_ports_csv(d->channel, csv);
        if (rc != ARES_SUCCESS) {
            snprintf(err, errlen, "--resolver %s: %s", csv, ares_strerror(rc));
            ares_destroy(d->channel);
            free(d);
            return -1;
        }
    }
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_idle_init(loop, &d->deliver);
    d->deliver.data = d;
    d->handles = 2;
    *out = d;
    return 0;
}

void mx_dns_stats(const mx_dns_t *d, mx_dns_stats_t *out) {
    *out = d->st;
}

int mx_dns_unresponsive(const mx_dns_t *d) {
    return d->st.answers == 0 && d->st.timeouts >= 20;
}

static void timer_closed(uv_handle_t *h) {
    mx_dns_t *d = h->data;
    if (--d->handles == 0)
        free(d);
}

void mx_dns_free(mx_dns_t *d) {
    if (!d)
        return;
    d->closing = 1;
    /* Queued queries never reached c-ares: fail them first, then what c-ares holds. */
    while (d->qhead) {
        query_t *q = d->qhead;
        d->qhead = q->next;
        q->cb(q->arg, ARES_EDESTRUCTION, 0, NULL, 0);
        free(q->name);
        free(q);
    }
    d->qtail = NULL;
    ares_destroy(d->channel);
    for (size_t i = 0; i < d->hosts.cap; i++) {
        host_t **at = mx_table_slot(&d->hosts, i);
        if (!at)
            continue;
        free((*at)->name);
        free((*at)->addrs);
        free((*at)->tlsa);
        free(*at);
    }
    mx_table_close(&d->hosts);
    for (size_t i = 0; i < d->nsocks; i++) {
        uv_poll_stop(&d->socks[i]->poll);
        uv_close((uv_handle_t *)&d->socks[i]->poll, poll_closed);
    }
    free(d->socks);
    d->socks = NULL;
    d->nsocks = 0;
    deliver(&d->deliver); /* what completed during the shutdown, now */
    uv_close((uv_handle_t *)&d->timer, timer_closed);
    uv_close((uv_handle_t *)&d->deliver, timer_closed);
}
