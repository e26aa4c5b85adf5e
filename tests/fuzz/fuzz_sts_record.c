/* Fuzz target: the MTA-STS and TLS-RPT TXT readers on arbitrary records: the input is cut at
 * 0xFF bytes into up to eight records of a TXT set (DNS allows every byte inside one). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *txt[8];
    size_t len[8];
    int n = 0;
    const uint8_t *p = data, *end = data + size;
    while (n < 8) {
        const uint8_t *cut = memchr(p, 0xFF, (size_t)(end - p));
        txt[n] = (const char *)p;
        len[n++] = (size_t)((cut ? cut : end) - p);
        if (!cut)
            break;
        p = cut + 1;
    }
    mx_txt_set_t set = {txt, len, n};
    mx_sts_txt_t out;
    mx_sts_txt_read(&set, &out);
    if (strlen(out.id) > 32 || (strcmp(out.status, "ok") && out.id[0]))
        __builtin_trap(); /* an id only from a valid record, never longer than the grammar's */
    mx_tlsrpt_txt_read(&set, &out);
    if (strlen(out.rua) > 255 || (!strcmp(out.status, "ok") && !out.rua_count))
        __builtin_trap(); /* a valid TLS-RPT record has a reporting URI */
    return 0;
}
