/* mxtls probe: probes the given hosts (MX name and address) at once and prints their host
 * columns as CSV, in the order given. For checking one server by hand and for tests of the
 * probe against the farm and real MTAs. Like every command that sends packets, it only talks
 * to addresses inside an explicit --allow. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "mxtls/netlist.h"
#include "mxtls/probe.h"
#include "mxtls/rows.h"
#include "mxtls/writer.h"

typedef struct {
    char host[256];
    struct sockaddr_storage addr;
    char ip[64];
    char *row; /* its CSV line, formatted when the result came in */
    size_t row_len;
} target_t;

/* The host columns: a probe knows nothing of domains or DNS. */
#define PROBE_COLUMNS                                                                              \
    (MX_ALL_COLUMNS &                                                                              \
     ~((1ull << MX_COL_RANK) | (1ull << MX_COL_DOMAIN) | (1ull << MX_COL_DNS_STATUS) |             \
       (1ull << MX_COL_MX_PREF) | (1ull << MX_COL_MX_STATUS) | (1ull << MX_COL_INPUT_LINE)))

/* RES lives during the call only: its row is formatted here. */
static void on_result(void *ud, const mx_probe_result_t *res) {
    static char line[MX_ROW_MAX];
    target_t *t = ud;
    mx_record_t rec = {{0}};
    mx_probe_text_t txt;
    rec.f[MX_COL_MX_HOST] = t->host;
    rec.f[MX_COL_IP] = t->ip;
    mx_probe_fill(res, &rec, &txt);
    t->row_len = mx_record_format(&rec, PROBE_COLUMNS, line, sizeof(line));
    if ((t->row = malloc(t->row_len)))
        memcpy(t->row, line, t->row_len);
}

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls probe --allow CIDR [--allow CIDR]... [--port N] [--ehlo NAME]\n"
               "                   [--ca-file FILE] [--timeout-connect S] [--timeout-read S]\n"
               "                   [--deadline S] TARGET...\n"
               "TARGET is MXHOST@ADDRESS or ADDRESS; prints one CSV row of host columns each\n");
}

int mx_cmd_probe(int argc, char **argv) {
    static const struct option opts[] = {{"allow", 1, 0, 'a'},
                                         {"port", 1, 0, 'p'},
                                         {"ehlo", 1, 0, 'e'},
                                         {"ca-file", 1, 0, 'c'},
                                         {"timeout-connect", 1, 0, 'C'},
                                         {"timeout-read", 1, 0, 'R'},
                                         {"deadline", 1, 0, 'D'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    mx_netlist_t allow = {0};
    mx_probe_config_t cfg = {
        .ehlo = NULL, .timeout_connect_ms = 10000, .timeout_read_ms = 30000, .deadline_ms = 120000};
    const char *ca_file = NULL;
    int port = 25, c;
    unsigned long v;
    char err[512], hostname[256];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (mx_netlist_add(&allow, optarg, err, sizeof(err)) < 0) {
                fprintf(stderr, "mxtls probe: --allow %s\n", err);
                return 1;
            }
            break;
        case 'p':
            if (mx_arg_uint("probe", "--port", optarg, 1, 65535, &v))
                return 1;
            port = (int)v;
            break;
        case 'e':
            cfg.ehlo = optarg;
            break;
        case 'c':
            ca_file = optarg;
            break;
        case 'C':
        case 'R':
        case 'D':
            if (mx_arg_seconds("probe",
                               c == 'C'   ? "--timeout-connect"
                               : c == 'R' ? "--timeout-read"
                                          : "--deadline",
                               optarg,
                               c == 'C'   ? &cfg.timeout_connect_ms
                               : c == 'R' ? &cfg.timeout_read_ms
                                          : &cfg.deadline_ms))
                return 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind >= argc || !allow.n) {
        usage(stderr);
        return 1;
    }
    if (!cfg.ehlo) {
        if (gethostname(hostname, sizeof(hostname)) != 0)
            snprintf(hostname, sizeof(hostname), "localhost.localdomain");
        cfg.ehlo = hostname;
        if (!strchr(hostname, '.'))
            fprintf(stderr,
                    "mxtls probe: warning: EHLO name '%s' is not fully qualified; "
                    "many servers refuse it (use --ehlo)\n",
                    hostname);
    }
    int n = argc - optind;
    target_t *t = calloc((size_t)n, sizeof(*t));
    for (int i = 0; i < n; i++) {
        const char *arg = argv[optind + i], *at = strrchr(arg, '@');
        const char *ip = at ? at + 1 : arg;
        snprintf(t[i].host, sizeof(t[i].host), "%.*s", at ? (int)(at - arg) : (int)strlen(arg),
                 arg);
        snprintf(t[i].ip, sizeof(t[i].ip), "%s", ip);
        if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&t[i].addr) < 0 &&
            uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&t[i].addr) < 0) {
            fprintf(stderr, "mxtls probe: '%s' is not an IPv4 or IPv6 address\n", ip);
            return 1;
        }
        if (!mx_net_permitted(&allow, NULL, NULL, (struct sockaddr *)&t[i].addr)) {
            fprintf(stderr, "mxtls probe: %s is outside --allow; nothing was sent\n", ip);
            return 1;
        }
    }
    mx_tls_config_t *tls;
    if (mx_tls_config_new(&tls, ca_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "mxtls probe: %s\n", err);
        return 2;
    }
    cfg.tls = tls;
    uv_loop_t *loop = uv_default_loop();
    mx_gate_t gate; /* as in a scan: the same path through the handshake */
    if (mx_gate_init(&gate, loop, 256) < 0) {
        fprintf(stderr, "mxtls probe: cannot set up the handshake gate\n");
        return 2;
    }
    cfg.gate = &gate;
    for (int i = 0; i < n; i++) {
        int rc =
            mx_probe_start(loop, &cfg, t[i].host, (struct sockaddr *)&t[i].addr, on_result, &t[i]);
        if (rc < 0) {
            fprintf(stderr, "mxtls probe: %s: %s\n", t[i].ip, uv_strerror(rc));
            return 2;
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    mx_gate_close(&gate);
    uv_run(loop, UV_RUN_DEFAULT);
    for (int c2 = 0, first = 1; c2 < MX_COL__COUNT; c2++)
        if (PROBE_COLUMNS & (1ull << c2)) {
            printf("%s%s", first ? "" : ",", mx_column_name((mx_column_t)c2));
            first = 0;
        }
    printf("\n");
    int status = 0;
    for (int i = 0; i < n; i++) {
        if (!t[i].row) {
            fprintf(stderr, "mxtls probe: %s: no result (out of memory)\n", t[i].ip);
            status = 2;
            continue;
        }
        fwrite(t[i].row, 1, t[i].row_len, stdout);
        free(t[i].row);
    }
    uv_loop_close(loop);
    mx_tls_config_free(tls);
    mx_netlist_close(&allow);
    free(t);
    return status;
}
