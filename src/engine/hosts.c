/* The host table (scan_int.h). A host is an (MX name, address) pair, probed once per scan: the
 * first domain to need it, on whichever worker, claims it and queues it on its worker; later
 * domains, on any worker, wait on it. Keyed by "IP MXHOST" (mxtls/table.h), under the scan's
 * mutex. */
#include "engine/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/hash.h"

static int same_key(const void *item, const void *key) {
    return strcmp((*(host_t *const *)item)->key, key) == 0;
}

/* A new host, queued on W. */
static host_t *add(worker_t *w, uint64_t hash, const char *key, const char *ip) {
    scan_t *s = w->s;
    struct sockaddr_storage sa;
    host_t *h = calloc(1, sizeof(*h)), **at;
    if (!h || !(h->key = strdup(key)) || !(at = mx_table_add(&s->hosts, hash))) {
        if (h)
            free(h->key);
        free(h);
        return NULL;
    }
    mx__limits_keys(ip, s->cfg->probe.port, &sa, &h->ipk, &h->netk);
    *at = h;
    if (w->qtail)
        w->qtail->next = h;
    else
        w->qhead = h;
    w->qtail = h;
    return h;
}

host_t *mx__hosts_need(worker_t *w, dom_t *d, const char *mx_host, const char *ip,
                       const mx_dns_rdata_t *tlsa) {
    scan_t *s = w->s;
    char key[320];
    snprintf(key, sizeof(key), "%s %s", ip, mx_host);
    uint64_t hash = mx_hash(key);
    host_t **at = mx_table_find(&s->hosts, hash, same_key, key), *h = at ? *at : NULL;
    if (!h) { /* the records are the MX host's: the first domain naming it has them */
        if (!(h = add(w, hash, key, ip)))
            return NULL;
        h->tlsa = tlsa;
    }
    if (h->state != HOST_DONE) {
        if (h->nwait == h->capwait) {
            int cap = h->capwait ? h->capwait * 2 : 2;
            dom_t **wt = realloc(h->waiters, (size_t)cap * sizeof(*wt));
            if (!wt)
                return NULL;
            h->waiters = wt;
            h->capwait = cap;
        }
        h->waiters[h->nwait++] = d;
        d->pending++;
    }
    return h;
}

void mx__hosts_free(scan_t *s) {
    for (size_t i = 0; i < s->hosts.cap; i++) {
        host_t **at = mx_table_slot(&s->hosts, i), *h = at ? *at : NULL;
        if (!h)
            continue;
        free(h->key);
        free(h->res);
        free(h->sts);
        free(h->waiters);
        free(h);
    }
    mx_table_close(&s->hosts);
}
