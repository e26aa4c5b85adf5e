/* Versions of mxtls and the libraries it runs with, for --version and the manifest. */
#ifndef MXTLS_VERSION_H
#define MXTLS_VERSION_H

#include "mxtls/json.h"

/* Writes "name version" lines, one per component, into BUF. */
void mx_versions_text(char *buf, unsigned long size);

/* Adds a "versions" object to J. */
void mx_versions_json(mx_json_t *j);

/* Names the curve arithmetic in use ("mbedTLS" until set; mx_crypto_init sets it). */
void mx_versions_set_curves(const char *name);

#endif
