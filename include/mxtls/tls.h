/* The TLS client (mbedTLS 3.6), as a connection filter with no socket of its own: the caller
 * feeds it the ciphertext that arrived, steps the handshake, reads and writes plaintext, and
 * gets the ciphertext to send through a callback. A configuration is made once per worker; a
 * connection lives from STARTTLS to the end of a probe (or of an HTTPS fetch). A connection can
 * also be the legacy probe: a raw ClientHello for servers that speak only what mbedTLS does not
 * (TLS 1.0/1.1, SSLv3, RC4 ...), whose cleartext answer is parsed instead of negotiated.
 * What a handshake found (protocol, suite, group, the certificate summary with its
 * verification against the CA bundle) comes out as the schema's values. */
#ifndef MXTLS_TLS_H
#define MXTLS_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct mx_tls_config mx_tls_config_t;
typedef struct mx_tls_conn mx_tls_conn_t;

/* Client configuration: TLS 1.2 and 1.3, every suite and group mbedTLS has (X25519 first),
 * verification off during the handshake, CA bundle CA_FILE (NULL: the system bundle) for the
 * verification done afterwards. Returns 0, or -1 with a one-line message in ERR. */
int mx_tls_config_new(mx_tls_config_t **out, const char *ca_file, char *err, size_t errlen);
void mx_tls_config_free(mx_tls_config_t *c);

/* SHA-256 (hex) of the CA bundle, for the manifest. */
const char *mx_tls_ca_sha256(const mx_tls_config_t *c);

/* One allocation: the long texts (up to 256, 1023 and 511 bytes) are kept at their length,
 * since a probe holds its summary for two more round trips. */
typedef struct {
    char sha256[65];
    const char *cn, *san, *issuer; /* into text */
    char not_before[21], not_after[21];
    char key[32];
    char sig[40];
    int chain_len;
    char valid[80];
    int name_match;
    char text[];
} mx_cert_summary_t;

/* Whether certificate name PATTERN (a DNS SAN or CN) covers HOST, RFC 6125: exact, or a
 * left-most "*" label standing for exactly one label. */
int mx_name_matches(const char *pattern, size_t len, const char *host);

/* Sends LEN bytes of ciphertext to the peer; returns 0, or a negative code (the connection
 * then fails). Called from inside the connection's functions. */
typedef int (*mx_tls_send_fn)(void *ud, const void *data, size_t len);

enum {
    MX_TLS_AGAIN = 0,     /* more input is needed */
    MX_TLS_DONE = 1,      /* the handshake is complete (legacy: the server's answer is in) */
    MX_TLS_E_FAIL = -1,   /* the handshake failed: mx_tls_conn_info() says how */
    MX_TLS_E_CLOSED = -2, /* (reads) the peer closed the TLS session */
    MX_TLS_E_READ = -3    /* (reads) a record could not be read */
};

/* A connection to HOST (the SNI name unless it is an address literal) over CFG, which must
 * outlive it; LEGACY makes it the raw-ClientHello probe. Ciphertext goes out through SEND.
 * Returns NULL when memory is out. */
mx_tls_conn_t *mx_tls_conn_new(mx_tls_config_t *cfg, const char *host, int legacy,
                               mx_tls_send_fn send, void *ud);
void mx_tls_conn_free(mx_tls_conn_t *c);

/* TLSA records (N > 0, borrowed until the handshake ends) against which the server's chain is
 * judged as a DANE sender would (RFC 7672), once the handshake is done: info's dane. */
struct mx_tlsa;
void mx_tls_conn_set_tlsa(mx_tls_conn_t *c, const struct mx_tlsa *recs, int n);

/* Room for ciphertext from the peer (grown on demand up to a cap; *LEN may be 0 at the cap),
 * then how many bytes of it arrived. */
void mx_tls_conn_reserve(mx_tls_conn_t *c, char **buf, size_t *len);
void mx_tls_conn_commit(mx_tls_conn_t *c, size_t n);

/* Advances the handshake with the input so far: MX_TLS_AGAIN, MX_TLS_DONE or MX_TLS_E_FAIL. The
 * first call sends the ClientHello. Once DONE or failed, later calls return the same. */
int mx_tls_conn_step(mx_tls_conn_t *c);

/* After DONE: reads plaintext into BUF. Returns the count, MX_TLS_AGAIN when no complete record
 * is in, MX_TLS_E_CLOSED or MX_TLS_E_READ. */
ssize_t mx_tls_conn_read(mx_tls_conn_t *c, char *buf, size_t cap);

/* After DONE: encrypts and sends LEN bytes. Returns 0 or MX_TLS_E_FAIL. */
int mx_tls_conn_write(mx_tls_conn_t *c, const void *data, size_t len);

/* What the handshake found; strings are static or in the connection, "" when unknown. */
typedef struct {
    const char *version;  /* "TLSv1.3" ... */
    const char *cipher;   /* IANA name, "unknown" when not in the table */
    char group[24];       /* key exchange: group name, "dhe<bits>" or "rsa" */
    const char *error;    /* the failure's token ("tls_alert_handshake_failure" ...), or NULL */
    int legacy_wanted;    /* the failure says: ask again with the legacy probe */
    int answered;         /* legacy: the answer held a ServerHello */
    unsigned chain_total; /* certificates the server sent (legacy probe) */
    const char *dane;     /* the chain against the TLSA records given: "match", "mismatch",
                           * "unusable" (mxtls/dane.h); NULL when none were given */
} mx_tls_info_t;

/* The handshake's results so far; for a legacy connection, what the server's answer held
 * (ANSWERED 0 when it held no ServerHello: the peer's close or a timeout ends the wait). */
const mx_tls_info_t *mx_tls_conn_info(mx_tls_conn_t *c);

/* The summary of the server's certificate chain, handed to the caller (free() it); NULL when no
 * certificate was seen or memory is out. Once DONE (legacy: at any time). */
mx_cert_summary_t *mx_tls_conn_take_cert(mx_tls_conn_t *c);

#endif
