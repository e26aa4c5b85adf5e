/* Fuzz target: the MTA-STS policy parser on arbitrary bodies (a policy host is any web
 * server), then its patterns matched against host names taken from the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mx_sts_policy_t p; /* 16 KiB: not on the fuzzer's stack */
    mx_sts_policy_parse((const char *)data, size, &p);
    if (p.nmx < 0 || p.nmx > MX_STS_MAX_MX || p.max_age > 31557600)
        __builtin_trap();
    if (!strcmp(p.status, "ok") && p.mode != MX_STS_NONE && !p.nmx)
        __builtin_trap(); /* a usable policy names its MX hosts */
    char host[64];
    size_t n = size < sizeof(host) - 1 ? size : sizeof(host) - 1;
    memcpy(host, data, n);
    host[n] = 0;
    (void)mx_sts_policy_allows(&p, host);
    for (int i = 0; i < p.nmx; i++) /* each kept pattern is a host name, or "*." and one */
        if (!p.mx[i][0] || strlen(p.mx[i]) > 255 ||
            (p.mx[i][0] != '*' && !mx_sts_mx_match(p.mx[i], p.mx[i])))
            __builtin_trap();
    return 0;
}
