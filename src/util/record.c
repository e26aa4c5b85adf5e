/* Column table of the scan record (mxtls/record.h). */
#include "mxtls/record.h"

#include <string.h>

static const struct {
    const char *name;
    size_t cap;
    unsigned items;
    mx_column_type_t type;
} columns[] = {
#define X(id, name, cap, items, type) {name, (cap) ? (cap) : MX_FIELD_MAX, items, MX_TYPE_##type},
    MX_COLUMNS(X)
#undef X
};

const char *mx_column_name(mx_column_t col) {
    return columns[col].name;
}

mx_column_type_t mx_column_type(mx_column_t col) {
    return columns[col].type;
}

int mx_column_find(const char *name, size_t len) {
    for (int i = 0; i < MX_COL__COUNT; i++)
        if (strlen(columns[i].name) == len && memcmp(columns[i].name, name, len) == 0)
            return i;
    return -1;
}

size_t mx_column_cap(mx_column_t col) {
    return columns[col].cap;
}

unsigned mx_column_items(mx_column_t col) {
    return columns[col].items;
}

static const char *const conn_names[] = {
#define X(id, name) name,
    MX_CONN_VALUES(X)
#undef X
};

static const char *const tls_names[] = {
#define X(id, name) name,
    MX_TLS_VALUES(X)
#undef X
};

const char *mx_conn_name(mx_conn_t v) {
    return conn_names[v];
}

const char *mx_tls_name(mx_tls_t v) {
    return tls_names[v];
}
