/* A small JSON text builder: output is valid JSON for any input bytes (strings are escaped, and
 * invalid UTF-8 is replaced by U+FFFD), so the manifest never breaks a consumer. */
#ifndef MXTLS_JSON_H
#define MXTLS_JSON_H

#include <stddef.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int need_comma;
    int nomem;
} mx_json_t;

/* Starts an empty document; the builder owns buf until mx_json_free(). */
void mx_json_init(mx_json_t *j);
void mx_json_free(mx_json_t *j);

/* Structure: KEY may be NULL inside arrays and at the top level. */
void mx_json_object(mx_json_t *j, const char *key);
void mx_json_array(mx_json_t *j, const char *key);
void mx_json_end_object(mx_json_t *j);
void mx_json_end_array(mx_json_t *j);

/* Values; a NULL string is written as null. */
void mx_json_str(mx_json_t *j, const char *key, const char *value);
void mx_json_strn(mx_json_t *j, const char *key, const char *value, size_t len);
void mx_json_int(mx_json_t *j, const char *key, long long value);
void mx_json_bool(mx_json_t *j, const char *key, int value);
/* A number with DECIMALS digits after the point; NaN is written as null. */
void mx_json_num(mx_json_t *j, const char *key, double value, int decimals);

/* 0, or MX_E_NOMEM when any append failed. */
int mx_json_status(const mx_json_t *j);

#endif
