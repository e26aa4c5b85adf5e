/* Sanitising and formatting of record fields (mxtls/writer.h).
 *
 * Everything in a row may come from a hostile server, so the row is made safe here, once, for
 * every consumer: a CSV parser (RFC 4180 quoting), a terminal (no control characters), a UTF-8
 * decoder (invalid sequences replaced) and a spreadsheet (no formula can start a field). The
 * cap is applied after replacement, at a character boundary, and includes the ' prefix. */
#include "mxtls/writer.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at S (at most LEN bytes), or 0 when invalid. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid (RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t len) {
    unsigned char c = s[0];
    size_t n;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static size_t sanitize(mx_column_t col, const char *str, size_t len, int guard, char *out) {
    const unsigned char *s = (const unsigned char *)str;
    size_t cap = mx_column_cap(col), o = 0, i = 0;
    unsigned items = mx_column_items(col), seen = 1;
    if (guard && len && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
        out[o++] = '\'';
    while (i < len) {
        size_t n = utf8_len(s + i, len - i), skip = 1;
        /* C0, DEL, and C1 (U+0080-U+009F, C2 80-C2 9F): terminals act on all three. */
        if ((n == 1 && (s[i] < 0x20 || s[i] == 0x7F)) ||
            (n == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0))
            skip = n, n = 0;
        if (items && s[i] == '|' && ++seen > items)
            break;
        if (o + (n ? n : 1) > cap)
            break;
        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            out[o++] = '?';
            i += skip;
        }
    }
    out[o] = 0;
    return o;
}

size_t mx_field_sanitize(mx_column_t col, const char *str, size_t len, char *out) {
    return sanitize(col, str, len, 1, out);
}

size_t mx_record_format(const mx_record_t *rec, uint64_t columns, char *buf, size_t cap) {
    char field[MX_FIELD_MAX + 1];
    size_t o = 0;
    int first = 1;
    if (cap < MX_ROW_MAX)
        return 0;
    for (int c = 0; c < MX_COL__COUNT; c++) {
        if (!(columns & (1ull << c)))
            continue;
        const char *v = mx_record_get(rec, (mx_column_t)c);
        size_t n = sanitize((mx_column_t)c, v, strlen(v), !(columns & MX_FORMAT_PLAIN), field);
        if (!first)
            buf[o++] = ',';
        first = 0;
        if (strpbrk(field, ",\"")) {
            buf[o++] = '"';
            for (size_t i = 0; i < n; i++) {
                if (field[i] == '"')
                    buf[o++] = '"';
                buf[o++] = field[i];
            }
            buf[o++] = '"';
        } else {
            memcpy(buf + o, field, n);
            o += n;
        }
    }
    buf[o++] = '\n';
    return o;
}
