/* Cleartext TLS handshake parser (mxtls/hello.h).
 *
 * Two layers, both resumable: records (5-byte header, payload) and, inside handshake records,
 * messages (4-byte header, body), which may span records. A message is read into memory only
 * when it is one we look at (ServerHello, ServerKeyExchange, and Certificate when the chain is
 * wanted); others are skipped as they stream past, so sniffing a handshake costs a few hundred
 * bytes, not the size of the server's chain. */
#include "mxtls/hello.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/suites.h"

enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23 };
enum { HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11, HS_SKE = 12, HS_HELLO_DONE = 14 };
#define REC_MAX (16384 + 2048)

void mx_hello_init(mx_hello_t *h, int keep_certs) {
    memset(h, 0, sizeof(*h));
    h->keep_certs = keep_certs;
}

void mx_hello_free(mx_hello_t *h) {
    free(h->body);
    free(h->certs);
    h->body = h->certs = NULL;
}

const char *mx_tls_version_name(uint16_t v) {
    switch (v) {
    case 0x0300:
        return "SSLv3";
    case 0x0301:
        return "TLSv1.0";
    case 0x0302:
        return "TLSv1.1";
    case 0x0303:
        return "TLSv1.2";
    case 0x0304:
        return "TLSv1.3";
    default:
        return NULL;
    }
}

static uint16_t be16(const unsigned char *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be24(const unsigned char *p) {
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static const unsigned char hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

static int server_hello(mx_hello_t *h, const unsigned char *p, size_t n) {
    size_t o = 0;
    if (n < 38)
        return MX_HELLO_E_BAD;
    uint16_t version = be16(p);
    int hrr = memcmp(p + 2, hrr_random, 32) == 0;
    o = 34;
    size_t sid = p[o++];
    if (sid > 32 || o + sid + 3 > n)
        return MX_HELLO_E_BAD;
    o += sid;
    h->cipher = be16(p + o);
    o += 3; /* cipher, compression */
    h->version = version;
    if (o + 2 <= n) {
        size_t ext_len = be16(p + o), end;
        o += 2;
        if (o + ext_len > n)
            return MX_HELLO_E_BAD;
        end = o + ext_len;
        while (o + 4 <= end) {
            uint16_t type = be16(p + o), len = be16(p + o + 2);
            o += 4;
            if (o + len > end)
                return MX_HELLO_E_BAD;
            if (type == 43 && len == 2) /* supported_versions */
                h->version = be16(p + o);
            else if (type == 51 && len >= 2) /* key_share: group first */
                h->group = be16(p + o);
            o += len;
        }
    }
    if (h->version == 0x0304 && !hrr)
        return MX_HELLO_DONE; /* everything after a TLS 1.3 ServerHello is encrypted */
    return MX_HELLO_AGAIN;
}

static int server_key_exchange(mx_hello_t *h, const unsigned char *p, size_t n) {
    const mx_suite_t *s = mx_suite_by_id(h->cipher);
    int ecdhe = s && (s->kx == MX_KX_ECDHE || (s->kx == MX_KX_ANON && strstr(s->iana, "ECDH")));
    if (ecdhe) {
        if (n < 3 || p[0] != 3) /* named_curve */
            return MX_HELLO_E_BAD;
        h->group = be16(p + 1);
    } else {
        if (n < 2)
            return MX_HELLO_E_BAD;
        size_t plen = be16(p), skip = 0;
        if (2 + plen > n || plen == 0)
            return MX_HELLO_E_BAD;
        while (skip < plen && p[2 + skip] == 0)
            skip++;
        unsigned bits = (unsigned)(plen - skip) * 8;
        if (skip < plen)
            for (unsigned char top = p[2 + skip]; !(top & 0x80); top = (unsigned char)(top << 1))
                bits--;
        h->dh_bits = bits;
    }
    return MX_HELLO_AGAIN;
}

static int certificate(mx_hello_t *h, unsigned char *p, size_t n) {
    size_t o = 3;
    h->ncerts = h->chain_total = 0;
    if (n < 3 || be24(p) + 3 != n)
        return MX_HELLO_E_BAD;
    while (o < n) {
        size_t len = o + 3 <= n ? be24(p + o) : n;
        o += 3;
        if (o + len > n) {
            h->ncerts = 0; /* offsets are only good with the body they point into */
            return MX_HELLO_E_BAD;
        }
        if (h->ncerts < MX_HELLO_MAX_CERTS && h->keep_certs) {
            h->cert_off[h->ncerts] = (uint32_t)o;
            h->cert_len[h->ncerts++] = (uint32_t)len;
        }
        h->chain_total++;
        o += len;
    }
    if (h->keep_certs) {
        free(h->certs);
        h->certs = p; /* keeps the body */
        h->body = NULL;
    }
    return MX_HELLO_AGAIN;
}

static int wanted(const mx_hello_t *h, uint8_t type) {
    return type == HS_SERVER_HELLO || type == HS_SKE || (type == HS_CERTIFICATE && h->keep_certs);
}

static int message(mx_hello_t *h) {
    uint8_t type = h->hs[0];
    if (type == HS_HELLO_DONE)
        return MX_HELLO_DONE;
    if (!h->body)
        return MX_HELLO_AGAIN;
    if (type == HS_SERVER_HELLO)
        return server_hello(h, h->body, h->hs_len);
    if (type == HS_SKE)
        return server_key_exchange(h, h->body, h->hs_len);
    if (type == HS_CERTIFICATE)
        return certificate(h, h->body, h->hs_len);
    return MX_HELLO_AGAIN;
}

/* Handshake bytes of a record, split into messages. */
static int handshake_bytes(mx_hello_t *h, const unsigned char *p, size_t n) {
    while (n) {
        if (h->hs_have < 4) {
            h->hs[h->hs_have++] = *p++;
            n--;
            if (h->hs_have < 4)
                continue;
            /* An empty message (ServerHelloDone) is complete with its header. */
            h->hs_len = be24(h->hs + 1);
            h->hs_got = 0;
            if (h->hs_len > MX_HELLO_MSG_MAX)
                return MX_HELLO_E_TOO_BIG;
            free(h->body);
            h->body = NULL;
            if (wanted(h, h->hs[0]) && !(h->body = malloc(h->hs_len ? h->hs_len : 1)))
                return MX_HELLO_E_TOO_BIG;
        }
        size_t take = h->hs_len - h->hs_got;
        if (take > n)
            take = n;
        if (h->body && take)
            memcpy(h->body + h->hs_got, p, take);
        h->hs_got += take;
        p += take;
        n -= take;
        if (h->hs_got == h->hs_len) {
            int rc = message(h);
            h->hs_have = 0;
            free(h->body);
            h->body = NULL;
            if (rc != MX_HELLO_AGAIN)
                return rc;
        }
    }
    return MX_HELLO_AGAIN;
}

int mx_hello_feed(mx_hello_t *h, const unsigned char *data, size_t len) {
    while (len && h->result == MX_HELLO_AGAIN) {
        if (h->rec_have < 5) {
            h->rec[h->rec_have++] = *data++;
            len--;
            if (h->rec_have == 1 && (h->rec[0] < REC_CCS || h->rec[0] > REC_APPDATA))
                return h->result = MX_HELLO_E_BAD; /* SSLv2 or not TLS at all */
            if (h->rec_have < 5)
                continue;
            h->rec_left = be16(h->rec + 3);
            if (h->rec[1] != 3 || h->rec_left > REC_MAX)
                return h->result = MX_HELLO_E_BAD;
            if (h->rec[0] == REC_CCS || h->rec[0] == REC_APPDATA)
                return h->result = MX_HELLO_DONE; /* from here on, encrypted */
            if (h->rec_left == 0)
                h->rec_have = 0;
            continue;
        }
        size_t take = h->rec_left < len ? h->rec_left : len;
        int rc = MX_HELLO_AGAIN;
        if (h->rec[0] == REC_HANDSHAKE) {
            rc = handshake_bytes(h, data, take);
        } else if (h->rec[0] == REC_ALERT) {
            /* Alerts are two bytes; a record may hold the pair split across feeds. */
            for (size_t i = 0; i < take; i++) {
                size_t pos = be16(h->rec + 3) - h->rec_left + i;
                if (pos == 0)
                    h->alert_level = data[i];
                else if (pos == 1) {
                    h->alert_desc = data[i];
                    rc = MX_HELLO_ALERT;
                }
            }
        }
        data += take;
        len -= take;
        h->rec_left -= take;
        if (h->rec_left == 0)
            h->rec_have = 0;
        if (rc != MX_HELLO_AGAIN)
            return h->result = rc;
    }
    return h->result;
}
