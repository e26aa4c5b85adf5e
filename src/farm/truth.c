/* Ground truth (truth.h). The rules here are the scanner's contract with the farm: a host
 * whose greeting is not 220 ends at stage greeting; a reset connection is conn=reset; STARTTLS
 * refused is tls=rejected; a server that speaks only TLS 1.0/1.1 is tls=legacy with what the
 * raw ClientHello probe sees. */
#include "farm/truth.h"

#include <stdio.h>
#include <string.h>

#include "farm/smtp_server.h"
#include "mxtls/record.h"
#include "mxtls/writer.h"

#define COL(x) (1ull << MX_COL_##x)

uint64_t farm_truth_columns(int with_fingerprints, int with_policy) {
    uint64_t policy = COL(MX_DNSSEC) | COL(STS_RECORD) | COL(STS_ID) | COL(STS_POLICY) |
                      COL(STS_MODE) | COL(STS_MAX_AGE) | COL(STS_MX) | COL(TLSRPT_RECORD) |
                      COL(TLSRPT_RUA) | COL(TLSA) | COL(TLSA_DNSSEC) | COL(STS_MATCH) | COL(DANE);
    return COL(RANK) | COL(DOMAIN) | COL(DNS_STATUS) | COL(MX_PREF) | COL(MX_HOST) |
           COL(MX_STATUS) | COL(IP) | COL(CONN) | COL(BANNER_CODE) | COL(EHLO_CODE) |
           COL(EHLO_CAPS) | COL(SIZE_LIMIT) | COL(STARTTLS) | COL(STARTTLS_CODE) | COL(TLS) |
           COL(TLS_VERSION) | COL(TLS_CIPHER) | COL(TLS_GROUP) | COL(CERT_CN) | COL(CERT_KEY) |
           COL(CHAIN_LEN) | COL(CERT_VALID) | COL(CERT_NAME_MATCH) | COL(EHLO_TLS_CAPS) |
           COL(STAGE) | COL(INPUT_LINE) | (with_fingerprints ? COL(CERT_SHA256) : 0) |
           (with_policy ? policy : 0);
}

typedef struct {
    char rank[16], pref[8], ip[16], banner[8], size[16], caps[256], tls_caps[256], chain[4];
    farm_tls_truth_t tls;
} bufs_t;

/* The policy texts of a domain's rows. */
typedef struct {
    char id[40], policy[4096], mx[4096], rua[300];
} policy_bufs_t;

/* What the policy host of D makes of a fetch (sts_policy). */
static const char *sts_outcome(const farm_domain_t *d) {
    static const char *const tokens[] = {
        [FARM_SF_OK] = "ok",
        [FARM_SF_MISMATCH] = "ok",
        [FARM_SF_NO_HOST] = "dns_nxdomain",
        [FARM_SF_CERT_EXPIRED] = "cert_invalid",
        [FARM_SF_CERT_WRONG_NAME] = "cert_name",
        [FARM_SF_404] = "http_status",
        [FARM_SF_REDIRECT] = "http_redirect",
        [FARM_SF_OVERSIZE] = "http_too_large",
        [FARM_SF_MALFORMED] = "policy_version",
    };
    return tokens[d->sts_fault];
}

/* The domain columns of --policy: DNSSEC of the MX answer, MTA-STS, TLS-RPT. */
static void domain_policy(const farm_domain_t *d, mx_record_t *rec, policy_bufs_t *p) {
    static const char *const modes[] = {"none", "testing", "enforce"};
    if (d->kind != FARM_D_SERVFAIL && d->kind != FARM_D_TIMEOUT)
        rec->f[MX_COL_MX_DNSSEC] = d->signed_zone ? "secure" : "insecure";
    rec->f[MX_COL_STS_RECORD] = d->sts == FARM_STS_RECORD       ? "ok"
                                : d->sts == FARM_STS_BAD_RECORD ? "invalid"
                                                                : "none";
    rec->f[MX_COL_TLSRPT_RECORD] = d->rpt == FARM_RPT_OK    ? "ok"
                                   : d->rpt == FARM_RPT_BAD ? "invalid"
                                                            : "none";
    if (d->rpt == FARM_RPT_OK) {
        snprintf(p->rua, sizeof(p->rua), "mailto:tlsrpt@%s", d->name);
        rec->f[MX_COL_TLSRPT_RUA] = p->rua;
    }
    if (d->sts != FARM_STS_RECORD)
        return;
    snprintf(p->id, sizeof(p->id), "farm%ue%u", d->sts_mode, d->sts_since);
    rec->f[MX_COL_STS_ID] = p->id;
    rec->f[MX_COL_STS_POLICY] = sts_outcome(d);
    if (strcmp(sts_outcome(d), "ok") != 0)
        return;
    rec->f[MX_COL_STS_MODE] = modes[d->sts_mode];
    rec->f[MX_COL_STS_MAX_AGE] = "604800";
    /* The patterns, from the policy file the host serves: its "mx: " lines. */
    farm_sts_policy(d, p->policy, sizeof(p->policy));
    size_t o = 0;
    p->mx[0] = 0;
    for (const char *l = strstr(p->policy, "mx: "); l; l = strstr(l + 1, "\nmx: ")) {
        const char *v = l[0] == '\n' ? l + 5 : l + 4;
        o += (size_t)snprintf(p->mx + o, sizeof(p->mx) - o, "%s%.*s", o ? "|" : "",
                              (int)strcspn(v, "\r\n"), v);
    }
    rec->f[MX_COL_STS_MX] = p->mx;
}

/* The dane column of a row of MX K of D with TLSA records, probed to HOST_TLS (the tls
 * column's value, "" when the probe ended before) on host H. */
static const char *dane_outcome(const farm_domain_t *d, int k, const char *host_tls,
                                const farm_host_t *h) {
    if (!d->signed_zone)
        return "insecure";
    if (d->tlsa[k] == FARM_TLSA_PKIX)
        return "unusable";
    if (!h || !host_tls)
        return NULL;
    if (!strcmp(host_tls, "ok")) /* the record names the key of generation tlsa_gen */
        return (h->tlsa_gen & 1) == (h->renewals & 1) ? "match" : "mismatch";
    if (!strcmp(host_tls, "not_offered") || !strcmp(host_tls, "rejected"))
        return "mismatch"; /* a DANE sender finds no TLS */
    return NULL;
}

static const char *const dns_status[] = {"mx",       "implicit", "null_mx", "nodata",
                                         "nxdomain", "servfail", "timeout"};

/* Fills the host columns of REC for the server at ADDR, reached as MX_HOST. */
static int host_columns(const farm_t *f, farm_certs_t *certs, int with_fp, uint32_t addr,
                        const char *mx_host, mx_record_t *rec, bufs_t *b) {
    farm_host_t h;
    farm_addr_str(addr, b->ip);
    rec->f[MX_COL_IP] = b->ip;
    if (farm_host(f, addr, &h) < 0)
        return -1;
    if (h.greet == FARM_G_RESET) {
        /* The server accepts and resets at once: the connect succeeds, the read fails. */
        rec->f[MX_COL_CONN] = "reset";
        rec->f[MX_COL_STAGE] = "greeting";
        return 0;
    }
    rec->f[MX_COL_CONN] = "ok";
    if (h.greet != FARM_G_220) {
        if (h.greet == FARM_G_421 || h.greet == FARM_G_554)
            rec->f[MX_COL_BANNER_CODE] = h.greet == FARM_G_421 ? "421" : "554";
        rec->f[MX_COL_STAGE] = "greeting";
        return 0;
    }
    rec->f[MX_COL_BANNER_CODE] = "220";
    rec->f[MX_COL_EHLO_CODE] = "250";
    farm_ehlo_keywords(&h, 0, b->caps, sizeof(b->caps));
    rec->f[MX_COL_EHLO_CAPS] = b->caps;
    if (h.size) {
        snprintf(b->size, sizeof(b->size), "%u", h.size);
        rec->f[MX_COL_SIZE_LIMIT] = b->size;
    }
    rec->f[MX_COL_STARTTLS] = h.starttls ? "yes" : "no";
    if (!h.starttls) {
        rec->f[MX_COL_TLS] = "not_offered";
        return 0;
    }
    if (h.starttls_454) {
        rec->f[MX_COL_STARTTLS_CODE] = "454";
        rec->f[MX_COL_TLS] = "rejected";
        return 0;
    }
    rec->f[MX_COL_STARTTLS_CODE] = "220";
    if (farm_certs_truth(certs, &h, with_fp, &b->tls) < 0)
        return -1;
    int legacy = h.tls == FARM_TLS10 || h.tls == FARM_TLS11;
    rec->f[MX_COL_TLS] = legacy ? "legacy" : "ok";
    rec->f[MX_COL_TLS_VERSION] = farm_tls_version_name(h.tls);
    rec->f[MX_COL_TLS_CIPHER] = b->tls.cipher;
    rec->f[MX_COL_TLS_GROUP] = b->tls.group;
    rec->f[MX_COL_CERT_SHA256] = b->tls.sha256;
    rec->f[MX_COL_CERT_CN] = b->tls.cn;
    rec->f[MX_COL_CERT_KEY] = b->tls.key;
    snprintf(b->chain, sizeof(b->chain), "%d", b->tls.chain_len);
    rec->f[MX_COL_CHAIN_LEN] = b->chain;
    rec->f[MX_COL_CERT_VALID] = b->tls.valid;
    rec->f[MX_COL_CERT_NAME_MATCH] = farm_certs_name_match(certs, &h, mx_host) ? "yes" : "no";
    if (!legacy) {
        farm_ehlo_keywords(&h, 1, b->tls_caps, sizeof(b->tls_caps));
        rec->f[MX_COL_EHLO_TLS_CAPS] = b->tls_caps;
    }
    return 0;
}

static int domain_rows(const farm_t *f, farm_certs_t *certs, int with_fp, int with_policy,
                       uint32_t i, mx_writer_t *w) {
    farm_domain_t d;
    mx_record_t rec;
    bufs_t b;
    policy_bufs_t pb;
    farm_domain(f, i, &d);
    memset(&rec, 0, sizeof(rec));
    if (with_policy)
        domain_policy(&d, &rec, &pb);
    snprintf(b.rank, sizeof(b.rank), "%u", i + 1);
    rec.f[MX_COL_RANK] = b.rank;
    rec.f[MX_COL_INPUT_LINE] = b.rank; /* the list has one domain a line, in rank order */
    rec.f[MX_COL_DOMAIN] = d.name;
    rec.f[MX_COL_DNS_STATUS] = dns_status[d.kind];
    if (d.kind != FARM_D_MX && d.kind != FARM_D_IMPLICIT) {
        if (d.kind != FARM_D_NULL_MX)
            rec.f[MX_COL_STAGE] = "dns";
        return mx_writer_row(w, &rec);
    }
    /* MX records in preference order, ties in answer order (a stable sort). */
    int order[FARM_MAX_MX];
    for (int k = 0; k < d.nmx; k++) {
        int j = k;
        while (j > 0 && d.mx[order[j - 1]].pref > d.mx[k].pref) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    for (int k = 0; k < d.nmx; k++) {
        const farm_mx_t *mx = &d.mx[order[k]];
        mx_record_t r = rec;
        bufs_t hb;
        memcpy(hb.rank, b.rank, sizeof(b.rank));
        snprintf(hb.pref, sizeof(hb.pref), "%u", d.kind == FARM_D_IMPLICIT ? 0 : mx->pref);
        r.f[MX_COL_MX_PREF] = hb.pref;
        r.f[MX_COL_MX_HOST] = mx->name;
        /* TLSA is asked for each MX host looked up (not an implicit MX, a literal or one
         * skipped), in the zone of its name. */
        int tlsa_asked = with_policy && d.kind == FARM_D_MX && k < FARM_TRUTH_MAX_MX &&
                         mx->kind != FARM_N_LITERAL;
        if (tlsa_asked) {
            r.f[MX_COL_TLSA] = d.tlsa[order[k]] ? "present" : "none";
            size_t n = strlen(mx->name), dn = strlen(d.name);
            int own = n > dn && mx->name[n - dn - 1] == '.' && !strcmp(mx->name + n - dn, d.name);
            r.f[MX_COL_TLSA_DNSSEC] = own && d.signed_zone ? "secure" : "insecure";
            if (!d.tlsa[order[k]])
                r.f[MX_COL_DANE] = "none";
            else
                r.f[MX_COL_DANE] = dane_outcome(&d, order[k], NULL, NULL);
        }
        if (with_policy && d.sts == FARM_STS_RECORD && !strcmp(sts_outcome(&d), "ok"))
            r.f[MX_COL_STS_MATCH] = d.sts_fault == FARM_SF_MISMATCH ? "no" : "yes";
        if (k >= FARM_TRUTH_MAX_MX) {
            r.f[MX_COL_MX_STATUS] = "skipped";
        } else if (mx->kind == FARM_N_NXDOMAIN || mx->kind == FARM_N_NODATA) {
            r.f[MX_COL_MX_STATUS] = mx->kind == FARM_N_NXDOMAIN ? "nxdomain" : "nodata";
            r.f[MX_COL_STAGE] = "dns";
        } else {
            r.f[MX_COL_MX_STATUS] = mx->kind == FARM_N_LITERAL ? "ip_literal" : "ok";
            for (int a = 0; a < mx->naddrs; a++) {
                mx_record_t hr = r;
                if (a >= FARM_TRUTH_MAX_ADDRS) {
                    farm_addr_str(mx->addrs[a], hb.ip);
                    hr.f[MX_COL_IP] = hb.ip;
                    hr.f[MX_COL_CONN] = "skipped";
                } else if (host_columns(f, certs, with_fp, mx->addrs[a], mx->name, &hr, &hb) < 0) {
                    fprintf(stderr, "mxtls-farm: no server behind %s of %s\n", hb.ip, d.name);
                    return -1;
                } else if (tlsa_asked && d.tlsa[order[k]]) {
                    farm_host_t h;
                    farm_host(f, mx->addrs[a], &h);
                    const char *tls = hr.f[MX_COL_TLS];
                    hr.f[MX_COL_DANE] = dane_outcome(&d, order[k], tls ? tls : NULL, &h);
                }
                int rc = mx_writer_row(w, &hr);
                if (rc)
                    return rc;
            }
            continue;
        }
        int rc = mx_writer_row(w, &r);
        if (rc)
            return rc;
    }
    return 0;
}

int farm_truth_write(const farm_t *f, farm_certs_t *certs, int with_fingerprints, int with_policy,
                     const char *path, char *err, size_t errlen) {
    mx_writer_t *w;
    int rc = mx_writer_open_columns(&w, path, farm_truth_columns(with_fingerprints, with_policy));
    if (rc) {
        snprintf(err, errlen, "%s: cannot create (%d)", path, rc);
        return -1;
    }
    for (uint32_t i = 0; i < farm_domain_count(f) && !rc; i++) {
        rc = domain_rows(f, certs, with_fingerprints, with_policy, i, w);
        if (!rc)
            rc = mx_writer_group_end(w, 0);
    }
    if (rc)
        snprintf(err, errlen, "%s: %s", path,
                 mx_writer_error(w) ? mx_writer_error(w) : "cannot make the truth");
    int crc = mx_writer_close(w);
    return rc || crc ? -1 : 0;
}
