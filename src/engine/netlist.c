/* Address range lists (mxtls/netlist.h). A linear scan: allow and exclude lists given by hand
 * are short; a prefix tree can replace it if exclusion files grow to many thousands. */
#include "mxtls/netlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mx_prefix_parse(const char *s, mx_prefix_t *p) {
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    long bits = -1;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    memset(p, 0, sizeof(*p));
    if (inet_pton(AF_INET, buf, p->addr) == 1)
        p->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, p->addr) == 1)
        p->family = AF_INET6;
    else
        return -1;
    int max = p->family == AF_INET ? 32 : 128;
    if (slash) {
        char *end;
        errno = 0;
        bits = strtol(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || bits < 0 || bits > max)
            return -1;
    }
    p->bits = (uint8_t)(bits < 0 ? max : bits);
    /* Clear host bits so "127.1.2.3/8" means 127.0.0.0/8. */
    for (int i = p->bits; i < max; i++)
        p->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
    return 0;
}

static int push(mx_netlist_t *l, const mx_prefix_t *p) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        mx_prefix_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *p;
    return 0;
}

/* One line of a CIDR file: comment and blanks dropped. 0, or -1 with ERR. */
static int add_line(mx_netlist_t *l, const char *name, int lineno, char *line, char *err,
                    size_t errlen) {
    mx_prefix_t p;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    char *s = line;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    if (n && (mx_prefix_parse(s, &p) < 0 || push(l, &p) < 0)) {
        snprintf(err, errlen, "%s:%d: not a CIDR: %.60s", name, lineno, s);
        return -1;
    }
    return 0;
}

int mx_netlist_add_text(mx_netlist_t *l, const char *name, const char *text, char *err,
                        size_t errlen) {
    char line[512];
    int lineno = 0;
    while (*text) {
        size_t n = strcspn(text, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), text);
        if (add_line(l, name, ++lineno, line, err, errlen) < 0)
            return -1;
        text += n + (text[n] == '\n');
    }
    return 0;
}

int mx_netlist_add(mx_netlist_t *l, const char *spec, char *err, size_t errlen) {
    mx_prefix_t p;
    if (mx_prefix_parse(spec, &p) == 0)
        return push(l, &p);
    FILE *f = fopen(spec, "r");
    if (!f) {
        snprintf(err, errlen, "%s: neither a CIDR (127.0.0.0/8) nor a readable file", spec);
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof(line), f))
        rc = add_line(l, spec, ++lineno, line, err, errlen);
    fclose(f);
    return rc;
}

int mx_netlist_contains(const mx_netlist_t *l, const struct sockaddr *addr) {
    const uint8_t *a;
    int family = addr->sa_family;
    if (family == AF_INET)
        a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
    else if (family == AF_INET6)
        a = (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
    else
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        const mx_prefix_t *p = &l->v[i];
        if (p->family != family)
            continue;
        int full = p->bits / 8, rest = p->bits % 8;
        if (memcmp(a, p->addr, (size_t)full) != 0)
            continue;
        if (rest && ((a[full] ^ p->addr[full]) & (uint8_t)(0xFF << (8 - rest))))
            continue;
        return 1;
    }
    return 0;
}

void mx_netlist_close(mx_netlist_t *l) {
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int mx_net_permitted(const mx_netlist_t *allow, const mx_netlist_t *exclude,
                     const mx_netlist_t *reserved, const struct sockaddr *addr) {
    if (exclude && mx_netlist_contains(exclude, addr))
        return 0;
    if (allow && allow->n)
        return mx_netlist_contains(allow, addr);
    return !(reserved && mx_netlist_contains(reserved, addr));
}

int mx_parse_hostport(const char *s, int default_port, struct sockaddr_storage *sa) {
    char host[64];
    int port = default_port;
    const char *end = NULL;
    memset(sa, 0, sizeof(*sa));
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= sizeof(host))
            return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(end - s - 1), s + 1);
        if (end[1] == ':')
            port = atoi(end + 2);
        else if (end[1])
            return -1;
    } else {
        const char *colon = strchr(s, ':');
        /* One colon: IPv4 with a port; more: a bare IPv6 address. */
        if (colon && !strchr(colon + 1, ':')) {
            if ((size_t)(colon - s) >= sizeof(host))
                return -1;
            snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
            port = atoi(colon + 1);
        } else {
            snprintf(host, sizeof(host), "%s", s);
        }
    }
    if (port <= 0 || port > 65535)
        return -1;
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -1;
}
