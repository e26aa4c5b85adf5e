/* Fuzz target: the domain-list reader on arbitrary bytes: every item is a valid normalised
 * domain or an invalid line with a reason, and line numbers only grow. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/domain_list.h"
#include "mxtls/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mx_domain_reader_t *r;
    mx_domain_item_t it;
    unsigned long last = 0;
    mx_source_t *src;
    if (mx_source_open_mem(&src, data, size) == 0 && mx_domain_reader_open_source(&r, src) == 0) {
        while (mx_domain_reader_next(r, &it) == 1) {
            if (it.line <= last)
                __builtin_trap();
            last = it.line;
            if (!it.invalid) {
                char again[MX_DOMAIN_MAX + 1];
                if (mx_domain_normalize(it.domain, strlen(it.domain), again) ||
                    strcmp(again, it.domain) != 0)
                    __builtin_trap(); /* normalised names are fixed points */
            } else if (strncmp(it.invalid, "invalid_", 8) != 0) {
                __builtin_trap();
            }
        }
        mx_domain_reader_free(r);
    }
    return 0;
}
