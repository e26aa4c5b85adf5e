/* The JSON reader (mxtls/json.h): recursive descent over a bounded depth. Numbers are read by
 * strtod after their RFC 8259 shape is checked; strings are decoded to UTF-8, with surrogate
 * pairs joined and lone surrogates refused. */
#include "mxtls/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
} parser_t;

static mx_json_value_t *value(parser_t *ps, int depth);

static void *bad(parser_t *ps, const char *what) {
    if (ps->err[0] == 0)
        snprintf(ps->err, ps->errlen, "%s at byte %ld", what, (long)(ps->p - ps->start));
    return NULL;
}

static void skip_ws(parser_t *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int literal(parser_t *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return 0;
    ps->p += n;
    return 1;
}

static int hex4(parser_t *ps, unsigned *out) {
    unsigned v = 0;
    if (ps->end - ps->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A \u escape (after the 'u'), a surrogate pair joined; the code point, or -1. */
static long unicode_escape(parser_t *ps) {
    unsigned cp, lo;
    if (hex4(ps, &cp) < 0)
        return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
            return -1;
        ps->p += 2;
        if (hex4(ps, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return -1;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return (long)cp;
}

/* A string (after its opening quote), decoded into a new buffer. */
static char *string(parser_t *ps) {
    const char *q = ps->p;
    while (q < ps->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    char *out = malloc((size_t)(q - ps->p) + 1), *o = out; /* decoding never grows it */
    if (!out)
        return bad(ps, "out of memory");
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) {
            free(out);
            return bad(ps, "control character in a string");
        }
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (ps->p >= ps->end)
            break;
        char e = *ps->p++;
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *k = strchr(from, e);
        long cp;
        if (e && k) {
            *o++ = to[k - from];
        } else if (e == 'u' && (cp = unicode_escape(ps)) >= 0) {
            o += put_utf8(o, (unsigned)cp);
        } else {
            free(out);
            return bad(ps, "bad escape in a string");
        }
    }
    if (ps->p >= ps->end) {
        free(out);
        return bad(ps, "unterminated string");
    }
    ps->p++;
    *o = 0;
    return out;
}

static int number(parser_t *ps, double *out) {
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return -1;
    if (*ps->p == '0')
        ps->p++;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        if (++ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return -1;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        if (++ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return -1;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char buf[64];
    size_t n = (size_t)(ps->p - s);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1; /* digits past 63 do not change a double */
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return 0;
}

/* The elements of an array or the members of an object (after the opening bracket). */
static mx_json_value_t *items(parser_t *ps, mx_json_value_t *v, int depth, char close) {
    mx_json_value_t **tail = &v->kid;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (close == '}') {
            if (ps->p >= ps->end || *ps->p != '"' || (ps->p++, !(key = string(ps))))
                return bad(ps, "expected a member name");
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return bad(ps, "expected ':'");
            }
            ps->p++;
        }
        mx_json_value_t *kid = value(ps, depth + 1);
        if (!kid) {
            free(key);
            return NULL;
        }
        kid->key = key;
        *tail = kid;
        tail = &kid->next;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        return bad(ps, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static mx_json_value_t *value(parser_t *ps, int depth) {
    if (depth > MX_JSON_MAX_DEPTH)
        return bad(ps, "nested too deeply");
    skip_ws(ps);
    if (ps->p >= ps->end)
        return bad(ps, "unexpected end");
    mx_json_value_t *v = calloc(1, sizeof(*v));
    if (!v)
        return bad(ps, "out of memory");
    char c = *ps->p;
    int ok = 1;
    if (c == '{' || c == '[') {
        ps->p++;
        v->type = c == '{' ? MX_JSON_OBJ : MX_JSON_ARR;
        ok = items(ps, v, depth, c == '{' ? '}' : ']') != NULL;
    } else if (c == '"') {
        ps->p++;
        v->type = MX_JSON_STR;
        ok = (v->str = string(ps)) != NULL;
    } else if (literal(ps, "true")) {
        v->type = MX_JSON_BOOL;
        v->num = 1;
    } else if (literal(ps, "false")) {
        v->type = MX_JSON_BOOL;
    } else if (literal(ps, "null")) {
        v->type = MX_JSON_NULL;
    } else {
        v->type = MX_JSON_NUM;
        if (number(ps, &v->num) < 0)
            ok = bad(ps, "not a JSON value") != NULL;
    }
    if (!ok) {
        mx_json_value_free(v);
        return NULL;
    }
    return v;
}

mx_json_value_t *mx_json_parse(const char *text, size_t len, char *err, size_t errlen) {
    parser_t ps = {text, text + len, text, err, errlen};
    err[0] = 0;
    mx_json_value_t *v = value(&ps, 0);
    skip_ws(&ps);
    if (v && ps.p != ps.end) {
        mx_json_value_free(v);
        return bad(&ps, "text after the value");
    }
    return v;
}

void mx_json_value_free(mx_json_value_t *v) {
    while (v) {
        mx_json_value_t *next = v->next;
        mx_json_value_free(v->kid);
        free(v->str);
        free(v->key);
        free(v);
        v = next;
    }
}

const mx_json_value_t *mx_json_get(const mx_json_value_t *v, const char *key) {
    if (!v || v->type != MX_JSON_OBJ)
        return NULL;
    for (const mx_json_value_t *k = v->kid; k; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

const char *mx_json_string(const mx_json_value_t *v) {
    return v && v->type == MX_JSON_STR ? v->str : NULL;
}
