/* The bridge to the DNS thread (scan_int.h). DNS has a thread and a loop of its own because a
 * worker's loop can spend seconds in one iteration of TLS handshakes when thousands of
 * connections are ready at once; c-ares would then expire queries whose answers are already
 * waiting in the socket (timers run before I/O), and a query over TCP is never retried on the
 * same connection: a loaded scanner recorded DNS timeouts that were not there. Workers queue
 * domains under the mutex and wake the DNS loop; answers go back the same way. */
#include "engine/scan_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the resolvers' health ----
 * A timeout is a property of the domain only when it repeats while the resolvers answer others.
 * So that a working resolver always has answered something lately, it is pinged (the root's
 * NS, which every resolver answers) whenever queries are in flight and no answer came for a
 * quarter of the query timeout. A domain whose lookup timed out is in doubt and asked again a
 * second later, up to RETRIES times; while the resolvers answer nothing at all (not for half a
 * query timeout) those retries wait, and do not count, and the scan feeds no new domain (a
 * resolver catching up after an outage drops queries too). The scan gives up (exit 2, the
 * domains in doubt left out of the file for --resume) when the silence outlasts --dns-outage.
 * A timeout is written only after RETRIES more timeouts in answered times. */

#define PING_MS 250
#define RETRY_MS 1000
#define RETRIES 2       /* times a timeout is asked again in answered times */
#define MAX_DOUBTS 1000 /* in silent times: a bound, the outage's own is what ends them */

static int timed_out(const char *status) {
    return status && !strcmp(status, "timeout");
}

/* Whether any of the domain's lookups timed out: its MX, its hosts' addresses, and with
 * --policy its TXT and TLSA records and its policy host, which a stalled resolver loses as
 * surely. */
static int has_timeout(const mx_dns_answer_t *a) {
    if (timed_out(a->status) || timed_out(a->sts.status) || timed_out(a->rpt.status) ||
        timed_out(a->sts_host))
        return 1;
    for (int i = 0; i < a->nmx; i++)
        if (timed_out(a->mx[i].status) || timed_out(a->mx[i].tlsa.status))
            return 1;
    return 0;
}

/* Whether the resolvers have answered nothing for the last half query timeout. */
static int silent(scan_t *s, uint64_t *last) {
    mx_dns_stats_t st;
    mx_dns_stats(s->dns, &st);
    uint64_t now = uv_now(&s->dns_loop);
    *last = st.last_answer_ms;
    return !st.last_answer_ms || now - st.last_answer_ms > s->cfg->dns.timeout_ms / 2;
}

/* On the DNS thread: D's lookup timed out; it is asked again later. Under mu. */
static void doubt(scan_t *s, dom_t *d, int quiet, uint64_t last_answer) {
    d->dns_doubts++;
    if (!quiet)
        d->dns_retries++;
    d->dns_retry_at = uv_now(&s->dns_loop) + RETRY_MS;
    s->health->dns_retried++;
    mx__scan_hand_over(s, &s->dns_doubt, d);
    if (quiet && !s->dns_down) {
        s->dns_down = 1;
        s->dns_silent_since = last_answer ? last_answer : uv_now(&s->dns_loop);
    }
}

/* On the DNS thread: D's answer goes into D, which goes back to its worker. */
static void on_resolved(void *ud, const char *domain, mx_dns_answer_t *ans) {
    dom_t *d = ud;
    worker_t *w = d->w;
    scan_t *s = w->s;
    uint64_t last;
    (void)domain;
    if (ans && has_timeout(ans) && !s->dns_closing && d->dns_doubts < MAX_DOUBTS) {
        int quiet = silent(s, &last);
        if (quiet || d->dns_retries < RETRIES) {
            free(ans);
            uv_mutex_lock(&s->mu);
            doubt(s, d, quiet, last);
            uv_mutex_unlock(&s->mu);
            return;
        }
    }
    d->ans = ans;
    if (ans && ans->nmx && !(d->hosts = calloc((size_t)ans->nmx, sizeof(*d->hosts)))) {
        free(ans);
        d->ans = NULL;
    }
    uv_mutex_lock(&s->mu);
    if (!d->ans) /* the scan stops, and this domain is not written */
        mx__scan_fail(s, "out of memory");
    mx__scan_hand_over(s, &w->resolved, d);
    uv_mutex_unlock(&s->mu);
    uv_async_send(&w->wake);
}

/* Distinct probe addresses seen before a scan that may probe none of them stops: a scan whose
 * every address is excluded (by --allow, --exclude or the reserved ranges) measures nothing,
 * and its file of conn=excluded rows would read as a survey. Distinct, because excluding a
 * large provider excludes the same few addresses for thousands of domains. */
#define EXCLUDED_STOP 1000

static void count_address(scan_t *s, uint64_t ipk, int permitted) {
    if (s->addrs_permitted)
        return;
    s->addrs_permitted += permitted != 0;
    if (permitted) {
        mx_hashset_close(&s->excluded);
        return;
    }
    if (mx_hashset_add(&s->excluded, ipk) == 1 && ++s->addrs_seen == EXCLUDED_STOP)
        mx__scan_fail(s, "the first 1000 probe addresses are all excluded by --allow, --exclude "
                         "or the reserved ranges: nothing would be measured");
}

void mx__dns_bridge_all_excluded(scan_t *s) {
    if (!s->failed && s->addrs_seen && !s->addrs_permitted && !s->seen_interrupts)
        mx__scan_fail(s, "every probe address was excluded by --allow, --exclude or the "
                         "reserved ranges: nothing was measured");
}

/* M's TLSA records when a DANE sender would use them: present, and not known to be insecure. */
static const mx_dns_rdata_t *judged_tlsa(const scan_t *s, const mx_dns_mx_t *m) {
    if (!m->tlsa.status || strcmp(m->tlsa.status, "ok") != 0)
        return NULL;
    return s->cfg->dns.dnssec && !m->tlsa.ad ? NULL : &m->tlsa;
}

void mx__dns_bridge_resolved(worker_t *w, dom_t *d) {
    scan_t *s = w->s;
    d->pending = 1;
    mx_utc_now(d->dns_at, sizeof(d->dns_at));
    uv_mutex_lock(&s->mu);
    for (int i = 0; d->ans && i < d->ans->nmx; i++) {
        const mx_dns_mx_t *m = &d->ans->mx[i];
        if (!m->nprobe)
            continue;
        d->hosts[i] = calloc((size_t)m->naddrs, sizeof(host_t *));
        const char *addr = m->text;
        for (int a = 0; a < m->nprobe && d->hosts[i]; a++) {
            struct sockaddr_storage sa;
            uint64_t ipk = 0, netk = 0;
            addr = mx_dns_next(addr);
            int ok = mx__limits_keys(addr, s->cfg->probe.port, &sa, &ipk, &netk) &&
                     mx_net_permitted(&s->cfg->allow, &s->cfg->exclude, &s->cfg->reserved,
                                      (struct sockaddr *)&sa);
            count_address(s, ipk, ok);
            if (!ok)
                continue; /* conn=excluded: no packet */
            if (!(d->hosts[i][a] = mx__hosts_need(w, d, m->text, addr, judged_tlsa(s, m))))
                mx__scan_fail(s, "out of memory for the host table");
        }
    }
    if (s->cfg->dns.policy)
        mx__policies_need(w, d);
    uv_mutex_unlock(&s->mu);
    mx__scan_dom_step(w, d);
}

static void on_dns_wake(uv_async_t *a) {
    scan_t *s = a->data;
    uv_mutex_lock(&s->mu);
    dom_list_t q = s->dns_queue;
    memset(&s->dns_queue, 0, sizeof(s->dns_queue));
    uv_mutex_unlock(&s->mu);
    for (size_t i = 0; i < q.n; i++)
        if (mx_dns_resolve(s->dns, q.v[i]->name, on_resolved, q.v[i]) < 0) {
            uv_mutex_lock(&s->mu);
            mx__scan_fail(s, "out of memory");
            uv_mutex_unlock(&s->mu);
        }
    free(q.v);
}

/* The domains in doubt whose retry is due, into AGAIN. Under mu. */
static void due(scan_t *s, uint64_t now, dom_list_t *again) {
    size_t keep = 0;
    for (size_t i = 0; i < s->dns_doubt.n; i++) {
        dom_t *d = s->dns_doubt.v[i];
        if (d->dns_retry_at <= now)
            mx__scan_hand_over(s, again, d);
        else
            s->dns_doubt.v[keep++] = d;
    }
    s->dns_doubt.n = keep;
}

/* Pings while queries wait; the domains in doubt asked again when due and the resolvers
 * answer; when they stay silent too long, the scan stops. Under mu. */
static void watch(scan_t *s, const mx_dns_stats_t *st, dom_list_t *again) {
    uint64_t now = uv_now(&s->dns_loop);
    if ((st->inflight > 0 || s->dns_down) &&
        now - st->last_answer_ms > s->cfg->dns.timeout_ms / 4 &&
        now - s->dns_last_ping >= PING_MS) {
        s->dns_last_ping = now;
        mx_dns_ping(s->dns);
    }
    if (s->dns_down && st->last_answer_ms > s->dns_silent_since)
        s->dns_down = 0; /* they answer again */
    if (!s->dns_down) {
        due(s, now, again);
        return;
    }
    if (now - s->dns_silent_since > s->cfg->dns_outage_ms && !s->failed) {
        snprintf(s->health->failure, sizeof(s->health->failure),
                 "the resolvers answered nothing for %llu s; %zu domains in doubt are left out "
                 "of the file (--resume asks again)",
                 (unsigned long long)(now - s->dns_silent_since) / 1000, s->dns_doubt.n);
        mx__scan_fail(s, s->health->failure);
    }
}

static void on_dns_tick(uv_timer_t *t) {
    scan_t *s = t->data;
    mx_dns_stats_t st;
    dom_list_t again = {0};
    mx_dns_stats(s->dns, &st);
    int dead = mx_dns_unresponsive(s->dns);
    uv_mutex_lock(&s->mu);
    watch(s, &st, &again);
    s->dns_inflight = st.inflight;
    if (dead && !s->failed) {
        snprintf(s->health->failure, sizeof(s->health->failure),
                 "the resolver answers nothing; check --resolver (%s)",
                 s->cfg->dns.nresolvers ? s->cfg->dns.resolvers[0] : "system");
        mx__scan_fail(s, s->health->failure);
    }
    int quit = s->dns_quit;
    uv_mutex_unlock(&s->mu);
    for (size_t i = 0; i < again.n; i++)
        if (mx_dns_resolve(s->dns, again.v[i]->name, on_resolved, again.v[i]) < 0) {
            uv_mutex_lock(&s->mu);
            mx__scan_fail(s, "out of memory");
            uv_mutex_unlock(&s->mu);
        }
    free(again.v);
    if (quit)
        uv_stop(&s->dns_loop);
}

static void dns_main(void *arg) {
    scan_t *s = arg;
    uv_run(&s->dns_loop, UV_RUN_DEFAULT);
}

int mx__dns_bridge_start(scan_t *s) {
    const mx_dns_opts_t *o = &s->cfg->dns;
    mx_dns_config_t dc = {o->resolvers, o->nresolvers, o->timeout_ms, o->tries, o->concurrency,
                          o->max_mx,    o->max_addrs,  o->ipv6,       o->policy};
    char err[512];
    if (uv_loop_init(&s->dns_loop) < 0) {
        mx__scan_say(s, "cannot create an event loop");
        return -1;
    }
    s->dns_ready = 1;
    if (mx_dns_new(&s->dns, &s->dns_loop, &dc, err, sizeof(err)) < 0) {
        mx__scan_say(s, "%s", err);
        return -1;
    }
    uv_async_init(&s->dns_loop, &s->dns_wake, on_dns_wake);
    s->dns_wake.data = s;
    uv_timer_init(&s->dns_loop, &s->dns_tick);
    s->dns_tick.data = s;
    uv_timer_start(&s->dns_tick, on_dns_tick, 50, 50);
    s->dns_ready = 2;
    if (uv_thread_create(&s->dns_thread, dns_main, s) < 0) {
        mx__scan_say(s, "cannot start the DNS thread");
        return -1;
    }
    s->dns_ready = 3;
    return 0;
}

void mx__dns_bridge_kick(scan_t *s) {
    uv_async_send(&s->dns_wake);
}

/* Stops the thread, then closes the stage on this thread: lookups still in flight complete as
 * timeouts into the workers' lists, which the teardown empties. Once; later calls do nothing. */
void mx__dns_bridge_stop(scan_t *s) {
    if (s->dns_ready >= 3) {
        uv_mutex_lock(&s->mu);
        s->dns_quit = 1;
        uv_mutex_unlock(&s->mu);
        uv_thread_join(&s->dns_thread);
    }
    s->dns_closing = 1; /* what completes now completes as it is */
    if (s->dns_ready >= 2) {
        uv_close((uv_handle_t *)&s->dns_wake, NULL);
        uv_close((uv_handle_t *)&s->dns_tick, NULL);
    }
    mx_dns_free(s->dns);
    s->dns = NULL;
    if (s->dns_ready >= 1) {
        uv_run(&s->dns_loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&s->dns_loop) != 0)
            mx__scan_say(s, "the DNS loop still had handles open (a bug)");
    }
    s->dns_ready = 0; /* once */
}
