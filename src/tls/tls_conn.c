/* The TLS connection filter (mxtls/tls.h).
 *
 * mbedTLS reads through a BIO callback that takes from the connection's own ciphertext buffer,
 * and writes through one that hands records to the caller's send function: the connection
 * never sees a socket, so SMTP, HTTPS and the tests drive it the same way. While the handshake
 * runs, the bytes are also given to the hello parser (mxtls/hello.h), which learns the key
 * exchange group mbedTLS does not expose and the alert a failure came with. The buffer starts
 * at 1 KiB and grows only while a flight needs it: a survey holds tens of thousands of these
 * idle between short replies. */
#include "mxtls/tls.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/suites.h"
#include "tls/tls_int.h"

#define IN_INITIAL 1024
/* A flight of the largest handshake message read (MX_HELLO_MSG_MAX: a Certificate of a leaf
 * with thousands of names) and a record's slack: the gate steps the handshake every loop turn,
 * and a whole flight may arrive in between. Only such a flight grows the buffer that far. */
#define IN_MAX (MX_HELLO_MSG_MAX + 20 * 1024)
#define IN_SLACK 512 /* room asked of the buffer before a read */

struct mx_tls_conn {
    mx_tls_config_t *cfg;
    mbedtls_ssl_context ssl;
    int setup_rc;   /* an error of mbedtls_ssl_setup/set_hostname, reported by the first step */
    int legacy;     /* the raw-ClientHello probe */
    int state;      /* MX_TLS_AGAIN, DONE or E_FAIL */
    int hello_sent; /* legacy: the raw ClientHello is out */
    mx_tls_send_fn send;
    void *ud;
    char *in;
    size_t in_len, in_cap;
    size_t in_off; /* bytes of `in` mbedTLS has already taken */
    mx_hello_t hello;
    mx_tls_info_t info;
    mx_cert_summary_t *cert;
    const mx_tlsa_t *tlsa; /* records to judge the chain against (borrowed) */
    int ntlsa;
    char host[256];
};

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
    mx_tls_conn_t *c = ctx;
    if (c->send(c->ud, buf, len) < 0)
        return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
    mx_tls_conn_t *c = ctx;
    size_t have = c->in_len - c->in_off;
    if (!have)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (len > have)
        len = have;
    /* mbedTLS reads a record header, then its body: take from an offset instead of moving the
     * rest of the buffer down on every call. */
    memcpy(buf, c->in + c->in_off, len);
    c->in_off += len;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    return (int)len;
}

/* An address literal is not a host name (RFC 6066): no SNI for it. */
static int is_address(const char *host) {
    return strspn(host, "0123456789.:") == strlen(host);
}

mx_tls_conn_t *mx_tls_conn_new(mx_tls_config_t *cfg, const char *host, int legacy,
                               mx_tls_send_fn send, void *ud) {
    mx_tls_conn_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->in = malloc(IN_INITIAL))) {
        free(c);
        return NULL;
    }
    c->in_cap = IN_INITIAL;
    c->cfg = cfg;
    c->legacy = legacy;
    c->send = send;
    c->ud = ud;
    c->info.version = "";
    c->info.cipher = "";
    snprintf(c->host, sizeof(c->host), "%s", host);
    mx_hello_init(&c->hello, legacy);
    mbedtls_ssl_init(&c->ssl);
    if (legacy)
        return c; /* no TLS context: the answer is only parsed */
    c->setup_rc = mbedtls_ssl_setup(&c->ssl, &cfg->conf);
    if (!c->setup_rc && !is_address(host))
        c->setup_rc = mbedtls_ssl_set_hostname(&c->ssl, host);
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    return c;
}

void mx_tls_conn_set_tlsa(mx_tls_conn_t *c, const mx_tlsa_t *recs, int n) {
    c->tlsa = recs;
    c->ntlsa = n;
}

void mx_tls_conn_free(mx_tls_conn_t *c) {
    if (!c)
        return;
    mbedtls_ssl_free(&c->ssl);
    mx_hello_free(&c->hello);
    free(c->cert);
    free(c->in);
    free(c);
}

void mx_tls_conn_reserve(mx_tls_conn_t *c, char **buf, size_t *len) {
    if (c->in_off && c->in_cap - c->in_len < IN_SLACK) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len < IN_SLACK && c->in_cap < IN_MAX) {
        size_t cap = c->in_cap * 2 > IN_MAX ? IN_MAX : c->in_cap * 2;
        char *p = realloc(c->in, cap);
        if (p) {
            c->in = p;
            c->in_cap = cap;
        }
    }
    *buf = c->in + c->in_len;
    *len = c->in_cap - c->in_len;
}

void mx_tls_conn_commit(mx_tls_conn_t *c, size_t n) {
    const unsigned char *p = (const unsigned char *)c->in + c->in_len;
    if (c->state == MX_TLS_AGAIN && c->hello.result == MX_HELLO_AGAIN)
        mx_hello_feed(&c->hello, p, n);
    if (c->legacy)
        return; /* parsed, not kept */
    c->in_len += n;
}

/* Whether a failed handshake is a server that speaks only what mbedTLS does not (TLS 1.0/1.1,
 * SSLv3, RC4, 3DES ...), to be asked again with a raw ClientHello. */
static int wants_legacy(int rc, const mx_hello_t *h) {
    if (rc == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION)
        return 1;
    if (h->result == MX_HELLO_ALERT &&
        (h->alert_desc == 40 || h->alert_desc == 70 || h->alert_desc == 71))
        return 1;
    if (h->version && h->version < 0x0303)
        return 1;
    return h->cipher && !mbedtls_ssl_ciphersuite_from_id(h->cipher);
}

static int failed(mx_tls_conn_t *c, int rc) {
    c->info.error = mx__tls_error_token(rc, &c->hello);
    c->info.legacy_wanted = !c->setup_rc && wants_legacy(rc, &c->hello);
    return c->state = MX_TLS_E_FAIL;
}

/* The records of a finished handshake: what was negotiated, and the peer's chain summarised
 * and freed (kilobytes that would otherwise stay through the replies still to come). */
static int handshake_done(mx_tls_conn_t *c) {
    c->info.version = mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3
                          ? "TLSv1.3"
                          : "TLSv1.2";
    uint16_t id = (uint16_t)mbedtls_ssl_get_ciphersuite_id_from_ssl(&c->ssl);
    const mx_suite_t *suite = mx_suite_by_id(id);
    c->info.cipher = suite ? suite->iana : "unknown";
    mx__tls_group_of(&c->hello, id, c->info.group, sizeof(c->info.group));
    const mbedtls_x509_crt *chain = mbedtls_ssl_get_peer_cert(&c->ssl);
    if (c->ntlsa) /* before the chain is freed; an empty chain is judged too */
        c->info.dane =
            mx__dane_check_crt(c->tlsa, c->ntlsa, (mbedtls_x509_crt *)(uintptr_t)chain, c->host);
    c->tlsa = NULL;
    if (chain) {
        c->cert = mx__tls_summarize(c->cfg, chain, c->host);
        /* With renegotiation off mbedTLS never reads it again, and frees the emptied head. */
        mbedtls_x509_crt_free((mbedtls_x509_crt *)(uintptr_t)chain);
    }
    mx_hello_free(&c->hello);
    /* The certificate flight may have grown the buffer to many KiB; what follows are short
     * records, and the connection may live on for a while. */
    size_t left = c->in_len - c->in_off;
    if (c->in_cap > IN_INITIAL && left <= IN_INITIAL / 2) {
        memmove(c->in, c->in + c->in_off, left);
        c->in_len = left;
        c->in_off = 0;
        char *p = realloc(c->in, IN_INITIAL);
        if (p) {
            c->in = p;
            c->in_cap = IN_INITIAL;
        }
    }
    return c->state = MX_TLS_DONE;
}

/* The legacy probe: the raw ClientHello out, then the server's answer parsed as it comes. */
static int legacy_step(mx_tls_conn_t *c) {
    if (!c->hello_sent) {
        unsigned char hello[2048];
        size_t n = mx_legacy_client_hello(c->host, hello, sizeof(hello));
        c->hello_sent = 1;
        if (!n || c->send(c->ud, hello, n) < 0)
            return c->state = MX_TLS_E_FAIL;
    }
    if (c->hello.result == MX_HELLO_AGAIN)
        return MX_TLS_AGAIN;
    return c->state = MX_TLS_DONE;
}

int mx_tls_conn_step(mx_tls_conn_t *c) {
    if (c->state != MX_TLS_AGAIN)
        return c->state;
    if (c->legacy)
        return legacy_step(c);
    if (c->setup_rc)
        return failed(c, c->setup_rc);
    int rc = mbedtls_ssl_handshake(&c->ssl);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return MX_TLS_AGAIN;
    if (rc == 0)
        return handshake_done(c);
    return failed(c, rc);
}

ssize_t mx_tls_conn_read(mx_tls_conn_t *c, char *buf, size_t cap) {
    int n = mbedtls_ssl_read(&c->ssl, (unsigned char *)buf, cap);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
        return MX_TLS_AGAIN;
    if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return MX_TLS_E_CLOSED;
    return n < 0 ? MX_TLS_E_READ : n;
}

int mx_tls_conn_write(mx_tls_conn_t *c, const void *data, size_t len) {
    int rc = mbedtls_ssl_write(&c->ssl, data, len);
    return rc < 0 ? MX_TLS_E_FAIL : 0;
}

/* A legacy answer: the version and suite of its ServerHello, the group of its key exchange, and
 * its certificates summarised (their count is what the server sent, not what was kept). */
static void legacy_info(mx_tls_conn_t *c) {
    const mx_hello_t *h = &c->hello;
    if (!h->version || !h->cipher || c->info.answered)
        return;
    const mx_suite_t *suite = mx_suite_by_id(h->cipher);
    const char *name = mx_tls_version_name(h->version);
    c->info.answered = 1;
    c->info.version = name ? name : "";
    c->info.cipher = suite ? suite->iana : "unknown";
    mx__tls_group_of(h, h->cipher, c->info.group, sizeof(c->info.group));
    c->info.chain_total = h->chain_total;
    mbedtls_x509_crt chain;
    mbedtls_x509_crt_init(&chain);
    for (unsigned i = 0; i < h->ncerts; i++)
        mbedtls_x509_crt_parse_der(&chain, h->certs + h->cert_off[i], h->cert_len[i]);
    if (chain.raw.p && (c->cert = mx__tls_summarize(c->cfg, &chain, c->host)))
        c->cert->chain_len = (int)h->chain_total;
    mbedtls_x509_crt_free(&chain);
}

const mx_tls_info_t *mx_tls_conn_info(mx_tls_conn_t *c) {
    if (c->legacy)
        legacy_info(c);
    if (!c->info.version)
        c->info.version = "";
    return &c->info;
}

mx_cert_summary_t *mx_tls_conn_take_cert(mx_tls_conn_t *c) {
    if (c->legacy)
        legacy_info(c);
    mx_cert_summary_t *cert = c->cert;
    c->cert = NULL;
    return cert;
}
