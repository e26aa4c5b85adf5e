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
void mx_probe_fill(const mx_probe_result_t *r, mx_record_t *rec, mx_probe_text_t *t) {
    int k = 0;
#define NUM(col, v)                                                                                \
    do {                                                                                           \
        if ((v) >= 0) {                                                                            \
            snprintf(t->n[k], sizeof(t->n[k]), "%lld", (long long)(v));                            \
            rec->f[col] = t->n[k++];                                                               \
        }                                                                                          \
    } while (0)
    rec->f[MX_COL_CONN] = mx_conn_name((mx_conn_t)r->conn);
    if (r->banner_code)
        NUM(MX_COL_BANNER_CODE, r->banner_code);
    rec->f[MX_COL_BANNER] = r->banner;
    if (r->ehlo_code)
        NUM(MX_COL_EHLO_CODE, r->ehlo_code);
    rec->f[MX_COL_EHLO_CAPS] = r->ehlo_caps;
    NUM(MX_COL_SIZE_LIMIT, r->size_limit);
    if (r->starttls >= 0)
        rec->f[MX_COL_STARTTLS] = r->starttls ? "yes" : "no";
    if (r->starttls_code)
        NUM(MX_COL_STARTTLS_CODE, r->starttls_code);
    if (r->tls >= 0)
        rec->f[MX_COL_TLS] = mx_tls_name((mx_tls_t)r->tls);
    rec->f[MX_COL_TLS_VERSION] = r->tls_version;
    rec->f[MX_COL_TLS_CIPHER] = r->tls_cipher;
    rec->f[MX_COL_TLS_GROUP] = r->tls_group;
    rec->f[MX_COL_TLS_ERROR] = r->tls_error;
    if (r->cert) {
        const mx_cert_summary_t *c = r->cert;
        rec->f[MX_COL_CERT_SHA256] = c->sha256;
        rec->f[MX_COL_CERT_CN] = c->cn;
        rec->f[MX_COL_CERT_SAN] = c->san;
        rec->f[MX_COL_CERT_ISSUER] = c->issuer;
        rec->f[MX_COL_CERT_NOT_BEFORE] = c->not_before;
        rec->f[MX_COL_CERT_NOT_AFTER] = c->not_after;
        rec->f[MX_COL_CERT_KEY] = c->key;
        rec->f[MX_COL_CERT_SIG] = c->sig;
        NUM(MX_COL_CHAIN_LEN, c->chain_len);
        rec->f[MX_COL_CERT_VALID] = c->valid;
        rec->f[MX_COL_CERT_NAME_MATCH] = c->name_match ? "yes" : "no";
    }
    rec->f[MX_COL_EHLO_TLS_CAPS] = r->ehlo_tls_caps;
    NUM(MX_COL_T_CONNECT_MS, r->t_connect_ms);
    NUM(MX_COL_T_BANNER_MS, r->t_banner_ms);
    NUM(MX_COL_T_TLS_MS, r->t_tls_ms);
    NUM(MX_COL_T_TOTAL_MS, r->t_total_ms);
    rec->f[MX_COL_SCANNED_AT] = r->scanned_at;
    rec->f[MX_COL_STAGE] = r->stage;
    rec->f[MX_COL_ERROR] = r->error;
#undef NUM
}
