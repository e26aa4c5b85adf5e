/* The row builder (mxtls/rows.h). */
#include "mxtls/rows.h"

#include <stdio.h>
#include <string.h>

#include "mxtls/dane.h"
#include "mxtls/sts.h"

/* The text columns of a probed host, in the order of mx_host_result_t.text. */
static const mx_column_t text_cols[MX_HOST_TEXTS] = {
    MX_COL_BANNER,        MX_COL_EHLO_CAPS,       MX_COL_TLS_VERSION,
    MX_COL_TLS_CIPHER,    MX_COL_TLS_GROUP,       MX_COL_TLS_ERROR,
    MX_COL_CERT_SHA256,   MX_COL_CERT_CN,         MX_COL_CERT_SAN,
    MX_COL_CERT_ISSUER,   MX_COL_CERT_NOT_BEFORE, MX_COL_CERT_NOT_AFTER,
    MX_COL_CERT_KEY,      MX_COL_CERT_SIG,        MX_COL_CERT_VALID,
    MX_COL_EHLO_TLS_CAPS, MX_COL_SCANNED_AT,      MX_COL_STAGE,
    MX_COL_ERROR};

int mx_host_result_make(mx_host_result_t *h, const mx_probe_result_t *r, mx_intern_t *strings) {
    const mx_cert_summary_t *c = r->cert;
    const char *texts[MX_HOST_TEXTS] = {
        r->banner,         r->ehlo_caps,          r->tls_version,
        r->tls_cipher,     r->tls_group,          r->tls_error,
        c ? c->sha256 : 0, c ? c->cn : 0,         c ? c->san : 0,
        c ? c->issuer : 0, c ? c->not_before : 0, c ? c->not_after : 0,
        c ? c->key : 0,    c ? c->sig : 0,        c ? c->valid : 0,
        r->ehlo_tls_caps,  r->scanned_at,         r->stage,
        r->error};
    memset(h, 0, sizeof(*h));
    h->conn = (int8_t)r->conn;
    h->tls = (int8_t)r->tls;
    h->starttls = (int8_t)r->starttls;
    h->name_match = (int8_t)(c ? c->name_match != 0 : -1);
    h->local_overload = (int8_t)(r->local_overload != 0);
    h->dane = (int8_t)(r->dane ? !strcmp(r->dane, "match") : -1);

    h->banner_code = (int16_t)r->banner_code;
    h->ehlo_code = (int16_t)r->ehlo_code;
    h->starttls_code = (int16_t)r->starttls_code;
    h->chain_len = (int16_t)(c ? c->chain_len : -1);
    h->t_connect_ms = (int32_t)r->t_connect_ms;
    h->t_banner_ms = (int32_t)r->t_banner_ms;
    h->t_tls_ms = (int32_t)r->t_tls_ms;
    h->t_total_ms = (int32_t)r->t_total_ms;
    h->size_limit = r->size_limit;
    for (int k = 0; k < MX_HOST_TEXTS; k++)
        if ((h->text[k] = mx_intern(strings, texts[k])) == MX_INTERN_FAIL)
            return -1;
    return 0;
}

typedef struct {
    char n[12][24];
    int k;
} numbers_t;

static void num(mx_record_t *rec, mx_column_t col, int64_t v, numbers_t *t) {
    if (v < 0)
        return;
    snprintf(t->n[t->k], sizeof(t->n[t->k]), "%lld", (long long)v);
    rec->f[col] = t->n[t->k++];
}

/* The host columns (conn .. error) of REC from H; number texts in T. */
static void host_fill(mx_record_t *rec, const mx_host_result_t *h, const mx_intern_t *strings,
                      numbers_t *t) {
    t->k = 0;
    for (int k = 0; k < MX_HOST_TEXTS; k++)
        rec->f[text_cols[k]] = mx_intern_str(strings, h->text[k]);
    rec->f[MX_COL_CONN] = mx_conn_name((mx_conn_t)h->conn);
    num(rec, MX_COL_BANNER_CODE, h->banner_code ? h->banner_code : -1, t);
    num(rec, MX_COL_EHLO_CODE, h->ehlo_code ? h->ehlo_code : -1, t);
    num(rec, MX_COL_SIZE_LIMIT, h->size_limit, t);
    if (h->starttls >= 0)
        rec->f[MX_COL_STARTTLS] = h->starttls ? "yes" : "no";
    num(rec, MX_COL_STARTTLS_CODE, h->starttls_code ? h->starttls_code : -1, t);
    if (h->tls >= 0)
        rec->f[MX_COL_TLS] = mx_tls_name((mx_tls_t)h->tls);
    if (h->name_match >= 0) { /* a certificate was seen */
        num(rec, MX_COL_CHAIN_LEN, h->chain_len, t);
        rec->f[MX_COL_CERT_NAME_MATCH] = h->name_match ? "yes" : "no";
    }
    num(rec, MX_COL_T_CONNECT_MS, h->t_connect_ms, t);
    num(rec, MX_COL_T_BANNER_MS, h->t_banner_ms, t);
    num(rec, MX_COL_T_TLS_MS, h->t_tls_ms, t);
    num(rec, MX_COL_T_TOTAL_MS, h->t_total_ms, t);
}

static const mx_row_outcome_t no_outcome = {-1, -1, 0};

/* Whether a lookup got an answer (records, or none there), not a failure. */
static int answered(const char *status) {
    return !strcmp(status, "ok") || !strcmp(status, "nodata") || !strcmp(status, "nxdomain");
}

/* The dane column of a row of M, whose probe (when there was one) found H. */
static const char *dane_of(const mx_rows_domain_t *d, const mx_dns_mx_t *m,
                           const mx_host_result_t *h) {
    const char *st = m->tlsa.status;
    if (!st || !answered(st))
        return NULL;
    if (strcmp(st, "ok") != 0)
        return "none";
    if (d->dnssec && !m->tlsa.ad)
        return "insecure";
    mx_tlsa_t recs[MX_TLSA_MAX];
    mx_tlsa_set_t set = {m->tlsa.data, m->tlsa.len, m->tlsa.n};
    int n = mx_tlsa_set_read(&set, recs), usable = 0;
    for (int k = 0; k < n; k++)
        usable += mx_tlsa_usable(&recs[k]);
    if (!usable)
        return "unusable";
    return !h || h->dane < 0 ? NULL : h->dane ? "match" : "mismatch";
}

/* The rows of address A of MX I. */
static void address_row(const mx_rows_domain_t *d, const mx_dns_mx_t *m, int i, int a,
                        mx_record_t ar, mx_rows_emit_fn emit, void *ud) {
    mx_row_outcome_t out = no_outcome;
    numbers_t t;
    if (a >= m->nprobe) {
        ar.f[MX_COL_CONN] = "skipped";
        out.conn = MX_CONN_SKIPPED;
    } else if (d->host) {
        const mx_host_result_t *h = d->host(ud, i, a);
        if (!h) {
            ar.f[MX_COL_CONN] = "excluded"; /* no packet was sent */
            out.conn = MX_CONN_EXCLUDED;
        } else {
            host_fill(&ar, h, d->strings, &t);
            out = (mx_row_outcome_t){h->conn, h->tls, h->local_overload};
            ar.f[MX_COL_DANE] = dane_of(d, m, h);
        }
    }
    emit(ud, &ar, out);
}

/* "secure", "insecure" or "unknown" (the resolver's AD bit is not believed). */
static const char *dnssec_of(int trusted, int ad) {
    return !trusted ? "unknown" : ad ? "secure" : "insecure";
}

/* The records of R as a TXT set (at most MAX). */
static int txt_set(const mx_dns_rdata_t *r, const char **txt, size_t *len, int max) {
    int n = 0;
    for (size_t at = 0; n < max && n < r->n && at + 2 <= r->len; n++) {
        len[n] = (size_t)(r->data[at] << 8 | r->data[at + 1]);
        txt[n] = (const char *)r->data + at + 2;
        at += 2 + len[n];
    }
    return n;
}

/* A TXT record's column: the reader's verdict, or the lookup's failure. */
static const char *record_status(const mx_dns_rdata_t *r, const mx_sts_txt_t *t) {
    return answered(r->status) ? t->status : r->status;
}

int mx_rows_sts_record(const mx_dns_answer_t *ans, mx_sts_txt_t *out) {
    const char *txt[8];
    size_t len[8];
    if (!ans->sts.status || !answered(ans->sts.status))
        return 0;
    mx_txt_set_t set = {txt, len, txt_set(&ans->sts, txt, len, 8)};
    mx_sts_txt_read(&set, out);
    return 1;
}

typedef struct {
    char max_age[16];
    char mx[20 * 256]; /* the patterns, '|'-separated (the column keeps 20) */
} sts_text_t;

/* The columns of the MTA-STS policy: its fetch, and what it says (texts in T). */
static void sts_columns(const mx_rows_domain_t *d, mx_record_t *rec, sts_text_t *t) {
    rec->f[MX_COL_STS_POLICY] = d->sts_status;
    if (!d->sts)
        return;
    rec->f[MX_COL_STS_MODE] = mx_sts_mode_name(d->sts->mode);
    snprintf(t->max_age, sizeof(t->max_age), "%lu", (unsigned long)d->sts->max_age);
    rec->f[MX_COL_STS_MAX_AGE] = t->max_age;
    size_t o = 0;
    int kept = d->sts->nmx < MX_STS_MAX_MX ? d->sts->nmx : MX_STS_MAX_MX;
    t->mx[0] = 0;
    for (int i = 0; i < kept && i < 20; i++)
        o += (size_t)snprintf(t->mx + o, sizeof(t->mx) - o, "%s%s", i ? "|" : "", d->sts->mx[i]);
    rec->f[MX_COL_STS_MX] = t->mx;
}

/* The domain's policy columns (with --policy): the MX answer's DNSSEC status, the MTA-STS and
 * TLS-RPT records. STS and RPT hold what the columns point to. */
static void policy_columns(const mx_rows_domain_t *d, mx_record_t *rec, mx_sts_txt_t *sts,
                           mx_sts_txt_t *rpt) {
    const mx_dns_answer_t *ans = d->ans;
    const char *txt[8];
    size_t len[8];
    if (!ans->sts.status)
        return; /* not asked */
    if (strcmp(ans->status, "servfail") != 0 && strcmp(ans->status, "timeout") != 0 &&
        strcmp(ans->status, "refused") != 0)
        rec->f[MX_COL_MX_DNSSEC] = dnssec_of(d->dnssec, ans->mx_ad);
    mx_txt_set_t set = {txt, len, txt_set(&ans->sts, txt, len, 8)};
    mx_sts_txt_read(&set, sts);
    rec->f[MX_COL_STS_RECORD] = record_status(&ans->sts, sts);
    rec->f[MX_COL_STS_ID] = sts->id;
    set.n = txt_set(&ans->rpt, txt, len, 8);
    mx_tlsrpt_txt_read(&set, rpt);
    rec->f[MX_COL_TLSRPT_RECORD] = record_status(&ans->rpt, rpt);
    rec->f[MX_COL_TLSRPT_RUA] = rpt->rua;
}

/* An MX host's TLSA columns (with --policy). */
static void tlsa_columns(const mx_rows_domain_t *d, const mx_dns_mx_t *m, mx_record_t *r) {
    if (!m->tlsa.status)
        return;
    const char *st = m->tlsa.status;
    r->f[MX_COL_TLSA] = !answered(st) ? st : !strcmp(st, "ok") ? "present" : "none";
    if (answered(st))
        r->f[MX_COL_TLSA_DNSSEC] = dnssec_of(d->dnssec, m->tlsa.ad);
}

void mx_rows_domain(const mx_rows_domain_t *d, mx_rows_emit_fn emit, void *ud) {
    mx_record_t rec = {{0}};
    const mx_dns_answer_t *ans = d->ans;
    char rank[24], line[24], pref[8];
    mx_sts_txt_t sts, rpt;
    sts_text_t st;
    policy_columns(d, &rec, &sts, &rpt);
    sts_columns(d, &rec, &st);
    if (d->rank) {
        snprintf(rank, sizeof(rank), "%ld", d->rank);
        rec.f[MX_COL_RANK] = rank;
    }
    snprintf(line, sizeof(line), "%lu", d->line);
    rec.f[MX_COL_INPUT_LINE] = line;
    rec.f[MX_COL_DOMAIN] = d->name;
    rec.f[MX_COL_DNS_STATUS] = ans->status;
    rec.f[MX_COL_SCANNED_AT] = d->at; /* a probed row has its probe's own */
    if (!ans->nmx) {
        if (strcmp(ans->status, "null_mx") != 0)
            rec.f[MX_COL_STAGE] = "dns"; /* the probe ended at DNS; null MX is an answer */
        emit(ud, &rec, no_outcome);
    }
    for (int i = 0; i < ans->nmx; i++) {
        const mx_dns_mx_t *m = &ans->mx[i];
        mx_record_t r = rec;
        snprintf(pref, sizeof(pref), "%u", m->pref);
        r.f[MX_COL_MX_PREF] = pref;
        r.f[MX_COL_MX_HOST] = m->text;
        r.f[MX_COL_MX_STATUS] = m->status;
        tlsa_columns(d, m, &r);
        if (d->sts)
            r.f[MX_COL_STS_MATCH] = mx_sts_policy_allows(d->sts, m->text) ? "yes" : "no";
        r.f[MX_COL_DANE] = dane_of(d, m, NULL); /* what the records alone decide */
        if (!m->naddrs) {
            if (strcmp(m->status, "skipped") != 0)
                r.f[MX_COL_STAGE] = "dns";
            emit(ud, &r, no_outcome);
            continue;
        }
        const char *addr = m->text;
        for (int a = 0; a < m->naddrs; a++) {
            addr = mx_dns_next(addr);
            r.f[MX_COL_IP] = addr;
            address_row(d, m, i, a, r, emit, ud);
        }
    }
}

void mx_rows_invalid(const char *text, unsigned long line, const char *reason, const char *at,
                     mx_rows_emit_fn emit, void *ud) {
    mx_record_t rec = {{0}};
    char num_text[24];
    snprintf(num_text, sizeof(num_text), "%lu", line);
    rec.f[MX_COL_DOMAIN] = text;
    rec.f[MX_COL_DNS_STATUS] = "invalid";
    rec.f[MX_COL_ERROR] = reason;
    rec.f[MX_COL_INPUT_LINE] = num_text;
    rec.f[MX_COL_SCANNED_AT] = at;
    emit(ud, &rec, no_outcome);
}

void mx_rows_host(const char *mx_host, const char *ip, const mx_host_result_t *res,
                  const mx_intern_t *strings, mx_rows_emit_fn emit, void *ud) {
    mx_record_t rec = {{0}};
    numbers_t t;
    rec.f[MX_COL_MX_HOST] = mx_host;
    rec.f[MX_COL_IP] = ip;
    host_fill(&rec, res, strings, &t);
    emit(ud, &rec, (mx_row_outcome_t){res->conn, res->tls, res->local_overload});
}
