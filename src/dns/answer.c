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
