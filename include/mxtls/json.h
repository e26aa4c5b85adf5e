/* JSON, written and read. The builder's output is valid JSON for any input bytes (strings are
 * escaped, and invalid UTF-8 is replaced by U+FFFD), so the manifest never breaks a consumer.
 * The reader parses a whole document (a manifest, a few KiB) into a tree of values, strictly
 * (RFC 8259), with bounds on depth and size, for files that a person or a crash may have
 * damaged. */
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

/* ---- reading ---- */

typedef enum {
    MX_JSON_NULL,
    MX_JSON_BOOL,
    MX_JSON_NUM,
    MX_JSON_STR,
    MX_JSON_ARR,
    MX_JSON_OBJ
} mx_json_type_t;

typedef struct mx_json_value mx_json_value_t;
struct mx_json_value {
    mx_json_type_t type;
    double num;           /* NUM; BOOL: 0 or 1 */
    char *str;            /* STR: the decoded text (NUL-terminated; a \u0000 ends it early) */
    char *key;            /* the member's name inside an object */
    mx_json_value_t *kid; /* ARR, OBJ: the first element or member */
    mx_json_value_t *next;
};

#define MX_JSON_MAX_DEPTH 64

/* Parses LEN bytes at TEXT. Returns the root (free it with mx_json_value_free()), or NULL with
 * a one-line reason in ERR (the byte offset where it failed). */
mx_json_value_t *mx_json_parse(const char *text, size_t len, char *err, size_t errlen);
void mx_json_value_free(mx_json_value_t *v);

/* The member KEY of object V; NULL when V is not an object or has no such member. */
const mx_json_value_t *mx_json_get(const mx_json_value_t *v, const char *key);

/* The string of V, or NULL when V is not a string (NULL is allowed). */
const char *mx_json_string(const mx_json_value_t *v);

#endif
