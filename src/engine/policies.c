/* The MTA-STS policy fetch of each domain that publishes a valid record (scan_int.h). The
 * policy host is mta-sts.DOMAIN, which no other domain shares: one fetch per domain is one per
 * policy host. Its address obeys --allow, --exclude and the reserved ranges as a probe's does. */
#include "engine/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"
#include "mxtls/netlist.h"

typedef struct {
    worker_t *w;
    dom_t *d;
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

static void fetch_done(void *ud, const mx_sts_fetch_result_t *res) {
    fctx_t *c = ud;
    dom_t *d = c->d;
    worker_t *w = c->w;
    free(c);
    d->sts_status = res->status;
    if (!strcmp(res->status, "ok") && (d->sts = malloc(sizeof(*d->sts))))
        *d->sts = res->pol;
    else if (!strcmp(res->status, "ok"))
        d->sts_status = "out_of_memory";
    mx__scan_dom_step(w, d);
}

void mx__policies_start(worker_t *w, dom_t *d) {
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
    if (!mx__limits_keys(a->sts_addr, (int)w->sts.port, &sa, &ipk, &netk) ||
        !mx_net_permitted(&s->cfg->allow, &s->cfg->exclude, &s->cfg->reserved,
                          (struct sockaddr *)&sa)) {
        d->sts_status = "excluded"; /* no packet */
        return;
    }
    fctx_t *c = malloc(sizeof(*c));
    int rc = MX_E_NOMEM;
    if (c) {
        *c = (fctx_t){w, d};
        rc = mx_sts_fetch_start(&w->loop, &w->sts, d->name, (struct sockaddr *)&sa, fetch_done, c);
    }
    if (rc < 0) {
        free(c);
        d->sts_status = mx_err_local_shortage(rc) ? MX_LOCAL_OVERLOAD : "connect_error";
        return;
    }
    d->pending++;
}
