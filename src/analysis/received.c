/* Received headers (mxtls/received.h).
 *
 * The header is read as words and comments: words outside parentheses carry the clauses (from,
 * by, with, id, for, via; ';' ends them), comments carry what MTAs add. The TLS details are
 * looked for in the comments in the forms MTAs write them:
 *   Postfix    (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) ...)
 *   Exim       (TLSv1:RC4-SHA:128), (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256),
 *              with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384
 *   Exchange   (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
 *   Gmail      (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256)
 *   Sendmail   (version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 verify=NOT)
 *   OpenSMTPD  (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO)
 * A version or cipher found means the hop was encrypted; a protocol keyword ending in S (RFC
 * 3848: ESMTPS, ESMTPSA, LMTPS, UTF8SMTPS) without details means encrypted, version unknown;
 * a plain SMTP keyword without details means not encrypted; anything else is unknown. */
#include "mxtls/received.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mxtls/suites.h"

#define MAX_WORDS 64
#define MAX_COMMENTS 16

typedef struct {
    const char *p;
    size_t n;
} span_t;

typedef struct {
    span_t words[MAX_WORDS];
    int nwords;
    span_t comments[MAX_COMMENTS]; /* top-level comments, their inner text (nested kept) */
    int ncomments;
    int comment_after[MAX_COMMENTS]; /* the number of words before each comment */
} lex_t;

static void lex(const char *s, size_t len, lex_t *x) {
    size_t i = 0;
    memset(x, 0, sizeof(*x));
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '(') {
            size_t start = ++i;
            int depth = 1;
            while (i < len && depth) {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                else if (s[i] == '(')
                    depth++;
                else if (s[i] == ')')
                    depth--;
                i++;
            }
            size_t end = depth ? i : i - 1;
            if (x->ncomments < MAX_COMMENTS) {
                x->comment_after[x->ncomments] = x->nwords;
                x->comments[x->ncomments++] = (span_t){s + start, end - start};
            }
            continue;
        }
        if (c == ';')
            break; /* the date follows */
        if (isspace(c) || c == ',') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && !isspace((unsigned char)s[i]) && s[i] != '(' && s[i] != ';')
            i++;
        if (x->nwords < MAX_WORDS)
            x->words[x->nwords++] = (span_t){s + start, i - start};
    }
}

static int word_is(span_t w, const char *kw) {
    return w.n == strlen(kw) && strncasecmp(w.p, kw, w.n) == 0;
}

static void copy(char *out, size_t cap, const char *p, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        out[o++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    out[o] = 0;
}

void mx_tls_version_normalize(const char *s, size_t len, char *out, size_t cap) {
    char v[16];
    size_t o = 0;
    out[0] = 0;
    if (len >= 5 && strncasecmp(s, "SSLv3", 5) == 0 &&
        (len == 5 || !isalnum((unsigned char)s[5]))) {
        snprintf(out, cap, "SSLv3");
        return;
    }
    if (len < 4 || strncasecmp(s, "TLS", 3) != 0)
        return;
    size_t i = 3;
    if (i < len && (s[i] == 'v' || s[i] == 'V'))
        i++;
    for (; i < len && o + 1 < sizeof(v); i++) {
        char c = s[i];
        if (c == '_')
            c = '.';
        if (!isdigit((unsigned char)c) && c != '.')
            break;
        v[o++] = c;
    }
    v[o] = 0;
    if (!strcmp(v, "1") || !strcmp(v, "1.0"))
        snprintf(out, cap, "TLSv1.0");
    else if (!strcmp(v, "1.1") || !strcmp(v, "1.2") || !strcmp(v, "1.3"))
        snprintf(out, cap, "TLSv%s", v);
}

/* The value of KEY= in comment C (up to a space, comma or end), or 0. */
static size_t kv(span_t c, const char *key, const char **val) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl <= c.n; i++) {
        if (strncasecmp(c.p + i, key, kl) != 0 || (i && isalnum((unsigned char)c.p[i - 1])))
            continue;
        size_t j = i + kl, e = j;
        while (e < c.n && !isspace((unsigned char)c.p[e]) && c.p[e] != ',' && c.p[e] != ')')
            e++;
        *val = c.p + j;
        return e - j;
    }
    return 0;
}

static void set_cipher(mx_hop_t *h, const char *p, size_t n) {
    char raw[128];
    copy(raw, sizeof(raw), p, n);
    const mx_suite_t *s = mx_suite_by_name(raw);
    snprintf(h->cipher, sizeof(h->cipher), "%s", s ? s->iana : raw);
}

/* TLS details in one comment, in any of the forms above. Returns 1 when found. */
static int tls_details(span_t c, mx_hop_t *h) {
    const char *v;
    size_t n;
    /* Postfix: "using TLSv1.3 with cipher NAME" */
    for (size_t i = 0; i + 6 <= c.n; i++) {
        if (strncasecmp(c.p + i, "using ", 6) != 0)
            continue;
        size_t j = i + 6, e = j;
        while (e < c.n && !isspace((unsigned char)c.p[e]))
            e++;
        mx_tls_version_normalize(c.p + j, e - j, h->version, sizeof(h->version));
        const char *w = c.p + e;
        size_t left = c.n - e;
        if (left > 13 && strncasecmp(w, " with cipher ", 13) == 0) {
            size_t s = 13, t = s;
            while (t < left && !isspace((unsigned char)w[t]) && w[t] != '(')
                t++;
            set_cipher(h, w + s, t - s);
        }
        return h->version[0] || h->cipher[0];
    }
    /* Exchange, Gmail, Sendmail: version=... cipher=... */
    if ((n = kv(c, "version=", &v)) > 0) {
        mx_tls_version_normalize(v, n, h->version, sizeof(h->version));
        if ((n = kv(c, "cipher=", &v)) > 0)
            set_cipher(h, v, n);
        return h->version[0] || h->cipher[0];
    }
    /* Exim and OpenSMTPD: VERSION:CIPHER:BITS[:VERIFY]; Exim 4.9x: (TLS1.3) alone */
    size_t e = 0;
    while (e < c.n && c.p[e] != ':' && !isspace((unsigned char)c.p[e]))
        e++;
    char ver[16];
    mx_tls_version_normalize(c.p, e, ver, sizeof(ver));
    if (!ver[0])
        return 0;
    memcpy(h->version, ver, sizeof(ver));
    if (e < c.n && c.p[e] == ':') {
        size_t s = e + 1, t = s;
        while (t < c.n && c.p[t] != ':' && !isspace((unsigned char)c.p[t]))
            t++;
        if (t > s)
            set_cipher(h, c.p + s, t - s);
    }
    return 1;
}

static const char *mta_of(const lex_t *x, const mx_hop_t *h) {
    for (int i = 0; i < x->ncomments; i++) {
        span_t c = x->comments[i];
        static const struct {
            const char *needle, *name;
        } known[] = {{"Postfix", "Postfix"},     {"Exim", "Exim"},
                     {"OpenSMTPD", "OpenSMTPD"}, {"Sendmail", "Sendmail"},
                     {"qmail", "qmail"},         {"Haraka", "Haraka"},
                     {"MDaemon", "MDaemon"},     {"Microsoft", "Microsoft Exchange"}};
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            size_t kl = strlen(known[k].needle);
            for (size_t j = 0; j + kl <= c.n; j++)
                if (strncasecmp(c.p + j, known[k].needle, kl) == 0)
                    return known[k].name;
        }
        /* Sendmail writes its version pair: (8.15.2/8.15.2) */
        unsigned a, b, d, e2, f, g;
        char tail;
        char buf[64];
        copy(buf, sizeof(buf), c.p, c.n < 63 ? c.n : 63);
        if (sscanf(buf, "%u.%u.%u/%u.%u.%u%c", &a, &b, &d, &e2, &f, &g, &tail) >= 6)
            return "Sendmail";
    }
    if (strstr(h->protocol, "MICROSOFT"))
        return "Microsoft Exchange";
    size_t bl = strlen(h->by);
    if (bl >= 10 && strcasecmp(h->by + bl - 10, "google.com") == 0)
        return "Gmail";
    return "";
}

void mx_received_parse(const char *value, size_t len, mx_hop_t *h) {
    lex_t x;
    memset(h, 0, sizeof(*h));
    h->encrypted = "unknown";
    lex(value, len, &x);
    int with_at = -1, tls_word = -1;
    for (int i = 0; i + 1 < x.nwords; i++) {
        if (word_is(x.words[i], "from") && !h->from[0])
            copy(h->from, sizeof(h->from), x.words[i + 1].p, x.words[i + 1].n);
        else if (word_is(x.words[i], "by") && !h->by[0])
            copy(h->by, sizeof(h->by), x.words[i + 1].p, x.words[i + 1].n);
        else if (word_is(x.words[i], "with") && with_at < 0)
            with_at = i + 1;
        else if (word_is(x.words[i], "tls") && tls_word < 0)
            tls_word = i + 1;
    }
    if (with_at >= 0) {
        /* "with Microsoft SMTP Server": the words up to the next clause */
        size_t o = 0;
        for (int i = with_at; i < x.nwords; i++) {
            span_t w = x.words[i];
            if (i > with_at && (word_is(w, "id") || word_is(w, "for") || word_is(w, "via") ||
                                word_is(w, "tls") || word_is(w, "by") || word_is(w, "from")))
                break;
            for (size_t k = 0; k < w.n && o + 2 < sizeof(h->protocol); k++)
                h->protocol[o++] = (char)toupper((unsigned char)w.p[k]);
            if (o + 2 < sizeof(h->protocol))
                h->protocol[o++] = ' ';
            if (!word_is(w, "Microsoft") && !word_is(w, "SMTP") && i == with_at)
                break; /* one keyword is the rule; only Exchange writes several */
        }
        while (o && h->protocol[o - 1] == ' ')
            o--;
        h->protocol[o] = 0;
        for (char *p = h->protocol; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
                *p = '?';
    }
    int details = 0;
    for (int i = 0; i < x.ncomments && !details; i++)
        details = tls_details(x.comments[i], h);
    if (tls_word >= 0 && tls_word < x.nwords) /* Exim 4.9x: ... (TLS1.3) tls SUITE */
        set_cipher(h, x.words[tls_word].p, x.words[tls_word].n), details = 1;
    const char *p = h->protocol;
    size_t pl = strlen(p);
    const char *first_space = strchr(p, ' ');
    size_t kw = first_space ? (size_t)(first_space - p) : pl;
    int smtp_kw = (kw >= 4 && strncmp(p, "SMTP", 4) == 0) || (kw >= 5 && !strncmp(p, "ESMTP", 5)) ||
                  (kw >= 4 && !strncmp(p, "LMTP", 4)) || (kw >= 8 && !strncmp(p, "UTF8SMTP", 8)) ||
                  (kw >= 8 && !strncmp(p, "UTF8LMTP", 8)) || strstr(p, "MICROSOFT SMTP");
    /* LMTP is local delivery, not a hop between MTAs: reported, but not an SMTP hop. */
    h->smtp = smtp_kw && strncmp(p, "LMTP", 4) != 0 && strncmp(p, "UTF8LMTP", 8) != 0;
    int s_suffix =
        smtp_kw && (p[kw - 1] == 'S' || (kw >= 2 && p[kw - 2] == 'S' && p[kw - 1] == 'A'));
    if (details)
        h->encrypted = "yes";
    else if (s_suffix)
        h->encrypted = "yes"; /* RFC 3848: TLS was used; the version is not stated */
    else if (smtp_kw)
        h->encrypted = "no";
    snprintf(h->mta, sizeof(h->mta), "%s", mta_of(&x, h));
}
