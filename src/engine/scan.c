/* The scan engine (mxtls/scan.h): one libuv loop per worker thread, and one for DNS.
 *
 * Domains flow reader -> DNS stage -> host table -> probes -> writer. Each worker reads domains
 * from the shared reader and hands them to the DNS thread (dns_bridge.c), which hands each
 * answer back to the domain's worker. Workers probe on their own loops with their own TLS
 * configuration; a host is probed once per scan (hosts.c), within global limits (limits.c);
 * when a probe ends each waiting domain is stepped on its own worker (probes.c).
 *
 * The reader reads ahead only while few domains are in flight, so memory follows the work in
 * progress, not the list. A domain's rows are written together under the mutex once all its
 * hosts are done; domains in completion order. The mutex is held for short steps only
 * (claiming, completing, writing a group); with 2-8 workers and at most a few thousand probes
 * per second it is far from the bottleneck, which is the TLS handshake.
 *
 * The end is a teardown: every handle closed, every loop closed, every domain, host and table
 * freed, so that the valgrind test can hold the scan to zero leaks. */
#include "mxtls/scan.h"

#include "engine/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/source.h"

#define TICK_MS 10

uint64_t mx__scan_now_ms(void) {
    return uv_hrtime() / 1000000u;
}

int mx__scan_hand_over(scan_t *s, dom_list_t *list, dom_t *d) {
    if (list->n == list->cap) {
        size_t c = list->cap ? list->cap * 2 : 64;
        dom_t **l = realloc(list->v, c * sizeof(*l));
        if (!l) {
            mx__scan_fail(s, "out of memory");
            return -1;
        }
        list->v = l;
        list->cap = c;
    }
    list->v[list->n++] = d;
    return 0;
}

/* ---- domains and their rows ---- */

typedef struct {
    scan_t *s;
    dom_t *d;
} emit_ctx_t;

static void emit_row(void *ud, const mx_record_t *rec, mx_row_outcome_t out) {
    scan_t *s = ((emit_ctx_t *)ud)->s;
    if (mx_writer_row(s->writer, rec) < 0)
        return; /* the scan is failing (group_end says why) */
    if (out.conn >= 0)
        s->man.conn[out.conn]++;
    if (out.tls >= 0)
        s->man.tls[out.tls]++;
    s->health->overload_rows += (unsigned long long)out.local_overload;
}

static const mx_host_result_t *host_result(void *ud, int i, int a) {
    const dom_t *d = ((emit_ctx_t *)ud)->d;
    const host_t *h = d->hosts && d->hosts[i] ? d->hosts[i][a] : NULL;
    return h ? h->res : NULL;
}

static void group_end(scan_t *s) {
    if (mx_writer_group_end(s->writer, mx__scan_now_ms()) < 0)
        mx__scan_fail(s, mx_writer_error(s->writer));
    s->domains_done++;
}

/* 1 when every host D probed has a result (memory ran out for one: the scan is failing, and
 * the domain is left out rather than written with a made-up row). */
static int complete(const dom_t *d) {
    for (int i = 0; d->hosts && i < d->ans->nmx; i++)
        for (int a = 0; d->hosts[i] && a < d->ans->mx[i].nprobe; a++)
            if (d->hosts[i][a] && !d->hosts[i][a]->res)
                return 0;
    return d->ans != NULL;
}

/* Under the mutex. */
static void write_domain(scan_t *s, dom_t *d) {
    emit_ctx_t ctx = {s, d};
    if (!complete(d))
        return;
    mx_rows_domain_t rd = {d->name,
                           d->rank,
                           d->line,
                           d->ans,
                           host_result,
                           s->strings,
                           d->dns_at,
                           s->cfg->dns.dnssec,
                           d->sts_host ? d->sts_host->sts_status : d->sts_status,
                           d->sts_host ? d->sts_host->sts : NULL};
    mx_rows_domain(&rd, emit_row, &ctx);
    group_end(s);
}

static dom_t *dom_new(scan_t *s, const mx_domain_item_t *item, worker_t *w) {
    dom_t *d = calloc(1, sizeof(*d));
    if (!d || !(d->name = strdup(item->domain))) {
        free(d);
        return NULL;
    }
    d->rank = item->rank;
    d->line = item->line;
    d->w = w;
    if ((d->next = s->live))
        s->live->prev = d;
    s->live = d;
    return d;
}

/* Under the mutex. */
static void dom_free(scan_t *s, dom_t *d) {
    if (d->prev)
        d->prev->next = d->next;
    else
        s->live = d->next;
    if (d->next)
        d->next->prev = d->prev;
    if (d->hosts && d->ans)
        for (int i = 0; i < d->ans->nmx; i++)
            free(d->hosts[i]);
    free(d->hosts);
    free(d->ans);
    free(d->name);
    free(d);
}

static void feed(worker_t *w);

void mx__scan_dom_step(worker_t *w, dom_t *d) {
    scan_t *s = w->s;
    if (--d->pending > 0)
        return;
    uv_mutex_lock(&s->mu);
    write_domain(s, d);
    s->inflight--;
    dom_free(s, d);
    uv_mutex_unlock(&s->mu);
    w->inflight--;
    feed(w);
}

/* ---- reading the list ---- */

/* The next item of the list for this scan (its shard); 0 at the end. Under the mutex. */
static int next_item(scan_t *s, mx_domain_item_t *item) {
    for (;;) {
        int rc = mx_domain_reader_next(s->reader, item);
        if (rc <= 0) {
            if (rc < 0) {
                char what[512];
                snprintf(what, sizeof(what), "%s: the list is damaged (%s) after line %lu",
                         s->cfg->list, mx_strerror(rc), mx_domain_reader_counts(s->reader)->lines);
                mx__scan_fail(s, what);
            }
            s->eof = 1;
            return 0;
        }
        /* Invalid lines too, by their text: each row in exactly one shard. */
        if (s->cfg->shard_n <= 1 ||
            mx_domain_hash(item->domain) % s->cfg->shard_n == s->cfg->shard_i)
            return 1;
    }
}

static void feed(worker_t *w) {
    scan_t *s = w->s;
    mx_domain_item_t item;
    int fed = 0;
    uv_mutex_lock(&s->mu);
    while (!s->eof && !s->stopping && !s->dns_down && w->inflight < s->max_inflight &&
           next_item(s, &item)) {
        if (item.invalid) {
            emit_ctx_t ctx = {s, NULL};
            char at[24];
            mx_utc_now(at, sizeof(at));
            mx_rows_invalid(item.domain, item.line, item.invalid, at, emit_row, &ctx);
            group_end(s);
            continue;
        }
        dom_t *d = dom_new(s, &item, w);
        if (!d) {
            mx__scan_fail(s, "out of memory");
            break;
        }
        if (mx__scan_hand_over(s, &s->dns_queue, d) < 0) {
            dom_free(s, d);
            break;
        }
        w->inflight++;
        s->inflight++;
        fed = 1;
    }
    uv_mutex_unlock(&s->mu);
    if (fed)
        mx__dns_bridge_kick(s);
}

/* ---- the workers' loops ---- */

/* Interruptions, counted by the command's signal handler: the first lets probes in flight
 * finish within --grace, the second stops at once. Under the mutex. */
static void interrupts(scan_t *s) {
    int n = s->cfg->interrupts ? (int)*s->cfg->interrupts : 0;
    if (n == s->seen_interrupts)
        return;
    if (s->seen_interrupts == 0) {
        s->stopping = 1;
        mx__scan_say(s, "interrupted: letting %u probes finish (at most %llu s)", s->open,
                     (unsigned long long)(s->cfg->grace_ms / 1000));
    }
    if (n > 1)
        s->quit = 1; /* flush what is complete and go */
    s->seen_interrupts = n;
}

/* Whether the workers should stop now. Under the mutex. */
static int should_stop(scan_t *s, uint64_t now) {
    int pending_in = 0;
    for (unsigned i = 0; i < s->nw; i++)
        pending_in |= s->w[i].inbox.n > 0 || s->w[i].resolved.n > 0;
    if (s->quit || ((s->eof || s->stopping) && s->inflight == 0 && s->open == 0))
        return 1;
    if (!s->stopping)
        return 0;
    /* Grace: probes in flight may finish, nothing new starts; what is not complete then is not
     * written, and --resume does it again. */
    if (!s->stop_at)
        s->stop_at = now + s->cfg->grace_ms;
    return (s->open == 0 && !pending_in) || now >= s->stop_at;
}

/* How late this tick is: a loop whose turn takes long runs its timers late, and so does
 * everything it should do (reading replies, starting probes). */
static uint64_t measure_lag(worker_t *w, uint64_t now) {
    uint64_t lag = w->last_tick && now > w->last_tick + TICK_MS ? now - w->last_tick - TICK_MS : 0;
    w->last_tick = now;
    w->lag_hist[lag < LAG_BUCKETS ? lag : LAG_BUCKETS - 1]++;
    if (lag > w->lag_max)
        w->lag_max = lag;
    return lag;
}

static void on_tick(uv_timer_t *t) {
    worker_t *w = t->data;
    scan_t *s = w->s;
    uint64_t now = mx__scan_now_ms();
    uint64_t lag = measure_lag(w, now);
    mx__probes_pump(w);
    uint64_t lnow = uv_now(&w->loop);
    mx_gate_measure(&w->gate, lnow);
    uint64_t gate_wait = mx_gate_oldest_wait(&w->gate, lnow);
    uv_mutex_lock(&s->mu);
    w->gate_wait = gate_wait;
    w->gate_queue = w->gate.nwaiting;
    w->gate_rate = w->gate.rate;
    w->gate_entered = w->gate.entered;
    if (lag > w->lag_recent)
        w->lag_recent = lag;
    if (w->id == 0) {
        mx__limits_control(s, now);
        interrupts(s);
        mx_writer_tick(s->writer, now);
        if (++w->ticks % 25 == 0)
            mx__scan_progress(s, 0);
    }
    int stop = should_stop(s, now);
    uv_mutex_unlock(&s->mu);
    if (stop)
        uv_stop(&w->loop);
}

static void on_wake(uv_async_t *a) {
    worker_t *w = a->data;
    scan_t *s = w->s;
    uv_mutex_lock(&s->mu);
    dom_list_t in = w->inbox, res = w->resolved;
    memset(&w->inbox, 0, sizeof(w->inbox));
    memset(&w->resolved, 0, sizeof(w->resolved));
    uv_mutex_unlock(&s->mu);
    for (size_t i = 0; i < res.n; i++)
        mx__dns_bridge_resolved(w, res.v[i]);
    for (size_t i = 0; i < in.n; i++)
        mx__scan_dom_step(w, in.v[i]);
    free(res.v);
    free(in.v);
    mx__probes_pump(w);
}

static void worker_main(void *arg) {
    worker_t *w = arg;
    feed(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* Sets up worker W: its loop, TLS configuration, gate and handles. */
static int worker_init(scan_t *s, worker_t *w, unsigned id) {
    const mx_scan_config_t *cfg = s->cfg;
    char err[512];
    w->s = s;
    w->id = id;
    if (uv_loop_init(&w->loop) < 0) {
        mx__scan_say(s, "cannot create an event loop");
        return -1;
    }
    w->loop_ready = 1;
    if (mx_tls_config_new(&w->tls, cfg->probe.ca_file, err, sizeof(err)) < 0) {
        mx__scan_say(s, "%s", err);
        return -1;
    }
    if (mx_gate_init(&w->gate, &w->loop, cfg->handshakes) < 0) {
        mx__scan_say(s, "cannot set up the handshake gate");
        return -1;
    }
    w->probe = (mx_probe_config_t){.ehlo = cfg->probe.ehlo,
                                   .timeout_connect_ms = cfg->probe.timeout_connect_ms,
                                   .timeout_read_ms = cfg->probe.timeout_read_ms,
                                   .deadline_ms = cfg->probe.deadline_ms,
                                   .local_wait_ms = LOCAL_WAIT_MS,
                                   .tls = w->tls,
                                   .gate = &w->gate,
                                   .set = &w->probes,
                                   .defer_tls = mx__probes_defer_tls};
    w->sts = (mx_sts_fetch_config_t){.timeout_connect_ms = cfg->probe.timeout_connect_ms,
                                     .timeout_read_ms = cfg->probe.timeout_read_ms,
                                     .deadline_ms = cfg->probe.deadline_ms,
                                     .port = (uint16_t)cfg->probe.sts_port,
                                     .tls = w->tls,
                                     .set = &w->fetches};
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    w->handles_ready = 1;
    return 0;
}

/* Closes W's handles (probes still in flight are ended without a result) and its loop. */
static void worker_close(scan_t *s, worker_t *w) {
    if (w->handles_ready) {
        mx_probe_abort_all(&w->probes, free);      /* their pctx_t (probes.c) */
        mx_sts_fetch_abort_all(&w->fetches, free); /* their fctx_t (policies.c) */
        uv_close((uv_handle_t *)&w->tick, NULL);
        uv_close((uv_handle_t *)&w->wake, NULL);
        mx_gate_close(&w->gate);
    }
    if (w->loop_ready) {
        uv_run(&w->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&w->loop) != 0)
            mx__scan_say(s, "worker %u's loop still had handles open (a bug)", w->id);
    }
    mx_tls_config_free(w->tls);
    free(w->inbox.v);
    free(w->resolved.v);
}

/* ---- the scan's life ---- */

/* The manifest as the run starts: what is scanned, with what. */
static int manifest_start(scan_t *s) {
    const mx_scan_config_t *cfg = s->cfg;
    s->man.command_line = cfg->command_line;
    s->man.input = cfg->list;
    s->man.shard_index = cfg->shard_i;
    s->man.shard_count = cfg->shard_n;
    s->man.resolvers = cfg->dns.resolvers;
    s->man.nresolvers = cfg->dns.nresolvers;
    s->man.ehlo = cfg->probe.ehlo;
    s->man.ca_file = cfg->probe.ca_file ? cfg->probe.ca_file : "system bundle";
    snprintf(s->man.ca_sha256, sizeof(s->man.ca_sha256), "%s", mx_tls_ca_sha256(s->w[0].tls));
    mx_manifest_run_t *run = &s->man.runs[s->man.nruns++];
    mx_utc_now(run->start, sizeof(run->start));
    snprintf(run->status, sizeof(run->status), "running");
    int rc = mx_manifest_write(s->man_path, &s->man);
    if (rc < 0)
        mx__scan_say(s, "%s: %s", s->man_path, mx_strerror(rc));
    return rc;
}

/* The workers' loop-lag percentiles, into the manifest's health. */
static void lag_percentiles(scan_t *s) {
    unsigned long long n = 0, seen = 0;
    for (unsigned i = 0; i < s->nw; i++) {
        for (int b = 0; b < LAG_BUCKETS; b++)
            n += s->w[i].lag_hist[b];
        if (s->w[i].lag_max > s->health->lag_max_ms)
            s->health->lag_max_ms = s->w[i].lag_max;
    }
    int half = 0;
    s->health->lag_p50_ms = s->health->lag_p99_ms = 0;
    for (int b = 0; b < LAG_BUCKETS && n; b++) {
        for (unsigned i = 0; i < s->nw; i++)
            seen += s->w[i].lag_hist[b];
        if (!half && seen * 2 >= n) {
            s->health->lag_p50_ms = (unsigned long long)b;
            half = 1;
        }
        if (seen * 100 >= n * 99) {
            s->health->lag_p99_ms = (unsigned long long)b;
            break;
        }
    }
}

/* The file and the manifest at the end; what is not complete is not written, and --resume
 * redoes it. */
static void manifest_end(scan_t *s) {
    const mx_domain_counts_t *c = mx_domain_reader_counts(s->reader);
    mx_manifest_run_t *run = &s->man.runs[s->man.nruns - 1];
    if (strcmp(s->cfg->list, "-") == 0)
        mx_domain_reader_sha256(s->reader, s->man.input_sha256);
    s->man.lines = c->lines;
    s->man.domains = c->domains;
    s->man.invalid = c->invalid;
    s->man.duplicates = c->duplicates;
    s->man.hosts_probed = s->hosts_before + s->hosts_probed - s->retries;
    s->man.rows = mx_writer_rows(s->writer);
    lag_percentiles(s);
    int rc = mx_writer_close(s->writer);
    s->writer = NULL;
    mx_utc_now(run->end, sizeof(run->end));
    if (rc < 0 && !s->failed) {
        mx__scan_say(s, "%s: %s", s->cfg->out, mx_strerror(rc));
        s->failed = 1;
    }
    if (rc < 0)
        mx__scan_recount(s);
    snprintf(run->status, sizeof(run->status), "%s",
             s->failed                ? "failed"
             : s->seen_interrupts > 0 ? "interrupted"
                                      : "finished");
    mx_manifest_write(s->man_path, &s->man);
}

/* 1 when paths A and B name the same existing file (a link, a symlink or the same name). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Every file the scan writes must be another file than the list it reads: writing one would
 * destroy the list. 0, or the outcome. */
static int outputs_spare_list(scan_t *s) {
    const mx_scan_config_t *cfg = s->cfg;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.resume", cfg->out);
    const char *outs[] = {cfg->out, s->man_path, tmp};
    for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
        if (strcmp(cfg->list, "-") != 0 && same_file(cfg->list, outs[i])) {
            mx__scan_say(s, "%s is the list being scanned; writing it would destroy the list",
                         outs[i]);
            return MX_SCAN_REFUSED;
        }
    return 0;
}

/* Opens the list and the output (a new file, or the resumed one). 0, or the outcome. A list
 * file is read through once first: damage anywhere in it stops the scan before any of it is
 * scanned (a cut or a bad CRC is only found at the end of a gzip member, after the garbled
 * names before it). Standard input cannot be read twice; its damage ends the scan as failed. */
static int open_files(scan_t *s) {
    const mx_scan_config_t *cfg = s->cfg;
    int rc;
    snprintf(s->man.csv_dialect, sizeof(s->man.csv_dialect), "%s",
             cfg->csv_plain ? "plain" : "spreadsheet");
    snprintf(s->man.scan_id, sizeof(s->man.scan_id), "%s", cfg->scan_id ? cfg->scan_id : "");
    if (!(s->man_path = mx_manifest_path(cfg->out))) {
        mx__scan_say(s, "out of memory");
        return MX_SCAN_FAILED;
    }
    if ((rc = outputs_spare_list(s)) != 0)
        return rc;
    if (strcmp(cfg->list, "-") != 0 &&
        (rc = mx_source_check_file(cfg->list, s->man.input_sha256, &s->list_lines)) < 0) {
        mx__scan_say(s, "%s: %s; nothing was scanned", cfg->list,
                     rc == MX_E_TRUNCATED || rc == MX_E_CORRUPT
                         ? "the list is damaged (a cut or corrupt gzip file)"
                         : mx_strerror(rc));
        return MX_SCAN_FAILED;
    }
    if ((rc = mx_domain_reader_open(&s->reader, cfg->list)) < 0) {
        mx__scan_say(s, "%s: %s", cfg->list, mx_strerror(rc));
        return MX_SCAN_FAILED;
    }
    if (cfg->resume && access(cfg->out, F_OK) == 0)
        return mx__scan_resume(s);
    if ((rc = mx_writer_open(&s->writer, cfg->out)) < 0) {
        mx__scan_say(s, "%s: %s; check the path and free space", cfg->out, mx_strerror(rc));
        return MX_SCAN_FAILED;
    }
    if (cfg->csv_plain)
        mx_writer_set_plain(s->writer);
    return 0;
}

static int start(scan_t *s) {
    int rc;
    if ((rc = open_files(s)) != 0)
        return rc;
    for (unsigned i = 0; i < s->nw; i++)
        if (worker_init(s, &s->w[i], i) < 0)
            return MX_SCAN_FAILED;
    if (mx__dns_bridge_start(s) < 0 || manifest_start(s) < 0)
        return MX_SCAN_FAILED;
    return 0;
}

/* Runs the workers, this thread being worker 0, until they stop. */
static void run_workers(scan_t *s) {
    unsigned started = 1;
    s->t0 = s->last_refill = mx__scan_now_ms();
    s->tokens = 1;
    for (; started < s->nw; started++)
        if (uv_thread_create(&s->w[started].thread, worker_main, &s->w[started]) < 0) {
            uv_mutex_lock(&s->mu);
            mx__scan_fail(s, "cannot start a worker thread; try fewer --threads");
            uv_mutex_unlock(&s->mu);
            break;
        }
    worker_main(&s->w[0]);
    for (unsigned i = 1; i < started; i++)
        uv_thread_join(&s->w[i].thread);
}

/* Everything closed and freed, in an order where nothing is used after it is gone: DNS first
 * (its last answers go to the workers' lists), then the workers' loops, then the domains still
 * in flight and the tables. */
static void teardown(scan_t *s) {
    mx__dns_bridge_stop(s);
    mx_hashset_close(&s->excluded);
    for (unsigned i = 0; s->w && i < s->nw; i++)
        worker_close(s, &s->w[i]);
    while (s->live)
        dom_free(s, s->live);
    free(s->dns_queue.v);
    free(s->dns_doubt.v);
    mx__hosts_free(s);
    free(s->busy);
    mx_intern_free(s->strings);
    mx_writer_close(s->writer); /* only when the scan never started */
    mx_domain_reader_free(s->reader);
    free(s->man_path);
    free(s->w);
    uv_mutex_destroy(&s->mu);
}

mx_scan_outcome_t mx_scan_run(const mx_scan_config_t *cfg) {
    scan_t s;
    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.health = &s.man.health;
    s.window = cfg->concurrency;
    mx_table_init(&s.hosts, sizeof(host_t *));
    s.nw = cfg->threads ? cfg->threads : 1;
    s.max_inflight = (cfg->concurrency * 2ul + cfg->dns.concurrency) / s.nw + 1;
    if (uv_mutex_init(&s.mu) < 0) {
        mx__scan_say(&s, "cannot create a mutex");
        return MX_SCAN_FAILED;
    }
    int rc = MX_SCAN_FAILED;
    if (!(s.strings = mx_intern_new()) || !(s.w = calloc(s.nw, sizeof(*s.w))))
        mx__scan_say(&s, "out of memory");
    else
        rc = start(&s);
    if (rc == 0) {
        run_workers(&s);
        mx__dns_bridge_stop(&s); /* from here on this thread is the only one */
        mx__dns_bridge_all_excluded(&s);
        manifest_end(&s);
        mx__scan_progress(&s, 1);
        rc = s.failed ? MX_SCAN_FAILED : s.seen_interrupts ? MX_SCAN_INTERRUPTED : MX_SCAN_FINISHED;
    }
    teardown(&s);
    return (mx_scan_outcome_t)rc;
}
