/* The host table (scan_int.h). A host is an (MX name, address) pair, probed once per scan: the
 * first domain to need it, on whichever worker, claims it and queues it on its worker; later
 * domains, on any worker, wait on it. Open addressing by the key "IP MXHOST", doubled when half
 * full; under the scan's mutex. */
#include "engine/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/hash.h"

static host_t **slot(scan_t *s, const char *key) {
    size_t i = (size_t)mx_hash(key) & (s->tcap - 1);
    while (s->table[i] && strcmp(s->table[i]->key, key) != 0)
        i = (i + 1) & (s->tcap - 1);
    return &s->table[i];
}

static int grow(scan_t *s) {
    size_t cap = s->tcap ? s->tcap * 2 : 4096;
    host_t **n = calloc(cap, sizeof(*n));
    if (!n)
        return -1;
    for (size_t i = 0; i < s->tcap; i++) {
        if (!s->table[i])
            continue;
        size_t k = (size_t)mx_hash(s->table[i]->key) & (cap - 1);
        while (n[k])
            k = (k + 1) & (cap - 1);
        n[k] = s->table[i];
    }
    free(s->table);
    s->table = n;
    s->tcap = cap;
    return 0;
}

/* A new host, queued on W. */
static host_t *add(worker_t *w, host_t **at, const char *key, const char *ip) {
    scan_t *s = w->s;
    struct sockaddr_storage sa;
    host_t *h = calloc(1, sizeof(*h));
    if (!h || !(h->key = strdup(key))) {
        free(h);
        return NULL;
    }
    mx__limits_keys(ip, s->cfg->probe.port, &sa, &h->ipk, &h->netk);
    *at = h;
    s->tused++;
    if (w->qtail)
        w->qtail->next = h;
    else
        w->qhead = h;
    w->qtail = h;
    return h;
}

host_t *mx__hosts_need(worker_t *w, dom_t *d, const char *mx_host, const char *ip) {
    scan_t *s = w->s;
    char key[320];
    snprintf(key, sizeof(key), "%s %s", ip, mx_host);
    if ((s->tused + 1) * 2 > s->tcap && grow(s) < 0)
        return NULL;
    host_t **at = slot(s, key), *h = *at;
    if (!h && !(h = add(w, at, key, ip)))
        return NULL;
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
    for (size_t i = 0; i < s->tcap; i++) {
        host_t *h = s->table[i];
        if (!h)
            continue;
        free(h->key);
        free(h->res);
        free(h->waiters);
        free(h);
    }
    free(s->table);
    s->table = NULL;
    s->tcap = s->tused = 0;
}
