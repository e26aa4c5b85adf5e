/* A domain's rows (mxtls/rows.h). */
#include "mxtls/rows.h"

#include <stdio.h>
#include <string.h>

void mx_rows_domain(const mx_rows_domain_t *d, mx_rows_host_fn host, mx_rows_emit_fn emit,
                    void *ud) {
    mx_record_t rec = {{0}};
    char rank[24], line[24], pref[8];
    if (d->rank) {
        snprintf(rank, sizeof(rank), "%ld", d->rank);
        rec.f[MX_COL_RANK] = rank;
    }
    snprintf(line, sizeof(line), "%lu", d->line);
    rec.f[MX_COL_INPUT_LINE] = line;
    rec.f[MX_COL_DOMAIN] = d->name;
    rec.f[MX_COL_DNS_STATUS] = d->status;
    if (!d->nmx) {
        if (strcmp(d->status, "null_mx") != 0)
            rec.f[MX_COL_STAGE] = "dns"; /* the probe ended at DNS; null MX is an answer */
        emit(ud, &rec);
    }
    for (int i = 0; i < d->nmx; i++) {
        const mx_dns_mx_t *m = &d->mx[i];
        mx_record_t r = rec;
        snprintf(pref, sizeof(pref), "%u", m->pref);
        r.f[MX_COL_MX_PREF] = pref;
        r.f[MX_COL_MX_HOST] = m->host;
        r.f[MX_COL_MX_STATUS] = m->status;
        if (!m->naddrs) {
            if (strcmp(m->status, "skipped") != 0)
                r.f[MX_COL_STAGE] = "dns";
            emit(ud, &r);
            continue;
        }
        for (int a = 0; a < m->naddrs; a++) {
            mx_record_t ar = r;
            ar.f[MX_COL_IP] = m->addrs[a];
            if (a >= m->nprobe) {
                ar.f[MX_COL_CONN] = "skipped";
            } else if (host && !host(ud, i, a, &ar)) {
                ar.f[MX_COL_CONN] = "excluded"; /* no packet was sent */
            }
            emit(ud, &ar);
        }
    }
}

void mx_rows_invalid(const char *text, unsigned long line, const char *reason, mx_rows_emit_fn emit,
                     void *ud) {
    mx_record_t rec = {{0}};
    char num[24];
    snprintf(num, sizeof(num), "%lu", line);
    rec.f[MX_COL_DOMAIN] = text;
    rec.f[MX_COL_DNS_STATUS] = "invalid";
    rec.f[MX_COL_ERROR] = reason;
    rec.f[MX_COL_INPUT_LINE] = num;
    emit(ud, &rec);
}
