/* Fuzz target: the cleartext TLS handshake parser on arbitrary bytes, whole and byte by byte,
 * with and without keeping the chain: same result, certificates within the message. */
#include <stddef.h>
#include <stdint.h>

#include "mxtls/hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int keep = 0; keep < 2; keep++) {
        mx_hello_t a, b;
        mx_hello_init(&a, keep);
        mx_hello_init(&b, keep);
        int ra = mx_hello_feed(&a, data, size), rb = MX_HELLO_AGAIN;
        for (size_t i = 0; i < size && rb == MX_HELLO_AGAIN; i++)
            rb = mx_hello_feed(&b, data + i, 1);
        if (ra != rb || a.version != b.version || a.cipher != b.cipher || a.group != b.group)
            __builtin_trap();
        for (unsigned c = 0; c < a.ncerts; c++)
            if (!a.certs || a.cert_len[c] > MX_HELLO_MSG_MAX)
                __builtin_trap();
        mx_hello_free(&a);
        mx_hello_free(&b);
    }
    return 0;
}
