/* Admission and politeness (scan_int.h): --concurrency probes in flight, a token bucket for
 * --rate, one connection at a time per address and --net-limit per /24 (IPv4) or /48 (IPv6).
 * All of it under the scan's mutex: the limits are global across workers.
 *
 * The counts live in one open-addressed table keyed by a hash of "ip ADDR" or "n4 A.B.C" /
 * "n6 /48". Entries stay once made (a scan meets a bounded number of networks; the table
 * doubles when 3/4 full). */
#include "engine/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/hash.h"

/* Nonzero: 0 marks an empty slot. */
static uint64_t key_hash(const char *s) {
    uint64_t h = mx_hash(s);
    return h ? h : 1;
}

static int grow(scan_t *s) {
    size_t cap = s->bcap ? s->bcap * 2 : 4096;
    slot_t *n = calloc(cap, sizeof(*n));
    if (!n)
        return -1;
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
    return 0;
}

static slot_t *counter(scan_t *s, uint64_t key) {
    if ((s->bused + 1) * 4 > s->bcap * 3 && grow(s) < 0)
        return NULL;
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
    return c ? c->count : UINT32_MAX; /* out of memory: never admitted */
}

static void count_add(scan_t *s, uint64_t key, int delta) {
    slot_t *c = counter(s, key);
    if (c)
        c->count = (uint32_t)((int)c->count + delta);
}

int mx__limits_keys(const char *ip, int port, struct sockaddr_storage *sa, uint64_t *ipk,
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

static void refill(scan_t *s) {
    uint64_t now = mx__scan_now_ms();
    double rate = s->pace > 0 && s->pace < s->cfg->rate ? s->pace : s->cfg->rate;
    double burst = rate / 20.0 < 1 ? 1 : rate / 20.0;
    s->tokens += (double)(now - s->last_refill) * rate / 1000.0;
    if (s->tokens > burst)
        s->tokens = burst;
    s->last_refill = now;
}

/* A host whose address or network is busy stays queued, in order, and others behind it may go
 * first; at most 4,096 are looked at per claim, so a queue of one busy network costs little. */
int mx__limits_claim(worker_t *w, host_t **out) {
    scan_t *s = w->s;
    host_t **pp = &w->qhead, *prev = NULL;
    int n = 0, scanned = 0;
    uv_mutex_lock(&s->mu);
    refill(s);
    while (*pp && n < START_BATCH && s->open < s->window && s->tokens >= 1 && !s->stopping &&
           scanned++ < 4096) {
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
        h->state = HOST_PROBING;
        s->open++;
        s->hosts_probed += !h->fetch;
        h->first_fill = s->hosts_done == 0;
        s->tokens -= 1;
        count_add(s, h->ipk, 1);
        count_add(s, h->netk, 1);
        out[n++] = h;
    }
    uv_mutex_unlock(&s->mu);
    return n;
}

void mx__limits_release(scan_t *s, const host_t *h) {
    s->open--;
    count_add(s, h->ipk, -1);
    count_add(s, h->netk, -1);
}

/* ---- admission control ----
 * The engine starts new probes only as fast as the machine finishes them. The signal is the
 * backlog of local work: how long the oldest probe has waited at a handshake gate, and how late
 * the worker loops' ticks run. Above a small bound the window of probes in flight shrinks
 * multiplicatively, to 85 % of what is open; while the signal is low and the window is what
 * limits, it grows additively. --concurrency and --rate stay ceilings. AIMD, as in TCP: stable
 * under a fixed capacity, and it finds a changed capacity again.
 *
 * As in TCP, both steps are paced by the feedback delay, here the time from a probe's start to
 * its handshake, about half of a probe's time (greeting, EHLO and STARTTLS of five replies):
 * what admission changes now reaches the gate only then. So a decrease waits that long after
 * the last one, and is made only while the gates' backlog still grows: probes admitted before
 * a decrease keep arriving at the gate after it, and cutting again for them would take the
 * window down to its floor while the CPU goes idle (a first version did: 146 hosts/s where a
 * fixed window gave 334). The window grows by about 15 % in a feedback delay.
 *
 * Under the window, admission is paced (pace() below), and a probe beyond its gate's own window
 * holds before STARTTLS (probes.c, mxtls/gate.h): the only step that acts within the feedback
 * delay (docs/local-trouble.md). */

#define CONTROL_MS 500
#define WAIT_BOUND_MS 4000 /* gate backlog that counts as congestion (the bound is 5 s) */
#define LAG_BOUND_MS 1000  /* loop-turn lateness that counts as congestion */
#define TREND_MS 2000      /* the backlog is compared with its value this long ago */

static double min_window(const scan_t *s) {
    double m = 16.0 * s->nw;
    return m < s->cfg->concurrency ? m : s->cfg->concurrency;
}

/* The feedback delay in ms: half a probe's own time, at least a second, at most a minute. Before
 * any probe has completed, probes take longer than the scan has run. */
static double feedback_ms(const scan_t *s, uint64_t now) {
    double d = (s->probe_ms > 0 ? s->probe_ms : (double)(now - s->t0)) / 2;
    return d < 1000 ? 1000 : d > 60000 ? 60000 : d;
}

#define PACE_FREE_MS 2000 /* no gate queued this long: the CPUs' pace lets go, slowly */

/* Admission's pace, the lower of two rates (0: --rate alone).
 * The window's: half above window / probe time, so that the window stays full but its
 * probes start spread over a probe's time. Without it, probes that ended together are
 * replaced together, reach the gate together a feedback delay later, and the burst repeats
 * every probe time (servers that answer alike keep a scan's probes in step).
 * The CPUs': the rate the gates end handshakes at while probes wait there, divided by the share
 * of probes that reach a gate at all, and 15 % above it: a queue must always stand (an empty
 * gate idles the CPUs, and pacing at the rate itself, or below it while the queue is long, lost
 * a sixth of the throughput), and the gate's window (probes.c) trims it. While the window holds
 * probes back, they are that queue, and each of them costs a NOOP each way every round trip:
 * 10 % below it then, so that they drain. With no queue for a while it grows by a quarter per
 * feedback delay, and lets go at --rate. Under mu. */
static void pace(scan_t *s, uint64_t now, uint64_t elapsed) {
    if (s->cfg->fixed_admission) {
        s->pace = 0;
        return;
    }
    double mu = 0;
    int queued = 0;
    unsigned long long entered = 0;
    for (unsigned i = 0; i < s->nw; i++) {
        mu += s->w[i].gate_rate;
        queued |= s->w[i].gate_queue > 0;
        entered += s->w[i].gate_entered;
    }
    double share = s->hosts_done > 100 ? (double)entered / (double)s->hosts_done : 1.0;
    share = share < 0.2 ? 0.2 : share > 1 ? 1 : share;
    if (queued && mu > 0) {
        s->queued_seen = now;
        s->cpu_pace = mu / share * (s->held_recent ? 0.9 : 1.15);
    } else if (s->cpu_pace > 0 && now - s->queued_seen > PACE_FREE_MS) {
        s->cpu_pace *= 1 + 0.25 * (double)elapsed / feedback_ms(s, now);
        if (s->cpu_pace >= s->cfg->rate)
            s->cpu_pace = 0;
    }
    double wpace = s->probe_ms > 0 ? 1.5 * s->window * 1000.0 / s->probe_ms : 0;
    s->pace = s->cpu_pace > 0 && (wpace <= 0 || s->cpu_pace < wpace) ? s->cpu_pace : wpace;
}

void mx__limits_control(scan_t *s, uint64_t now) {
    uint64_t wait = 0, lag = 0;
    unsigned long long queue = 0;
    if (now - s->last_control < CONTROL_MS)
        return;
    uint64_t elapsed = now - s->last_control;
    s->last_control = now;
    for (unsigned i = 0; i < s->nw; i++) {
        wait = s->w[i].gate_wait > wait ? s->w[i].gate_wait : wait;
        lag = s->w[i].lag_recent > lag ? s->w[i].lag_recent : lag;
        queue += s->w[i].gate_queue;
        s->w[i].lag_recent = 0;
    }
    int growing = queue > s->queue_then;
    pace(s, now, elapsed);
    /* While probes are held the gates are full: the window does not grow. */
    int held = s->held_recent > 0;
    s->held_recent = 0;
    if (now - s->queue_at >= TREND_MS) {
        s->queue_then = queue;
        s->queue_at = now;
    }
    /* A long wait at the gate whose backlog shrinks is the past draining, not the present. */
    int congested = (wait > WAIT_BOUND_MS && growing) || lag > LAG_BOUND_MS || s->descriptors_short;
    int backlog = wait > WAIT_BOUND_MS || held || lag > LAG_BOUND_MS;
    if (s->cfg->fixed_admission)
        congested = backlog = 0; /* the window stays at --concurrency: the benchmark's reference */
    double delay = feedback_ms(s, now);
    if (congested && (double)(now - s->last_decrease) >= delay) {
        double base = s->open < s->window ? s->open : s->window;
        s->window = base * 0.85 > min_window(s) ? base * 0.85 : min_window(s);
        s->last_decrease = now;
        s->descriptors_short = 0;
    } else if (!backlog && s->open + 1 >= s->window * 0.9) {
        double step = s->window * 0.15 * (double)elapsed / delay;
        step = step > 4 ? step : 4;
        s->window = s->window + step < s->cfg->concurrency ? s->window + step : s->cfg->concurrency;
    }
    s->throttled =
        s->window < s->cfg->concurrency || (s->cpu_pace > 0 && s->cpu_pace < s->cfg->rate);
    if (s->throttled)
        s->health->throttled_ms += elapsed;
}
