/* Farm certificates and TLS contexts (certs.h). */
#include "farm/certs.h"
#include "farm/pubkey.h"
#include "mxtls/hash.h"
#include "mxtls/hex.h"
#include "mxtls/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#define NCTX (4 * 4 * 3 * 2)

typedef struct {
    char *key; /* cache key: name|cert|key|renewals|intermediate */
    X509 *leaf;
} leaf_slot_t;

struct farm_certs {
    EVP_PKEY *keys[4][2];         /* per farm_key_t, and generation parity: renewals roll over */
    EVP_PKEY *pubs[4][2];         /* the same, as leaves take them (pubkey.h) */
    unsigned char spki[4][2][32]; /* SHA-256 of each key's SubjectPublicKeyInfo (TLSA 3 1 1) */
    EVP_PKEY *root_key, *int_key, *other_key;
    X509 *root, *inter, *other;
    SSL_CTX *ctx[NCTX];
    mx_table_t leaves; /* leaf_slot_t, by key */
    time_t today;
};

static const char *const key_names[] = {"rsa2048", "rsa4096", "p256", "p384"};
static const char *const key_tokens[] = {"rsa:2048", "rsa:4096", "ec:secp256r1", "ec:secp384r1"};

static EVP_PKEY *gen_key(int type) {
    switch (type) {
    case FARM_KEY_RSA2048:
        return EVP_RSA_gen(2048);
    case FARM_KEY_RSA4096:
        return EVP_RSA_gen(4096);
    case FARM_KEY_P256:
        return EVP_EC_gen("P-256");
    default:
        return EVP_EC_gen("P-384");
    }
}

/* A key from DIR/NAME.pem, or a new one saved there. */
static EVP_PKEY *cached_key(const char *dir, const char *name, int type) {
    char path[1024];
    EVP_PKEY *k = NULL;
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "r");
    if (f) {
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (k)
            return k;
    }
    k = gen_key(type);
    if (!k)
        return NULL;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
    f = fopen(tmp, "w");
    if (f) {
        int ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
        if (fclose(f) == 0 && ok)
            rename(tmp, path);
        else
            remove(tmp);
    }
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext) {
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
}

/* A certificate for KEY (PUB: the same key as set into the certificate) with CN and SANS
 * (comma list, "DNS:" each), signed by ISSUER/IKEY (self-signed when NULL), valid from NB to NA
 * days around today. */
static X509 *make_cert(farm_certs_t *c, EVP_PKEY *key, EVP_PKEY *pub, const char *cn,
                       const char *sans, X509 *issuer, EVP_PKEY *ikey, long nb, long na, int ca,
                       uint64_t serial) {
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);
    X509_time_adj_ex(X509_getm_notBefore(x), (int)nb, 0, &c->today);
    X509_time_adj_ex(X509_getm_notAfter(x), (int)na, 0, &c->today);
    X509_set_pubkey(x, pub);
    X509_NAME *name = X509_get_subject_name(x);
    if (ca)
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mxtls farm", -1,
                                   -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    if (ca) {
        add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
        add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
        if (sans)
            add_ext(x, issuer, NID_subject_alt_name, sans);
    }
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer)
        add_ext(x, issuer, NID_authority_key_identifier, "keyid");
    if (!X509_sign(x, issuer ? ikey : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

farm_certs_t *farm_certs_new(const char *key_dir, char *err, size_t errlen) {
    farm_certs_t *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mx_table_init(&c->leaves, sizeof(leaf_slot_t));
    c->today = time(NULL) / 86400 * 86400;
    mkdir(key_dir, 0700);
    for (int k = 0; k < 4; k++)
        for (int g = 0; g < 2; g++) {
            char name[32];
            snprintf(name, sizeof(name), "%s%s", key_names[k], g ? "-rolled" : "");
            unsigned char *der = NULL;
            int n;
            if (!(c->keys[k][g] = cached_key(key_dir, name, k)) ||
                !(c->pubs[k][g] = farm_pubkey_legacy(c->keys[k][g])) ||
                (n = i2d_PUBKEY(c->keys[k][g], &der)) <= 0)
                goto fail;
            SHA256(der, (size_t)n, c->spki[k][g]);
            OPENSSL_free(der);
        }
    if (!(c->root_key = cached_key(key_dir, "root-ca", FARM_KEY_P256)) ||
        !(c->int_key = cached_key(key_dir, "intermediate-ca", FARM_KEY_P256)) ||
        !(c->other_key = cached_key(key_dir, "unknown-ca", FARM_KEY_P256)))
        goto fail;
    c->root = make_cert(c, c->root_key, c->root_key, "mxtls farm root CA", NULL, NULL, NULL, -365,
                        3650, 1, 1);
    c->inter = make_cert(c, c->int_key, c->int_key, "mxtls farm intermediate CA", NULL, c->root,
                         c->root_key, -365, 3650, 1, 2);
    c->other = make_cert(c, c->other_key, c->other_key, "Unknown Root CA", NULL, NULL, NULL, -365,
                         3650, 1, 3);
    if (!c->root || !c->inter || !c->other)
        goto fail;
    return c;
fail:
    snprintf(err, errlen, "cannot make farm keys or CA certificates in %s", key_dir);
    farm_certs_free(c);
    return NULL;
}

void farm_certs_free(farm_certs_t *c) {
    if (!c)
        return;
    for (int k = 0; k < 4; k++)
        for (int g = 0; g < 2; g++) {
            EVP_PKEY_free(c->keys[k][g]);
            EVP_PKEY_free(c->pubs[k][g]);
        }
    EVP_PKEY_free(c->root_key);
    EVP_PKEY_free(c->int_key);
    EVP_PKEY_free(c->other_key);
    X509_free(c->root);
    X509_free(c->inter);
    X509_free(c->other);
    for (int i = 0; i < NCTX; i++)
        SSL_CTX_free(c->ctx[i]);
    for (size_t i = 0; i < c->leaves.cap; i++) {
        leaf_slot_t *l = mx_table_slot(&c->leaves, i);
        if (l) {
            free(l->key);
            X509_free(l->leaf);
        }
    }
    mx_table_close(&c->leaves);
    free(c);
}

int farm_certs_write_ca(farm_certs_t *c, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = PEM_write_X509(f, c->root);
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int has_intermediate(const farm_host_t *h) {
    return h->intermediate && h->cert != FARM_CERT_SELF_SIGNED && h->cert != FARM_CERT_UNKNOWN_CA;
}

/* The name a host's certificate is issued for. */
static void cert_names(const farm_host_t *h, char *cn, char *sans) {
    const char *dot = strchr(h->name, '.');
    if (h->cert == FARM_CERT_WRONG_NAME)
        snprintf(cn, 256, "other-host.%.240s", dot ? dot + 1 : h->name);
    else
        snprintf(cn, 256, "%s", h->name);
    int n = snprintf(sans, 600, "DNS:%s", cn);
    if (h->wildcard[0] && h->cert == FARM_CERT_VALID)
        snprintf(sans + n, 600 - (size_t)n, ",DNS:*.%s", h->wildcard);
}

static X509 *leaf_make(farm_certs_t *c, const farm_host_t *h) {
    char cn[256], sans[600];
    cert_names(h, cn, sans);
    long nb = -30, na = 60;
    if (h->cert == FARM_CERT_EXPIRED)
        nb = -400, na = -10;
    else if (h->cert == FARM_CERT_NOT_YET_VALID)
        nb = 10, na = 400;
    nb -= (long)h->renewals % 7; /* a renewed certificate differs in its dates too */
    X509 *issuer = h->cert == FARM_CERT_SELF_SIGNED  ? NULL
                   : h->cert == FARM_CERT_UNKNOWN_CA ? c->other
                   : has_intermediate(h)             ? c->inter
                                                     : c->root;
    EVP_PKEY *ikey = issuer == c->other   ? c->other_key
                     : issuer == c->inter ? c->int_key
                                          : c->root_key;
    uint64_t serial = (farm_hash(mx_hash(h->name), h->cert, h->key, h->renewals) >> 2) | 1;
    int g = h->renewals & 1;
    return make_cert(c, c->keys[h->key][g], c->pubs[h->key][g], cn, sans, issuer, ikey, nb, na, 0,
                     serial);
}

static int same_key(const void *item, const void *key) {
    const char *k = ((const leaf_slot_t *)item)->key;
    return k && strcmp(k, key) == 0;
}

int farm_certs_leaf(farm_certs_t *c, const farm_host_t *h, X509 **leaf, EVP_PKEY **key,
                    X509 **chain) {
    char k[400];
    snprintf(k, sizeof(k), "%s|%d|%d|%u|%d", h->name, h->cert, h->key, h->renewals,
             has_intermediate(h));
    uint64_t hash = mx_hash(k);
    leaf_slot_t *l = mx_table_find(&c->leaves, hash, same_key, k);
    if (!l) {
        X509 *x = leaf_make(c, h);
        if (!x || !(l = mx_table_add(&c->leaves, hash))) {
            X509_free(x);
            return -1;
        }
        l->key = strdup(k);
        l->leaf = x;
    }
    *leaf = l->leaf;
    *key = c->keys[h->key][h->renewals & 1];
    *chain = has_intermediate(h) ? c->inter : NULL;
    return 0;
}

static int is_ec(const farm_host_t *h) {
    return h->key == FARM_KEY_P256 || h->key == FARM_KEY_P384;
}

SSL_CTX *farm_certs_ctx(farm_certs_t *c, const farm_host_t *h) {
    int idx = ((h->tls * 4 + h->group) * 3 + h->cipher % 3) * 2 + is_ec(h);
    if (c->ctx[idx])
        return c->ctx[idx];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION, TLS1_1_VERSION, TLS1_VERSION};
    int max = versions[h->tls], min = h->tls == FARM_TLS13 ? TLS1_2_VERSION : max;
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, max);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set1_groups_list(ctx, farm_group_openssl(h->group));
    char list[512];
    farm_host_t as12 = *h;
    if (h->tls == FARM_TLS13) {
        SSL_CTX_set_ciphersuites(ctx, farm_cipher_openssl(h));
        as12.tls = FARM_TLS12; /* what it offers a TLS 1.2-only client */
    }
    if (h->tls >= FARM_TLS11) {
        /* Old protocols need OpenSSL's security level 0 (SHA-1 signatures, CBC suites). */
        SSL_CTX_set_security_level(ctx, 0);
        snprintf(list, sizeof(list), "%s:@SECLEVEL=0", farm_cipher_openssl(&as12));
    } else {
        snprintf(list, sizeof(list), "%s", farm_cipher_openssl(&as12));
    }
    if (!SSL_CTX_set_cipher_list(ctx, list)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    c->ctx[idx] = ctx;
    return ctx;
}

static const char *iana_of(farm_certs_t *c, const farm_host_t *h, const char **group) {
    SSL_CTX *ctx = farm_certs_ctx(c, h);
    char first[128];
    const char *list = farm_cipher_openssl(h);
    size_t n = strcspn(list, ":");
    snprintf(first, sizeof(first), "%.*s", (int)n, list);
    *group = farm_group_name(h->group);
    if (h->tls != FARM_TLS13 && strncmp(first, "ECDHE", 5) != 0)
        *group = "rsa";
    if (!ctx)
        return NULL;
    SSL *ssl = SSL_new(ctx);
    const char *iana = NULL;
    STACK_OF(SSL_CIPHER) *all = ssl ? SSL_get_ciphers(ssl) : NULL;
    for (int i = 0; all && i < sk_SSL_CIPHER_num(all); i++) {
        const SSL_CIPHER *ci = sk_SSL_CIPHER_value(all, i);
        if (strcmp(SSL_CIPHER_get_name(ci), first) == 0)
            iana = SSL_CIPHER_standard_name(ci);
    }
    SSL_free(ssl);
    if (!iana)
        fprintf(stderr, "mxtls-farm: no cipher %s in the context of %s (tls %d key %d)\n", first,
                h->name, h->tls, h->key);
    return iana;
}

int farm_certs_truth(farm_certs_t *c, const farm_host_t *h, int fingerprint, farm_tls_truth_t *t) {
    memset(t, 0, sizeof(*t));
    t->cipher = iana_of(c, h, &t->group);
    if (!t->cipher)
        return -1;
    if (fingerprint) {
        X509 *leaf, *chain;
        EVP_PKEY *key;
        unsigned char der_hash[32];
        unsigned int len = 0;
        if (farm_certs_leaf(c, h, &leaf, &key, &chain) < 0 ||
            !X509_digest(leaf, EVP_sha256(), der_hash, &len))
            return -1;
        mx_hex(der_hash, len, t->sha256);
    }
    char sans[600];
    cert_names(h, t->cn, sans);
    t->key = key_tokens[h->key];
    t->chain_len = 1 + has_intermediate(h);
    static const char *const valid[] = {"ok",      "ok",        "self_signed",
                                        "expired", "untrusted", "not_yet_valid"};
    t->valid = valid[h->cert];
    return 0;
}

/* RFC 6125: exact match, or "*." + the rest when NAME has one more label (no partial
 * wildcards, none above the registrable part are issued by the farm). */
static int name_covers(const char *pattern, const char *name) {
    if (strcasecmp(pattern, name) == 0)
        return 1;
    if (strncmp(pattern, "*.", 2) != 0)
        return 0;
    const char *dot = strchr(name, '.');
    return dot && dot != name && strcasecmp(pattern + 1, dot) == 0;
}

int farm_certs_name_match(farm_certs_t *c, const farm_host_t *h, const char *name) {
    char cn[256], sans[600];
    (void)c;
    cert_names(h, cn, sans);
    char *save = NULL;
    for (char *p = strtok_r(sans, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (strncmp(p, "DNS:", 4) == 0 && name_covers(p + 4, name))
            return 1;
    return 0;
}

const unsigned char *farm_certs_spki_sha256(const farm_certs_t *c, int key, uint32_t gen) {
    return c->spki[key][gen & 1];
}
