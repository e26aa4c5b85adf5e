/* mxtls resolve (mxtls/resolve_run.h): one loop, the reader ahead of the DNS stage only while
 * few domains are in flight, so memory does not grow with the list. */
#include "mxtls/resolve_run.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "mxtls/dns.h"
#include "mxtls/domain_list.h"
#include "mxtls/error.h"
#include "mxtls/manifest.h"
#include "mxtls/rows.h"
#include "mxtls/source.h"
#include "mxtls/writer.h"

/* The DNS columns of a scan row. */
#define DNS_COLUMNS                                                                                \
    ((1ull << MX_COL_RANK) | (1ull << MX_COL_DOMAIN) | (1ull << MX_COL_DNS_STATUS) |               \
     (1ull << MX_COL_MX_PREF) | (1ull << MX_COL_MX_HOST) | (1ull << MX_COL_MX_STATUS) |            \
     (1ull << MX_COL_IP) | (1ull << MX_COL_CONN) | (1ull << MX_COL_STAGE) |                        \
     (1ull << MX_COL_ERROR) | (1ull << MX_COL_INPUT_LINE) | (1ull << MX_COL_MX_DNSSEC) |           \
     (1ull << MX_COL_STS_RECORD) | (1ull << MX_COL_STS_ID) | (1ull << MX_COL_TLSRPT_RECORD) |      \
     (1ull << MX_COL_TLSRPT_RUA) | (1ull << MX_COL_TLSA) | (1ull << MX_COL_TLSA_DNSSEC))

typedef struct {
    mx_dns_t *dns;
    mx_domain_reader_t *reader;
    FILE *out;
    mx_resolve_summary_t *sum;
    int eof, nomem, dnssec;
    unsigned long inflight, max_inflight;
    char line[MX_ROW_MAX];
} ctx_t;

typedef struct {
    ctx_t *c;
    long rank;
    unsigned long line;
} item_t;

static void emit(void *ud, const mx_record_t *rec, mx_row_outcome_t out) {
    ctx_t *c = ud;
    (void)out;
    fwrite(c->line, 1, mx_record_format(rec, DNS_COLUMNS, c->line, sizeof(c->line)), c->out);
    c->sum->rows++;
}

static void feed(ctx_t *c);

static void on_resolved(void *ud, const char *domain, mx_dns_answer_t *ans) {
    item_t *it = ud;
    ctx_t *c = it->c;
    if (ans) {
        char at[24];
        mx_utc_now(at, sizeof(at));
        mx_rows_domain_t d = {domain, it->rank, it->line,  ans,  NULL,
                              NULL,   at,       c->dnssec, NULL, NULL};
        mx_rows_domain(&d, emit, c);
        c->sum->domains++;
    } else {
        c->nomem = 1;
    }
    free(ans);
    free(it);
    c->inflight--;
    feed(c);
}

static void feed(ctx_t *c) {
    mx_domain_item_t item;
    while (!c->eof && !c->nomem && c->inflight < c->max_inflight) {
        int rc = mx_domain_reader_next(c->reader, &item);
        if (rc <= 0) {
            if (rc < 0)
                c->sum->damaged_at = mx_domain_reader_counts(c->reader)->lines;
            c->eof = 1;
            return;
        }
        if (item.invalid) {
            char at[24];
            mx_utc_now(at, sizeof(at));
            mx_rows_invalid(item.domain, item.line, item.invalid, at, emit, c);
            continue;
        }
        item_t *it = malloc(sizeof(*it));
        if (it)
            *it = (item_t){c, item.rank, item.line};
        if (!it || mx_dns_resolve(c->dns, item.domain, on_resolved, it) < 0) {
            free(it);
            c->nomem = 1;
            return;
        }
        c->inflight++;
    }
}

static void header(FILE *out) {
    for (int col = 0, first = 1; col < MX_COL__COUNT; col++)
        if (DNS_COLUMNS & (1ull << col)) {
            fprintf(out, "%s%s", first ? "" : ",", mx_column_name((mx_column_t)col));
            first = 0;
        }
    fprintf(out, "\n");
}

/* Resolvers are for DNS only (cmd_scan.c): --allow governs addresses probed, not them. */
static int resolvers_allowed(const mx_resolve_run_config_t *cfg, char *err, size_t errlen) {
    for (int i = 0; i < cfg->dns.nresolvers; i++) {
        struct sockaddr_storage sa;
        if (mx_parse_hostport(cfg->dns.resolvers[i], 53, &sa) < 0) {
            snprintf(err, errlen, "resolver %s is not an address; nothing was sent",
                     cfg->dns.resolvers[i]);
            return 0;
        }
    }
    return 1;
}

/* Runs the loop until every domain is written; the DNS stage is closed with it. */
static int run(ctx_t *c, uv_loop_t *loop, const mx_resolve_run_config_t *cfg, char *err,
               size_t errlen) {
    const mx_dns_opts_t *o = &cfg->dns;
    mx_dns_config_t dc = {o->resolvers, o->nresolvers, o->timeout_ms, o->tries, o->concurrency,
                          o->max_mx,    o->max_addrs,  o->ipv6,       o->policy};
    mx_dns_stats_t st;
    if (mx_dns_new(&c->dns, loop, &dc, err, errlen) < 0)
        return 2;
    header(c->out);
    feed(c);
    uv_run(loop, UV_RUN_DEFAULT);
    mx_dns_stats(c->dns, &st);
    c->sum->queries = st.queries;
    c->sum->answers = st.answers;
    c->sum->timeouts = st.timeouts;
    c->sum->cache_hits = st.cache_hits;
    int unresponsive = mx_dns_unresponsive(c->dns);
    mx_dns_free(c->dns);
    uv_run(loop, UV_RUN_DEFAULT);
    if (c->sum->damaged_at) {
        snprintf(err, errlen, "the list is damaged after line %lu", c->sum->damaged_at);
        return 2;
    }
    if (c->nomem) {
        snprintf(err, errlen, "out of memory");
        return 2;
    }
    if (unresponsive) {
        snprintf(err, errlen, "the resolver answered nothing; check --resolver");
        return 2;
    }
    return 0;
}

int mx_resolve_run(const mx_resolve_run_config_t *cfg, FILE *out, mx_resolve_summary_t *sum,
                   char *err, size_t errlen) {
    ctx_t c = {
        .out = out, .sum = sum, .max_inflight = cfg->dns.concurrency, .dnssec = cfg->dns.dnssec};
    uv_loop_t loop;
    memset(sum, 0, sizeof(*sum));
    if (!resolvers_allowed(cfg, err, errlen))
        return 1;
    char sha[65];
    int rc;
    if ((strcmp(cfg->list, "-") != 0 && (rc = mx_source_check_file(cfg->list, sha, NULL)) < 0) ||
        (rc = mx_domain_reader_open(&c.reader, cfg->list)) < 0) {
        snprintf(err, errlen, "%s: %s; nothing was resolved", cfg->list, mx_strerror(rc));
        return 2;
    }
    int status = 2;
    if (uv_loop_init(&loop) < 0) {
        snprintf(err, errlen, "cannot create an event loop");
    } else {
        status = run(&c, &loop, cfg, err, errlen);
        if (uv_loop_close(&loop) != 0 && !status) {
            snprintf(err, errlen, "a handle was left open (a bug)");
            status = 2;
        }
    }
    mx_domain_reader_free(c.reader);
    return status;
}
