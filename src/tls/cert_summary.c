/* Certificate summary and verification (mxtls/tls.h).
 *
 * The schema's cert_valid reasons come from mbedTLS's MBEDTLS_X509_BADCERT_* flags, in the
 * schema's order, with one rule of our own: a leaf that is its own issuer is `self_signed`,
 * which replaces `untrusted` (the finding that matters for such a server). */
#include "mxtls/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>

#include "mxtls/hex.h"
#include "tls/tls_int.h"

static void iso_time(const mbedtls_x509_time *t, char *out) {
    snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day, t->hour, t->min,
             t->sec);
}

static void common_name(const mbedtls_x509_name *n, char *out, size_t cap) {
    out[0] = 0;
    for (; n; n = n->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            size_t len = n->val.len < cap - 1 ? n->val.len : cap - 1;
            memcpy(out, n->val.p, len);
            out[len] = 0; /* the last CN wins, as most clients read it */
        }
    }
}

static void dns_sans(const mbedtls_x509_crt *crt, char *out, size_t cap) {
    size_t o = 0;
    unsigned n = 0;
    out[0] = 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && n < 20; s = s->next) {
        if (!s->buf.p || (s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME)
            continue;
        if (o + s->buf.len + 2 > cap)
            break;
        if (o)
            out[o++] = '|';
        memcpy(out + o, s->buf.p, s->buf.len);
        o += s->buf.len;
        n++;
    }
    out[o] = 0;
}

static void key_name(const mbedtls_x509_crt *crt, char *out, size_t cap) {
    mbedtls_pk_type_t t = mbedtls_pk_get_type(&crt->pk);
    if (t == MBEDTLS_PK_RSA) {
        snprintf(out, cap, "rsa:%zu", mbedtls_pk_get_bitlen(&crt->pk));
    } else if (t == MBEDTLS_PK_ECKEY || t == MBEDTLS_PK_ECDSA) {
        mbedtls_ecp_group_id id = mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(crt->pk));
        const mbedtls_ecp_curve_info *ci = mbedtls_ecp_curve_info_from_grp_id(id);
        snprintf(out, cap, "ec:%s", ci ? ci->name : "unknown");
    } else {
        snprintf(out, cap, "%s", mbedtls_pk_get_name(&crt->pk));
    }
}

static void sig_name(const mbedtls_x509_crt *crt, char *out, size_t cap) {
    static const char *const md_rsa[] = {[MBEDTLS_MD_MD5] = "md5WithRSAEncryption",
                                         [MBEDTLS_MD_SHA1] = "sha1WithRSAEncryption",
                                         [MBEDTLS_MD_SHA224] = "sha224WithRSAEncryption",
                                         [MBEDTLS_MD_SHA256] = "sha256WithRSAEncryption",
                                         [MBEDTLS_MD_SHA384] = "sha384WithRSAEncryption",
                                         [MBEDTLS_MD_SHA512] = "sha512WithRSAEncryption"};
    static const char *const md_ec[] = {[MBEDTLS_MD_SHA1] = "ecdsa-with-SHA1",
                                        [MBEDTLS_MD_SHA224] = "ecdsa-with-SHA224",
                                        [MBEDTLS_MD_SHA256] = "ecdsa-with-SHA256",
                                        [MBEDTLS_MD_SHA384] = "ecdsa-with-SHA384",
                                        [MBEDTLS_MD_SHA512] = "ecdsa-with-SHA512"};
    const char *name = NULL;
    size_t md = (size_t)crt->MBEDTLS_PRIVATE(sig_md);
    mbedtls_pk_type_t pk = crt->MBEDTLS_PRIVATE(sig_pk);
    if (pk == MBEDTLS_PK_RSA && md < sizeof(md_rsa) / sizeof(md_rsa[0]))
        name = md_rsa[md];
    else if (pk == MBEDTLS_PK_ECDSA && md < sizeof(md_ec) / sizeof(md_ec[0]))
        name = md_ec[md];
    else if (pk == MBEDTLS_PK_RSASSA_PSS)
        name = "rsassaPss";
    snprintf(out, cap, "%s", name ? name : "unknown");
}

int mx_name_matches(const char *pattern, size_t len, const char *host) {
    size_t hl = strlen(host);
    if (len == hl && strncasecmp(pattern, host, len) == 0)
        return 1;
    /* "*.example.com" covers exactly one more label: a.example.com, not example.com nor
     * a.b.example.com; partial wildcards ("mx*.example.com") are not honoured. */
    if (len < 3 || pattern[0] != '*' || pattern[1] != '.')
        return 0;
    const char *dot = strchr(host, '.');
    if (!dot || dot == host)
        return 0;
    size_t rest = hl - (size_t)(dot - host);
    return rest == len - 1 && strncasecmp(dot, pattern + 1, len - 1) == 0;
}

static int name_match(const mbedtls_x509_crt *crt, const char *host) {
    int have_dns = 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s; s = s->next) {
        if (!s->buf.p || (s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME)
            continue;
        have_dns = 1;
        if (mx_name_matches((const char *)s->buf.p, s->buf.len, host))
            return 1;
    }
    if (have_dns)
        return 0; /* RFC 6125 6.4.4: with DNS SANs present, the CN is not looked at */
    for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
            mx_name_matches((const char *)n->val.p, n->val.len, host))
            return 1;
    return 0;
}

static uint32_t verify(mx_tls_config_t *c, const mbedtls_x509_crt *chain, uint64_t key) {
    uint32_t flags = 0;
    mx__verify_slot_t *slot = NULL;
    if (!c->cache)
        c->cache = calloc(MX__VERIFY_CACHE, sizeof(*c->cache));
    if (c->cache) {
        slot = &c->cache[key & (MX__VERIFY_CACHE - 1)];
        if (slot->key == key) {
            c->cache_hits++;
            return slot->flags;
        }
    }
    c->cache_misses++;
    /* mbedTLS takes the chain non-const; verification does not modify it. */
    mbedtls_x509_crt_verify((mbedtls_x509_crt *)(uintptr_t)chain, &c->ca, NULL, NULL, &flags, NULL,
                            NULL);
    if (slot) {
        slot->key = key ? key : 1;
        slot->flags = flags;
    }
    return flags;
}

static void reasons(const mbedtls_x509_crt *leaf, uint32_t flags, char *out, size_t cap) {
    int self = leaf->issuer_raw.len == leaf->subject_raw.len &&
               memcmp(leaf->issuer_raw.p, leaf->subject_raw.p, leaf->subject_raw.len) == 0;
    const struct {
        uint32_t mask;
        const char *token;
    } map[] = {
        {MBEDTLS_X509_BADCERT_EXPIRED, "expired"},
        {MBEDTLS_X509_BADCERT_FUTURE, "not_yet_valid"},
        {MBEDTLS_X509_BADCERT_NOT_TRUSTED, self ? "self_signed" : "untrusted"},
        {MBEDTLS_X509_BADCERT_BAD_KEY, "weak_key"},
        {MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_OTHER |
             MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
             MBEDTLS_X509_BADCERT_NS_CERT_TYPE | MBEDTLS_X509_BADCERT_REVOKED |
             MBEDTLS_X509_BADCERT_MISSING | MBEDTLS_X509_BADCERT_SKIP_VERIFY,
         "other"},
    };
    size_t o = 0;
    out[0] = 0;
    flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH; /* no name was given */
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (flags & map[i].mask)
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "|" : "", map[i].token);
    if (!o)
        snprintf(out, cap, "ok");
}

mx_cert_summary_t *mx__tls_summarize(mx_tls_config_t *c, const mbedtls_x509_crt *chain,
                                     const char *host) {
    unsigned char digest[32];
    char cn[257], san[1024], issuer[512];
    if (!chain || !chain->raw.p)
        return NULL;
    common_name(&chain->subject, cn, sizeof(cn));
    dns_sans(chain, san, sizeof(san));
    issuer[0] = 0;
    mbedtls_x509_dn_gets(issuer, sizeof(issuer), &chain->issuer); /* cut short when too long */
    issuer[sizeof(issuer) - 1] = 0;
    size_t lcn = strlen(cn) + 1, lsan = strlen(san) + 1, lissuer = strlen(issuer) + 1;
    mx_cert_summary_t *out = calloc(1, sizeof(*out) + lcn + lsan + lissuer);
    if (!out)
        return NULL;
    out->cn = memcpy(out->text, cn, lcn);
    out->san = memcpy(out->text + lcn, san, lsan);
    out->issuer = memcpy(out->text + lcn + lsan, issuer, lissuer);
    mbedtls_sha256(chain->raw.p, chain->raw.len, digest, 0);
    mx_hex(digest, 32, out->sha256);
    iso_time(&chain->valid_from, out->not_before);
    iso_time(&chain->valid_to, out->not_after);
    key_name(chain, out->key, sizeof(out->key));
    sig_name(chain, out->sig, sizeof(out->sig));
    /* The cache key covers the whole chain as sent: the same leaf with another intermediate
     * may verify differently. */
    mbedtls_sha256_context sha;
    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts(&sha, 0);
    for (const mbedtls_x509_crt *x = chain; x && x->raw.p; x = x->next) {
        out->chain_len++;
        mbedtls_sha256_update(&sha, x->raw.p, x->raw.len);
    }
    mbedtls_sha256_finish(&sha, digest);
    mbedtls_sha256_free(&sha);
    uint64_t key;
    memcpy(&key, digest, sizeof(key));
    reasons(chain, verify(c, chain, key), out->valid, sizeof(out->valid));
    out->name_match = host ? name_match(chain, host) : 0;
    return out;
}
