/* The MTA-STS policy fetch of each domain that publishes a valid record (scan_int.h). A fetch
 * is a host of the table like a probe, keyed by its address and domain: it waits in the same
 * queue and passes the same limits (--rate, one connection per address, --net-limit, the
 * admission window); its address obeys --allow, --exclude and the reserved ranges as a
 * probe's does. The policy host is mta-sts.DOMAIN, which no other domain shares: one fetch
 * per domain is one per policy host. */
#include "engine/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/netlist.h"

typedef struct {
    worker_t *w;
    host_t *h;
} fctx_t;

/* The sts_policy token of a failed lookup of the policy host. */
static const char *dns_token(const char *status) {
    static const char *const map[][2] = {{"nxdomain", "dns_nxdomain"},
                                         {"nodata", "dns_nodata"},
                                         {"servfail", "dns_servfail"},
                                         {"refused", "dns_refused"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(status, map[i][0]))
            return map[i][1];
    return "dns_timeout";
}

void mx__policies_need(worker_t *w, dom_t *d) {
    scan_t *s = w->s;
    const mx_dns_answer_t *a = d->ans;
    mx_sts_txt_t rec;
    if (!a || !mx_rows_sts_record(a, &rec) || strcmp(rec.status, "ok") != 0)
        return; /* no valid record: a sender looks for no policy */
    if (!a->sts_host || strcmp(a->sts_host, "ok") != 0) {
        d->sts_status = dns_token(a->sts_host ? a->sts_host : "timeout");
        return;
    }
    struct sockaddr_storage sa;
    uint64_t ipk, netk;
    if (!mx__limits_keys(a->sts_addr, s->cfg->probe.sts_port, &sa, &ipk, &netk) ||
        !mx_net_permitted(&s->cfg->allow, &s->cfg->exclude, &s->cfg->reserved,
                          (struct sockaddr *)&sa)) {
        d->sts_status = "excluded"; /* no packet */
        return;
    }
    char key[300];
    snprintf(key, sizeof(key), "!%s", d->name);
    if (!(d->sts_host = mx__hosts_need(w, d, key, a->sts_addr, NULL)))
        mx__scan_fail(s, "out of memory for the host table");
    else
        d->sts_host->fetch = 1;
}

static void fetch_done(void *ud, const mx_sts_fetch_result_t *res) {
    fctx_t *c = ud;
    host_t *h = c->h;
    worker_t *w = c->w;
    free(c);
    h->sts_status = res->status;
    if (!strcmp(res->status, "ok") && !(h->sts = malloc(sizeof(*h->sts))))
        h->sts_status = "out_of_memory";
    else if (h->sts)
        *h->sts = res->pol;
    mx__probes_host_done(w, h);
}

int mx__policies_start(worker_t *w, host_t *h, const struct sockaddr *addr) {
    fctx_t *c = malloc(sizeof(*c));
    if (!c)
        return MX_E_NOMEM;
    *c = (fctx_t){w, h};
    int rc = mx_sts_fetch_start(&w->loop, &w->sts, strchr(h->key, '!') + 1, addr, fetch_done, c);
    if (rc < 0)
        free(c);
    return rc;
}
