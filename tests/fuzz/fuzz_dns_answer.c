/* Fuzz target: reading a resolver's answers (src/dns/answer.c) from arbitrary bytes, as an MX
 * answer and as A and AAAA answers: MX hosts sorted by preference, lowercase, without a final
 * dot, NUL-terminated; addresses as text; never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "mxtls/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mx__dns_mx_t *mx;
    int n;
    char addrs[MX_DNS_MAX_ADDRS][46];
    if (size > 65535)
        return 0;
    const char *st = mx__dns_read_mx(data, (int)size, &mx, &n);
    if (st && !strcmp(st, "mx")) {
        for (int i = 0; i < n; i++) {
            size_t len = strnlen(mx[i].host, sizeof(mx[i].host));
            if (len == sizeof(mx[i].host) || (i && mx[i - 1].pref > mx[i].pref) ||
                (len && mx[i].host[len - 1] == '.'))
                __builtin_trap();
            for (size_t k = 0; k < len; k++)
                if (mx[i].host[k] >= 'A' && mx[i].host[k] <= 'Z')
                    __builtin_trap();
        }
        free(mx);
    } else if (mx) {
        __builtin_trap();
    }
    for (int type = 16; type <= 52; type += 36) { /* TXT, TLSA */
        uint8_t out[1024];
        size_t used = 0, walked = 0;
        int k = mx__dns_read_rdata(data, (int)size, type, out, sizeof(out), &used);
        if (used > sizeof(out) || (k < 0 && used) || (k >= 0 && (size_t)k * 2 > used))
            __builtin_trap();
        for (int i = 0; i < k; i++) { /* the records fill what was used, exactly */
            walked += 2 + (size_t)(out[walked] << 8 | out[walked + 1]);
            if (walked > used)
                __builtin_trap();
        }
        if (k >= 0 && walked != used)
            __builtin_trap();
    }
    (void)mx__dns_ad(data, (int)size);
    for (int v6 = 0; v6 < 2; v6++) {
        int got = mx__dns_read_addrs(data, (int)size, v6, addrs, MX_DNS_MAX_ADDRS);
        if (got < 0 || got > MX_DNS_MAX_ADDRS)
            __builtin_trap();
        for (int i = 0; i < got; i++)
            if (!memchr(addrs[i], 0, sizeof(addrs[i])))
                __builtin_trap();
    }
    return 0;
}
