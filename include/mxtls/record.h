/* The scan record of schema mxtls/2 (shared/SCHEMA.md): one row per (domain, MX host, IP).
 *
 * A record is an array of column values as text, indexed by mx_column_t; NULL and "" both
 * mean empty. The strings are owned by whoever filled the record: the writer copies what it
 * needs, and the reader's strings live until its next call. Readers bind columns by header
 * name, so this list may only ever grow at its end. */
#ifndef MXTLS_RECORD_H
#define MXTLS_RECORD_H

#include <stddef.h>

#define MX_SCHEMA_NAME "mxtls/2"

/* id, header name, byte cap of the written field (0: the general cap), list item cap, type
 * (mx_column_type_t; the schema documentation, `mxtls schema`, is generated from this table and
 * the descriptions in src/util/schema.c) */
#define MX_COLUMNS(X)                                                                              \
    X(RANK, "rank", 0, 0, INT)                                                                     \
    X(DOMAIN, "domain", 256, 0, TEXT)                                                              \
    X(DNS_STATUS, "dns_status", 0, 0, ENUM)                                                        \
    X(MX_DNSSEC, "mx_dnssec", 0, 0, ENUM)                                                          \
    X(STS_RECORD, "sts_record", 0, 0, ENUM)                                                        \
    X(STS_ID, "sts_id", 0, 0, TEXT)                                                                \
    X(STS_POLICY, "sts_policy", 0, 0, TOKEN)                                                       \
    X(STS_MODE, "sts_mode", 0, 0, ENUM)                                                            \
    X(STS_MAX_AGE, "sts_max_age", 0, 0, INT)                                                       \
    X(STS_MX, "sts_mx", 0, 20, LIST)                                                               \
    X(TLSRPT_RECORD, "tlsrpt_record", 0, 0, ENUM)                                                  \
    X(TLSRPT_RUA, "tlsrpt_rua", 0, 0, TEXT)                                                        \
    X(MX_PREF, "mx_pref", 0, 0, INT)                                                               \
    X(MX_HOST, "mx_host", 256, 0, TEXT)                                                            \
    X(MX_STATUS, "mx_status", 0, 0, ENUM)                                                          \
    X(TLSA, "tlsa", 0, 0, ENUM)                                                                    \
    X(TLSA_DNSSEC, "tlsa_dnssec", 0, 0, ENUM)                                                      \
    X(STS_MATCH, "sts_match", 0, 0, BOOL)                                                          \
    X(IP, "ip", 0, 0, TEXT)                                                                        \
    X(CONN, "conn", 0, 0, ENUM)                                                                    \
    X(BANNER_CODE, "banner_code", 0, 0, INT)                                                       \
    X(BANNER, "banner", 256, 0, TEXT)                                                              \
    X(EHLO_CODE, "ehlo_code", 0, 0, INT)                                                           \
    X(EHLO_CAPS, "ehlo_caps", 0, 0, LIST)                                                          \
    X(SIZE_LIMIT, "size_limit", 0, 0, INT)                                                         \
    X(STARTTLS, "starttls", 0, 0, BOOL)                                                            \
    X(STARTTLS_CODE, "starttls_code", 0, 0, INT)                                                   \
    X(TLS, "tls", 0, 0, ENUM)                                                                      \
    X(TLS_VERSION, "tls_version", 0, 0, ENUM)                                                      \
    X(TLS_CIPHER, "tls_cipher", 0, 0, TEXT)                                                        \
    X(TLS_GROUP, "tls_group", 0, 0, TEXT)                                                          \
    X(TLS_ERROR, "tls_error", 0, 0, TEXT)                                                          \
    X(CERT_SHA256, "cert_sha256", 0, 0, HEX)                                                       \
    X(CERT_CN, "cert_cn", 256, 0, TEXT)                                                            \
    X(CERT_SAN, "cert_san", 0, 20, LIST)                                                           \
    X(CERT_ISSUER, "cert_issuer", 0, 0, TEXT)                                                      \
    X(CERT_NOT_BEFORE, "cert_not_before", 0, 0, TIME)                                              \
    X(CERT_NOT_AFTER, "cert_not_after", 0, 0, TIME)                                                \
    X(CERT_KEY, "cert_key", 0, 0, TEXT)                                                            \
    X(CERT_SIG, "cert_sig", 0, 0, TEXT)                                                            \
    X(CHAIN_LEN, "chain_len", 0, 0, INT)                                                           \
    X(CERT_VALID, "cert_valid", 0, 0, LIST)                                                        \
    X(CERT_NAME_MATCH, "cert_name_match", 0, 0, BOOL)                                              \
    X(DANE, "dane", 0, 0, ENUM)                                                                    \
    X(EHLO_TLS_CAPS, "ehlo_tls_caps", 0, 0, LIST)                                                  \
    X(T_CONNECT_MS, "t_connect_ms", 0, 0, INT)                                                     \
    X(T_BANNER_MS, "t_banner_ms", 0, 0, INT)                                                       \
    X(T_TLS_MS, "t_tls_ms", 0, 0, INT)                                                             \
    X(T_TOTAL_MS, "t_total_ms", 0, 0, INT)                                                         \
    X(SCANNED_AT, "scanned_at", 0, 0, TIME)                                                        \
    X(STAGE, "stage", 0, 0, ENUM)                                                                  \
    X(ERROR, "error", 0, 0, TOKEN)                                                                 \
    X(INPUT_LINE, "input_line", 0, 0, INT)

typedef enum {
#define X(id, name, cap, items, type) MX_COL_##id,
    MX_COLUMNS(X)
#undef X
        MX_COL__COUNT
} mx_column_t;

/* What a column's text holds: how `mxtls schema` describes it and tools should load it. */
typedef enum {
    MX_TYPE_INT,   /* a decimal integer */
    MX_TYPE_TEXT,  /* sanitised text */
    MX_TYPE_ENUM,  /* one of a documented set of lowercase words */
    MX_TYPE_BOOL,  /* yes or no */
    MX_TYPE_LIST,  /* items separated by '|' */
    MX_TYPE_HEX,   /* lowercase hexadecimal */
    MX_TYPE_TIME,  /* ISO 8601 UTC, 2026-01-31T00:00:00Z */
    MX_TYPE_TOKEN, /* a documented error token */
} mx_column_type_t;

/* Every written field is at most this many bytes unless its column says less. */
#define MX_FIELD_MAX 1024

typedef struct {
    const char *f[MX_COL__COUNT];
} mx_record_t;

/* Header name of a column. */
const char *mx_column_name(mx_column_t col);

/* Column with this header name, or -1 when the name is not in the schema. */
int mx_column_find(const char *name, size_t len);

/* Byte cap of a column's written field. */
size_t mx_column_cap(mx_column_t col);

/* Item cap of a list column ('|'-separated), 0 when unlimited. */
unsigned mx_column_items(mx_column_t col);

/* What a column holds. */
mx_column_type_t mx_column_type(mx_column_t col);

/* Value of a column, "" when empty. */
static inline const char *mx_record_get(const mx_record_t *r, mx_column_t col) {
    return r->f[col] ? r->f[col] : "";
}

/* Values of the conn and tls columns, for counting (manifest, stats). */
#define MX_CONN_VALUES(X)                                                                          \
    X(OK, "ok")                                                                                    \
    X(TIMEOUT, "timeout")                                                                          \
    X(REFUSED, "refused")                                                                          \
    X(UNREACHABLE, "unreachable")                                                                  \
    X(RESET, "reset") X(EXCLUDED, "excluded") X(SKIPPED, "skipped") X(ERROR, "error")
#define MX_TLS_VALUES(X)                                                                           \
    X(OK, "ok")                                                                                    \
    X(LEGACY, "legacy")                                                                            \
    X(NOT_OFFERED, "not_offered")                                                                  \
    X(REJECTED, "rejected") X(FAILED, "failed") X(TIMEOUT, "timeout") X(CLOSED, "closed")

typedef enum {
#define X(id, name) MX_CONN_##id,
    MX_CONN_VALUES(X)
#undef X
        MX_CONN__COUNT
} mx_conn_t;

typedef enum {
#define X(id, name) MX_TLS_##id,
    MX_TLS_VALUES(X)
#undef X
        MX_TLS__COUNT
} mx_tls_t;

/* The error token of a host the scanner could not measure because of its own trouble (CPU,
 * descriptors): never a property of the server, so analysis counts such a row as unknown. */
#define MX_LOCAL_OVERLOAD "local_overload"

/* Text of a conn / tls value. */
const char *mx_conn_name(mx_conn_t v);
const char *mx_tls_name(mx_tls_t v);

#endif
