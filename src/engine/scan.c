/* The scan engine (mxtls/scan.h), one worker loop.
 *
 * Domains flow reader -> DNS stage -> host table -> probes -> writer. A host is an (MX name,
 * address) pair: the first domain to need it queues a probe, later domains wait on it, and
 * every waiting domain gets its own rows from the one result. Probes start from a FIFO when
 * the limits allow: --concurrency probes in flight, a token bucket for --rate, one connection
 * at a time per address and --net-limit per /24 (IPv4) or /48 (IPv6). The reader reads ahead
 * only while few domains are in flight, so memory follows the work in progress, not the list.
 * A domain's rows are written together, once all its hosts are done; domains in completion
 * order. */
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
#include "mxtls/manifest.h"
#include "mxtls/probe.h"
#include "mxtls/rows.h"
#include "mxtls/salvage.h"
#include "mxtls/source.h"
#include "mxtls/writer.h"

typedef struct dom dom_t;

typedef struct host {
    char *key; /* "mxhost ip" */
    char mx_host[256];
    char ip[46];
    struct sockaddr_storage addr;
    int state; /* 0 queued, 1 probing, 2 done */
    mx_probe_result_t *res;
    dom_t **waiters;
    int nwait, capwait;
    struct host *next; /* FIFO of queued probes */
} host_t;

struct dom {
    void *scan; /* the scan_t */
    long rank;
    unsigned long line;
    char *name;
    const char *status;
    int nmx;
    mx_dns_mx_t *mx;
    host_t ***hosts; /* per MX, per address: the host, NULL when not probed */
    int pending;
};

typedef struct {
    mx_scan_config_t *cfg;
    uv_loop_t *loop;
    mx_dns_t *dns;
    mx_domain_reader_t *reader;
    mx_writer_t *writer;
    mx_tls_config_t *tls;
    mx_probe_config_t probe;
    mx_manifest_t man;
    char *man_path;
    host_t **table; /* hash of hosts by key */
    size_t tcap, tused;
    host_t *qhead, *qtail;
    struct counter_slot *busy; /* connections open per address and per network */
    size_t bcap, bused;
    unsigned open;
    double tokens;
    uint64_t last_refill;
    uv_timer_t tick;
    uv_signal_t sigint, sigterm;
    int eof, stopping, aborted, failed, signals;
    uint64_t stop_at;
    unsigned long domains_inflight, max_domains_inflight;
    unsigned long long domains_done, hosts_probed, hosts_done;
    uint64_t t0;
    int tty;
} scan_t;

/* ---- per-address and per-network counts ---- */

static uint64_t key_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

/* Connections open per address and per network, in one open-addressed table keyed by a hash
 * of "ip ADDR" or "n4 A.B.C" / "n6 /48". Entries stay once made (a scan meets a bounded number
 * of networks; the table doubles when three quarters full). */
typedef struct counter_slot {
    uint64_t key;
    uint32_t count;
} slot_t;

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

static uint64_t net_key(const host_t *h) {
    char net[64];
    if (h->addr.ss_family == AF_INET) {
        const unsigned char *a =
            (const unsigned char *)&((const struct sockaddr_in *)&h->addr)->sin_addr;
        snprintf(net, sizeof(net), "n4 %u.%u.%u", a[0], a[1], a[2]);
    } else {
        const unsigned char *a =
            (const unsigned char *)&((const struct sockaddr_in6 *)&h->addr)->sin6_addr;
        snprintf(net, sizeof(net), "n6 %02x%02x%02x%02x%02x%02x", a[0], a[1], a[2], a[3], a[4],
                 a[5]);
    }
    return key_hash(net);
}

static uint64_t ip_key(const host_t *h) {
    char k[64];
    snprintf(k, sizeof(k), "ip %s", h->ip);
    return key_hash(k);
}

/* ---- the host table ---- */

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

/* ---- writing ---- */

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

static const mx_probe_result_t *host_result(void *ud, int i, int a) {
    const dom_t *d = ((emit_ctx_t *)ud)->d;
    host_t *h = d->hosts && d->hosts[i] ? d->hosts[i][a] : NULL;
    return h ? h->res : NULL;
}

static void group_end(scan_t *s) {
    if (mx_writer_group_end(s->writer, uv_now(s->loop)) < 0 && !s->failed) {
        fprintf(stderr, "mxtls scan: %s\n", mx_writer_error(s->writer));
        s->failed = 1;
        s->stopping = 1;
    }
    s->domains_done++;
}

static void write_domain(scan_t *s, dom_t *d) {
    mx_rows_domain_t rd = {d->name, d->rank, d->line, d->status, d->nmx, d->mx};
    emit_ctx_t ctx = {s, d};
    mx_rows_domain(&rd, host_result, emit_row, &ctx);
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

static void feed(scan_t *s);
static void pump(scan_t *s);

static void dom_step(scan_t *s, dom_t *d) {
    if (--d->pending > 0)
        return;
    if (!s->aborted)
        write_domain(s, d);
    dom_free(d);
    s->domains_inflight--;
    feed(s);
}

/* ---- probes ---- */

typedef struct {
    scan_t *s;
    host_t *h;
} pctx_t;

/* A host's result is in: every domain waiting on it takes its copy. */
static void host_done(scan_t *s, host_t *h, const mx_probe_result_t *res) {
    h->res = malloc(sizeof(*h->res));
    if (h->res)
        *h->res = *res;
    h->state = 2;
    s->hosts_done++;
    for (int i = 0; i < h->nwait; i++)
        dom_step(s, h->waiters[i]);
    free(h->waiters);
    h->waiters = NULL;
    h->nwait = h->capwait = 0;
}

static void probe_done(void *ud, const mx_probe_result_t *res) {
    pctx_t *p = ud;
    scan_t *s = p->s;
    host_t *h = p->h;
    free(p);
    s->open--;
    count_add(s, ip_key(h), -1);
    count_add(s, net_key(h), -1);
    host_done(s, h, res);
    pump(s);
}

static void refill(scan_t *s) {
    uint64_t now = uv_now(s->loop);
    double burst = s->cfg->rate / 20.0 < 1 ? 1 : s->cfg->rate / 20.0;
    s->tokens += (double)(now - s->last_refill) * s->cfg->rate / 1000.0;
    if (s->tokens > burst)
        s->tokens = burst;
    s->last_refill = now;
}

/* Starts queued probes while the limits allow; a host whose address or network is busy stays
 * queued, in order, and others behind it may go first. */
static void pump(scan_t *s) {
    refill(s);
    host_t **pp = &s->qhead, *prev = NULL;
    int scanned = 0;
    while (*pp && s->open < s->cfg->concurrency && s->tokens >= 1 && !s->stopping &&
           scanned++ < 4096) {
        host_t *h = *pp;
        if (count_get(s, ip_key(h)) >= 1 || count_get(s, net_key(h)) >= s->cfg->net_limit) {
            prev = h;
            pp = &h->next;
            continue;
        }
        *pp = h->next; /* unlink */
        if (s->qtail == h)
            s->qtail = prev;
        h->next = NULL;
        pctx_t *p = malloc(sizeof(*p));
        if (!p) {
            s->failed = 1;
            return;
        }
        p->s = s;
        p->h = h;
        h->state = 1;
        if (mx_probe_start(s->loop, &s->probe, h->mx_host, (struct sockaddr *)&h->addr, probe_done,
                           p) < 0) {
            /* Could not even start (no file descriptor): recorded like a failed connect. */
            mx_probe_result_t r;
            free(p);
            memset(&r, 0, sizeof(r));
            r.conn = MX_CONN_ERROR;
            r.size_limit = -1, r.starttls = -1, r.tls = -1;
            r.t_connect_ms = r.t_banner_ms = r.t_tls_ms = r.t_total_ms = -1;
            r.stage = "connect";
            r.error = "connect_error";
            host_done(s, h, &r);
            continue;
        }
        s->open++;
        s->hosts_probed++;
        s->tokens -= 1;
        count_add(s, ip_key(h), 1);
        count_add(s, net_key(h), 1);
    }
}

static host_t *need_host(scan_t *s, dom_t *d, const char *mx_host, const char *ip) {
    char key[320];
    snprintf(key, sizeof(key), "%s %s", mx_host, ip);
    if ((s->tused + 1) * 2 > s->tcap && table_grow(s) < 0)
        return NULL;
    host_t **slot = host_slot(s, key);
    host_t *h = *slot;
    if (!h) {
        h = calloc(1, sizeof(*h));
        if (!h || !(h->key = strdup(key))) {
            free(h);
            return NULL;
        }
        snprintf(h->mx_host, sizeof(h->mx_host), "%s", mx_host);
        snprintf(h->ip, sizeof(h->ip), "%s", ip);
        if (uv_ip4_addr(ip, s->cfg->port, (struct sockaddr_in *)&h->addr) < 0)
            uv_ip6_addr(ip, s->cfg->port, (struct sockaddr_in6 *)&h->addr);
        *slot = h;
        s->tused++;
        if (s->qtail)
            s->qtail->next = h;
        else
            s->qhead = h;
        s->qtail = h;
    }
    if (h->state != 2) {
        if (h->nwait == h->capwait) {
            int cap = h->capwait ? h->capwait * 2 : 2;
            dom_t **w = realloc(h->waiters, (size_t)cap * sizeof(*w));
            if (!w)
                return NULL;
            h->waiters = w;
            h->capwait = cap;
        }
        h->waiters[h->nwait++] = d;
        d->pending++;
    }
    return h;
}

static void on_resolved(void *ud, const char *domain, const mx_dns_result_t *res) {
    dom_t *d = ud;
    scan_t *s = d->scan;
    (void)domain;
    d->status = res->status;
    d->nmx = res->nmx;
    d->pending = 1;
    if (res->nmx) {
        d->mx = malloc((size_t)res->nmx * sizeof(*d->mx));
        d->hosts = calloc((size_t)res->nmx, sizeof(*d->hosts));
        if (!d->mx || !d->hosts) {
            s->failed = 1;
            d->nmx = 0;
        } else {
            memcpy(d->mx, res->mx, (size_t)res->nmx * sizeof(*d->mx));
        }
    }
    for (int i = 0; i < d->nmx; i++) {
        mx_dns_mx_t *m = &d->mx[i];
        if (!m->nprobe)
            continue;
        d->hosts[i] = calloc((size_t)m->naddrs, sizeof(host_t *));
        for (int a = 0; a < m->nprobe && d->hosts[i]; a++) {
            struct sockaddr_storage sa;
            if ((uv_ip4_addr(m->addrs[a], s->cfg->port, (struct sockaddr_in *)&sa) < 0 &&
                 uv_ip6_addr(m->addrs[a], s->cfg->port, (struct sockaddr_in6 *)&sa) < 0) ||
                !mx_net_permitted(&s->cfg->allow, &s->cfg->exclude, &s->cfg->reserved,
                                  (struct sockaddr *)&sa))
                continue; /* conn=excluded: no packet */
            d->hosts[i][a] = need_host(s, d, m->host, m->addrs[a]);
        }
    }
    dom_step(s, d);
    pump(s);
}

/* ---- reading the list ---- */

static void feed(scan_t *s) {
    mx_domain_item_t item;
    while (!s->eof && !s->stopping && s->domains_inflight < s->max_domains_inflight) {
        int rc = mx_domain_reader_next(s->reader, &item);
        if (rc <= 0) {
            if (rc < 0)
                fprintf(stderr, "mxtls scan: %s: the list is damaged (%s); stopping at line %lu\n",
                        s->cfg->list, mx_strerror(rc), mx_domain_reader_counts(s->reader)->lines);
            s->eof = 1;
            break;
        }
        if (!item.invalid && s->cfg->shard_n > 1 &&
            mx_domain_hash(item.domain) % s->cfg->shard_n != s->cfg->shard_i)
            continue;
        dom_t *d = calloc(1, sizeof(*d));
        if (!d || !(d->name = strdup(item.domain))) {
            free(d);
            s->failed = 1;
            break;
        }
        d->rank = item.rank;
        d->line = item.line;
        s->domains_inflight++;
        if (item.invalid) {
            emit_ctx_t ctx = {s, NULL};
            mx_rows_invalid(item.domain, item.line, item.invalid, emit_row, &ctx);
            group_end(s);
            s->domains_inflight--;
            dom_free(d);
            continue;
        }
        d->scan = s;
        if (mx_dns_resolve(s->dns, d->name, on_resolved, d) < 0) {
            s->failed = 1;
            break;
        }
    }
}

/* ---- progress, signals, the end ---- */

static void progress(scan_t *s, int final) {
    mx_dns_stats_t st;
    mx_dns_stats(s->dns, &st);
    double secs = (double)(uv_now(s->loop) - s->t0) / 1000.0;
    const mx_domain_counts_t *c = mx_domain_reader_counts(s->reader);
    char line[256];
    snprintf(line, sizeof(line),
             "%llu domains done of %lu read, %llu hosts probed (%.0f/s), %u connections open, "
             "%llu DNS queries in flight, %.0f s",
             s->domains_done, c->domains + c->invalid, s->hosts_probed,
             secs > 0 ? (double)s->hosts_done / secs : 0.0, s->open, st.inflight, secs);
    if (final)
        fprintf(stderr, "%s%s\n", s->tty ? "\r\033[K" : "", line);
    else
        fprintf(stderr, "\r\033[K%s", line);
}

static void finish_if_done(scan_t *s) {
    if ((s->eof || s->stopping) && s->domains_inflight == 0 && s->open == 0)
        uv_stop(s->loop);
}

static void on_tick(uv_timer_t *t) {
    scan_t *s = t->data;
    static unsigned n;
    pump(s);
    mx_writer_tick(s->writer, uv_now(s->loop));
    if (s->tty && !s->cfg->quiet && ++n % 25 == 0)
        progress(s, 0);
    if (mx_dns_unresponsive(s->dns) && !s->failed) {
        fprintf(stderr, "\nmxtls scan: the resolver answers nothing; check --resolver (%s)\n",
                s->cfg->nresolvers ? s->cfg->resolvers[0] : "system");
        s->failed = 1;
        s->stopping = 1;
    }
    if (s->stopping) {
        /* Grace: probes in flight may finish, nothing new starts; what is not complete then is
         * not written, and --resume does it again. */
        if (!s->stop_at)
            s->stop_at = uv_now(s->loop) + s->cfg->grace_ms;
        if (s->open == 0 || uv_now(s->loop) >= s->stop_at)
            uv_stop(s->loop);
    }
    finish_if_done(s);
}

static void on_signal(uv_signal_t *h, int sig) {
    scan_t *s = h->data;
    (void)sig;
    if (++s->signals == 1) {
        s->stopping = 1;
        fprintf(stderr, "\nmxtls scan: interrupted: letting %u probes finish (at most %llu s)\n",
                s->open, (unsigned long long)(s->cfg->grace_ms / 1000));
    } else {
        uv_stop(s->loop);
    }
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
    char err[512];
    int status = 0;
    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.loop = uv_default_loop();
    s.tty = isatty(STDERR_FILENO);
    s.max_domains_inflight = cfg->concurrency * 2 + cfg->dns_concurrency;
    /* File descriptors: the hard limit, and probes kept below it with room for the rest. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)cfg->concurrency + 256) {
            unsigned fit = rl.rlim_cur > 512 ? (unsigned)rl.rlim_cur - 256 : 256;
            fprintf(stderr,
                    "mxtls scan: --concurrency %u lowered to %u to fit the file-descriptor limit "
                    "(%llu); run shards in several processes for more\n",
                    cfg->concurrency, fit, (unsigned long long)rl.rlim_cur);
            cfg->concurrency = fit;
        }
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
    if (mx_tls_config_new(&s.tls, cfg->ca_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "mxtls scan: %s\n", err);
        return 2;
    }
    mx_dns_config_t dc = {.resolvers = cfg->resolvers,
                          .nresolvers = cfg->nresolvers,
                          .timeout_ms = cfg->dns_timeout_ms,
                          .tries = cfg->dns_tries,
                          .max_inflight = cfg->dns_concurrency,
                          .max_mx = cfg->max_mx,
                          .max_addrs = cfg->max_addrs,
                          .ipv6 = cfg->ipv6};
    if (mx_dns_new(&s.dns, s.loop, &dc, err, sizeof(err)) < 0) {
        fprintf(stderr, "mxtls scan: %s\n", err);
        return 2;
    }
    s.probe.ehlo = cfg->ehlo;
    s.probe.timeout_connect_ms = cfg->timeout_connect_ms;
    s.probe.timeout_read_ms = cfg->timeout_read_ms;
    s.probe.deadline_ms = cfg->deadline_ms;
    s.probe.tls = s.tls;
    /* The manifest, now and at the end. */
    s.man.command_line = cfg->command_line;
    s.man.input = cfg->list;
    s.man.shard_index = cfg->shard_i;
    s.man.shard_count = cfg->shard_n;
    s.man.resolvers = cfg->resolvers;
    s.man.nresolvers = cfg->nresolvers;
    s.man.ehlo = cfg->ehlo;
    s.man.ca_file = cfg->ca_file ? cfg->ca_file : "system bundle";
    snprintf(s.man.ca_sha256, sizeof(s.man.ca_sha256), "%s", mx_tls_ca_sha256(s.tls));
    mx_manifest_run_t *run = &s.man.runs[s.man.nruns++];
    mx_utc_now(run->start, sizeof(run->start));
    snprintf(run->status, sizeof(run->status), "running");
    if (strcmp(cfg->list, "-") != 0)
        mx_sha256_file(cfg->list, s.man.input_sha256);
    if ((rc = mx_manifest_write(s.man_path, &s.man)) < 0) {
        fprintf(stderr, "mxtls scan: %s: %s\n", s.man_path, mx_strerror(rc));
        return 2;
    }
    uv_timer_init(s.loop, &s.tick);
    s.tick.data = &s;
    uv_timer_start(&s.tick, on_tick, 10, 10);
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    s.sigint.data = s.sigterm.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    s.t0 = s.last_refill = uv_now(s.loop);
    s.tokens = 1;
    feed(&s);
    uv_run(s.loop, UV_RUN_DEFAULT);
    int interrupted = s.signals > 0;
    s.aborted = 1; /* domains still open are not written: --resume does them again */
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
    s.man.hosts_probed = s.hosts_probed;
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
    free(s.man_path);
    return status;
}
