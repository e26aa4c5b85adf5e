/* The handshake gate (mxtls/gate.h): two intrusive FIFO queues and an idle handle. */
#include "mxtls/gate.h"

#include <string.h>

/* The handshakes' CPU work, at most BUDGET_NS per turn of the loop, oldest first. */
#define BUDGET_NS 10000000u
/* A rate sample: this much time with entries waiting, in one stretch or several. */
#define SAMPLE_MS 500u

#define QUEUE_FNS(name, prev, next)                                                                \
    static void name##_push(mx_gate_queue_t *q, mx_gate_entry_t *e) {                              \
        e->prev = q->tail;                                                                         \
        e->next = NULL;                                                                            \
        if (q->tail)                                                                               \
            q->tail->next = e;                                                                     \
        else                                                                                       \
            q->head = e;                                                                           \
        q->tail = e;                                                                               \
    }                                                                                              \
    static void name##_unlink(mx_gate_queue_t *q, mx_gate_entry_t *e) {                            \
        if (e->prev)                                                                               \
            e->prev->next = e->next;                                                               \
        else                                                                                       \
            q->head = e->next;                                                                     \
        if (e->next)                                                                               \
            e->next->prev = e->prev;                                                               \
        else                                                                                       \
            q->tail = e->prev;                                                                     \
    }

QUEUE_FNS(wq, wprev, wnext)
QUEUE_FNS(rq, rprev, rnext)

static void on_idle(uv_idle_t *h) {
    mx_gate_t *g = h->data;
    uint64_t until = uv_hrtime() + BUDGET_NS;
    while (g->ready.head && uv_hrtime() < until) {
        mx_gate_entry_t *e = g->ready.head;
        mx_gate_unready(g, e);
        e->work(e);
    }
    if (!g->ready.head)
        uv_idle_stop(h);
}

int mx_gate_init(mx_gate_t *g, uv_loop_t *loop, unsigned limit) {
    memset(g, 0, sizeof(*g));
    g->limit = limit;
    g->idle.data = g;
    return uv_idle_init(loop, &g->idle);
}

void mx_gate_close(mx_gate_t *g) {
    uv_close((uv_handle_t *)&g->idle, NULL);
}

/* E has a handshake now. */
static void grant(mx_gate_t *g, mx_gate_entry_t *e) {
    g->busy++;
    e->gated = 1;
    g->rate_tried |= e->rated;
}

int mx_gate_enter(mx_gate_t *g, mx_gate_entry_t *e) {
    g->entered++;
    if (!g->limit)
        return 1;
    if (g->busy < g->limit) {
        grant(g, e);
        return 1;
    }
    e->waiting = 1;
    e->since = uv_now(g->idle.loop);
    wq_push(&g->waiting, e);
    g->nwaiting++;
    return 0;
}

uint64_t mx_gate_oldest_wait(const mx_gate_t *g, uint64_t now) {
    const mx_gate_entry_t *e = g->waiting.head;
    return e && now > e->since ? now - e->since : 0;
}

void mx_gate_measure(mx_gate_t *g, uint64_t now) {
    int queued = g->nwaiting > 0;
    /* Only time with a queue at both ends of a call counts: an idle gate is not a slow one. It
     * adds up across calls and queues (the engine calls every 10 ms), so that the first waves,
     * each drained in under a second, still give a rate. */
    if (g->measured_at && g->queued_then && queued && now > g->measured_at) {
        g->queued_ms += now - g->measured_at;
        g->queued_served += g->served - g->served_then;
        if (g->queued_ms >= SAMPLE_MS) {
            double sample = (double)g->queued_served * 1000.0 / (double)g->queued_ms;
            g->queued_ms = 0;
            g->queued_served = 0;
            /* The envelope falls with any lower sample and rises slowly: a forecast credits
             * the rate for a whole round trip (seconds at farm or satellite latency), so a rate
             * read 30 % high lets through seconds more than the gate then serves. It stays above
             * half the mean, so that one stalled sample does not stop admission for long. */
            if (g->rate > 0) {
                g->rate = 0.8 * g->rate + 0.2 * sample;
                double low = sample < g->rate_low ? sample : 0.9 * g->rate_low + 0.1 * sample;
                g->rate_low = low > 0.5 * g->rate ? low : 0.5 * g->rate;
            } else {
                g->rate = g->rate_low = sample;
            }
        }
    }
    g->measured_at = now;
    g->served_then = g->served;
    g->queued_then = queued;
    if (now - g->second_at >= 1000) {
        double n = (double)(g->served - g->second_served) * 1000.0 / (double)(now - g->second_at);
        if (g->second_at && n > g->served_best)
            g->served_best = n;
        g->second_at = now;
        g->second_served = g->served;
    }
}

uint64_t mx_gate_forecast(const mx_gate_t *g, uint64_t now, uint64_t in) {
    if (!g->limit)
        return 0;
    double ahead = (double)g->nwaiting + (double)g->coming + 1.0 - (double)(g->limit - g->busy);
    if (g->rate <= 0) {
        uint64_t oldest = mx_gate_oldest_wait(g, now);
        if (ahead <= 0)
            return oldest;
        /* Blind: nothing is known of this machine's speed yet, and whatever was let through
         * arrives at once a round trip later. Each handshake is taken to hold its place for a
         * second (its CPU and the server's two round trips), or, once a gate's worth has ended,
         * the gate to be as fast as the most it has served in a second: no faster, since it may
         * have served them only because this forecast held the others back. Nothing is served
         * meanwhile: a wave many times larger shares the CPUs with the servers' side of it. */
        double speed = g->limit;
        if (g->served >= g->limit && g->served_best > speed)
            speed = g->served_best;
        uint64_t prior = (uint64_t)(ahead * 1000.0 / speed);
        return prior > oldest ? prior : oldest;
    }
    double backlog = ahead - g->rate_low * (double)in / 1000.0;
    return backlog > 0 ? (uint64_t)(backlog * 1000.0 / g->rate_low) : 0;
}

void mx_gate_coming(mx_gate_t *g, mx_gate_entry_t *e, int delta) {
    if (e && delta > 0)
        e->rated = g->rate > 0;
    g->coming = (unsigned)((int)g->coming + delta);
}

int mx_gate_rate_tried(const mx_gate_t *g) {
    return g->rate_tried;
}

void mx_gate_ready(mx_gate_t *g, mx_gate_entry_t *e) {
    if (e->ready)
        return;
    e->ready = 1;
    rq_push(&g->ready, e);
    uv_idle_start(&g->idle, on_idle);
}

void mx_gate_unready(mx_gate_t *g, mx_gate_entry_t *e) {
    if (!e->ready)
        return;
    rq_unlink(&g->ready, e);
    e->ready = 0;
}

void mx_gate_leave(mx_gate_t *g, mx_gate_entry_t *e) {
    mx_gate_unready(g, e);
    if (e->waiting) {
        wq_unlink(&g->waiting, e);
        g->nwaiting--;
        e->waiting = 0;
    }
    if (!e->gated)
        return;
    e->gated = 0;
    g->busy--;
    g->served++;
    if (g->draining) /* an outer call hands them out: no recursion through admit */
        return;
    g->draining = 1;
    while (g->busy < g->limit && g->waiting.head) {
        mx_gate_entry_t *w = g->waiting.head;
        wq_unlink(&g->waiting, w);
        g->nwaiting--;
        w->waiting = 0;
        grant(g, w);
        w->admit(w);
    }
    g->draining = 0;
}
