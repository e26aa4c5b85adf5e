/* Probes of the scan (scan_int.h): each worker starts what its queue and the limits allow, and
 * a probe's end is a host's result: kept once, and every domain waiting on it stepped on its
 * own worker, at once when local, else through that worker's inbox and a uv_async wake-up. */
#include "engine/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"

typedef struct {
    worker_t *w;
    host_t *h;
} pctx_t;

static int answered_4xx(const mx_probe_result_t *r) {
    return (r->banner_code >= 400 && r->banner_code < 500) ||
           (r->ehlo_code >= 400 && r->ehlo_code < 500);
}

/* Hands H's waiting domains to their workers, and moves W's own to the front of WAITERS (*NLOCAL
 * of them): once the mutex is let go, another worker may finish and free the domains handed to
 * it, so nothing of theirs may be read after. Returns a bit per worker to wake. Under mu. */
static unsigned hand_waiters(worker_t *w, dom_t **waiters, int n, int *nlocal) {
    unsigned wake = 0;
    *nlocal = 0;
    for (int i = 0; i < n; i++) {
        worker_t *o = waiters[i]->w;
        if (o == w)
            waiters[(*nlocal)++] = waiters[i];
        else if (mx__scan_hand_over(w->s, &o->inbox, waiters[i]) == 0)
            wake |= 1u << (o->id & 31);
    }
    return wake;
}

/* H's probe has ended (RELEASE: it held a connection). The connection is released in the same
 * critical section that hands the domains over, so that no worker can see "no probe open"
 * while a domain is still in transit to its inbox. */
static void host_complete(worker_t *w, host_t *h, const mx_probe_result_t *res) {
    scan_t *s = w->s;
    mx_host_result_t *hr = malloc(sizeof(*hr));
    uv_mutex_lock(&s->mu);
    mx__limits_release(s, h);
    if (!hr || mx_host_result_make(hr, res, s->strings) < 0) {
        free(hr); /* the scan stops; the domains of this host are not written */
        hr = NULL;
        mx__scan_fail(s, "out of memory for host results");
    }
    h->res = hr;
    h->state = HOST_DONE;
    s->hosts_done++;
    dom_t **waiters = h->waiters;
    int n = h->nwait, nlocal;
    h->waiters = NULL;
    h->nwait = h->capwait = 0;
    unsigned wake = hand_waiters(w, waiters, n, &nlocal);
    uv_mutex_unlock(&s->mu);
    for (unsigned k = 0; k < s->nw; k++)
        if (wake & (1u << (k & 31)) && k != w->id)
            uv_async_send(&s->w[k].wake);
    for (int i = 0; i < nlocal; i++)
        mx__scan_dom_step(w, waiters[i]);
    free(waiters);
}

/* Greylisting and bursts: H is probed again later; its domains keep waiting. Returns 0 when
 * the scan is stopping instead. */
static int retry_later(worker_t *w, host_t *h) {
    scan_t *s = w->s;
    uv_mutex_lock(&s->mu);
    int stopping = s->stopping;
    if (!stopping) {
        mx__limits_release(s, h);
        s->retries++;
        h->state = HOST_QUEUED; /* read by other workers' mx__hosts_need */
    }
    uv_mutex_unlock(&s->mu);
    if (stopping)
        return 0;
    h->tries++;
    h->due_ms = mx__scan_now_ms() + s->cfg->retry_after_ms;
    h->next = w->retry;
    w->retry = h;
    return 1;
}

static void probe_done(void *ud, const mx_probe_result_t *res) {
    pctx_t *p = ud;
    worker_t *w = p->w;
    host_t *h = p->h;
    free(p);
    if (!(h->tries < w->s->cfg->retry_4xx && answered_4xx(res) && retry_later(w, h)))
        host_complete(w, h, res);
    mx__probes_pump(w);
}

/* Moves hosts whose retry is due to the end of the queue. */
static void retry_due(worker_t *w) {
    uint64_t now = mx__scan_now_ms();
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

/* A probe that could not even start (no file descriptor): recorded like a failed connect. */
static void start_failed(worker_t *w, host_t *h) {
    mx_probe_result_t r;
    memset(&r, 0, sizeof(r));
    r.conn = MX_CONN_ERROR;
    r.banner = r.ehlo_caps = r.ehlo_tls_caps = "";
    r.size_limit = -1, r.starttls = -1, r.tls = -1;
    r.t_connect_ms = r.t_banner_ms = r.t_tls_ms = r.t_total_ms = -1;
    r.stage = "connect";
    r.error = "connect_error";
    host_complete(w, h, &r);
}

static void start(worker_t *w, host_t *h) {
    struct sockaddr_storage sa;
    uint64_t ipk, netk;
    const char *sp = strchr(h->key, ' ');
    char ip[64];
    snprintf(ip, sizeof(ip), "%.*s", (int)(sp - h->key), h->key);
    mx__limits_keys(ip, w->s->cfg->probe.port, &sa, &ipk, &netk);
    pctx_t *p = malloc(sizeof(*p));
    if (p)
        *p = (pctx_t){w, h};
    if (!p ||
        mx_probe_start(&w->loop, &w->probe, sp + 1, (struct sockaddr *)&sa, probe_done, p) < 0) {
        free(p);
        start_failed(w, h);
    }
}

void mx__probes_pump(worker_t *w) {
    host_t *batch[START_BATCH];
    int n;
    if (w->retry)
        retry_due(w);
    do {
        n = mx__limits_claim(w, batch);
        for (int i = 0; i < n; i++)
            start(w, batch[i]);
    } while (n == START_BATCH);
}
