/* SMTP reply parser (mxtls/reply.h).
 *
 * Counter-example kept in mind: tls-scan assumes one read is one reply and runs strtok on
 * unterminated buffers; here a reply is complete only at the LF of a line whose fourth byte is
 * not '-', and nothing past LEN is ever read. Servers seen doing odd things: Exchange 2010
 * sends bare LF in some replies; some tarpits send the greeting one byte at a time. */
#include "mxtls/reply.h"

#include <string.h>

void mx_reply_init(mx_reply_t *r) {
    memset(r, 0, sizeof(*r));
    r->code = -1;
}

static int digit(char c) {
    return c >= '0' && c <= '9';
}

/* Whether the first N (at most 4) bytes of a line can start a reply line. */
static int prefix_ok(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && (p[0] < '1' || p[0] > '5'))
            return 0;
        if (i > 0 && i < 3 && !digit(p[i]))
            return 0;
        if (i == 3 && p[3] != ' ' && p[3] != '-' && p[3] != '\r')
            return 0;
    }
    return 1;
}

int mx_reply_parse(mx_reply_t *r, const char *buf, size_t len) {
    while (r->scanned < len) {
        const char *line = buf + r->scanned;
        size_t avail = len - r->scanned;
        const char *nl = memchr(line, '\n', avail < MX_REPLY_LINE_MAX ? avail : MX_REPLY_LINE_MAX);
        if (!nl) {
            /* Refuse a line that cannot become a reply as soon as that shows (a server speaking
             * TLS or HTTP here would otherwise cost a whole read timeout). */
            if (!prefix_ok(line, avail < 4 ? avail : 4))
                return MX_REPLY_E_BAD;
            return avail >= MX_REPLY_LINE_MAX ? MX_REPLY_E_TOO_LONG : MX_REPLY_AGAIN;
        }
        size_t n = (size_t)(nl - line);
        if (n && line[n - 1] == '\r')
            n--;
        if (n < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '1' ||
            line[0] > '5' || (n > 3 && line[3] != ' ' && line[3] != '-'))
            return MX_REPLY_E_BAD;
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (r->lines && code != r->code)
            return MX_REPLY_E_BAD;
        r->code = code;
        r->lines++;
        r->scanned += (size_t)(nl - line) + 1;
        if (n == 3 || line[3] == ' ') {
            r->end = r->scanned;
            return MX_REPLY_DONE;
        }
        if (r->lines >= MX_REPLY_LINES)
            return MX_REPLY_E_TOO_MANY_LINES;
        if (r->scanned >= MX_REPLY_MAX)
            return MX_REPLY_E_TOO_LONG;
    }
    return r->scanned >= MX_REPLY_MAX ? MX_REPLY_E_TOO_LONG : MX_REPLY_AGAIN;
}

const char *mx_reply_error_token(int rc) {
    static const char *const tokens[] = {
#define X(id, token) token,
        MX_REPLY_ERRORS(X)
#undef X
    };
    int i = rc - MX_REPLY__FIRST_ERROR - 1;
    return i >= 0 && i < (int)(sizeof(tokens) / sizeof(tokens[0])) ? tokens[i] : "bad_reply";
}

int mx_reply_line(const mx_reply_t *r, const char *buf, unsigned i, const char **text,
                  size_t *len) {
    size_t pos = 0;
    if (i >= r->lines)
        return -1;
    for (unsigned k = 0;; k++) {
        const char *nl = memchr(buf + pos, '\n', r->scanned - pos);
        size_t n = (size_t)(nl - (buf + pos));
        if (k == i) {
            const char *line = buf + pos;
            if (n && line[n - 1] == '\r')
                n--;
            *text = n > 4 ? line + 4 : line + n;
            *len = n > 4 ? n - 4 : 0;
            return 0;
        }
        pos += n + 1;
    }
}

int mx_ehlo_caps(const mx_reply_t *r, const char *buf, char *caps, size_t cap, int64_t *size) {
    size_t o = 0;
    int flags = 0;
    *size = -1;
    if (cap)
        caps[0] = 0;
    for (unsigned i = 1; i < r->lines; i++) {
        const char *t;
        size_t n, k = 0;
        char kw[64];
        mx_reply_line(r, buf, i, &t, &n);
        while (k < n && k < sizeof(kw) - 1 && t[k] != ' ' && t[k] != '=' && t[k] != '\t') {
            char c = t[k];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 32);
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
                break;
            kw[k++] = c;
        }
        if (k == 0 || (k < n && t[k] != ' ' && t[k] != '=' && t[k] != '\t'))
            continue; /* empty, too long or not a keyword (RFC 5321 ehlo-keyword) */
        kw[k] = 0;
        if (strcmp(kw, "STARTTLS") == 0)
            flags |= 1;
        if (strcmp(kw, "SIZE") == 0 && k < n && t[k] == ' ') {
            int64_t v = 0;
            size_t d = k + 1, digits = 0;
            while (d < n && digit(t[d]) && digits < 18)
                v = v * 10 + (t[d++] - '0'), digits++;
            if (digits && (d == n || t[d] == ' '))
                *size = v;
        }
        if (o + k + 2 <= cap) {
            if (o)
                caps[o++] = '|';
            memcpy(caps + o, kw, k + 1);
            o += k;
        }
    }
    return flags;
}
