/* The MTA-STS and TLS-RPT TXT records (mxtls/sts.h). Both share one shape: a version tag, then
 * "; name=value" fields, RFC 8461 section 3.1 and RFC 8460 section 3; only the fields differ.
 * A record is read as bytes with its length: DNS hands over anything, NUL bytes included. */
#include "mxtls/sts.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *p, *end;
} cur_t;

static int is_wsp(char c) {
    return c == ' ' || c == '\t';
}

static int is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void skip_wsp(cur_t *c) {
    while (c->p < c->end && is_wsp(*c->p))
        c->p++;
}

/* The field name at C (ALPHA / DIGIT, then up to 31 of those and "_-."), through its "=".
 * Returns its length, or 0 when there is none. */
static size_t field_name(cur_t *c, const char **name) {
    const char *s = c->p;
    if (s >= c->end || !is_alnum(*s))
        return 0;
    while (c->p < c->end && (is_alnum(*c->p) || *c->p == '_' || *c->p == '-' || *c->p == '.'))
        c->p++;
    size_t n = (size_t)(c->p - s);
    if (n > 32 || c->p >= c->end || *c->p != '=')
        return 0;
    c->p++;
    *name = s;
    return n;
}

/* An extension's value: one or more visible characters but ";" and "=". */
static int ext_value(cur_t *c) {
    const char *s = c->p;
    while (c->p<c->end && * c->p> 0x20 && *c->p < 0x7F && *c->p != ';' && *c->p != '=')
        c->p++;
    return c->p > s;
}

/* A reporting URI (RFC 8460: mailto: or https:), ending at WSP, "," or ";". */
static int rua_uri(cur_t *c, mx_sts_txt_t *out) {
    const char *s = c->p;
    while (c->p<c->end && * c->p> 0x20 && *c->p < 0x7F && *c->p != ';' && *c->p != ',')
        c->p++;
    size_t n = (size_t)(c->p - s);
    const char *at = n > 7 ? memchr(s + 7, '@', n - 7) : NULL;
    int ok = (n > 7 && !strncmp(s, "mailto:", 7) && at && at > s + 7 && at < s + n - 1) ||
             (n > 8 && !strncmp(s, "https://", 8));
    if (ok && !out->rua_count++)
        snprintf(out->rua, sizeof(out->rua), "%.*s", (int)(n < 255 ? n : 255), s);
    return ok;
}

/* One field of the record at C into OUT; STS: MTA-STS (id), else TLS-RPT (rua). Counts the
 * record's ids or rua fields in *KEY. Returns 1, or 0 when the field breaks the grammar. */
static int field(cur_t *c, int sts, mx_sts_txt_t *out, int *key) {
    const char *name;
    size_t n = field_name(c, &name);
    if (!n)
        return 0;
    if (sts && n == 2 && !strncmp(name, "id", 2)) {
        const char *s = c->p;
        while (c->p < c->end && is_alnum(*c->p))
            c->p++;
        size_t len = (size_t)(c->p - s);
        if (!len || len > 32)
            return 0;
        if (!(*key)++)
            snprintf(out->id, sizeof(out->id), "%.*s", (int)len, s);
        return 1;
    }
    if (!sts && n == 3 && !strncmp(name, "rua", 3)) {
        (*key)++;
        if (!rua_uri(c, out))
            return 0;
        for (;;) {
            cur_t look = *c;
            skip_wsp(&look);
            if (look.p >= look.end || *look.p != ',')
                return 1;
            look.p++;
            skip_wsp(&look);
            *c = look;
            if (!rua_uri(c, out))
                return 0;
        }
    }
    return ext_value(c);
}

/* Whether the record of LEN bytes at S obeys the grammar after its version tag VERSION, with
 * exactly one key field (id, rua). */
static int record_ok(const char *s, size_t len, const char *version, int sts, mx_sts_txt_t *out) {
    cur_t c = {s + strlen(version), s + len};
    int fields = 0, key = 0;
    for (;;) {
        skip_wsp(&c);
        if (c.p >= c.end)
            break;
        if (*c.p != ';')
            return 0;
        c.p++;
        skip_wsp(&c);
        if (c.p >= c.end)
            break; /* a trailing ";" */
        if (!field(&c, sts, out, &key))
            return 0;
        fields++;
    }
    return fields > 0 && key == 1;
}

/* Whether the record begins with VERSION as a whole tag (not "v=STSv10"). */
static int tagged(const char *s, size_t len, const char *version) {
    size_t v = strlen(version);
    return len >= v && !memcmp(s, version, v) && (len == v || is_wsp(s[v]) || s[v] == ';');
}

static void read_set(const mx_txt_set_t *set, const char *version, int sts, mx_sts_txt_t *out) {
    int found = -1, count = 0;
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < set->n; i++)
        if (tagged(set->txt[i], set->len[i], version)) {
            found = i;
            count++;
        }
    if (!count) {
        out->status = "none";
        return;
    }
    if (count > 1) {
        out->status = "multiple";
        return;
    }
    int ok = record_ok(set->txt[found], set->len[found], version, sts, out);
    if (!ok) {
        out->id[0] = out->rua[0] = 0;
        out->rua_count = 0;
    }
    out->status = ok ? "ok" : "invalid";
}

void mx_sts_txt_read(const mx_txt_set_t *set, mx_sts_txt_t *out) {
    read_set(set, "v=STSv1", 1, out);
}

void mx_tlsrpt_txt_read(const mx_txt_set_t *set, mx_sts_txt_t *out) {
    read_set(set, "v=TLSRPTv1", 0, out);
}
