/* The handshake gate (mxtls/gate.h): two intrusive FIFO queues and an idle handle. */
#include "mxtls/gate.h"

#include <string.h>

/* The handshakes' CPU work, at most BUDGET_NS per turn of the loop, oldest first. */
#define BUDGET_NS 10000000u
/* A rate sample: this much time with entries waiting, in one stretch or several. */
#define SAMPLE_MS 500u
/* The window moves this often, towards an oldest wait of TARGET_MS: 3 s to spare of the 5 s a
 * local wait may last, for the seconds in which the gate's handshakes end far slower than the
 * round trip before (a shared machine's peers starved of CPU; bench/RESULTS.md). */
#define WINDOW_MS 500u
#define TARGET_MS 2000.0

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
QUEUE_FNS(hq, hprev, hnext)

/* Handshakes in progress, at most this many times the limit: those beyond the limit wait on their
 * servers. A slow server (or, on a shared machine, a starved one) must not keep probes waiting
 * for CPUs that are idle; their memory, about 40 KiB each, is what bounds them. */
#define SPARE 4

/* A handshake may start: fewer than the limit have work queued for our CPUs (a new one has, its
 * ClientHello's key), and the handshakes' memory stays within its bound. */
static int has_room(const mx_gate_t *g) {
    return g->busy < g->limit || (g->nready < g->limit && g->busy < SPARE * g->limit);
}

static void admit_waiting(mx_gate_t *g);

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
    admit_waiting(g);
}

int mx_gate_init(mx_gate_t *g, uv_loop_t *loop, unsigned limit) {
    memset(g, 0, sizeof(*g));
    g->limit = limit;
    /* Before anything is known: two gates' worth on their way, and a round trip of a second. */
    g->window = 2.0 * limit;
    g->rtt_ms = 1000;
    g->slow_start = 1;
    g->window_at = uv_now(loop);
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
}

int mx_gate_enter(mx_gate_t *g, mx_gate_entry_t *e) {
    g->entered++;
    if (!g->limit)
        return 1;
    if (has_room(g) && !g->waiting.head) {
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

/* The window's law (mxtls/gate.h), LEDBAT's: each step moves it in proportion to how far the
 * oldest wait is from the target, below it up, past it down. A wait past the target was caused
 * by probes that sent STARTTLS up to a round trip before; cutting for it a little at every
 * step, up to half per round trip, does not take the window down once per late arrival, as
 * cutting by half at once would for all the round trip's arrivals. It grows only while probes
 * are held back (TCP's "window-limited"): a gate short of probes says nothing of a larger
 * window. */
static void move_window(mx_gate_t *g, uint64_t now) {
    if (now < g->window_at + WINDOW_MS)
        return;
    double step = (double)(now - g->window_at) / (g->rtt_ms + 1000.0); /* of a round trip */
    double off = (TARGET_MS - (double)mx_gate_oldest_wait(g, now)) / TARGET_MS; /* <= 1 */
    if (off < 0) {
        g->slow_start = 0;
        g->window *= 1 - 0.5 * (step < 1 ? step : 1) * (off > -1 ? -off : 1);
    } else if (g->held || g->nholding) {
        if (g->slow_start)
            g->window += (double)(g->served - g->window_served) * off;
        else
            g->window *= 1 + 0.25 * step * off;
    }
    if (g->window < g->limit)
        g->window = g->limit;
    g->window_at = now;
    g->window_served = g->served;
    g->held = 0;
}

/* One more probe on its way stays within the window. */
static int fits(const mx_gate_t *g) {
    return (double)g->coming + (double)g->nwaiting + (double)g->busy + 1.0 <= g->window;
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
            g->rate = g->rate > 0 ? 0.8 * g->rate + 0.2 * sample : sample;
        }
    }
    g->measured_at = now;
    g->served_then = g->served;
    g->queued_then = queued;
    if (!g->limit)
        return;
    move_window(g, now);
    admit_waiting(g);
    while (g->holding.head && fits(g)) {
        mx_gate_entry_t *e = g->holding.head;
        mx_gate_unhold(g, e);
        e->release(e); /* sends STARTTLS: one more coming */
    }
}

int mx_gate_may_start(mx_gate_t *g, uint64_t rtt_ms) {
    if (!g->limit)
        return 1;
    g->rtt_ms = 0.875 * g->rtt_ms + 0.125 * (double)rtt_ms;
    if (!g->holding.head && fits(g))
        return 1;
    g->held++;
    return 0;
}

void mx_gate_hold(mx_gate_t *g, mx_gate_entry_t *e) {
    if (e->holding)
        return;
    e->holding = 1;
    hq_push(&g->holding, e);
    g->nholding++;
}

void mx_gate_unhold(mx_gate_t *g, mx_gate_entry_t *e) {
    if (!e->holding)
        return;
    hq_unlink(&g->holding, e);
    g->nholding--;
    e->holding = 0;
}

void mx_gate_coming(mx_gate_t *g, int delta) {
    g->coming = (unsigned)((int)g->coming + delta);
}

void mx_gate_ready(mx_gate_t *g, mx_gate_entry_t *e) {
    if (e->ready)
        return;
    e->ready = 1;
    g->nready++;
    rq_push(&g->ready, e);
    uv_idle_start(&g->idle, on_idle);
}

void mx_gate_unready(mx_gate_t *g, mx_gate_entry_t *e) {
    if (!e->ready)
        return;
    rq_unlink(&g->ready, e);
    g->nready--;
    e->ready = 0;
}

void mx_gate_leave(mx_gate_t *g, mx_gate_entry_t *e) {
    mx_gate_unready(g, e);
    mx_gate_unhold(g, e);
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
    admit_waiting(g);
}

static void admit_waiting(mx_gate_t *g) {
    if (g->draining) /* an outer call hands them out: no recursion through admit */
        return;
    g->draining = 1;
    while (has_room(g) && g->waiting.head) {
        mx_gate_entry_t *w = g->waiting.head;
        wq_unlink(&g->waiting, w);
        g->nwaiting--;
        w->waiting = 0;
        grant(g, w);
        w->admit(w);
    }
    g->draining = 0;
}
