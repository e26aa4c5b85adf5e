/* Component versions (mxtls/version.h): the run-time versions of shared libraries, since those
 * are what produced the data, and the compiled-in mbedTLS. */
#include "mxtls/version.h"

#include <stdio.h>

#include <ares.h>
#include <mbedtls/version.h>
#include <uv.h>
#include <zlib.h>

#include "mxtls/record.h"

static const char *curves = "mbedTLS";

void mx_versions_set_curves(const char *name) {
    curves = name;
}

static void mbedtls_version(char *buf) {
    mbedtls_version_get_string(buf); /* needs 9 bytes */
}

void mx_versions_text(char *buf, unsigned long size) {
    char mb[16];
    mbedtls_version(mb);
    snprintf(buf, size,
             "mxtls %s\nschema %s\nmbedtls %s (%s)\ncurves %s\nc-ares %s\nlibuv %s\nzlib %s\n",
             MXTLS_VERSION, MX_SCHEMA_NAME, mb, MXTLS_MBEDTLS_VERSION, curves, ares_version(NULL),
             uv_version_string(), zlibVersion());
}

void mx_versions_json(mx_json_t *j) {
    char mb[16];
    mbedtls_version(mb);
    mx_json_object(j, "versions");
    mx_json_str(j, "mxtls", MXTLS_VERSION);
    mx_json_str(j, "mbedtls", mb);
    mx_json_str(j, "mbedtls_source", MXTLS_MBEDTLS_VERSION);
    mx_json_str(j, "curves", curves);
    mx_json_str(j, "c-ares", ares_version(NULL));
    mx_json_str(j, "libuv", uv_version_string());
    mx_json_str(j, "zlib", zlibVersion());
    mx_json_end_object(j);
}
