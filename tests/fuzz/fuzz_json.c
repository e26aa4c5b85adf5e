/* Fuzz target: the JSON reader (manifests) on arbitrary bytes, then the manifest reader on the
 * same bytes as a file: a tree whose strings and keys are NUL-terminated, or a reason; never a
 * crash, and nothing deeper than MX_JSON_MAX_DEPTH. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memfile.h"
#include "mxtls/json.h"
#include "mxtls/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int depth(const mx_json_value_t *v) {
    int d = 0;
    for (const mx_json_value_t *k = v->kid; k; k = k->next) {
        int kd = depth(k);
        if (k->type == MX_JSON_STR && !k->str)
            __builtin_trap();
        d = kd > d ? kd : d;
    }
    return d + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256], path[64];
    err[0] = 0;
    mx_json_value_t *root = mx_json_parse((const char *)data, size, err, sizeof(err));
    if (root) {
        if (depth(root) > MX_JSON_MAX_DEPTH + 1)
            __builtin_trap();
        mx_json_value_free(root);
    } else if (!err[0]) {
        __builtin_trap(); /* a refusal always says why */
    }
    int fd = memfile(data, size, path);
    if (fd >= 0) {
        mx_manifest_t m;
        memset(&m, 0, sizeof(m));
        mx_manifest_read(path, &m, err, sizeof(err));
        if (m.nruns > MX_MANIFEST_MAX_RUNS)
            __builtin_trap();
        close(fd);
    }
    return 0;
}
