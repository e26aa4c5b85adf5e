/* A pure parser of what a TLS server sends in the clear during a handshake: records of type
 * handshake up to the first ChangeCipherSpec or encrypted record. It gives the negotiated
 * version, cipher suite and key-exchange group (ServerHello, its key_share and
 * supported_versions extensions in TLS 1.3, ServerKeyExchange in TLS <= 1.2), and in TLS <= 1.2
 * the certificate chain. The probe feeds it the bytes mbedTLS reads, to learn the group mbedTLS
 * does not expose; the legacy probe feeds it a server's answer to a raw ClientHello. */
#ifndef MXTLS_HELLO_H
#define MXTLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define MX_HELLO_MAX_CERTS 10
#define MX_HELLO_MSG_MAX (128 * 1024) /* largest handshake message read (a chain fits) */

enum {
    MX_HELLO_AGAIN = 0,     /* more bytes needed */
    MX_HELLO_DONE = 1,      /* ServerHelloDone seen, or the handshake went encrypted */
    MX_HELLO_ALERT = 2,     /* the server sent an alert: alert_level/alert_desc */
    MX_HELLO_E_BAD = -1,    /* not TLS, or malformed */
    MX_HELLO_E_TOO_BIG = -2 /* over MX_HELLO_BUF */
};

typedef struct {
    /* results */
    uint16_t version; /* 0x0300 SSLv3 .. 0x0304 TLS 1.3; 0 until ServerHello */
    uint16_t cipher;
    uint16_t group;       /* named group, 0 when none or unknown */
    unsigned dh_bits;     /* TLS <= 1.2 DHE: prime size in bits */
    unsigned chain_total; /* certificates the server sent (TLS <= 1.2, with keep_certs) */
    unsigned ncerts;      /* of which kept (keep_certs, at most MX_HELLO_MAX_CERTS) */
    unsigned char *certs; /* the Certificate message body; certificates at cert_off */
    uint32_t cert_off[MX_HELLO_MAX_CERTS], cert_len[MX_HELLO_MAX_CERTS];
    uint8_t alert_level, alert_desc;
    /* state */
    int keep_certs;
    int result;
    uint8_t rec[5];
    size_t rec_have, rec_left;
    uint8_t hs[4];
    size_t hs_have, hs_len, hs_got;
    unsigned char *body; /* the current message, when it is one to read; else skipped */
} mx_hello_t;

/* Starts a parser; KEEP_CERTS keeps the certificate chain (legacy probe). */
void mx_hello_init(mx_hello_t *h, int keep_certs);
void mx_hello_free(mx_hello_t *h);

/* Feeds LEN bytes the server sent. Returns MX_HELLO_AGAIN, MX_HELLO_DONE, MX_HELLO_ALERT or an
 * error; once not AGAIN, later calls return the same. */
int mx_hello_feed(mx_hello_t *h, const unsigned char *data, size_t len);

/* Builds the legacy probe's ClientHello record into OUT (CAP >= 2048): TLS 1.2 as the highest
 * version, so a server answers with the highest it has down to SSLv3; every suite of the
 * project's table but TLS 1.3's (RC4, 3DES, export and NULL included); the common groups and
 * signature algorithms; SNI for HOST unless it is an address. Returns the length, or 0. */
size_t mx_legacy_client_hello(const char *host, unsigned char *out, size_t cap);

/* Schema name of a protocol version ("TLSv1.2"), or NULL. */
const char *mx_tls_version_name(uint16_t version);

#endif
