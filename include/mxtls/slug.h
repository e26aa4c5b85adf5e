/* Stable machine ids for the analysis tables' human labels. */
#ifndef MXTLS_SLUG_H
#define MXTLS_SLUG_H

#include <stddef.h>

/* The snake_case id of LABEL into OUT (CAP bytes): ASCII letters lowercased and digits kept,
 * every other run of characters one '_', none at either end ("domains: STARTTLS on every MX"
 * -> "domains_starttls_on_every_mx"; "<" and ">=" become "lt" and "ge", "%" "pct"). Returns
 * OUT. */
char *mx_slug(const char *label, char *out, size_t cap);

#endif
