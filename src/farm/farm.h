/* mxtls-farm internals: the population model, its DNS and SMTP servers, and the ground truth.
 *
 * The population is a pure function of (model, seed, domain count, epoch): domain i's name,
 * DNS answers and MX hosts, and every server address's behaviour are computed from hashes of
 * those inputs, so the DNS server, the SMTP server and the truth writer agree without sharing
 * tables, and two runs with the same seed serve the same internet. Only the domain names are
 * indexed (name -> domain), so that DNS queries can be answered. */
#ifndef MXTLS_FARM_H
#define MXTLS_FARM_H

#include <stddef.h>
#include <stdint.h>

/* Model parameters, one per key of data/farm-model.conf. */
#define FARM_PARAMS(X)                                                                             \
    X(implicit, 0.08)                                                                              \
    X(null_mx, 0.01)                                                                               \
    X(nodata, 0.08)                                                                                \
    X(nxdomain, 0.08)                                                                              \
    X(servfail, 0.02)                                                                              \
    X(timeout, 0.01)                                                                               \
    X(big_providers, 0.40)                                                                         \
    X(middle_tier, 0.20)                                                                           \
    X(domains_per_hoster, 30)                                                                      \
    X(multi_mx, 0.35)                                                                              \
    X(mx_cname, 0.03)                                                                              \
    X(mx_no_address, 0.01)                                                                         \
    X(mx_nxdomain, 0.005)                                                                          \
    X(mx_ip_literal, 0.002)                                                                        \
    X(mx_two_addresses, 0.10)                                                                      \
    X(many_mx, 0.001)                                                                              \
    X(many_addresses, 0.001)                                                                       \
    X(greet_421, 0.01)                                                                             \
    X(greet_554, 0.005)                                                                            \
    X(greet_silent, 0.01)                                                                          \
    X(greet_reset, 0.01)                                                                           \
    X(greet_drip, 0.005)                                                                           \
    X(greet_delay, 0.02)                                                                           \
    X(greet_multiline, 0.20)                                                                       \
    X(starttls, 0.88)                                                                              \
    X(starttls_454, 0.01)                                                                          \
    X(starttls_garbage, 0.002)                                                                     \
    X(tls13, 0.70)                                                                                 \
    X(tls12, 0.28)                                                                                 \
    X(cert_wrong_name, 0.20)                                                                       \
    X(cert_self_signed, 0.25)                                                                      \
    X(cert_expired, 0.08)                                                                          \
    X(cert_unknown_ca, 0.07)                                                                       \
    X(cert_not_yet_valid, 0.0)                                                                     \
    X(key_rsa4096, 0.15)                                                                           \
    X(key_p256, 0.13)                                                                              \
    X(key_p384, 0.02)                                                                              \
    X(intermediate, 0.60)                                                                          \
    X(group_p256, 0.30)                                                                            \
    X(group_p384, 0.07)                                                                            \
    X(group_x448, 0.02)                                                                            \
    X(epoch_tls_upgrade, 0.02)                                                                     \
    X(epoch_cert_renew, 0.08)                                                                      \
    X(epoch_starttls_gain, 0.01)                                                                   \
    X(epoch_starttls_loss, 0.003)                                                                  \
    X(epoch_move, 0.01)                                                                            \
    X(sts, 0.02)                                                                                   \
    X(sts_invalid_record, 0.05)                                                                    \
    X(sts_enforce, 0.45)                                                                           \
    X(sts_testing, 0.45)                                                                           \
    X(sts_mismatch, 0.08)                                                                          \
    X(sts_no_host, 0.03)                                                                           \
    X(sts_cert_expired, 0.03)                                                                      \
    X(sts_cert_wrong_name, 0.03)                                                                   \
    X(sts_404, 0.05)                                                                               \
    X(sts_redirect, 0.02)                                                                          \
    X(sts_oversize, 0.01)                                                                          \
    X(sts_malformed, 0.03)                                                                         \
    X(tlsrpt, 0.015)                                                                               \
    X(tlsrpt_invalid, 0.10)                                                                        \
    X(dnssec, 0.04)                                                                                \
    X(tlsa, 0.50)                                                                                  \
    X(tlsa_unsigned, 0.01)                                                                         \
    X(tlsa_pkix, 0.10)                                                                             \
    X(epoch_sts_enforce, 0.05)                                                                     \
    X(epoch_tlsa_stale, 0.30)

typedef struct {
#define X(name, def) double name;
    FARM_PARAMS(X)
#undef X
} farm_model_t;

/* Defaults, then FILE's keys over them (NULL: defaults only). Returns 0, or -1 with a one-line
 * message naming the file and line in ERR. */
int farm_model_load(farm_model_t *m, const char *file, char *err, size_t errlen);

typedef enum {
    FARM_D_MX,
    FARM_D_IMPLICIT,
    FARM_D_NULL_MX,
    FARM_D_NODATA,
    FARM_D_NXDOMAIN,
    FARM_D_SERVFAIL,
    FARM_D_TIMEOUT
} farm_dkind_t;

/* How an MX target name resolves. */
typedef enum {
    FARM_N_ADDR,   /* A records */
    FARM_N_CNAME,  /* CNAME to another farm name that has the A records */
    FARM_N_NODATA, /* exists, no address */
    FARM_N_NXDOMAIN,
    FARM_N_LITERAL /* the MX target is an IPv4 literal */
} farm_nkind_t;

#define FARM_MAX_MX 12
#define FARM_MAX_ADDRS 6

typedef struct {
    char name[256]; /* the MX target as published */
    uint16_t pref;
    uint8_t kind;     /* farm_nkind_t */
    char target[256]; /* FARM_N_CNAME: the canonical name */
    uint8_t naddrs;
    uint32_t addrs[FARM_MAX_ADDRS]; /* host byte order, 127.x.y.z */
} farm_mx_t;

/* A domain's MTA-STS: its record, and what its policy host serves. */
typedef enum { FARM_STS_NONE, FARM_STS_RECORD, FARM_STS_BAD_RECORD } farm_sts_t;
typedef enum {
    FARM_SF_OK,
    FARM_SF_MISMATCH, /* a policy whose patterns name none of the MX hosts */
    FARM_SF_NO_HOST,  /* mta-sts.DOMAIN does not exist */
    FARM_SF_CERT_EXPIRED,
    FARM_SF_CERT_WRONG_NAME,
    FARM_SF_404,
    FARM_SF_REDIRECT,
    FARM_SF_OVERSIZE, /* 100 KiB, over the 64 KiB a sender reads */
    FARM_SF_MALFORMED /* no version line */
} farm_sts_fault_t;
typedef enum { FARM_MODE_NONE, FARM_MODE_TESTING, FARM_MODE_ENFORCE } farm_mode_t;
typedef enum { FARM_RPT_NONE, FARM_RPT_OK, FARM_RPT_BAD } farm_rpt_t;

typedef struct {
    uint32_t index; /* 0-based; rank = index + 1 */
    char name[256];
    uint8_t kind; /* farm_dkind_t */
    uint8_t nmx;
    uint8_t signed_zone;              /* DNSSEC-signed: answers under it carry the AD bit */
    uint8_t sts, sts_fault, sts_mode; /* farm_sts_t, farm_sts_fault_t, farm_mode_t */
    uint32_t sts_since;               /* the epoch the mode took effect (the record's id) */
    uint8_t rpt;                      /* farm_rpt_t */
    uint8_t tlsa[FARM_MAX_MX];        /* per MX: farm_tlsa_t */
    farm_mx_t mx[FARM_MAX_MX];        /* in answer order; FARM_D_IMPLICIT: one, the domain itself */
} farm_domain_t;

/* TLSA records at _25._tcp of an own MX host (the others have none). */
typedef enum {
    FARM_TLSA_NONE,
    FARM_TLSA_EE,  /* 3 1 1: SHA-256 of the key the record was made for */
    FARM_TLSA_PKIX /* 1 1 1: PKIX-EE, unusable for SMTP (RFC 7672 3.1.3) */
} farm_tlsa_t;

/* The slot of a domain's address block its policy host (mta-sts.DOMAIN) has. */
#define FARM_STS_SLOT 7

/* Behaviour of one server address. */
typedef enum {
    FARM_G_220,
    FARM_G_421,
    FARM_G_554,
    FARM_G_SILENT,
    FARM_G_RESET,
    FARM_G_DRIP
} farm_greet_t;
typedef enum { FARM_TLS13, FARM_TLS12, FARM_TLS11, FARM_TLS10 } farm_tlsver_t;
typedef enum {
    FARM_CERT_VALID,
    FARM_CERT_WRONG_NAME,
    FARM_CERT_SELF_SIGNED,
    FARM_CERT_EXPIRED,
    FARM_CERT_UNKNOWN_CA,
    FARM_CERT_NOT_YET_VALID
} farm_cert_t;
typedef enum { FARM_KEY_RSA2048, FARM_KEY_RSA4096, FARM_KEY_P256, FARM_KEY_P384 } farm_key_t;
typedef enum { FARM_GROUP_X25519, FARM_GROUP_P256, FARM_GROUP_P384, FARM_GROUP_X448 } farm_group_t;

/* Extension bits advertised in EHLO. */
#define FARM_CAPS(X)                                                                               \
    X(PIPELINING) X(SIZE) X(ETRN) X(ENHANCEDSTATUSCODES) X(8BITMIME) X(DSN) X(SMTPUTF8) X(CHUNKING)
enum {
#define X(n) FARM_CAP_BIT_##n,
    FARM_CAPS(X)
#undef X
};

typedef struct {
    uint8_t greet, delay6, multiline;
    uint8_t starttls, starttls_454, garbage;
    uint8_t tls, group, cipher; /* cipher: index into the version's preference table */
    uint8_t cert, key, intermediate;
    uint16_t caps;
    uint32_t size;
    uint32_t renewals; /* certificate generation, grows with epochs; each renewal rolls the
                        * key over to the other of two */
    uint32_t tlsa_gen; /* the generation whose key its TLSA record names (stale: behind) */
    char name[256];    /* the name its certificate is issued for (canonical host name) */
    char wildcard[64]; /* a zone its certificate also covers as *.zone, or "" */
} farm_host_t;

typedef struct farm farm_t;

/* Builds the population of N domains. Returns NULL without memory. */
farm_t *farm_new(const farm_model_t *m, uint64_t seed, uint32_t n, uint32_t epoch);
void farm_free(farm_t *f);
uint32_t farm_domain_count(const farm_t *f);

/* Domain I in full. */
void farm_domain(const farm_t *f, uint32_t i, farm_domain_t *out);

/* Behaviour of the server at ADDR (host byte order). Returns 0, or -1 when ADDR is not a farm
 * server (the SMTP server then closes at once). */
int farm_host(const farm_t *f, uint32_t addr, farm_host_t *out);

/* DNS view of a name: finds what NAME (lowercase, no trailing dot) is. */
typedef enum {
    FARM_Q_NONE,     /* not in the farm's zone: REFUSED */
    FARM_Q_NXDOMAIN, /* inside the zone, does not exist */
    FARM_Q_DOMAIN,   /* a list domain: answers from farm_domain() */
    FARM_Q_HOST,     /* a host name with A records / CNAME / no data */
    FARM_Q_STS_TXT,  /* _mta-sts.DOMAIN */
    FARM_Q_RPT_TXT,  /* _smtp._tls.DOMAIN */
    FARM_Q_STS_HOST, /* mta-sts.DOMAIN, the policy host */
    FARM_Q_TLSA      /* _25._tcp.MXHOST of an own MX host with TLSA records (mx says which) */
} farm_qkind_t;

typedef struct {
    uint8_t kind;        /* farm_qkind_t */
    uint8_t signed_zone; /* the name is in a signed zone: the answer carries the AD bit */
    farm_domain_t dom;   /* FARM_Q_DOMAIN: the domain; FARM_Q_HOST: the domain that owns it */
    int mx;              /* FARM_Q_HOST: index in dom.mx, -1 for a CNAME target */
    const farm_mx_t *host;
    int is_cname_target;
} farm_qname_t;

/* The address of domain I's policy host, and the domain a policy host address belongs to (-1:
 * none). */
uint32_t farm_sts_addr(uint32_t i);
long farm_sts_domain(const farm_t *f, uint32_t addr);

/* The policy body domain D's policy host serves (for FARM_SF_OK and _MISMATCH, and what the
 * malformed one lacks), into OUT; its mx patterns one per line. */
void farm_sts_policy(const farm_domain_t *d, char *out, size_t cap);

/* Classifies NAME for the DNS server. */
void farm_lookup(const farm_t *f, const char *name, farm_qname_t *out);

/* Provider (big or middle tier) MX sets are looked up by name too. */

/* IPv4 dotted quad of ADDR into BUF (16 bytes). */
void farm_addr_str(uint32_t addr, char *buf);

/* TLS parameters and names the truth needs. */
const char *farm_group_name(int group);                /* x25519, secp256r1, ... */
const char *farm_group_openssl(int group);             /* OpenSSL's group list name */
const char *farm_cipher_openssl(const farm_host_t *h); /* the host's cipher list, preferred first */
const char *farm_tls_version_name(int v);              /* TLSv1.3 ... */

/* splitmix64 of several values, the source of every random choice. */
uint64_t farm_hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

#endif
