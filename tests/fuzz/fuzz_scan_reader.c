/* Fuzz target: the scan-file reader (gzip or plain CSV, any bytes): never crashes, never loops,
 * and every row it returns has columns within the row size limit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mx_reader_t *r;
    mx_record_t rec;
    int rc;
    if (mx_reader_open_mem(&r, data, size))
        return 0;
    unsigned long rows = 0;
    while ((rc = mx_reader_next(r, &rec)) == 1) {
        for (int c = 0; c < MX_COL__COUNT; c++)
            if (strlen(mx_record_get(&rec, c)) > MX_READER_ROW_MAX)
                __builtin_trap();
        /* Deflate expands at most 1032:1; more rows than that many bytes would be a loop. */
        if (++rows > 1032 * size + 1)
            __builtin_trap();
    }
    mx_reader_free(r);
    return 0;
}
