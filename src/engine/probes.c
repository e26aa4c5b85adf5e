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

static mx_probe_ended_t outcome_of(const mx_probe_result_t *r) {
    if (r->local_overload)
        return MX_ENDED_OVERLOAD;
    if (r->conn == MX_CONN_REFUSED)
        return MX_ENDED_REFUSED;
    if (r->conn == MX_CONN_TIMEOUT || (r->error && !strcmp(r->error, "timeout")))
        return MX_ENDED_TIMEOUT;
    if (r->tls == MX_TLS_FAILED || r->tls == MX_TLS_CLOSED || r->tls == MX_TLS_TIMEOUT)
        return MX_ENDED_TLS_FAILED;
    return r->conn == MX_CONN_OK && !r->stage ? MX_ENDED_OK : MX_ENDED_OTHER;
}

/* What a result says of the machine's health. Under mu. */
static void count_health(scan_t *s, const host_t *h, const mx_probe_result_t *r) {
    mx_probe_ended_t ended = outcome_of(r);
    s->outcomes[ended]++;
    /* How long admission takes to show: a probe's own time, its local waits set aside (they
     * are what admission control removes, and counting them would slow it most when it is
     * most needed). */
    double own = (double)(r->t_total_ms - (r->local_wait_ms > 0 ? r->local_wait_ms : 0));
    if (ended == MX_ENDED_OK && own > 0)
        s->probe_ms = s->probe_ms > 0 ? 0.95 * s->probe_ms + 0.05 * own : own;
    if (r->local_wait_ms > 0) {
        s->health->local_waits++;
        if ((unsigned long long)r->local_wait_ms > s->health->longest_wait_ms)
            s->health->longest_wait_ms = (unsigned long long)r->local_wait_ms;
        if (!h->first_fill &&
            (unsigned long long)r->local_wait_ms > s->health->longest_wait_later_ms)
            s->health->longest_wait_later_ms = (unsigned long long)r->local_wait_ms;
    }
}

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
static void finish_locked(worker_t *w, host_t *h);

static void host_complete(worker_t *w, host_t *h, const mx_probe_result_t *res) {
    scan_t *s = w->s;
    mx_host_result_t *hr = malloc(sizeof(*hr));
    uv_mutex_lock(&s->mu);
    mx__limits_release(s, h);
    count_health(s, h, res);
    if (!hr || mx_host_result_make(hr, res, s->strings) < 0) {
        free(hr); /* the scan stops; the domains of this host are not written */
        hr = NULL;
        mx__scan_fail(s, "out of memory for host results");
    }
    h->res = hr;
    s->hosts_done++;
    finish_locked(w, h);
}

void mx__probes_host_done(worker_t *w, host_t *h) {
    uv_mutex_lock(&w->s->mu);
    mx__limits_release(w->s, h);
    finish_locked(w, h);
}

/* H is done: its domains go on. Entered under mu, which it lets go. */
static void finish_locked(worker_t *w, host_t *h) {
    scan_t *s = w->s;
    h->tlsa = NULL; /* its domain may go now */
    h->state = HOST_DONE;
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

/* Greylisting and bursts (LOCAL 0), or a probe the scanner itself failed (LOCAL 1): H is probed
 * again later; its domains keep waiting. Returns 0 when the scan is stopping instead. */
static int retry_later(worker_t *w, host_t *h, const mx_probe_result_t *res, int local) {
    scan_t *s = w->s;
    uv_mutex_lock(&s->mu);
    int stopping = s->stopping;
    if (!stopping) {
        mx__limits_release(s, h);
        count_health(s, h, res);
        s->retries++;
        if (local)
            s->health->reprobes++;
        h->state = HOST_QUEUED; /* read by other workers' mx__hosts_need */
    }
    uv_mutex_unlock(&s->mu);
    if (stopping)
        return 0;
    if (local)
        h->local_tries++;
    else
        h->tries++;
    h->due_ms = mx__scan_now_ms() + (local ? LOCAL_RETRY_MS : s->cfg->retry_after_ms);
    h->next = w->retry;
    w->retry = h;
    return 1;
}

/* May H's probe, about to send STARTTLS, send it, or would it add to the gate's backlog past
 * what the gate's window allows? Then it holds (a NOOP, and the question again) or quits and is
 * probed again later: waiting for our CPUs is fine for nobody. A host deferred DEFER_MAX times
 * waits its turn like any other (the local-wait bound still holds it); so does every probe of a
 * fixed admission, the benchmarks' reference. */
int mx__probes_defer_tls(void *ud, uint64_t rtt_ms) {
    pctx_t *p = ud;
    worker_t *w = p->w;
    scan_t *s = w->s;
    if (s->cfg->fixed_admission || p->h->defers >= DEFER_MAX)
        return 0;
    if (mx_gate_may_start(&w->gate, rtt_ms))
        return 0;
    uv_mutex_lock(&s->mu);
    s->held_recent++; /* the gates are full now, not when the probe ends */
    uv_mutex_unlock(&s->mu);
    return 1;
}

/* H's probe quit before STARTTLS for our backlog (mx__probes_defer_tls): no result, the
 * connection goes back to admission (the window stops growing meanwhile), H is queued again. */
static void defer_later(worker_t *w, host_t *h) {
    scan_t *s = w->s;
    uv_mutex_lock(&s->mu);
    mx__limits_release(s, h);
    s->hosts_probed--;
    s->health->deferred++;
    s->outcomes[MX_ENDED_DEFERRED]++;
    h->state = HOST_QUEUED;
    uv_mutex_unlock(&s->mu);
    h->defers++;
    h->due_ms = mx__scan_now_ms() + DEFER_RETRY_MS;
    h->next = w->retry;
    w->retry = h;
}

static void probe_done(void *ud, const mx_probe_result_t *res) {
    pctx_t *p = ud;
    worker_t *w = p->w;
    host_t *h = p->h;
    free(p);
    if (res->held) {
        uv_mutex_lock(&w->s->mu);
        w->s->health->held++;
        w->s->health->holds += (unsigned long long)res->holds;
        uv_mutex_unlock(&w->s->mu);
    }
    if (res->deferred) {
        defer_later(w, h);
        mx__probes_pump(w);
        return;
    }
    /* The scanner's own failure is tried once more, at a quieter moment (admission will have
     * shrunk by then); a second one stands, as local_overload, which stats counts as unknown. */
    int local = res->local_overload && h->local_tries < 1;
    int greylisted = !res->local_overload && h->tries < w->s->cfg->retry_4xx && answered_4xx(res);
    if (!((local || greylisted) && retry_later(w, h, res, local)))
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

/* No descriptor (or memory) for H's socket: that is the scanner's trouble, not the server's.
 * H goes back to the front of the queue, and admission shrinks. */
static void wait_for_descriptor(worker_t *w, host_t *h) {
    scan_t *s = w->s;
    uv_mutex_lock(&s->mu);
    mx__limits_release(s, h);
    s->hosts_probed -= !h->fetch;
    s->health->descriptor_waits++;
    s->descriptors_short = 1;
    /* With no probe of ours open, none will give a descriptor back: something else holds them
     * all. Waiting is then hopeless past a bound. */
    uint64_t now = mx__scan_now_ms();
    if (s->open > 0)
        s->starved_since = 0;
    else if (!s->starved_since)
        s->starved_since = now;
    else if (now - s->starved_since > STARVED_MS)
        mx__scan_fail(s, "no file descriptor has been free for a probe for 30 s; raise the "
                         "limit (ulimit -n) or lower --concurrency");
    h->state = HOST_QUEUED;
    uv_mutex_unlock(&s->mu);
    h->next = w->qhead;
    w->qhead = h;
    if (!w->qtail)
        w->qtail = h;
}

/* Starts H's probe; 0 when the machine has no descriptor for it (H is queued again). */
static int start(worker_t *w, host_t *h) {
    struct sockaddr_storage sa;
    uint64_t ipk, netk;
    const char *sp = strchr(h->key, ' ');
    char ip[64];
    snprintf(ip, sizeof(ip), "%.*s", (int)(sp - h->key), h->key);
    const mx_probe_opts_t *po = &w->s->cfg->probe;
    mx__limits_keys(ip, h->fetch ? po->sts_port : po->port, &sa, &ipk, &netk);
    if (h->fetch) {
        int frc = mx__policies_start(w, h, (struct sockaddr *)&sa);
        if (mx_err_local_shortage(frc)) {
            wait_for_descriptor(w, h);
            return 0;
        }
        if (frc < 0) {
            h->sts_status = "connect_error";
            mx__probes_host_done(w, h);
        }
        return 1;
    }
    pctx_t *p = malloc(sizeof(*p));
    int rc = MX_E_NOMEM;
    if (p)
        *p = (pctx_t){w, h};
    mx_tlsa_set_t tlsa = {h->tlsa ? h->tlsa->data : NULL, h->tlsa ? h->tlsa->len : 0,
                          h->tlsa ? h->tlsa->n : 0};
    if (p && (rc = mx_probe_start(&w->loop, &w->probe, sp + 1, (struct sockaddr *)&sa,
                                  h->tlsa ? &tlsa : NULL, probe_done, p)) == 0)
        return 1;
    free(p);
    if (mx_err_local_shortage(rc)) {
        wait_for_descriptor(w, h);
        return 0;
    }
    start_failed(w, h);
    return 1;
}

void mx__probes_pump(worker_t *w) {
    host_t *batch[START_BATCH];
    int n;
    if (w->retry)
        retry_due(w);
    do {
        n = mx__limits_claim(w, batch);
        for (int i = 0; i < n; i++)
            if (!start(w, batch[i])) {
                for (int k = n - 1; k > i; k--) /* the rest go back too, in order */
                    wait_for_descriptor(w, batch[k]);
                return; /* until a probe ends and gives a descriptor back */
            }
    } while (n == START_BATCH);
}
