/* The MTA-STS policy file and its MX patterns (mxtls/sts.h), RFC 8461 sections 3.2 and 4.1.
 * The grammar is followed as written but for blank lines at the very end, which many servers
 * send and which no sender is known to reject. */
#include "mxtls/sts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *mx_sts_mode_name(mx_sts_mode_t m) {
    return m == MX_STS_ENFORCE ? "enforce" : m == MX_STS_TESTING ? "testing" : "none";
}

/* Whether the N bytes at S are a host name (RFC 5321 Domain: letter-digit-hyphen labels of
 * 1-63, no hyphen at either end), optionally after "*.". */
static int host_pattern(const char *s, size_t n) {
    if (n >= 2 && s[0] == '*' && s[1] == '.')
        s += 2, n -= 2;
    if (!n || n > 253)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (!label || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && !(c == '-' && label > 0))
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && s[n - 1] != '-';
}

/* A key (ALPHA / DIGIT, then up to 31 of those and "_-.") followed by ":". */
static size_t key_len(const char *s, size_t n) {
    size_t k = 0;
    if (!n || !isalnum((unsigned char)s[0]))
        return 0;
    while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.'))
        k++;
    return k <= 32 && k < n && s[k] == ':' ? k : 0;
}

static int is_key(const char *s, size_t k, const char *name) {
    return k == strlen(name) && !memcmp(s, name, k);
}

/* One "key: value" line of N bytes (no line end) into OUT; SEEN marks version, mode and
 * max_age once read. Returns 0, or -1 when the line breaks the grammar. */
static int line(const char *s, size_t n, mx_sts_policy_t *out, int *seen, int *bad_mx) {
    size_t k = key_len(s, n);
    if (!k)
        return -1;
    const char *v = s + k + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vn = (size_t)(end - v);
    if (!vn)
        return -1;
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)v[i] < 0x20 ? v[i] != '\t' : (unsigned char)v[i] > 0x7E)
            return -1;
    if (is_key(s, k, "version") && !(seen[0]++)) {
        seen[3] = vn == 5 && !memcmp(v, "STSv1", 5);
    } else if (is_key(s, k, "mode") && !(seen[1]++)) {
        seen[4] = vn == 7 && !memcmp(v, "enforce", 7)   ? 1 + MX_STS_ENFORCE
                  : vn == 7 && !memcmp(v, "testing", 7) ? 1 + MX_STS_TESTING
                  : vn == 4 && !memcmp(v, "none", 4)    ? 1 + MX_STS_NONE
                                                        : 0;
    } else if (is_key(s, k, "max_age") && !(seen[2]++)) {
        uint64_t a = 0;
        size_t i = 0;
        while (i < vn && i < 11 && v[i] >= '0' && v[i] <= '9')
            a = a * 10 + (uint64_t)(v[i++] - '0');
        seen[5] = i == vn && i <= 10 && a <= 31557600;
        out->max_age = seen[5] ? (uint32_t)a : 0;
    } else if (is_key(s, k, "mx")) {
        if (!host_pattern(v, vn)) {
            *bad_mx = 1;
        } else if (out->nmx < MX_STS_MAX_MX) {
            char *p = out->mx[out->nmx++];
            for (size_t i = 0; i < vn; i++)
                p[i] = (char)tolower((unsigned char)v[i]);
            p[vn] = 0;
        }
    }
    return 0;
}

void mx_sts_policy_parse(const char *text, size_t len, mx_sts_policy_t *out) {
    int seen[6] = {0}, bad_mx = 0; /* version, mode, max_age read; and their values good */
    memset(out, 0, sizeof(*out));
    out->status = "ok";
    size_t end = len;
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
        end--; /* blank lines at the very end */
    for (size_t at = 0; at < end;) {
        const char *nl = memchr(text + at, '\n', end - at);
        size_t stop = nl ? (size_t)(nl - text) : end, n = stop - at;
        if (n && text[at + n - 1] == '\r')
            n--;
        if (line(text + at, n, out, seen, &bad_mx) < 0) {
            out->status = "policy_syntax";
            return;
        }
        at = stop + 1;
    }
    out->mode = seen[4] ? (mx_sts_mode_t)(seen[4] - 1) : MX_STS_NONE;
    if (!seen[3])
        out->status = "policy_version";
    else if (!seen[4])
        out->status = "policy_mode";
    else if (!seen[5])
        out->status = "policy_max_age";
    else if (bad_mx || (out->mode != MX_STS_NONE && !out->nmx))
        out->status = "policy_mx";
}

/* The length of S without trailing dots. */
static size_t bare_len(const char *s) {
    size_t n = strlen(s);
    while (n && s[n - 1] == '.')
        n--;
    return n;
}

int mx_sts_mx_match(const char *pattern, const char *host) {
    size_t pn = bare_len(pattern), hn = bare_len(host);
    if (pn >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.example.com": exactly one label before ".example.com" */
        size_t rest = pn - 1; /* ".example.com" */
        if (hn <= rest || strncasecmp(host + hn - rest, pattern + 1, rest) != 0)
            return 0;
        const char *dot = memchr(host, '.', hn - rest);
        return dot == NULL && hn - rest > 0;
    }
    return pn == hn && pn && strncasecmp(pattern, host, pn) == 0;
}

int mx_sts_policy_allows(const mx_sts_policy_t *p, const char *host) {
    for (int i = 0; i < p->nmx; i++)
        if (mx_sts_mx_match(p->mx[i], host))
            return 1;
    return 0;
}
