/* mxtls probe (mxtls/probe_run.h). Rows are formatted as results come in and written at the
 * end in the order given, so the output does not depend on which server answered first. */
#include "mxtls/probe_run.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "mxtls/rows.h"
#include "mxtls/writer.h"

typedef struct {
    char host[256];
    char ip[64];
    struct sockaddr_storage addr;
    mx_intern_t *strings;
    char *row; /* its CSV line */
    size_t row_len;
} target_t;

/* The host columns: a probe knows nothing of domains or DNS. */
#define PROBE_COLUMNS                                                                              \
    (MX_ALL_COLUMNS &                                                                              \
     ~((1ull << MX_COL_RANK) | (1ull << MX_COL_DOMAIN) | (1ull << MX_COL_DNS_STATUS) |             \
       (1ull << MX_COL_MX_PREF) | (1ull << MX_COL_MX_STATUS) | (1ull << MX_COL_INPUT_LINE)))

static void keep_row(void *ud, const mx_record_t *rec, mx_row_outcome_t out) {
    static char line[MX_ROW_MAX];
    target_t *t = ud;
    (void)out;
    t->row_len = mx_record_format(rec, PROBE_COLUMNS, line, sizeof(line));
    if ((t->row = malloc(t->row_len)))
        memcpy(t->row, line, t->row_len);
}

/* RES lives during the call only: its row is formatted here. */
static void on_result(void *ud, const mx_probe_result_t *res) {
    target_t *t = ud;
    mx_host_result_t h;
    if (mx_host_result_make(&h, res, t->strings) == 0)
        mx_rows_host(t->host, t->ip, &h, t->strings, keep_row, t);
}

__attribute__((format(printf, 4, 5))) static int say(char *err, size_t errlen, int status,
                                                     const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

/* Parses the targets; 1 with a message when one may not be probed. */
static int parse_targets(const mx_probe_run_config_t *cfg, target_t *t, char *err, size_t errlen) {
    for (int i = 0; i < cfg->ntargets; i++) {
        const char *arg = cfg->targets[i], *at = strrchr(arg, '@');
        const char *ip = at ? at + 1 : arg;
        snprintf(t[i].host, sizeof(t[i].host), "%.*s", at ? (int)(at - arg) : (int)strlen(arg),
                 arg);
        snprintf(t[i].ip, sizeof(t[i].ip), "%s", ip);
        if (uv_ip4_addr(ip, cfg->port, (struct sockaddr_in *)&t[i].addr) < 0 &&
            uv_ip6_addr(ip, cfg->port, (struct sockaddr_in6 *)&t[i].addr) < 0)
            return say(err, errlen, 1, "'%s' is not an IPv4 or IPv6 address", ip);
        if (!mx_net_permitted(cfg->allow, NULL, NULL, (struct sockaddr *)&t[i].addr))
            return say(err, errlen, 1, "%s is outside --allow; nothing was sent", ip);
    }
    return 0;
}

/* Runs every probe to its end on LOOP. */
static int probe_all(const mx_probe_run_config_t *cfg, target_t *t, uv_loop_t *loop,
                     mx_tls_config_t *tls, char *err, size_t errlen) {
    mx_gate_t gate; /* as in a scan: the same path through the handshake */
    mx_probe_config_t pc = cfg->probe;
    int status = 0;
    if (mx_gate_init(&gate, loop, 256) < 0)
        return say(err, errlen, 2, "cannot set up the handshake gate");
    pc.tls = tls;
    pc.gate = &gate;
    for (int i = 0; i < cfg->ntargets && !status; i++) {
        int rc = mx_probe_start(loop, &pc, t[i].host, (struct sockaddr *)&t[i].addr, NULL,
                                on_result, &t[i]);
        if (rc < 0)
            status = say(err, errlen, 2, "%s: %s", t[i].ip, uv_strerror(rc));
    }
    uv_run(loop, UV_RUN_DEFAULT); /* the probes started end; then the gate closes */
    mx_gate_close(&gate);
    uv_run(loop, UV_RUN_DEFAULT);
    return status;
}

static int write_rows(const mx_probe_run_config_t *cfg, target_t *t, FILE *out, char *err,
                      size_t errlen) {
    int status = 0;
    for (int c = 0, first = 1; c < MX_COL__COUNT; c++)
        if (PROBE_COLUMNS & (1ull << c)) {
            fprintf(out, "%s%s", first ? "" : ",", mx_column_name((mx_column_t)c));
            first = 0;
        }
    fprintf(out, "\n");
    for (int i = 0; i < cfg->ntargets; i++) {
        if (!t[i].row) {
            status = say(err, errlen, 2, "%s: no result (out of memory)", t[i].ip);
            continue;
        }
        fwrite(t[i].row, 1, t[i].row_len, out);
    }
    return status;
}

int mx_probe_run(const mx_probe_run_config_t *cfg, FILE *out, char *err, size_t errlen) {
    target_t *t = calloc((size_t)cfg->ntargets, sizeof(*t));
    mx_intern_t *strings = mx_intern_new();
    mx_tls_config_t *tls = NULL;
    uv_loop_t loop;
    int status;
    if (!t || !strings) {
        status = say(err, errlen, 2, "out of memory");
        goto done;
    }
    for (int i = 0; i < cfg->ntargets; i++)
        t[i].strings = strings;
    if ((status = parse_targets(cfg, t, err, errlen)) != 0)
        goto done;
    if (mx_tls_config_new(&tls, cfg->ca_file, err, errlen) < 0) {
        status = 2;
        goto done;
    }
    if (uv_loop_init(&loop) < 0) {
        status = say(err, errlen, 2, "cannot create an event loop");
        goto done;
    }
    status = probe_all(cfg, t, &loop, tls, err, errlen);
    if (uv_loop_close(&loop) != 0 && !status)
        status = say(err, errlen, 2, "a handle was left open (a bug)");
    if (!status)
        status = write_rows(cfg, t, out, err, errlen);
done:
    for (int i = 0; t && i < cfg->ntargets; i++)
        free(t[i].row);
    free(t);
    mx_tls_config_free(tls);
    mx_intern_free(strings);
    return status;
}
