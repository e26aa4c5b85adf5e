/* The farm's authoritative DNS server, over UDP and TCP, answering from the population model.
 *
 * Only the farm's zone is answered (REFUSED otherwise). Domains drawn to fail answer NXDOMAIN
 * or SERVFAIL, or nothing at all (timeouts). A UDP answer larger than the client's limit (512
 * bytes, or its EDNS size) is sent truncated (TC) so the client retries over TCP, as real
 * resolvers must. Parsing is defensive: anything malformed is dropped. */
#include "farm/dns_server.h"

#include "farm/listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { T_A = 1, T_CNAME = 5, T_MX = 15, T_TXT = 16, T_AAAA = 28, T_OPT = 41, T_TLSA = 52 };
enum { RC_NOERROR = 0, RC_SERVFAIL = 2, RC_NXDOMAIN = 3, RC_REFUSED = 5 };
#define MSG_MAX 4096

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int overflow;
} msg_t;

static void put(msg_t *m, const void *d, size_t n) {
    if (m->len + n > m->cap) {
        m->overflow = 1;
        return;
    }
    memcpy(m->p + m->len, d, n);
    m->len += n;
}

static void put16(msg_t *m, unsigned v) {
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(m, b, 2);
}

static void put32(msg_t *m, uint32_t v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(m, b, 4);
}

/* A name in wire form, uncompressed ("" is the root). */
static void put_name(msg_t *m, const char *name) {
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        unsigned char lb = (unsigned char)l;
        put(m, &lb, 1);
        put(m, name, l);
        name += l + (dot ? 1 : 0);
    }
    put(m, "", 1);
}

/* Resource record owned by the question name (compression pointer to offset 12). */
static void rr_head(msg_t *m, unsigned type, uint16_t rdlen) {
    put16(m, 0xC00C);
    put16(m, type);
    put16(m, 1);
    put32(m, 300);
    put16(m, rdlen);
}

static size_t name_wire_len(const char *name) {
    return *name ? strlen(name) + 2 : 1;
}

/* Parses the question of QUERY. Returns 0 with NAME (lowercase, no trailing dot), TYPE, the
 * offset after the question and the client's UDP size, or -1 when malformed. */
static int parse_query(const unsigned char *q, size_t len, char *name, unsigned *type, size_t *qend,
                       unsigned *udp_size) {
    size_t pos = 12, n = 0;
    if (len < 12 || (q[2] & 0x80) || ((q[4] << 8) | q[5]) != 1)
        return -1;
    for (;;) {
        if (pos >= len)
            return -1;
        unsigned l = q[pos++];
        if (l == 0)
            break;
        if (l > 63 || pos + l > len || n + l + 1 > 254)
            return -1;
        if (n)
            name[n++] = '.';
        for (unsigned k = 0; k < l; k++) {
            unsigned char c = q[pos + k];
            name[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        pos += l;
    }
    name[n] = 0;
    if (pos + 4 > len)
        return -1;
    *type = (unsigned)(q[pos] << 8 | q[pos + 1]);
    pos += 4;
    *qend = pos;
    *udp_size = 512;
    /* EDNS: an OPT record in the additional section carries the client's UDP size. */
    if (((q[10] << 8) | q[11]) >= 1 && pos + 11 <= len && q[pos] == 0 &&
        ((q[pos + 1] << 8) | q[pos + 2]) == T_OPT) {
        unsigned sz = (unsigned)(q[pos + 3] << 8 | q[pos + 4]);
        *udp_size = sz < 512 ? 512 : sz > MSG_MAX ? MSG_MAX : sz;
    }
    return 0;
}

/* The header: QR and AA, the client's RD, AD when AUTHENTIC (the farm answers for its signed
 * zones as a validating resolver would), RCODE and the answer count. */
static void header(msg_t *m, const unsigned char *q, int rcode, unsigned ancount, int authentic) {
    unsigned char h[12] = {q[0],
                           q[1],
                           (unsigned char)(0x84 | (q[2] & 0x01)),
                           (unsigned char)(rcode | (authentic ? 0x20 : 0)),
                           0,
                           1,
                           (unsigned char)(ancount >> 8),
                           (unsigned char)ancount,
                           0,
                           0,
                           0,
                           0};
    memcpy(m->p, h, 12);
}

static void answer_addrs(msg_t *m, const farm_mx_t *mx, unsigned type, unsigned *an) {
    if (type != T_A)
        return;
    for (int a = 0; a < mx->naddrs; a++) {
        rr_head(m, T_A, 4);
        put32(m, mx->addrs[a]);
        (*an)++;
    }
}

/* One TXT record of TEXT (a single character-string). */
static void answer_txt(msg_t *m, const char *text, unsigned *an) {
    size_t n = strlen(text) > 255 ? 255 : strlen(text);
    unsigned char l = (unsigned char)n;
    rr_head(m, T_TXT, (uint16_t)(n + 1));
    put(m, &l, 1);
    put(m, text, n);
    (*an)++;
}

/* The policy records of domain Q->dom (MTA-STS, TLS-RPT, the policy host, TLSA). */
static void answer_policy(const farm_t *farm, const farm_certs_t *certs, const farm_qname_t *q,
                          unsigned type, msg_t *m, unsigned *an) {
    const farm_domain_t *d = &q->dom;
    char text[300];
    if (q->kind == FARM_Q_STS_TXT && type == T_TXT) {
        if (d->sts == FARM_STS_BAD_RECORD)
            answer_txt(m, "v=STSv1; id=not-a-valid-id!", an);
        else {
            snprintf(text, sizeof(text), "v=STSv1; id=farm%ue%u", d->sts_mode, d->sts_since);
            answer_txt(m, text, an);
        }
    } else if (q->kind == FARM_Q_RPT_TXT && type == T_TXT) {
        snprintf(text, sizeof(text),
                 d->rpt == FARM_RPT_OK ? "v=TLSRPTv1; rua=mailto:tlsrpt@%s"
                                       : "v=TLSRPTv1; rua=http://%s/report",
                 d->name);
        answer_txt(m, text, an);
    } else if (q->kind == FARM_Q_STS_HOST && type == T_A) {
        rr_head(m, T_A, 4);
        put32(m, farm_sts_addr(d->index));
        (*an)++;
    } else if (q->kind == FARM_Q_TLSA && type == T_TLSA && q->host->naddrs) {
        farm_host_t h;
        if (farm_host(farm, q->host->addrs[0], &h) < 0)
            return;
        int ee = d->tlsa[q->mx] == FARM_TLSA_EE;
        unsigned char head[3] = {ee ? 3 : 1, 1, 1};
        rr_head(m, T_TLSA, 35);
        put(m, head, 3);
        put(m, farm_certs_spki_sha256(certs, h.key, ee ? h.tlsa_gen : h.renewals), 32);
        (*an)++;
    }
}

/* Builds the answer to QUERY into OUT. Returns its length, or 0 for no answer at all. */
size_t farm_dns_answer(const farm_t *farm, const farm_certs_t *certs, const unsigned char *query,
                       size_t len, unsigned char *out, size_t cap, int udp) {
    char name[256];
    unsigned type, udp_size, an = 0;
    size_t qend;
    int rcode = RC_NOERROR;
    farm_qname_t q;
    if (cap < MSG_MAX || parse_query(query, len, name, &type, &qend, &udp_size) < 0)
        return 0;
    msg_t m = {out, 12, cap, 0};
    put(&m, query + 12, qend - 12);
    farm_lookup(farm, name, &q);
    switch (q.kind) {
    case FARM_Q_NONE:
        rcode = RC_REFUSED;
        break;
    case FARM_Q_NXDOMAIN:
        rcode = RC_NXDOMAIN;
        break;
    case FARM_Q_DOMAIN:
        switch (q.dom.kind) {
        case FARM_D_NXDOMAIN:
            rcode = RC_NXDOMAIN;
            break;
        case FARM_D_SERVFAIL:
            rcode = RC_SERVFAIL;
            break;
        case FARM_D_TIMEOUT:
            return 0;
        case FARM_D_NULL_MX:
            if (type == T_MX) {
                rr_head(&m, T_MX, 3);
                put16(&m, 0);
                put_name(&m, "");
                an++;
            }
            break;
        case FARM_D_IMPLICIT:
            answer_addrs(&m, &q.dom.mx[0], type, &an);
            break;
        case FARM_D_MX:
            if (type == T_MX) {
                for (int k = 0; k < q.dom.nmx; k++) {
                    const farm_mx_t *mx = &q.dom.mx[k];
                    rr_head(&m, T_MX, (uint16_t)(2 + name_wire_len(mx->name)));
                    put16(&m, mx->pref);
                    put_name(&m, mx->name);
                    an++;
                }
            }
            break;
        default:
            break;
        }
        break;
    case FARM_Q_STS_TXT:
    case FARM_Q_RPT_TXT:
    case FARM_Q_STS_HOST:
    case FARM_Q_TLSA:
        answer_policy(farm, certs, &q, type, &m, &an);
        break;
    case FARM_Q_HOST:
        if (q.host->kind == FARM_N_CNAME && !q.is_cname_target) {
            /* The alias, then the target's addresses, as a recursive resolver answers. */
            rr_head(&m, T_CNAME, (uint16_t)name_wire_len(q.host->target));
            put_name(&m, q.host->target);
            an++;
            if (type == T_A) {
                size_t target_off = m.len - name_wire_len(q.host->target);
                for (int a = 0; a < q.host->naddrs; a++) {
                    put16(&m, 0xC000 | (unsigned)target_off);
                    put16(&m, T_A);
                    put16(&m, 1);
                    put32(&m, 300);
                    put16(&m, 4);
                    put32(&m, q.host->addrs[a]);
                    an++;
                }
            }
        } else if (q.host->kind != FARM_N_NODATA) {
            answer_addrs(&m, q.host, type, &an);
        }
        break;
    }
    if (m.overflow)
        return 0;
    int ad = q.signed_zone && (rcode == RC_NOERROR || rcode == RC_NXDOMAIN);
    header(&m, query, rcode, an, ad);
    if (udp && m.len > udp_size) {
        /* Too big for this client over UDP: header and question only, TC set. */
        m.len = qend;
        header(&m, query, rcode, 0, ad);
        out[2] |= 0x02;
    }
    return m.len;
}

/* ---- the libuv servers ---- */

typedef struct {
    uv_udp_send_t req;
    uv_buf_t buf;
    unsigned char data[];
} udp_reply_t;

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    farm_dns_t *d = h->data;
    (void)suggested;
    buf->base = (char *)d->rbuf;
    buf->len = sizeof(d->rbuf);
}

static void udp_sent(uv_udp_send_t *req, int status) {
    (void)status;
    free(req);
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags) {
    farm_dns_t *d = h->data;
    unsigned char out[MSG_MAX];
    (void)flags;
    if (n <= 0 || !addr)
        return;
    d->queries++;
    size_t len = farm_dns_answer(d->farm, d->certs, (const unsigned char *)buf->base, (size_t)n,
                                 out, sizeof(out), 1);
    if (!len)
        return;
    uv_buf_t b = uv_buf_init((char *)out, (unsigned)len);
    if (uv_udp_try_send(h, &b, 1, addr) >= 0)
        return;
    udp_reply_t *r = malloc(sizeof(*r) + len);
    if (!r)
        return;
    memcpy(r->data, out, len);
    r->buf = uv_buf_init((char *)r->data, (unsigned)len);
    if (uv_udp_send(&r->req, h, &r->buf, 1, addr, udp_sent) < 0)
        free(r);
}

typedef struct {
    uv_tcp_t tcp;
    farm_dns_t *dns;
    unsigned char in[2 + 65535];
    size_t len;
} tcp_conn_t;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    unsigned char data[];
} tcp_reply_t;

static void tcp_closed(uv_handle_t *h) {
    free(h->data);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    tcp_conn_t *c = h->data;
    (void)suggested;
    buf->base = (char *)c->in + c->len;
    buf->len = sizeof(c->in) - c->len;
}

static void tcp_written(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    tcp_conn_t *c = s->data;
    (void)buf;
    if (n < 0 || (n == 0 && c->len == sizeof(c->in))) {
        uv_close((uv_handle_t *)s, tcp_closed);
        return;
    }
    c->len += (size_t)n;
    while (c->len >= 2) {
        size_t mlen = (size_t)(c->in[0] << 8 | c->in[1]);
        if (c->len < 2 + mlen)
            break;
        c->dns->queries++;
        tcp_reply_t *r = malloc(sizeof(*r) + 2 + MSG_MAX);
        if (r) {
            size_t len = farm_dns_answer(c->dns->farm, c->dns->certs, c->in + 2, mlen, r->data + 2,
                                         MSG_MAX, 0);
            if (len) {
                r->data[0] = (unsigned char)(len >> 8);
                r->data[1] = (unsigned char)len;
                r->buf = uv_buf_init((char *)r->data, (unsigned)len + 2);
                if (uv_write(&r->req, s, &r->buf, 1, tcp_written) < 0)
                    free(r);
            } else {
                free(r);
            }
        }
        memmove(c->in, c->in + 2 + mlen, c->len - 2 - mlen);
        c->len -= 2 + mlen;
    }
}

static void tcp_accept(uv_stream_t *server, int status) {
    farm_dns_t *d = server->data;
    if (status < 0)
        return;
    tcp_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->dns = d;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_read) < 0)
        uv_close((uv_handle_t *)&c->tcp, tcp_closed);
}

int farm_dns_start(farm_dns_t *d, uv_loop_t *loop, const farm_t *farm, const farm_certs_t *certs,
                   const struct sockaddr *addr) {
    int rc;
    memset(d, 0, sizeof(*d));
    d->farm = farm;
    d->certs = certs;
    if ((rc = uv_udp_init_ex(loop, &d->udp, addr->sa_family)) < 0)
        return rc;
    d->udp.data = d;
    if (farm_reuseport((uv_handle_t *)&d->udp) < 0)
        return UV_EINVAL;
    if ((rc = uv_udp_bind(&d->udp, addr, 0)) < 0 ||
        (rc = uv_udp_recv_start(&d->udp, udp_alloc, udp_recv)) < 0)
        return rc;
    /* A scanner sends thousands of queries at once; the default buffer holds a few hundred.
     * Past net.core.rmem_max where the farm may (CAP_NET_ADMIN in its namespace). */
    int size = 8 * 1024 * 1024;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&d->udp, &fd) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        uv_recv_buffer_size((uv_handle_t *)&d->udp, &size);
    size = 8 * 1024 * 1024;
    uv_send_buffer_size((uv_handle_t *)&d->udp, &size);
    rc = farm_tcp_listen(loop, &d->tcp, addr, 1024, tcp_accept);
    d->tcp.data = d; /* read by the first accept, from the loop */
    return rc;
}

void farm_dns_stop(farm_dns_t *d) {
    uv_close((uv_handle_t *)&d->udp, NULL);
    uv_close((uv_handle_t *)&d->tcp, NULL);
}
