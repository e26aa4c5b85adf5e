/* The scan engine (mxtls/scan.h): one libuv loop per worker thread, and one for DNS.
 *
 * Domains flow reader -> DNS stage -> host table -> probes -> writer. Each worker reads domains
 * from the shared reader and hands them to the DNS thread, whose loop runs the DNS stage (one
 * c-ares channel and one host cache for the scan) and hands each answer back to the domain's
 * worker. DNS has a thread of its own because a worker's loop can spend seconds in one
 * iteration of TLS handshakes when thousands of connections are ready at once; c-ares would then
 * expire queries whose answers are already waiting in the socket (timers run before I/O), and a
 * query over TCP is never retried on the same connection: a loaded scanner recorded DNS
 * timeouts that were not there. Workers probe on their own loops with their own TLS
 * configuration. A host is an (MX name, address) pair, probed once per
 * scan: the first domain to need it, on whichever worker, claims it in the shared host table
 * and queues it on its worker; later domains, on any worker, wait on it. When a probe ends its
 * result is interned (mxtls/intern.h) and each waiting domain is stepped on its own worker: at
 * once when local, else through that worker's inbox and a uv_async wake-up.
 *
 * The limits are global and kept under the one mutex: --concurrency probes in flight, a token
 * bucket for --rate, one connection at a time per address and --net-limit per /24 (IPv4) or /48
 * (IPv6). The reader reads ahead only while few domains are in flight, so memory follows the
 * work in progress, not the list. A domain's rows are written together under the mutex once
 * all its hosts are done; domains in completion order. The mutex is held for short steps only
 * (claiming, completing, writing a group); with 2-8 workers and at most a few thousand probes
 * per second it is far from the bottleneck, which is the TLS handshake. */
#include "mxtls/scan.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "mxtls/dns.h"
#include "mxtls/domain_list.h"
#include "mxtls/error.h"
#include "mxtls/intern.h"
#include "mxtls/manifest.h"
#include "mxtls/probe.h"
#include "mxtls/rows.h"
#include "mxtls/salvage.h"
#include "mxtls/source.h"
#include "mxtls/writer.h"
#include "mxtls/hash.h"

#define HOST_COLS (MX_COL_ERROR - MX_COL_CONN + 1) /* the columns a probe fills */
#define START_BATCH 64

typedef struct dom dom_t;
typedef struct worker worker_t;
typedef struct scan scan_t;

typedef struct host {
    char *key;      /* "IP MXHOST": the address never contains a space */
    uint32_t *cols; /* the result, interned, once done */
    uint64_t ipk, netk;
    uint64_t due_ms; /* a host to probe again: not before */
    dom_t **waiters;
    int nwait, capwait;
    uint8_t state; /* 0 queued, 1 probing, 2 done */
    uint8_t tries;
    struct host *next; /* the owner's FIFO of queued probes, or its retry list */
} host_t;

/* A domain's MX host as it waits for its probes: what its rows need, without the 32 fixed
 * address slots of mx_dns_mx_t (1.7 KiB), because the read-ahead holds tens of thousands. */
typedef struct {
    const char *status;
    const char *text; /* the host name, then each address, each NUL-terminated */
    uint16_t pref;
    uint8_t naddrs, nprobe;
} mxc_t;

struct dom {
    worker_t *w;
    long rank;
    unsigned long line;
    char *name;
    const char *status;
    int nmx;
    mxc_t *mx;       /* one allocation with the texts */
    host_t ***hosts; /* per MX, per address: the host, NULL when not probed */
    int pending;     /* touched by its own worker only */
};

typedef struct counter_slot {
    uint64_t key;
    uint32_t count;
} slot_t;

struct worker {
    scan_t *s;
    unsigned id;
    uv_loop_t loop;
    uv_thread_t thread;
    mx_tls_config_t *tls;
    mx_probe_config_t probe;
    mx_gate_t gate;
    uv_timer_t tick;
    uv_async_t wake;
    uv_signal_t sigint, sigterm; /* on worker 0 only */
    host_t *qhead, *qtail, *retry;
    unsigned long inflight; /* domains of this worker */
    unsigned ticks;
    /* Under the scan's mutex: */
    dom_t **inbox; /* domains whose host another worker completed */
    size_t nin, capin;
    dom_t **resolved; /* domains whose DNS answer is in */
    size_t nres, capres;
};

struct scan {
    mx_scan_config_t *cfg;
    worker_t *w;
    unsigned nw;
    unsigned long max_inflight; /* domains read ahead, per worker */
    int tty;
    uint64_t t0;
    char *man_path;
    mx_manifest_t man;
    uv_loop_t dns_loop; /* the DNS thread's */
    uv_thread_t dns_thread;
    mx_dns_t *dns;
    uv_async_t dns_wake;
    uv_timer_t dns_tick;
    uv_mutex_t mu;     /* everything below */
    dom_t **dns_queue; /* domains for the DNS thread */
    size_t ndq, capdq;
    int dns_quit;
    unsigned long long dns_inflight;
    mx_domain_reader_t *reader;
    mx_writer_t *writer;
    host_t **table; /* hosts by key */
    size_t tcap, tused;
    slot_t *busy; /* connections open per address and per network */
    size_t bcap, bused;
    mx_intern_t *strings;
    mx_dns_mx_t *mxrows; /* D's MX hosts expanded for its rows */
    int nmxrows;
    unsigned open;
    double tokens;
    uint64_t last_refill;
    int eof, stopping, quit, failed, signals;
    uint64_t stop_at;
    unsigned long inflight;
    unsigned long long domains_done, hosts_probed, hosts_done, retries;
};

static uint64_t now_ms(void) {
    return uv_hrtime() / 1000000u;
}

/* Nonzero: 0 marks an empty slot of the per-address counts. */
static uint64_t key_hash(const char *s) {
    uint64_t h = mx_hash(s);
    return h ? h : 1;
}

/* ---- per-address and per-network counts (under the mutex) ----
 * One open-addressed table keyed by a hash of "ip ADDR" or "n4 A.B.C" / "n6 /48". Entries stay
 * once made (a scan meets a bounded number of networks; the table doubles when 3/4 full). */

static slot_t *counter(scan_t *s, uint64_t key) {
    if ((s->bused + 1) * 4 > s->bcap * 3) {
        size_t cap = s->bcap ? s->bcap * 2 : 4096;
        slot_t *n = calloc(cap, sizeof(*n));
        if (!n)
            return NULL;
        for (size_t i = 0; i < s->bcap; i++) {
            if (!s->busy[i].key)
                continue;
            size_t k = (size_t)s->busy[i].key & (cap - 1);
            while (n[k].key)
                k = (k + 1) & (cap - 1);
            n[k] = s->busy[i];
        }
        free(s->busy);
        s->busy = n;
        s->bcap = cap;
    }
    size_t i = (size_t)key & (s->bcap - 1);
    while (s->busy[i].key && s->busy[i].key != key)
        i = (i + 1) & (s->bcap - 1);
    if (!s->busy[i].key) {
        s->busy[i].key = key;
        s->bused++;
    }
    return &s->busy[i];
}

static unsigned count_get(scan_t *s, uint64_t key) {
    slot_t *c = counter(s, key);
    return c ? c->count : UINT32_MAX;
}

static void count_add(scan_t *s, uint64_t key, int delta) {
    slot_t *c = counter(s, key);
    if (c)
        c->count = (uint32_t)((int)c->count + delta);
}

/* The keys of IP's address and network; 0 when IP is not an address. */
static int addr_keys(const char *ip, int port, struct sockaddr_storage *sa, uint64_t *ipk,
                     uint64_t *netk) {
    char k[80];
    memset(sa, 0, sizeof(*sa));
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)sa) == 0) {
        const unsigned char *a = (const unsigned char *)&((struct sockaddr_in *)sa)->sin_addr;
        snprintf(k, sizeof(k), "n4 %u.%u.%u", a[0], a[1], a[2]);
    } else if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)sa) == 0) {
        const unsigned char *a = (const unsigned char *)&((struct sockaddr_in6 *)sa)->sin6_addr;
        snprintf(k, sizeof(k), "n6 %02x%02x%02x%02x%02x%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
    } else {
        return 0;
    }
    *netk = key_hash(k);
    snprintf(k, sizeof(k), "ip %s", ip);
    *ipk = key_hash(k);
    return 1;
}

/* ---- the host table (under the mutex) ---- */

static host_t **host_slot(scan_t *s, const char *key) {
    size_t i = (size_t)key_hash(key) & (s->tcap - 1);
    while (s->table[i] && strcmp(s->table[i]->key, key) != 0)
        i = (i + 1) & (s->tcap - 1);
    return &s->table[i];
}

static int table_grow(scan_t *s) {
    size_t cap = s->tcap ? s->tcap * 2 : 4096;
    host_t **n = calloc(cap, sizeof(*n));
    if (!n)
        return -1;
    for (size_t i = 0; i < s->tcap; i++) {
        if (!s->table[i])
            continue;
        size_t k = (size_t)key_hash(s->table[i]->key) & (cap - 1);
        while (n[k])
            k = (k + 1) & (cap - 1);
        n[k] = s->table[i];
    }
    free(s->table);
    s->table = n;
    s->tcap = cap;
    return 0;
}

static void fail_locked(scan_t *s, const char *what) {
    if (!s->failed)
        fprintf(stderr, "\nmxtls scan: %s\n", what);
    s->failed = 1;
    s->stopping = 1;
}

/* Appends D to a list of domains handed to another thread. Under the mutex. */
static int hand_over(scan_t *s, dom_t ***list, size_t *n, size_t *cap, dom_t *d) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        dom_t **l = realloc(*list, c * sizeof(*l));
        if (!l) {
            fail_locked(s, "out of memory");
            return -1;
        }
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = d;
    return 0;
}

/* ---- writing (under the mutex) ---- */

typedef struct {
    scan_t *s;
    dom_t *d;
} emit_ctx_t;

static void emit_row(void *ud, const mx_record_t *rec) {
    scan_t *s = ((emit_ctx_t *)ud)->s;
    const char *conn = mx_record_get(rec, MX_COL_CONN), *tls = mx_record_get(rec, MX_COL_TLS);
    for (int v = 0; v < MX_CONN__COUNT && *conn; v++)
        if (strcmp(conn, mx_conn_name((mx_conn_t)v)) == 0)
            s->man.conn[v]++;
    for (int v = 0; v < MX_TLS__COUNT && *tls; v++)
        if (strcmp(tls, mx_tls_name((mx_tls_t)v)) == 0)
            s->man.tls[v]++;
    mx_writer_row(s->writer, rec);
}

static int host_columns(void *ud, int i, int a, mx_record_t *rec) {
    emit_ctx_t *c = ud;
    const dom_t *d = c->d;
    const host_t *h = d->hosts && d->hosts[i] ? d->hosts[i][a] : NULL;
    if (!h)
        return 0;
    for (int k = 0; k < HOST_COLS; k++)
        rec->f[MX_COL_CONN + k] = mx_intern_str(c->s->strings, h->cols[k]);
    return 1;
}

static void group_end(scan_t *s) {
    if (mx_writer_group_end(s->writer, now_ms()) < 0 && !s->failed) {
        fprintf(stderr, "\nmxtls scan: %s\n", mx_writer_error(s->writer));
        s->failed = 1;
        s->stopping = 1;
    }
    s->domains_done++;
}

/* Packs RES's MX hosts into one allocation; NULL when out of memory. */
static mxc_t *mx_pack(const mx_dns_result_t *res) {
    size_t text = 0;
    for (int i = 0; i < res->nmx; i++) {
        text += strlen(res->mx[i].host) + 1;
        for (int a = 0; a < res->mx[i].naddrs; a++)
            text += strlen(res->mx[i].addrs[a]) + 1;
    }
    mxc_t *mx = malloc((size_t)res->nmx * sizeof(*mx) + text);
    if (!mx)
        return NULL;
    char *p = (char *)(mx + res->nmx);
    for (int i = 0; i < res->nmx; i++) {
        const mx_dns_mx_t *m = &res->mx[i];
        mx[i] = (mxc_t){m->status, p, m->pref, (uint8_t)m->naddrs, (uint8_t)m->nprobe};
        p = stpcpy(p, m->host) + 1;
        for (int a = 0; a < m->naddrs; a++)
            p = stpcpy(p, m->addrs[a]) + 1;
    }
    return mx;
}

/* The text after P's NUL: the next of an MX host's strings. */
static const char *next_text(const char *p) {
    return p + strlen(p) + 1;
}

/* Under the mutex. */
static void write_domain(scan_t *s, dom_t *d) {
    if (d->nmx > s->nmxrows) {
        mx_dns_mx_t *m = realloc(s->mxrows, (size_t)d->nmx * sizeof(*m));
        if (!m) {
            fail_locked(s, "out of memory");
            return;
        }
        s->mxrows = m;
        s->nmxrows = d->nmx;
    }
    for (int i = 0; i < d->nmx; i++) {
        const mxc_t *c = &d->mx[i];
        mx_dns_mx_t *m = &s->mxrows[i];
        const char *p = c->text;
        m->pref = c->pref;
        m->status = c->status;
        m->naddrs = c->naddrs;
        m->nprobe = c->nprobe;
        snprintf(m->host, sizeof(m->host), "%s", p);
        for (int a = 0; a < c->naddrs; a++) {
            p = next_text(p);
            snprintf(m->addrs[a], sizeof(m->addrs[a]), "%s", p);
        }
    }
    mx_rows_domain_t rd = {d->name, d->rank, d->line, d->status, d->nmx, s->mxrows};
    emit_ctx_t ctx = {s, d};
    mx_rows_domain(&rd, host_columns, emit_row, &ctx);
    group_end(s);
}

static void dom_free(dom_t *d) {
    if (d->hosts)
        for (int i = 0; i < d->nmx; i++)
            free(d->hosts[i]);
    free(d->hosts);
    free(d->mx);
    free(d->name);
    free(d);
}

static void feed(worker_t *w);
static void pump(worker_t *w);

/* One of D's hosts is done (or its DNS answer is in): when it was the last, D's rows go out. */
static void dom_step(worker_t *w, dom_t *d) {
    scan_t *s = w->s;
    if (--d->pending > 0)
        return;
    uv_mutex_lock(&s->mu);
    write_domain(s, d);
    s->inflight--;
    uv_mutex_unlock(&s->mu);
    w->inflight--;
    dom_free(d);
    feed(w);
}

/* ---- probes ---- */

typedef struct {
    worker_t *w;
    host_t *h;
} pctx_t;

static int answered_4xx(const mx_probe_result_t *r) {
    return (r->banner_code >= 400 && r->banner_code < 500) ||
           (r->ehlo_code >= 400 && r->ehlo_code < 500);
}

/* H's probe has ended (RELEASE: it held a connection). Its result is interned once, and every
 * domain waiting on it is stepped on its own worker. The connection is released in the same
 * critical section that hands the domains over, so that no worker can see "no probe open"
 * while a domain is still in transit to its inbox. */
static void host_complete(worker_t *w, host_t *h, const mx_probe_result_t *res, int release) {
    scan_t *s = w->s;
    mx_record_t rec = {{0}};
    mx_probe_text_t txt;
    mx_probe_fill(res, &rec, &txt);
    uint32_t *cols = malloc(HOST_COLS * sizeof(*cols));
    uv_mutex_lock(&s->mu);
    if (release) {
        s->open--;
        count_add(s, h->ipk, -1);
        count_add(s, h->netk, -1);
    }
    for (int k = 0; cols && k < HOST_COLS; k++)
        if ((cols[k] = mx_intern(s->strings, rec.f[MX_COL_CONN + k])) == MX_INTERN_FAIL)
            cols[k] = 0, fail_locked(s, "out of memory for host results");
    if (!cols) {
        static uint32_t none[HOST_COLS];
        cols = none;
        fail_locked(s, "out of memory for host results");
    }
    h->cols = cols;
    h->state = 2;
    s->hosts_done++;
    dom_t **waiters = h->waiters;
    int n = h->nwait, wake = 0;
    h->waiters = NULL;
    h->nwait = h->capwait = 0;
    for (int i = 0; i < n; i++) {
        worker_t *o = waiters[i]->w;
        if (o != w && hand_over(s, &o->inbox, &o->nin, &o->capin, waiters[i]) == 0)
            wake |= 1 << (o->id & 31);
    }
    uv_mutex_unlock(&s->mu);
    for (unsigned k = 0; k < s->nw; k++)
        if (wake & (1 << (k & 31)) && k != w->id)
            uv_async_send(&s->w[k].wake);
    for (int i = 0; i < n; i++)
        if (waiters[i]->w == w)
            dom_step(w, waiters[i]);
    free(waiters);
}

static void probe_done(void *ud, const mx_probe_result_t *res) {
    pctx_t *p = ud;
    worker_t *w = p->w;
    host_t *h = p->h;
    scan_t *s = w->s;
    free(p);
    if (h->tries < s->cfg->retry_4xx && answered_4xx(res)) {
        /* Greylisting and bursts: the host is probed again later; its domains keep waiting. */
        uv_mutex_lock(&s->mu);
        int stopping = s->stopping;
        if (!stopping) {
            s->open--;
            count_add(s, h->ipk, -1);
            count_add(s, h->netk, -1);
            s->retries++;
        }
        uv_mutex_unlock(&s->mu);
        if (!stopping) {
            h->tries++;
            h->state = 0;
            h->due_ms = now_ms() + s->cfg->retry_after_ms;
            h->next = w->retry;
            w->retry = h;
            pump(w);
            return;
        }
    }
    host_complete(w, h, res, 1);
    pump(w);
}

static void refill(scan_t *s) {
    uint64_t now = now_ms();
    double burst = s->cfg->rate / 20.0 < 1 ? 1 : s->cfg->rate / 20.0;
    s->tokens += (double)(now - s->last_refill) * s->cfg->rate / 1000.0;
    if (s->tokens > burst)
        s->tokens = burst;
    s->last_refill = now;
}

/* Moves hosts whose retry is due to the end of the queue. */
static void retry_due(worker_t *w) {
    uint64_t now = now_ms();
    for (host_t **pp = &w->retry; *pp;) {
        host_t *h = *pp;
        if (h->due_ms > now) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        h->next = NULL;
        if (w->qtail)
            w->qtail->next = h;
        else
            w->qhead = h;
        w->qtail = h;
    }
}

/* Claims up to START_BATCH queued hosts of W that the limits allow (a host whose address or
 * network is busy stays queued, in order, and others behind it may go first). */
static int claim(worker_t *w, host_t **out) {
    scan_t *s = w->s;
    host_t **pp = &w->qhead, *prev = NULL;
    int n = 0, scanned = 0;
    uv_mutex_lock(&s->mu);
    refill(s);
    while (*pp && n < START_BATCH && s->open < s->cfg->concurrency && s->tokens >= 1 &&
           !s->stopping && scanned++ < 4096) {
        host_t *h = *pp;
        if (count_get(s, h->ipk) >= 1 || count_get(s, h->netk) >= s->cfg->net_limit) {
            prev = h;
            pp = &h->next;
            continue;
        }
        *pp = h->next; /* unlink */
        if (w->qtail == h)
            w->qtail = prev;
        h->next = NULL;
        h->state = 1;
        s->open++;
        s->hosts_probed++;
        s->tokens -= 1;
        count_add(s, h->ipk, 1);
        count_add(s, h->netk, 1);
        out[n++] = h;
    }
    uv_mutex_unlock(&s->mu);
    return n;
}

static void pump(worker_t *w) {
    scan_t *s = w->s;
    host_t *batch[START_BATCH];
    int n;
    if (w->retry)
        retry_due(w);
    do {
        n = claim(w, batch);
        for (int i = 0; i < n; i++) {
            host_t *h = batch[i];
            struct sockaddr_storage sa;
            uint64_t ipk, netk;
            const char *sp = strchr(h->key, ' ');
            char ip[64];
            snprintf(ip, sizeof(ip), "%.*s", (int)(sp - h->key), h->key);
            addr_keys(ip, s->cfg->port, &sa, &ipk, &netk);
            pctx_t *p = malloc(sizeof(*p));
            if (p) {
                p->w = w;
                p->h = h;
            }
            if (!p || mx_probe_start(&w->loop, &w->probe, sp + 1, (struct sockaddr *)&sa,
                                     probe_done, p) < 0) {
                /* Could not even start (no file descriptor): recorded like a failed connect. */
                mx_probe_result_t r;
                free(p);
                memset(&r, 0, sizeof(r));
                r.conn = MX_CONN_ERROR;
                r.banner = r.ehlo_caps = r.ehlo_tls_caps = "";
                r.size_limit = -1, r.starttls = -1, r.tls = -1;
                r.t_connect_ms = r.t_banner_ms = r.t_tls_ms = r.t_total_ms = -1;
                r.stage = "connect";
                r.error = "connect_error";
                host_complete(w, h, &r, 1);
            }
        }
    } while (n == START_BATCH);
}

/* D needs host (MX_HOST, IP): claimed when new (queued on W), waited on until done. Under the
 * mutex. */
static host_t *need_host(worker_t *w, dom_t *d, const char *mx_host, const char *ip) {
    scan_t *s = w->s;
    char key[320];
    snprintf(key, sizeof(key), "%s %s", ip, mx_host);
    if ((s->tused + 1) * 2 > s->tcap && table_grow(s) < 0)
        return NULL;
    host_t **slot = host_slot(s, key);
    host_t *h = *slot;
    if (!h) {
        struct sockaddr_storage sa;
        h = calloc(1, sizeof(*h));
        if (!h || !(h->key = strdup(key))) {
            free(h);
            return NULL;
        }
        addr_keys(ip, s->cfg->port, &sa, &h->ipk, &h->netk);
        *slot = h;
        s->tused++;
        if (w->qtail)
            w->qtail->next = h;
        else
            w->qhead = h;
        w->qtail = h;
    }
    if (h->state != 2) {
        if (h->nwait == h->capwait) {
            int cap = h->capwait ? h->capwait * 2 : 2;
            dom_t **wt = realloc(h->waiters, (size_t)cap * sizeof(*wt));
            if (!wt)
                return NULL;
            h->waiters = wt;
            h->capwait = cap;
        }
        h->waiters[h->nwait++] = d;
        d->pending++;
    }
    return h;
}

/* On the DNS thread: D's answer is copied into D, which goes back to its worker. */
static void on_resolved(void *ud, const char *domain, const mx_dns_result_t *res) {
    dom_t *d = ud;
    worker_t *w = d->w;
    scan_t *s = w->s;
    (void)domain;
    d->status = res->status;
    d->nmx = res->nmx;
    if (res->nmx) {
        d->mx = mx_pack(res);
        d->hosts = calloc((size_t)res->nmx, sizeof(*d->hosts));
        if (!d->mx || !d->hosts)
            d->nmx = 0;
    }
    uv_mutex_lock(&s->mu);
    if (res->nmx && !d->nmx)
        fail_locked(s, "out of memory");
    hand_over(s, &w->resolved, &w->nres, &w->capres, d);
    uv_mutex_unlock(&s->mu);
    uv_async_send(&w->wake);
}

/* On D's worker, once its answer is in: its hosts are claimed or waited on. */
static void resolved(worker_t *w, dom_t *d) {
    scan_t *s = w->s;
    d->pending = 1;
    uv_mutex_lock(&s->mu);
    for (int i = 0; i < d->nmx; i++) {
        const mxc_t *m = &d->mx[i];
        if (!m->nprobe)
            continue;
        d->hosts[i] = calloc((size_t)m->naddrs, sizeof(host_t *));
        const char *addr = m->text;
        for (int a = 0; a < m->nprobe && d->hosts[i]; a++) {
            struct sockaddr_storage sa;
            uint64_t ipk, netk;
            addr = next_text(addr);
            if (!addr_keys(addr, s->cfg->port, &sa, &ipk, &netk) ||
                !mx_net_permitted(&s->cfg->allow, &s->cfg->exclude, &s->cfg->reserved,
                                  (struct sockaddr *)&sa))
                continue; /* conn=excluded: no packet */
            if (!(d->hosts[i][a] = need_host(w, d, m->text, addr)))
                fail_locked(s, "out of memory for the host table");
        }
    }
    uv_mutex_unlock(&s->mu);
    dom_step(w, d);
}

/* ---- the DNS thread ---- */

static void on_dns_wake(uv_async_t *a) {
    scan_t *s = a->data;
    uv_mutex_lock(&s->mu);
    dom_t **q = s->dns_queue;
    size_t n = s->ndq;
    s->dns_queue = NULL;
    s->ndq = s->capdq = 0;
    uv_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++)
        if (mx_dns_resolve(s->dns, q[i]->name, on_resolved, q[i]) < 0) {
            uv_mutex_lock(&s->mu);
            fail_locked(s, "out of memory");
            uv_mutex_unlock(&s->mu);
        }
    free(q);
}

static void on_dns_tick(uv_timer_t *t) {
    scan_t *s = t->data;
    mx_dns_stats_t st;
    mx_dns_stats(s->dns, &st);
    int dead = mx_dns_unresponsive(s->dns);
    uv_mutex_lock(&s->mu);
    s->dns_inflight = st.inflight;
    if (dead && !s->failed) {
        fprintf(stderr, "\nmxtls scan: the resolver answers nothing; check --resolver (%s)\n",
                s->cfg->nresolvers ? s->cfg->resolvers[0] : "system");
        s->failed = 1;
        s->stopping = 1;
    }
    int quit = s->dns_quit;
    uv_mutex_unlock(&s->mu);
    if (quit)
        uv_stop(&s->dns_loop);
}

static void dns_main(void *arg) {
    scan_t *s = arg;
    uv_run(&s->dns_loop, UV_RUN_DEFAULT);
}

/* ---- reading the list ---- */

static void feed(worker_t *w) {
    scan_t *s = w->s;
    mx_domain_item_t item;
    int fed = 0;
    uv_mutex_lock(&s->mu);
    while (!s->eof && !s->stopping && w->inflight < s->max_inflight) {
        int rc = mx_domain_reader_next(s->reader, &item);
        if (rc <= 0) {
            if (rc < 0)
                fprintf(stderr, "mxtls scan: %s: the list is damaged (%s); stopping at line %lu\n",
                        s->cfg->list, mx_strerror(rc), mx_domain_reader_counts(s->reader)->lines);
            s->eof = 1;
            break;
        }
        /* Invalid lines too, by their text: each row in exactly one shard. */
        if (s->cfg->shard_n > 1 && mx_domain_hash(item.domain) % s->cfg->shard_n != s->cfg->shard_i)
            continue;
        if (item.invalid) {
            emit_ctx_t ctx = {s, NULL};
            mx_rows_invalid(item.domain, item.line, item.invalid, emit_row, &ctx);
            group_end(s);
            continue;
        }
        dom_t *d = calloc(1, sizeof(*d));
        if (!d || !(d->name = strdup(item.domain))) {
            free(d);
            fail_locked(s, "out of memory");
            break;
        }
        d->rank = item.rank;
        d->line = item.line;
        d->w = w;
        if (hand_over(s, &s->dns_queue, &s->ndq, &s->capdq, d) < 0) {
            dom_free(d);
            break;
        }
        w->inflight++;
        s->inflight++;
        fed = 1;
    }
    uv_mutex_unlock(&s->mu);
    if (fed)
        uv_async_send(&s->dns_wake);
}

/* ---- progress, signals, the end ---- */

static void progress(scan_t *s, int final) {
    unsigned long long dns = s->dns_inflight;
    double secs = (double)(now_ms() - s->t0) / 1000.0;
    const mx_domain_counts_t *c = mx_domain_reader_counts(s->reader);
    unsigned long long read = c->domains + c->invalid;
    char line[320], eta[48] = "";
    if (s->eof && secs > 1 && s->domains_done > 0 && !final) {
        double left = (double)(read - s->domains_done) * secs / (double)s->domains_done;
        snprintf(eta, sizeof(eta), ", ETA %.0f s", left);
    }
    snprintf(line, sizeof(line),
             "%llu domains done of %llu%s, %llu hosts probed (%.0f/s), %u connections open, "
             "%llu DNS queries in flight, %.0f s%s",
             s->domains_done, read, s->eof ? "" : " read so far", s->hosts_probed,
             secs > 0 ? (double)s->hosts_done / secs : 0.0, s->open, dns, secs, eta);
    if (final)
        fprintf(stderr, "%s%s\n", s->tty ? "\r\033[K" : "", line);
    else
        fprintf(stderr, "\r\033[K%s", line);
}

static void on_tick(uv_timer_t *t) {
    worker_t *w = t->data;
    scan_t *s = w->s;
    pump(w);
    uint64_t now = now_ms();
    uv_mutex_lock(&s->mu);
    if (w->id == 0) {
        mx_writer_tick(s->writer, now);
        if (s->tty && !s->cfg->quiet && ++w->ticks % 25 == 0)
            progress(s, 0);
    }
    int pending_in = 0;
    for (unsigned i = 0; i < s->nw; i++)
        pending_in |= s->w[i].nin > 0 || s->w[i].nres > 0;
    int stop = s->quit || ((s->eof || s->stopping) && s->inflight == 0 && s->open == 0);
    if (s->stopping) {
        /* Grace: probes in flight may finish, nothing new starts; what is not complete then is
         * not written, and --resume does it again. */
        if (!s->stop_at)
            s->stop_at = now + s->cfg->grace_ms;
        if ((s->open == 0 && !pending_in) || now >= s->stop_at)
            stop = 1;
    }
    uv_mutex_unlock(&s->mu);
    if (stop)
        uv_stop(&w->loop);
}

static void on_wake(uv_async_t *a) {
    worker_t *w = a->data;
    scan_t *s = w->s;
    uv_mutex_lock(&s->mu);
    dom_t **in = w->inbox, **res = w->resolved;
    size_t n = w->nin, nres = w->nres;
    w->inbox = w->resolved = NULL;
    w->nin = w->capin = w->nres = w->capres = 0;
    uv_mutex_unlock(&s->mu);
    for (size_t i = 0; i < nres; i++)
        resolved(w, res[i]);
    for (size_t i = 0; i < n; i++)
        dom_step(w, in[i]);
    free(res);
    free(in);
    pump(w);
}

static void on_signal(uv_signal_t *h, int sig) {
    worker_t *w = h->data;
    scan_t *s = w->s;
    (void)sig;
    uv_mutex_lock(&s->mu);
    if (++s->signals == 1) {
        s->stopping = 1;
        fprintf(stderr, "\nmxtls scan: interrupted: letting %u probes finish (at most %llu s)\n",
                s->open, (unsigned long long)(s->cfg->grace_ms / 1000));
    } else {
        s->quit = 1; /* flush what is complete and go */
    }
    uv_mutex_unlock(&s->mu);
}

static void worker_main(void *arg) {
    worker_t *w = arg;
    feed(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* Sets up worker W: its loop, DNS stage, TLS configuration and handles. */
static int worker_init(scan_t *s, worker_t *w, unsigned id) {
    mx_scan_config_t *cfg = s->cfg;
    char err[512];
    w->s = s;
    w->id = id;
    if (uv_loop_init(&w->loop) < 0) {
        fprintf(stderr, "mxtls scan: cannot create an event loop\n");
        return -1;
    }
    if (mx_tls_config_new(&w->tls, cfg->ca_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "mxtls scan: %s\n", err);
        return -1;
    }
    w->probe.ehlo = cfg->ehlo;
    w->probe.timeout_connect_ms = cfg->timeout_connect_ms;
    w->probe.timeout_read_ms = cfg->timeout_read_ms;
    w->probe.deadline_ms = cfg->deadline_ms;
    w->probe.tls = w->tls;
    if (mx_gate_init(&w->gate, &w->loop, cfg->handshakes) < 0) {
        fprintf(stderr, "mxtls scan: cannot set up the handshake gate\n");
        return -1;
    }
    w->probe.gate = &w->gate;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, 10, 10);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    if (id == 0) {
        uv_signal_init(&w->loop, &w->sigint);
        uv_signal_init(&w->loop, &w->sigterm);
        w->sigint.data = w->sigterm.data = w;
        uv_signal_start(&w->sigint, on_signal, SIGINT);
        uv_signal_start(&w->sigterm, on_signal, SIGTERM);
    }
    return 0;
}
/* Copies the next JSON string value after KEY (from P) into OUT; returns where it ended. */
static const char *json_string(const char *p, const char *key, char *out, size_t cap) {
    out[0] = 0;
    const char *k = p ? strstr(p, key) : NULL;
    if (!k)
        return NULL;
    k += strlen(key);
    while (*k == ' ' || *k == ':')
        k++;
    if (*k != '"')
        return k; /* null */
    size_t n = 0;
    for (k++; *k && *k != '"' && n + 1 < cap; k++)
        out[n++] = *k;
    out[n] = 0;
    return k;
}

static int salvaged(void *ud, const char *domain) {
    scan_t *s = ud;
    return mx_domain_reader_mark_seen(s->reader, domain);
}

/* --resume (shared/DESIGN.md, Writer): the old file's complete domain groups are copied into a
 * new file, which replaces OUT at once; the scan goes on into it, skipping those domains. The
 * manifest must name the same list, and keeps the earlier runs. */
static int resume(scan_t *s) {
    mx_scan_config_t *cfg = s->cfg;
    char old_sha[65], cur_sha[65], err[512], tmp[4096];
    FILE *f = fopen(s->man_path, "r");
    static char text[1 << 16];
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = 0;
    json_string(strstr(text, "\"input\""), "\"sha256\"", old_sha, sizeof(old_sha));
    if (mx_sha256_file(cfg->list, cur_sha) < 0 || (old_sha[0] && strcmp(old_sha, cur_sha) != 0)) {
        fprintf(stderr,
                "mxtls scan: --resume: %s was made from another list than %s (SHA-256 differs); "
                "resume with that list, or scan into a new file\n",
                cfg->out, cfg->list);
        return 1;
    }
    /* The earlier runs, as the manifest recorded them. */
    const char *p = strstr(text, "\"runs\"");
    while (p && s->man.nruns < MX_MANIFEST_MAX_RUNS - 1) {
        mx_manifest_run_t *r = &s->man.runs[s->man.nruns];
        const char *next = json_string(p, "\"start\"", r->start, sizeof(r->start));
        if (!next || !r->start[0] ||
            (strstr(p, "\"resolvers\"") && next > strstr(p, "\"resolvers\"")))
            break;
        next = json_string(next, "\"end\"", r->end, sizeof(r->end));
        p = json_string(next, "\"status\"", r->status, sizeof(r->status));
        if (!strcmp(r->status, "running"))
            snprintf(r->status, sizeof(r->status), "killed"); /* it never wrote its end */
        s->man.nruns++;
    }
    snprintf(tmp, sizeof(tmp), "%s.resume", cfg->out);
    int rc = mx_writer_open(&s->writer, tmp);
    if (rc < 0) {
        fprintf(stderr, "mxtls scan: %s: %s\n", tmp, mx_strerror(rc));
        return 2;
    }
    mx_salvage_result_t res;
    rc = mx_salvage(cfg->out, s->writer, salvaged, s, &res, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "mxtls scan: --resume: %s\n", err[0] ? err : mx_strerror(rc));
        unlink(tmp);
        return 2;
    }
    if (rename(tmp, cfg->out) < 0) {
        fprintf(stderr, "mxtls scan: %s: cannot replace it with the resumed file\n", cfg->out);
        return 2;
    }
    if (!cfg->quiet)
        fprintf(stderr, "mxtls scan: resuming: %llu domains (%llu rows) kept from %s%s\n",
                (unsigned long long)res.groups, (unsigned long long)res.rows, cfg->out,
                res.truncated ? ", which was cut short" : "");
    return 0;
}

int mx_scan_run(mx_scan_config_t *cfg) {
    scan_t s;
    int status = 0;
    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.tty = isatty(STDERR_FILENO);
    s.nw = cfg->threads ? cfg->threads : 1;
    s.max_inflight = (cfg->concurrency * 2ul + cfg->dns_concurrency) / s.nw + 1;
    /* File descriptors: the hard limit, and probes kept below it with room for the rest. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        rlim_t room = 256 + 16 * (rlim_t)s.nw;
        if (rl.rlim_cur < (rlim_t)cfg->concurrency + room) {
            unsigned fit = rl.rlim_cur > 2 * room ? (unsigned)(rl.rlim_cur - room) : 256;
            fprintf(stderr,
                    "mxtls scan: --concurrency %u lowered to %u to fit the file-descriptor limit "
                    "(%llu); run shards in several processes for more\n",
                    cfg->concurrency, fit, (unsigned long long)rl.rlim_cur);
            cfg->concurrency = fit;
        }
    }
    if (uv_mutex_init(&s.mu) < 0 || !(s.strings = mx_intern_new()) ||
        !(s.w = calloc(s.nw, sizeof(*s.w)))) {
        fprintf(stderr, "mxtls scan: out of memory\n");
        return 2;
    }
    int rc = mx_domain_reader_open(&s.reader, cfg->list);
    if (rc < 0) {
        fprintf(stderr, "mxtls scan: %s: %s\n", cfg->list, mx_strerror(rc));
        return 2;
    }
    s.man_path = mx_manifest_path(cfg->out);
    if (cfg->resume && access(cfg->out, F_OK) == 0) {
        if ((rc = resume(&s)) != 0)
            return rc;
    } else if ((rc = mx_writer_open(&s.writer, cfg->out)) < 0) {
        fprintf(stderr, "mxtls scan: %s: %s; check the path and free space\n", cfg->out,
                mx_strerror(rc));
        return 2;
    }
    for (unsigned i = 0; i < s.nw; i++)
        if (worker_init(&s, &s.w[i], i) < 0)
            return 2;
    char err[512];
    mx_dns_config_t dc = {.resolvers = cfg->resolvers,
                          .nresolvers = cfg->nresolvers,
                          .timeout_ms = cfg->dns_timeout_ms,
                          .tries = cfg->dns_tries,
                          .max_inflight = cfg->dns_concurrency,
                          .max_mx = cfg->max_mx,
                          .max_addrs = cfg->max_addrs,
                          .ipv6 = cfg->ipv6};
    if (uv_loop_init(&s.dns_loop) < 0 ||
        mx_dns_new(&s.dns, &s.dns_loop, &dc, err, sizeof(err)) < 0) {
        fprintf(stderr, "mxtls scan: %s\n", s.dns ? err : "cannot create an event loop");
        return 2;
    }
    uv_async_init(&s.dns_loop, &s.dns_wake, on_dns_wake);
    s.dns_wake.data = &s;
    uv_timer_init(&s.dns_loop, &s.dns_tick);
    s.dns_tick.data = &s;
    uv_timer_start(&s.dns_tick, on_dns_tick, 50, 50);
    /* The manifest, now and at the end. */
    s.man.command_line = cfg->command_line;
    s.man.input = cfg->list;
    s.man.shard_index = cfg->shard_i;
    s.man.shard_count = cfg->shard_n;
    s.man.resolvers = cfg->resolvers;
    s.man.nresolvers = cfg->nresolvers;
    s.man.ehlo = cfg->ehlo;
    s.man.ca_file = cfg->ca_file ? cfg->ca_file : "system bundle";
    snprintf(s.man.ca_sha256, sizeof(s.man.ca_sha256), "%s", mx_tls_ca_sha256(s.w[0].tls));
    mx_manifest_run_t *run = &s.man.runs[s.man.nruns++];
    mx_utc_now(run->start, sizeof(run->start));
    snprintf(run->status, sizeof(run->status), "running");
    if (strcmp(cfg->list, "-") != 0)
        mx_sha256_file(cfg->list, s.man.input_sha256);
    if ((rc = mx_manifest_write(s.man_path, &s.man)) < 0) {
        fprintf(stderr, "mxtls scan: %s: %s\n", s.man_path, mx_strerror(rc));
        return 2;
    }
    s.t0 = s.last_refill = now_ms();
    s.tokens = 1;
    if (uv_thread_create(&s.dns_thread, dns_main, &s) < 0) {
        fprintf(stderr, "mxtls scan: cannot start the DNS thread\n");
        return 2;
    }
    for (unsigned i = 1; i < s.nw; i++)
        if (uv_thread_create(&s.w[i].thread, worker_main, &s.w[i]) < 0) {
            fprintf(stderr, "mxtls scan: cannot start worker thread %u; try --threads %u\n", i, i);
            return 2;
        }
    worker_main(&s.w[0]);
    for (unsigned i = 1; i < s.nw; i++)
        uv_thread_join(&s.w[i].thread);
    uv_mutex_lock(&s.mu);
    s.dns_quit = 1;
    uv_mutex_unlock(&s.mu);
    uv_thread_join(&s.dns_thread);
    /* Every worker has stopped: what is still open is not written, and --resume redoes it. */
    int interrupted = s.signals > 0;
    const mx_domain_counts_t *c = mx_domain_reader_counts(s.reader);
    char hex[65];
    if (strcmp(cfg->list, "-") == 0) {
        mx_domain_reader_sha256(s.reader, hex);
        memcpy(s.man.input_sha256, hex, sizeof(hex));
    }
    s.man.lines = c->lines;
    s.man.domains = c->domains;
    s.man.invalid = c->invalid;
    s.man.duplicates = c->duplicates;
    s.man.hosts_probed = s.hosts_probed - s.retries;
    s.man.rows = mx_writer_rows(s.writer);
    rc = mx_writer_close(s.writer);
    mx_utc_now(run->end, sizeof(run->end));
    if (rc < 0 && !s.failed) {
        fprintf(stderr, "mxtls scan: %s: %s\n", cfg->out, mx_strerror(rc));
        s.failed = 1;
    }
    snprintf(run->status, sizeof(run->status), "%s",
             s.failed      ? "failed"
             : interrupted ? "interrupted"
                           : "finished");
    mx_manifest_write(s.man_path, &s.man);
    if (!cfg->quiet)
        progress(&s, 1);
    status = s.failed ? 2 : interrupted ? 130 : 0;
    free(s.mxrows);
    free(s.man_path);
    return status;
}
