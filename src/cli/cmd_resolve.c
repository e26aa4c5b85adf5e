/* mxtls resolve: the DNS stage alone over a domain list — every domain's MX hosts and
 * addresses, or the reason there are none — written as the DNS columns of scan rows (CSV on
 * standard output). A dry run of a survey's first half, and the DNS stage's test driver. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "mxtls/dns.h"
#include "mxtls/domain_list.h"
#include "mxtls/netlist.h"
#include "mxtls/rows.h"
#include "mxtls/writer.h"

typedef struct {
    uv_loop_t *loop;
    mx_dns_t *dns;
    mx_domain_reader_t *reader;
    int eof;
    unsigned long inflight, max_domains_inflight;
    unsigned long long domains, rows;
    uint64_t cols;
    char line[MX_ROW_MAX];
} ctx_t;

typedef struct {
    ctx_t *c;
    long rank;
    unsigned long line;
} item_t;

static void emit(void *ud, const mx_record_t *rec) {
    ctx_t *c = ud;
    size_t n = mx_record_format(rec, c->cols, c->line, sizeof(c->line));
    fwrite(c->line, 1, n, stdout);
    c->rows++;
}

static void feed(ctx_t *c);

static void on_resolved(void *ud, const char *domain, const mx_dns_result_t *res) {
    item_t *it = ud;
    ctx_t *c = it->c;
    mx_rows_domain_t d = {domain, it->rank, it->line, res->status, res->nmx, res->mx};
    mx_rows_domain(&d, NULL, emit, c);
    free(it);
    c->inflight--;
    c->domains++;
    feed(c);
}

/* Reads ahead only while few domains are in flight: memory does not grow with the list. */
static void feed(ctx_t *c) {
    mx_domain_item_t item;
    while (!c->eof && c->inflight < c->max_domains_inflight) {
        int rc = mx_domain_reader_next(c->reader, &item);
        if (rc <= 0) {
            if (rc < 0)
                fprintf(stderr, "mxtls resolve: the list is damaged; stopping at line %lu\n",
                        mx_domain_reader_counts(c->reader)->lines);
            c->eof = 1;
            return;
        }
        if (item.invalid) {
            mx_rows_invalid(item.domain, item.line, item.invalid, emit, c);
            continue;
        }
        item_t *it = calloc(1, sizeof(*it));
        if (!it) {
            fprintf(stderr, "mxtls resolve: out of memory\n");
            c->eof = 1;
            return;
        }
        it->c = c;
        it->rank = item.rank;
        it->line = item.line;
        if (mx_dns_resolve(c->dns, item.domain, on_resolved, it) < 0) {
            fprintf(stderr, "mxtls resolve: out of memory\n");
            free(it);
            c->eof = 1;
            return;
        }
        c->inflight++;
    }
}

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls resolve --resolver ADDR[:PORT] --allow CIDR [--dns-timeout S]\n"
               "                     [--dns-tries N] [--dns-concurrency N] [--max-mx N]\n"
               "                     [--max-addrs N] [--ipv6] LIST\n");
}

int mx_cmd_resolve(int argc, char **argv) {
    static const struct option opts[] = {{"resolver", 1, 0, 'r'},
                                         {"allow", 1, 0, 'a'},
                                         {"dns-timeout", 1, 0, 't'},
                                         {"dns-tries", 1, 0, 'T'},
                                         {"dns-concurrency", 1, 0, 'c'},
                                         {"max-mx", 1, 0, 'm'},
                                         {"max-addrs", 1, 0, 'A'},
                                         {"ipv6", 0, 0, '6'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *resolvers[16];
    mx_dns_config_t cfg = {.resolvers = resolvers,
                           .timeout_ms = 2000,
                           .tries = 3,
                           .max_inflight = 2000,
                           .max_mx = 10,
                           .max_addrs = 4};
    mx_netlist_t allow = {0};
    char err[512];
    unsigned long v;
    uint64_t ms;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (cfg.nresolvers == 16) {
                fprintf(stderr, "mxtls resolve: at most 16 resolvers\n");
                return 1;
            }
            resolvers[cfg.nresolvers++] = optarg;
            break;
        case 'a':
            if (mx_netlist_add(&allow, optarg, err, sizeof(err)) < 0) {
                fprintf(stderr, "mxtls resolve: --allow %s\n", err);
                return 1;
            }
            break;
        case 't':
            if (mx_arg_seconds("resolve", "--dns-timeout", optarg, &ms))
                return 1;
            cfg.timeout_ms = (unsigned)ms;
            break;
        case 'T':
            if (mx_arg_uint("resolve", "--dns-tries", optarg, 1, 20, &v))
                return 1;
            cfg.tries = (unsigned)v;
            break;
        case 'c':
            if (mx_arg_uint("resolve", "--dns-concurrency", optarg, 1, 100000, &v))
                return 1;
            cfg.max_inflight = (unsigned)v;
            break;
        case 'm':
            if (mx_arg_uint("resolve", "--max-mx", optarg, 1, 100, &v))
                return 1;
            cfg.max_mx = (unsigned)v;
            break;
        case 'A':
            if (mx_arg_uint("resolve", "--max-addrs", optarg, 1, 32, &v))
                return 1;
            cfg.max_addrs = (unsigned)v;
            break;
        case '6':
            cfg.ipv6 = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc - 1 || !cfg.nresolvers || !allow.n || !cfg.timeout_ms || !cfg.tries ||
        !cfg.max_inflight || !cfg.max_mx || !cfg.max_addrs) {
        usage(stderr);
        return 1;
    }
    /* A resolver is a packet's destination like any mail host: it must be inside --allow. */
    for (int i = 0; i < cfg.nresolvers; i++) {
        struct sockaddr_storage sa;
        if (mx_parse_hostport(resolvers[i], 53, &sa) < 0 ||
            !mx_net_permitted(&allow, NULL, NULL, (struct sockaddr *)&sa)) {
            fprintf(stderr, "mxtls resolve: resolver %s is outside --allow; nothing was sent\n",
                    resolvers[i]);
            return 1;
        }
    }
    ctx_t ctx = {0};
    ctx.loop = uv_default_loop();
    ctx.max_domains_inflight = cfg.max_inflight;
    ctx.cols = (1ull << MX_COL_RANK) | (1ull << MX_COL_DOMAIN) | (1ull << MX_COL_DNS_STATUS) |
               (1ull << MX_COL_MX_PREF) | (1ull << MX_COL_MX_HOST) | (1ull << MX_COL_MX_STATUS) |
               (1ull << MX_COL_IP) | (1ull << MX_COL_CONN) | (1ull << MX_COL_STAGE) |
               (1ull << MX_COL_ERROR) | (1ull << MX_COL_INPUT_LINE);
    int rc = mx_domain_reader_open(&ctx.reader, argv[optind]);
    if (rc < 0) {
        fprintf(stderr, "mxtls resolve: %s: cannot read the list\n", argv[optind]);
        return 2;
    }
    if (mx_dns_new(&ctx.dns, ctx.loop, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "mxtls resolve: %s\n", err);
        return 2;
    }
    for (int col = 0, first = 1; col < MX_COL__COUNT; col++)
        if (ctx.cols & (1ull << col)) {
            printf("%s%s", first ? "" : ",", mx_column_name((mx_column_t)col));
            first = 0;
        }
    printf("\n");
    feed(&ctx);
    uv_run(ctx.loop, UV_RUN_DEFAULT);
    mx_dns_stats_t st;
    mx_dns_stats(ctx.dns, &st);
    fprintf(stderr,
            "mxtls resolve: %llu domains, %llu rows, %llu queries, %llu answered, %llu timed "
            "out, %llu host lookups from the cache\n",
            ctx.domains, ctx.rows, st.queries, st.answers, st.timeouts, st.cache_hits);
    int unresponsive = mx_dns_unresponsive(ctx.dns);
    mx_dns_free(ctx.dns);
    uv_run(ctx.loop, UV_RUN_DEFAULT);
    uv_loop_close(ctx.loop);
    mx_domain_reader_free(ctx.reader);
    mx_netlist_close(&allow);
    if (unresponsive) {
        fprintf(stderr, "mxtls resolve: the resolver answered nothing; check --resolver\n");
        return 2;
    }
    return 0;
}
