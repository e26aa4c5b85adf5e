/* The farm's population (farm.h): a pure function of model, seed, size and epoch.
 *
 * Address plan on 127.0.0.0/8 (host byte order):
 *   127.0.0.0/16   the farm's own services (DNS on 127.0.0.1 by default)
 *   127.1.0.0/16   big providers: 127.1.P.(8 * name + address + 1)
 *   127.2.0.0/16+  middle-tier hosters: two addresses each from 127.2.0.0
 *   127.4.0.0+     one block of 8 addresses per list domain (own MX hosts, implicit MX; the
 *                  last is its MTA-STS policy host)
 * so a server's behaviour and certificate name follow from its address alone. */
#include "farm/farm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/hash.h"
#include "mxtls/table.h"

#define ADDR(a, b, c, d)                                                                           \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define PROVIDER_BASE ADDR(127, 1, 0, 0)
#define HOSTER_BASE ADDR(127, 2, 0, 0)
#define OWN_BASE ADDR(127, 4, 0, 0)
#define OWN_SLOTS 8
#define FARM_MAX_DOMAINS ((ADDR(127, 255, 0, 0) - OWN_BASE) / OWN_SLOTS)

uint64_t farm_hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    uint64_t v[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++) {
        h ^= v[i] + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
        h = mx_hash_mix(h);
    }
    return h;
}

/* Uniform in [0, 1) from a hash. */
static double unit(uint64_t h) {
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

enum {
    P_KIND = 1,
    P_TIER,
    P_PICK,
    P_MULTI,
    P_ODD,
    P_ADDRS,
    P_MOVE,
    P_BEHAV,
    P_EPOCH,
    P_TLD,
    P_POLICY
};

/* ---- model file ---- */

int farm_model_load(farm_model_t *m, const char *file, char *err, size_t errlen) {
#define X(name, def) m->name = def;
    FARM_PARAMS(X)
#undef X
    if (!file)
        return 0;
    FILE *f = fopen(file, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        char key[64];
        double v;
        char extra;
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        if (sscanf(p, "%63[a-z0-9_] = %lf %c", key, &v, &extra) != 2 || v < 0) {
            snprintf(err, errlen, "%s:%d: expected 'key = non-negative number'", file, lineno);
            fclose(f);
            return -1;
        }
        int known = 0;
#define X(name, def)                                                                               \
    if (strcmp(key, #name) == 0)                                                                   \
        m->name = v, known = 1;
        FARM_PARAMS(X)
#undef X
        if (!known) {
            snprintf(err, errlen, "%s:%d: unknown key '%s'", file, lineno, key);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* ---- names ---- */

static const char consonants[] = "bcdfghjklmnprstvz";
static const char vowels[] = "aeiou";

/* A pronounceable word that encodes N one-to-one (consonant-vowel syllables, base 85). */
static size_t word(uint64_t n, char *out) {
    char tmp[32];
    size_t k = 0;
    n += 85 * 85 * 85; /* at least four syllables */
    while (n) {
        unsigned s = (unsigned)(n % 85);
        tmp[k++] = vowels[s % 5];
        tmp[k++] = consonants[s / 5];
        n /= 85;
    }
    for (size_t i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    out[k] = 0;
    return k;
}

static const struct {
    const char *tld;
    double share;
} tlds[] = {{"com", 0.46}, {"net", 0.06}, {"org", 0.06}, {"de", 0.08},     {"co.uk", 0.05},
            {"fr", 0.04},  {"nl", 0.04},  {"io", 0.04},  {"com.br", 0.04}, {"jp", 0.04},
            {"it", 0.03},  {"pl", 0.03},  {"ru", 0.03}};

/* A bijection on [0, 2^24), so that consecutive ranks get unrelated-looking names. */
static uint32_t scramble(uint32_t x) {
    const uint32_t mask = (1u << 24) - 1;
    x = (x * 0x9E3779B1u + 0x7F4A7C15u) & mask;
    x ^= x >> 11;
    x = (x * 0x85EBCA6Bu) & mask;
    x ^= x >> 13;
    return x;
}

static void domain_name(uint64_t seed, uint32_t i, char *out) {
    size_t n = word(scramble(i), out);
    double u = unit(farm_hash(seed, i, P_TLD, 0)), acc = 0;
    const char *tld = tlds[0].tld;
    for (size_t k = 0; k < sizeof(tlds) / sizeof(tlds[0]); k++) {
        acc += tlds[k].share;
        if (u < acc) {
            tld = tlds[k].tld;
            break;
        }
    }
    snprintf(out + n, 256 - n, ".%s", tld);
}

/* Big providers: name, share of big-provider domains, MX names with preferences, addresses. */
static const struct {
    const char *zone;
    double share;
    int nnames;
    uint16_t prefs[5];
    int naddrs;
} providers[] = {
    {"megamail.com", 0.35, 1, {10}, 4},      {"postwolke.de", 0.30, 5, {1, 5, 5, 10, 10}, 2},
    {"mailcloud.net", 0.15, 2, {10, 10}, 2}, {"inboxer.com", 0.10, 1, {0}, 3},
    {"sendgate.io", 0.10, 2, {10, 20}, 1},
};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

static void provider_mx_name(int p, int k, char *out) {
    snprintf(out, 256, "mx%d.%s", k + 1, providers[p].zone);
}

static void hoster_name(uint32_t j, char *out) {
    snprintf(out, 256, "mx.h%u-hosting.net", j);
}

/* ---- the population ---- */

struct farm {
    farm_model_t m;
    uint64_t seed;
    uint32_t n, epoch, hosters;
    double p_second; /* second MX for own and middle-tier domains */
    mx_table_t idx;  /* uint32_t domain indexes, by name (names are made again to compare) */
};

static void domain_kind(const farm_t *f, uint32_t i, farm_domain_t *d) {
    const farm_model_t *m = &f->m;
    double u = unit(farm_hash(f->seed, i, P_KIND, 0)), acc = 0;
    const double shares[] = {m->implicit, m->null_mx,  m->nodata,
                             m->nxdomain, m->servfail, m->timeout};
    const uint8_t kinds[] = {FARM_D_IMPLICIT, FARM_D_NULL_MX,  FARM_D_NODATA,
                             FARM_D_NXDOMAIN, FARM_D_SERVFAIL, FARM_D_TIMEOUT};
    d->kind = FARM_D_MX;
    for (size_t k = 0; k < sizeof(shares) / sizeof(shares[0]); k++) {
        acc += shares[k];
        if (u < acc) {
            d->kind = kinds[k];
            break;
        }
    }
}

static uint32_t own_addr(uint32_t i, unsigned slot) {
    return OWN_BASE + i * OWN_SLOTS + slot;
}

static void own_mx(const farm_t *f, uint32_t i, farm_domain_t *d, const char *label, uint16_t pref,
                   unsigned slot, int odd_ok) {
    const farm_model_t *m = &f->m;
    farm_mx_t *mx = &d->mx[d->nmx++];
    memset(mx, 0, sizeof(*mx));
    snprintf(mx->name, sizeof(mx->name), "%.60s.%.190s", label, d->name);
    mx->pref = pref;
    mx->kind = FARM_N_ADDR;
    mx->naddrs = 1;
    mx->addrs[0] = own_addr(i, slot);
    double u = unit(farm_hash(f->seed, i, P_ODD, slot));
    if (odd_ok) {
        double acc = m->mx_cname;
        if (u < acc) {
            mx->kind = FARM_N_CNAME;
            snprintf(mx->target, sizeof(mx->target), "host-%.50s.%.190s", label, d->name);
        } else if (u < (acc += m->mx_no_address)) {
            mx->kind = FARM_N_NODATA;
            mx->naddrs = 0;
        } else if (u < (acc += m->mx_nxdomain)) {
            mx->kind = FARM_N_NXDOMAIN;
            mx->naddrs = 0;
        } else if (u < (acc += m->mx_ip_literal)) {
            mx->kind = FARM_N_LITERAL;
            farm_addr_str(mx->addrs[0], mx->name);
        }
    }
    /* A second address only for the ordinary MX hosts, whose next slot is theirs to use (an
     * address literal is one address). */
    if (odd_ok && mx->naddrs && mx->kind != FARM_N_LITERAL &&
        unit(farm_hash(f->seed, i, P_ADDRS, slot)) < m->mx_two_addresses)
        mx->addrs[mx->naddrs++] = own_addr(i, slot + 1);
}

/* Domain I's MX records (D's name and kind are set). */
static void mx_records(const farm_t *f, uint32_t i, farm_domain_t *d) {
    const farm_model_t *m = &f->m;
    if (d->kind == FARM_D_IMPLICIT) {
        farm_mx_t *mx = &d->mx[d->nmx++];
        memset(mx, 0, sizeof(*mx));
        snprintf(mx->name, sizeof(mx->name), "%s", d->name);
        mx->kind = FARM_N_ADDR;
        mx->naddrs = 1;
        mx->addrs[0] = own_addr(i, 0);
        return;
    }
    if (d->kind != FARM_D_MX)
        return;

    /* A domain may move to another provider at each epoch: the draw that places it is keyed by
     * the last epoch in which it moved. */
    uint32_t moved = 0;
    for (uint32_t e = 1; e <= f->epoch; e++)
        if (unit(farm_hash(f->seed, i, P_MOVE, e)) < m->epoch_move)
            moved = e;
    double tier = unit(farm_hash(f->seed, i, P_TIER, moved));
    double pick = unit(farm_hash(f->seed, i, P_PICK, moved));
    double special = unit(farm_hash(f->seed, i, P_ODD, 100));

    if (tier < m->big_providers) {
        double acc = 0;
        size_t p = 0;
        for (; p < NPROVIDERS - 1; p++) {
            acc += providers[p].share;
            if (pick < acc)
                break;
        }
        for (int k = 0; k < providers[p].nnames; k++) {
            farm_mx_t *mx = &d->mx[d->nmx++];
            memset(mx, 0, sizeof(*mx));
            provider_mx_name((int)p, k, mx->name);
            mx->pref = providers[p].prefs[k];
            mx->kind = FARM_N_ADDR;
            mx->naddrs = (uint8_t)providers[p].naddrs;
            for (int a = 0; a < providers[p].naddrs; a++)
                mx->addrs[a] = PROVIDER_BASE + (uint32_t)(p << 8) + (uint32_t)(8 * k + a + 1);
        }
        return;
    }
    if (special < m->many_mx) {
        /* More MX records than the scanner's default cap, with long names so that the answer
         * does not fit in 512 bytes and must be fetched over TCP. */
        for (int k = 0; k < FARM_MAX_MX; k++) {
            char label[64];
            snprintf(label, sizeof(label), "relay-%02d.mail-exchangers-of-this-test-domain", k);
            own_mx(f, i, d, label, (uint16_t)(10 * (k + 1)), (unsigned)k % OWN_SLOTS, 0);
        }
        return;
    }
    if (tier < m->big_providers + m->middle_tier) {
        farm_mx_t *mx = &d->mx[d->nmx++];
        uint32_t j = (uint32_t)(pick * f->hosters);
        memset(mx, 0, sizeof(*mx));
        hoster_name(j, mx->name);
        mx->pref = 10;
        mx->kind = FARM_N_ADDR;
        mx->naddrs = 1 + (j % 3 == 0);
        for (int a = 0; a < mx->naddrs; a++)
            mx->addrs[a] = HOSTER_BASE + 2 * j + (uint32_t)a;
    } else {
        own_mx(f, i, d, "mx", 10, 0, 1);
        if (special < m->many_mx + m->many_addresses && d->mx[0].kind == FARM_N_ADDR) {
            d->mx[0].naddrs = FARM_MAX_ADDRS;
            for (int a = 0; a < FARM_MAX_ADDRS; a++)
                d->mx[0].addrs[a] = own_addr(i, (unsigned)a);
            return;
        }
    }
    if (unit(farm_hash(f->seed, i, P_MULTI, moved)) < f->p_second)
        own_mx(f, i, d, "mx2", 20, 2, 1);
}

static int pick(double u, const double *shares, int n);

/* Whether MX host M of D is the domain's own (a name below it), not a provider's. */
static int own_host(const farm_domain_t *d, const farm_mx_t *m) {
    size_t n = strlen(m->name), dn = strlen(d->name);
    return n > dn && m->name[n - dn - 1] == '.' && !strcmp(m->name + n - dn, d->name);
}

/* Domain I's DNSSEC, MTA-STS, TLS-RPT and TLSA, each a known share (data/farm-model.conf). */
static void policies(const farm_t *f, uint32_t i, farm_domain_t *d) {
    const farm_model_t *m = &f->m;
#define U(k) unit(farm_hash(f->seed, i, P_POLICY, k))
    if (d->kind != FARM_D_MX && d->kind != FARM_D_IMPLICIT)
        return;
    d->signed_zone = U(1) < m->dnssec;
    if (d->kind != FARM_D_MX)
        return;
    for (int k = 0; k < d->nmx; k++) {
        double u = U(20 + (unsigned)k);
        if (d->mx[k].kind != FARM_N_ADDR || !own_host(d, &d->mx[k]) ||
            u >= (d->signed_zone ? m->tlsa : m->tlsa_unsigned))
            continue;
        d->tlsa[k] = U(40 + (unsigned)k) < m->tlsa_pkix ? FARM_TLSA_PKIX : FARM_TLSA_EE;
    }
    if (U(2) < m->tlsrpt)
        d->rpt = U(3) < m->tlsrpt_invalid ? FARM_RPT_BAD : FARM_RPT_OK;
    /* A domain with eight or more MX hosts uses its whole address block: no policy host. */
    if (d->nmx >= FARM_STS_SLOT || U(4) >= m->sts)
        return;
    d->sts = U(5) < m->sts_invalid_record ? FARM_STS_BAD_RECORD : FARM_STS_RECORD;
    double mode = U(6);
    d->sts_mode = mode < m->sts_enforce                    ? FARM_MODE_ENFORCE
                  : mode < m->sts_enforce + m->sts_testing ? FARM_MODE_TESTING
                                                           : FARM_MODE_NONE;
    const double faults[] = {m->sts_mismatch,        m->sts_no_host,  m->sts_cert_expired,
                             m->sts_cert_wrong_name, m->sts_404,      m->sts_redirect,
                             m->sts_oversize,        m->sts_malformed};
    d->sts_fault = (uint8_t)pick(U(7), faults, 8);
    /* Epochs: a testing policy goes to enforce, a known chance each. */
    for (uint32_t e = 1; e <= f->epoch; e++)
        if (d->sts_mode == FARM_MODE_TESTING && U(100 + e) < m->epoch_sts_enforce) {
            d->sts_mode = FARM_MODE_ENFORCE;
            d->sts_since = e;
        }
#undef U
}

void farm_domain(const farm_t *f, uint32_t i, farm_domain_t *d) {
    memset(d, 0, offsetof(farm_domain_t, mx));
    d->index = i;
    domain_name(f->seed, i, d->name);
    domain_kind(f, i, d);
    mx_records(f, i, d);
    policies(f, i, d);
}

uint32_t farm_sts_addr(uint32_t i) {
    return own_addr(i, FARM_STS_SLOT);
}

long farm_sts_domain(const farm_t *f, uint32_t addr) {
    if (addr < OWN_BASE || addr >= OWN_BASE + f->n * OWN_SLOTS ||
        (addr - OWN_BASE) % OWN_SLOTS != FARM_STS_SLOT)
        return -1;
    return (long)((addr - OWN_BASE) / OWN_SLOTS);
}

void farm_sts_policy(const farm_domain_t *d, char *out, size_t cap) {
    static const char *const modes[] = {"none", "testing", "enforce"};
    size_t o = (size_t)snprintf(out, cap, "version: STSv1\r\nmode: %s\r\n", modes[d->sts_mode]);
    char seen[FARM_MAX_MX][256];
    int nseen = 0;
    for (int k = 0; k < d->nmx && o < cap; k++) {
        char pat[256];
        const char *name = d->mx[k].name;
        if (d->sts_fault == FARM_SF_MISMATCH)
            snprintf(pat, sizeof(pat), "*.elsewhere.example");
        else if (!own_host(d, &d->mx[k]) && strchr(name, '.'))
            snprintf(pat, sizeof(pat), "*.%s", strchr(name, '.') + 1); /* a provider's zone */
        else
            snprintf(pat, sizeof(pat), "%s", name);
        int dup = 0;
        for (int s = 0; s < nseen; s++)
            dup |= !strcmp(seen[s], pat);
        if (dup)
            continue;
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", pat);
        o += (size_t)snprintf(out + o, cap - o, "mx: %s\r\n", pat);
    }
    if (o < cap)
        snprintf(out + o, cap - o, "max_age: 604800\r\n");
}

/* ---- hosts ---- */

static int pick(double u, const double *shares, int n) {
    double acc = 0;
    for (int k = 0; k < n; k++) {
        acc += shares[k];
        if (u < acc)
            return k + 1;
    }
    return 0;
}

static void draw_behaviour(const farm_t *f, uint32_t addr, farm_host_t *h) {
    const farm_model_t *m = &f->m;
#define U(k) unit(farm_hash(f->seed, addr, P_BEHAV, k))
    const double greet[] = {m->greet_421, m->greet_554, m->greet_silent, m->greet_reset,
                            m->greet_drip};
    h->greet = (uint8_t)pick(U(1), greet, 5);
    h->delay6 = U(2) < m->greet_delay;
    h->multiline = U(3) < m->greet_multiline;
    h->starttls = U(4) < m->starttls;
    h->starttls_454 = U(5) < m->starttls_454;
    h->garbage = !h->starttls_454 && U(6) < m->starttls_garbage;
    double v = U(7);
    h->tls = v < m->tls13              ? FARM_TLS13
             : v < m->tls13 + m->tls12 ? FARM_TLS12
             : U(8) < 0.5              ? FARM_TLS11
                                       : FARM_TLS10;
    const double groups[] = {m->group_p256, m->group_p384, m->group_x448};
    h->group = (uint8_t)pick(U(9), groups, 3);
    const double certs[] = {m->cert_wrong_name, m->cert_self_signed, m->cert_expired,
                            m->cert_unknown_ca, m->cert_not_yet_valid};
    h->cert = (uint8_t)pick(U(10), certs, 5);
    const double keys[] = {m->key_rsa4096, m->key_p256, m->key_p384};
    h->key = (uint8_t)pick(U(11), keys, 3);
    h->intermediate = h->cert != FARM_CERT_SELF_SIGNED && U(12) < m->intermediate;
    h->cipher = (uint8_t)(farm_hash(f->seed, addr, P_BEHAV, 13) % 3);
    h->caps = (uint16_t)(farm_hash(f->seed, addr, P_BEHAV, 14) | (1u << FARM_CAP_BIT_PIPELINING));
    static const uint32_t sizes[] = {10240000, 52428800, 20971520, 35882577, 157286400};
    h->size = sizes[farm_hash(f->seed, addr, P_BEHAV, 15) % 5];
    if (!(h->caps & (1u << FARM_CAP_BIT_SIZE)))
        h->size = 0;
#undef U
    /* Epochs: upgrades, renewals, STARTTLS gained or lost, each a known per-host chance. */
    for (uint32_t e = 1; e <= f->epoch; e++) {
        double u1 = unit(farm_hash(f->seed, addr, P_EPOCH, 4 * e));
        double u2 = unit(farm_hash(f->seed, addr, P_EPOCH, 4 * e + 1));
        double u3 = unit(farm_hash(f->seed, addr, P_EPOCH, 4 * e + 2));
        if (u1 < m->epoch_tls_upgrade && h->tls != FARM_TLS13)
            h->tls = h->tls == FARM_TLS12 ? FARM_TLS13 : FARM_TLS12;
        if (u2 < m->epoch_cert_renew) {
            h->renewals++;
            if (h->cert == FARM_CERT_EXPIRED)
                h->cert = FARM_CERT_VALID;
            /* The new key goes into the TLSA record too, unless it is forgotten. */
            if (unit(farm_hash(f->seed, addr, P_EPOCH, 4 * e + 3)) >= m->epoch_tlsa_stale)
                h->tlsa_gen = h->renewals;
        }
        if (!h->starttls && u3 < m->epoch_starttls_gain)
            h->starttls = 1;
        else if (h->starttls && u3 > 1 - m->epoch_starttls_loss)
            h->starttls = 0;
    }
}

/* Big providers run well: TLS 1.3 with X25519, valid certificates, nothing odd. */
static void provider_behaviour(uint64_t seed, int p, farm_host_t *h) {
    memset(h, 0, sizeof(*h));
    h->starttls = 1;
    h->tls = FARM_TLS13;
    h->group = FARM_GROUP_X25519;
    h->key = p % 2 ? FARM_KEY_P256 : FARM_KEY_RSA2048;
    h->intermediate = 1;
    h->cipher = (uint8_t)(p % 3);
    h->caps = (1u << FARM_CAP_BIT_PIPELINING) | (1u << FARM_CAP_BIT_SIZE) |
              (1u << FARM_CAP_BIT_8BITMIME) | (1u << FARM_CAP_BIT_ENHANCEDSTATUSCODES) |
              (1u << FARM_CAP_BIT_CHUNKING) | (1u << FARM_CAP_BIT_SMTPUTF8);
    h->size = 157286400;
    h->multiline = (uint8_t)(farm_hash(seed, (uint64_t)p, P_BEHAV, 0) & 1);
    snprintf(h->wildcard, sizeof(h->wildcard), "%s", providers[p].zone);
}

int farm_host(const farm_t *f, uint32_t addr, farm_host_t *h) {
    memset(h, 0, sizeof(*h));
    if (addr >= PROVIDER_BASE && addr < PROVIDER_BASE + 0x10000) {
        unsigned p = (addr >> 8) & 255, low = addr & 255;
        if (p >= NPROVIDERS || low == 0 || (int)((low - 1) / 8) >= providers[p].nnames ||
            (int)((low - 1) % 8) >= providers[p].naddrs)
            return -1;
        provider_behaviour(f->seed, (int)p, h);
        provider_mx_name((int)p, (int)((low - 1) / 8), h->name);
        return 0;
    }
    if (addr >= HOSTER_BASE && addr < HOSTER_BASE + 2 * f->hosters) {
        uint32_t j = (addr - HOSTER_BASE) / 2;
        if ((addr - HOSTER_BASE) % 2 && j % 3 != 0)
            return -1;
        draw_behaviour(f, HOSTER_BASE + 2 * j, h); /* a hoster's addresses run alike */
        hoster_name(j, h->name);
        return 0;
    }
    if (addr >= OWN_BASE && addr < OWN_BASE + f->n * OWN_SLOTS) {
        farm_domain_t d;
        farm_domain(f, (addr - OWN_BASE) / OWN_SLOTS, &d);
        for (int k = 0; k < d.nmx; k++) {
            for (int a = 0; a < d.mx[k].naddrs; a++) {
                if (d.mx[k].addrs[a] != addr)
                    continue;
                draw_behaviour(f, d.mx[k].addrs[0], h); /* one host's addresses run alike */
                const char *name = d.mx[k].kind == FARM_N_CNAME     ? d.mx[k].target
                                   : d.mx[k].kind == FARM_N_LITERAL ? d.name
                                                                    : d.mx[k].name;
                snprintf(h->name, sizeof(h->name), "%s", name);
                return 0;
            }
        }
    }
    return -1;
}

/* ---- the name index ---- */

typedef struct {
    const farm_t *f;
    const char *name;
} name_key_t;

static int same_name(const void *item, const void *key) {
    const name_key_t *k = key;
    char buf[256];
    domain_name(k->f->seed, *(const uint32_t *)item, buf);
    return strcmp(buf, k->name) == 0;
}

/* Domain index of NAME, or -1. */
static long index_find(const farm_t *f, const char *name) {
    name_key_t k = {f, name};
    const uint32_t *i = mx_table_find(&f->idx, mx_hash(name), same_name, &k);
    return i ? (long)*i : -1;
}

farm_t *farm_new(const farm_model_t *m, uint64_t seed, uint32_t n, uint32_t epoch) {
    farm_t *f = calloc(1, sizeof(*f));
    char name[256];
    if (!f || n > FARM_MAX_DOMAINS) {
        free(f);
        return NULL;
    }
    f->m = *m;
    f->seed = seed;
    f->n = n;
    f->epoch = epoch;
    double mx_share =
        1 - (m->implicit + m->null_mx + m->nodata + m->nxdomain + m->servfail + m->timeout);
    double hosted = (double)n * mx_share * m->middle_tier;
    f->hosters = (uint32_t)(hosted / (m->domains_per_hoster > 1 ? m->domains_per_hoster : 1));
    if (f->hosters < 1)
        f->hosters = 1;
    if (f->hosters > 0x8000)
        f->hosters = 0x8000;
    /* Big providers give several MX to a known share of their domains; the others get a second
     * MX with the probability that brings all MX domains to multi_mx. */
    double big_multi = 0;
    for (size_t p = 0; p < NPROVIDERS; p++)
        if (providers[p].nnames > 1)
            big_multi += providers[p].share;
    double rest = 1 - m->big_providers;
    f->p_second = rest > 0 ? (m->multi_mx - m->big_providers * big_multi) / rest : 0;
    if (f->p_second < 0)
        f->p_second = 0;
    mx_table_init(&f->idx, sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++) {
        domain_name(seed, i, name);
        uint32_t *slot = mx_table_add(&f->idx, mx_hash(name));
        if (!slot) {
            farm_free(f);
            return NULL;
        }
        *slot = i;
    }
    return f;
}

void farm_free(farm_t *f) {
    if (!f)
        return;
    mx_table_close(&f->idx);
    free(f);
}

uint32_t farm_domain_count(const farm_t *f) {
    return f->n;
}

/* The policy names below domain Q->dom: NAME's first N bytes are what precedes the domain.
 * Returns 1 when NAME is one (Q->kind says which). */
static int policy_name(farm_qname_t *q, const char *name, size_t n) {
    const farm_domain_t *d = &q->dom;
    if (n == 8 && !memcmp(name, "_mta-sts", 8) && d->sts) {
        q->kind = FARM_Q_STS_TXT;
        return 1;
    }
    if (n == 10 && !memcmp(name, "_smtp._tls", 10) && d->rpt) {
        q->kind = FARM_Q_RPT_TXT;
        return 1;
    }
    if (n == 7 && !memcmp(name, "mta-sts", 7) && d->sts && d->sts_fault != FARM_SF_NO_HOST) {
        q->kind = FARM_Q_STS_HOST;
        return 1;
    }
    if (n > 9 && !memcmp(name, "_25._tcp.", 9))
        for (int k = 0; k < d->nmx; k++)
            if (d->tlsa[k] && !strcmp(d->mx[k].name, name + 9)) {
                q->kind = FARM_Q_TLSA;
                q->mx = k;
                q->host = &d->mx[k];
                return 1;
            }
    return 0;
}

void farm_lookup(const farm_t *f, const char *name, farm_qname_t *q) {
    memset(q, 0, offsetof(farm_qname_t, dom));
    q->kind = FARM_Q_NONE;
    q->mx = -1;
    q->host = NULL;
    q->is_cname_target = 0;
    /* Providers and hosters: their MX names exist, anything else in their zones does not. */
    for (size_t p = 0; p < NPROVIDERS; p++) {
        size_t zl = strlen(providers[p].zone), nl = strlen(name);
        if (nl < zl || strcmp(name + nl - zl, providers[p].zone) != 0 ||
            (nl > zl && name[nl - zl - 1] != '.'))
            continue;
        q->kind = FARM_Q_NXDOMAIN;
        for (int k = 0; k < providers[p].nnames; k++) {
            farm_mx_t *mx = &q->dom.mx[0];
            memset(mx, 0, sizeof(*mx));
            provider_mx_name((int)p, k, mx->name);
            if (strcmp(mx->name, name) != 0)
                continue;
            mx->kind = FARM_N_ADDR;
            mx->naddrs = (uint8_t)providers[p].naddrs;
            for (int a = 0; a < providers[p].naddrs; a++)
                mx->addrs[a] = PROVIDER_BASE + (uint32_t)(p << 8) + (uint32_t)(8 * k + a + 1);
            q->kind = FARM_Q_HOST;
            q->mx = 0;
            q->host = mx;
            break;
        }
        return;
    }
    unsigned j;
    char tail;
    if (strcmp(name, "hosting.net") == 0 ||
        (strlen(name) > 12 && strcmp(name + strlen(name) - 12, "-hosting.net") == 0)) {
        q->kind = FARM_Q_NXDOMAIN;
        if (sscanf(name, "mx.h%u-hosting.ne%c", &j, &tail) == 2 && tail == 't' && j < f->hosters) {
            char canon[256];
            hoster_name(j, canon);
            if (strcmp(canon, name) != 0)
                return;
            farm_mx_t *mx = &q->dom.mx[0];
            memset(mx, 0, sizeof(*mx));
            snprintf(mx->name, sizeof(mx->name), "%s", canon);
            mx->kind = FARM_N_ADDR;
            mx->naddrs = 1 + (j % 3 == 0);
            for (int a = 0; a < mx->naddrs; a++)
                mx->addrs[a] = HOSTER_BASE + 2 * j + (uint32_t)a;
            q->kind = FARM_Q_HOST;
            q->mx = 0;
            q->host = mx;
        }
        return;
    }
    /* A list domain, or a name below one. */
    for (const char *s = name; s; s = strchr(s, '.') ? strchr(s, '.') + 1 : NULL) {
        long i = index_find(f, s);
        if (i < 0)
            continue;
        farm_domain(f, (uint32_t)i, &q->dom);
        q->signed_zone = q->dom.signed_zone;
        if (s == name) {
            q->kind = FARM_Q_DOMAIN;
            return;
        }
        q->kind = FARM_Q_NXDOMAIN;
        if (q->dom.kind != FARM_D_MX)
            return;
        if (policy_name(q, name, (size_t)(s - name) - 1))
            return;
        for (int k = 0; k < q->dom.nmx; k++) {
            const farm_mx_t *mx = &q->dom.mx[k];
            if (mx->kind == FARM_N_NXDOMAIN || mx->kind == FARM_N_LITERAL)
                continue;
            if (strcmp(mx->name, name) == 0 ||
                (mx->kind == FARM_N_CNAME && strcmp(mx->target, name) == 0)) {
                q->kind = FARM_Q_HOST;
                q->mx = k;
                q->host = mx;
                q->is_cname_target = strcmp(mx->name, name) != 0;
                return;
            }
        }
        return;
    }
}

void farm_addr_str(uint32_t a, char *buf) {
    snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static const char *const group_names[] = {"x25519", "secp256r1", "secp384r1", "x448"};
static const char *const group_openssl[] = {"X25519", "P-256", "P-384", "X448"};

const char *farm_group_name(int g) {
    return group_names[g];
}

const char *farm_group_openssl(int g) {
    return group_openssl[g];
}

const char *farm_tls_version_name(int v) {
    static const char *const names[] = {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0"};
    return names[v];
}

/* Each host's cipher list in preference order; the first entry is what any client that
 * offers the common suites gets, so the truth does not depend on the client. */
const char *farm_cipher_openssl(const farm_host_t *h) {
    static const char *const tls13[] = {
        "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"};
    static const char *const tls12_rsa[] = {
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256"};
    static const char *const tls12_ec[] = {
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"};
    static const char *const legacy_rsa[] = {"ECDHE-RSA-AES128-SHA:AES128-SHA",
                                             "ECDHE-RSA-AES256-SHA:AES256-SHA",
                                             "AES128-SHA:ECDHE-RSA-AES128-SHA"};
    static const char *const legacy_ec[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                                            "ECDHE-ECDSA-AES128-SHA"};
    int ec = h->key == FARM_KEY_P256 || h->key == FARM_KEY_P384;
    switch (h->tls) {
    case FARM_TLS13:
        return tls13[h->cipher % 3];
    case FARM_TLS12:
        return ec ? tls12_ec[h->cipher % 3] : tls12_rsa[h->cipher % 3];
    default:
        return ec ? legacy_ec[h->cipher % 3] : legacy_rsa[h->cipher % 3];
    }
}
