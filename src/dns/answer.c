/* Reading DNS answers (dns/dns_int.h): c-ares parses the wire format; what is kept of it, and in
 * which order, is decided here. */
#include "dns/dns_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "mxtls/dns.h"

static void lower_name(const char *in, char *out, size_t cap) {
    size_t n = strlen(in);
    if (n && in[n - 1] == '.')
        n--;
    if (n >= cap)
        n = cap - 1;
    /* A name c-ares rendered with escapes may pass the cap; cut, it must still not end in a dot
     * (found by fuzz_dns_answer). */
    while (n && in[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = 0;
}

const char *mx__dns_read_mx(const unsigned char *abuf, int alen, mx__dns_mx_t **out, int *n) {
    struct ares_mx_reply *list = NULL;
    int k = 0;
    *out = NULL;
    *n = 0;
    if (ares_parse_mx_reply(abuf, alen, &list) != ARES_SUCCESS)
        return "servfail"; /* an answer we cannot read */
    for (struct ares_mx_reply *r = list; r; r = r->next)
        k++;
    /* RFC 7505: a single MX "0 ." means the domain accepts no mail. */
    if (k == 1 && (list->host[0] == 0 || strcmp(list->host, ".") == 0)) {
        ares_free_data(list);
        return "null_mx";
    }
    mx__dns_mx_t *mx = calloc((size_t)k, sizeof(*mx));
    if (!mx) {
        ares_free_data(list);
        return NULL;
    }
    int i = 0;
    for (struct ares_mx_reply *r = list; r; r = r->next, i++) {
        /* Insertion sort by preference keeps answer order for ties (stable). */
        int pos = i;
        while (pos > 0 && mx[pos - 1].pref > r->priority) {
            mx[pos] = mx[pos - 1];
            pos--;
        }
        mx[pos].pref = r->priority;
        lower_name(r->host, mx[pos].host, sizeof(mx[pos].host));
    }
    ares_free_data(list);
    *out = mx;
    *n = k;
    return "mx";
}

int mx__dns_read_addrs(const unsigned char *abuf, int alen, int v6, char (*out)[46], int max) {
    int n = max < MX_DNS_MAX_ADDRS ? max : MX_DNS_MAX_ADDRS;
    if (v6) {
        struct ares_addr6ttl a[MX_DNS_MAX_ADDRS];
        if (ares_parse_aaaa_reply(abuf, alen, NULL, a, &n) != ARES_SUCCESS)
            return 0;
        for (int i = 0; i < n; i++)
            inet_ntop(AF_INET6, &a[i].ip6addr, out[i], 46);
    } else {
        struct ares_addrttl a[MX_DNS_MAX_ADDRS];
        if (ares_parse_a_reply(abuf, alen, NULL, a, &n) != ARES_SUCCESS)
            return 0;
        for (int i = 0; i < n; i++)
            inet_ntop(AF_INET, &a[i].ipaddr, out[i], 46);
    }
    return n;
}

int mx__dns_ad(const unsigned char *abuf, int alen) {
    return abuf && alen >= 12 && (abuf[3] & 0x20) != 0;
}

/* The length of the (possibly compressed) name at P in the message, or -1. */
static long name_len(const unsigned char *p, const unsigned char *abuf, int alen) {
    char *name = NULL;
    long len = 0;
    if (p >= abuf + alen || ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS)
        return -1;
    ares_free_string(name);
    return len;
}

/* Appends the N bytes at S to OUT as one record (a two-byte length, then the bytes). */
static int put_record(uint8_t *out, size_t cap, size_t *used, const uint8_t *s, size_t n) {
    if (n > 0xFFFF || *used + 2 + n > cap)
        return 0;
    out[*used] = (uint8_t)(n >> 8);
    out[*used + 1] = (uint8_t)n;
    memcpy(out + *used + 2, s, n);
    *used += 2 + n;
    return 1;
}

static int read_rdata(const unsigned char *abuf, int alen, int type, uint8_t *out, size_t cap,
                      size_t *used) {
    if (!abuf || alen < 12)
        return -1;
    unsigned qd = (unsigned)(abuf[4] << 8 | abuf[5]), an = (unsigned)(abuf[6] << 8 | abuf[7]);
    const unsigned char *p = abuf + 12, *end = abuf + alen;
    for (unsigned i = 0; i < qd; i++) {
        long n = name_len(p, abuf, alen);
        if (n < 0 || end - p < n + 4)
            return -1;
        p += n + 4;
    }
    int count = 0;
    for (unsigned i = 0; i < an; i++) {
        long n = name_len(p, abuf, alen);
        if (n < 0 || end - p < n + 10)
            return -1;
        p += n;
        int t = p[0] << 8 | p[1];
        size_t rdlen = (size_t)(p[8] << 8 | p[9]);
        p += 10;
        if ((size_t)(end - p) < rdlen)
            return -1;
        if (t == type && type == 16) { /* TXT: its character-strings, one after the other */
            size_t k = 0, len = 0, at = *used + 2;
            int fits = at <= cap;
            while (k < rdlen) {
                size_t sl = p[k++];
                if (sl > rdlen - k)
                    return -1;
                if (fits && at + len + sl <= cap)
                    memcpy(out + at + len, p + k, sl);
                else
                    fits = 0; /* past the cap: read on, not kept */
                len += sl;
                k += sl;
            }
            if (fits) {
                out[*used] = (uint8_t)(len >> 8);
                out[*used + 1] = (uint8_t)len;
                *used = at + len;
                count++;
            }
        } else if (t == type) {
            count += put_record(out, cap, used, p, rdlen);
        }
        p += rdlen;
    }
    return count;
}

int mx__dns_read_rdata(const unsigned char *abuf, int alen, int type, uint8_t *out, size_t cap,
                       size_t *used) {
    *used = 0;
    int n = read_rdata(abuf, alen, type, out, cap, used);
    if (n < 0)
        *used = 0; /* an answer that cannot be read keeps nothing */
    return n;
}
