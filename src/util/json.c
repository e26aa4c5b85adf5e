/* JSON text builder (mxtls/json.h). */
#include "mxtls/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/error.h"

static void put(mx_json_t *j, const char *s, size_t n) {
    if (j->nomem)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *b = realloc(j->buf, cap);
        if (!b) {
            j->nomem = 1;
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

static void puts_(mx_json_t *j, const char *s) {
    put(j, s, strlen(s));
}

static void quoted(mx_json_t *j, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    put(j, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(j, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(j, esc, 6);
            i++;
        } else if (c < 0x80) {
            put(j, (const char *)p + i, 1);
            i++;
        } else {
            /* Pass valid UTF-8 through; replace anything else. */
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
            int ok = len && i + len <= n && c <= 0xF4;
            for (size_t k = 1; ok && k < len; k++)
                ok = (p[i + k] & 0xC0) == 0x80;
            if (ok && len == 3 &&
                ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] >= 0xA0)))
                ok = 0;
            if (ok && len == 4 &&
                ((c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] >= 0x90)))
                ok = 0;
            if (ok) {
                put(j, (const char *)p + i, len);
                i += len;
            } else {
                put(j, "\\ufffd", 6);
                i++;
            }
        }
    }
    put(j, "\"", 1);
}

static void prefix(mx_json_t *j, const char *key) {
    if (j->need_comma)
        put(j, ",", 1);
    if (key) {
        quoted(j, key, strlen(key));
        put(j, ":", 1);
    }
    j->need_comma = 1;
}

void mx_json_init(mx_json_t *j) {
    memset(j, 0, sizeof(*j));
}

void mx_json_free(mx_json_t *j) {
    free(j->buf);
    memset(j, 0, sizeof(*j));
}

void mx_json_object(mx_json_t *j, const char *key) {
    prefix(j, key);
    put(j, "{", 1);
    j->need_comma = 0;
}

void mx_json_array(mx_json_t *j, const char *key) {
    prefix(j, key);
    put(j, "[", 1);
    j->need_comma = 0;
}

void mx_json_end_object(mx_json_t *j) {
    put(j, "}", 1);
    j->need_comma = 1;
}

void mx_json_end_array(mx_json_t *j) {
    put(j, "]", 1);
    j->need_comma = 1;
}

void mx_json_strn(mx_json_t *j, const char *key, const char *value, size_t len) {
    prefix(j, key);
    if (value)
        quoted(j, value, len);
    else
        puts_(j, "null");
}

void mx_json_str(mx_json_t *j, const char *key, const char *value) {
    mx_json_strn(j, key, value, value ? strlen(value) : 0);
}

void mx_json_int(mx_json_t *j, const char *key, long long value) {
    char num[32];
    prefix(j, key);
    snprintf(num, sizeof(num), "%lld", value);
    puts_(j, num);
}

void mx_json_num(mx_json_t *j, const char *key, double value, int decimals) {
    char num[64];
    prefix(j, key);
    if (value != value) /* NaN has no JSON form */
        snprintf(num, sizeof(num), "null");
    else
        snprintf(num, sizeof(num), "%.*f", decimals, value);
    puts_(j, num);
}

void mx_json_bool(mx_json_t *j, const char *key, int value) {
    prefix(j, key);
    puts_(j, value ? "true" : "false");
}

int mx_json_status(const mx_json_t *j) {
    return j->nomem ? MX_E_NOMEM : 0;
}
