/* Fuzz target: the SMTP reply parser and EHLO capability parser on arbitrary bytes, fed whole
 * and in two pieces; any reply found is taken apart line by line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    size_t off = 0;
    while (off < size) {
        mx_reply_t r, split;
        mx_reply_init(&r);
        mx_reply_init(&split);
        int rc = mx_reply_parse(&r, buf + off, size - off);
        int rc2 = mx_reply_parse(&split, buf + off, (size - off) / 2);
        if (rc2 == MX_REPLY_AGAIN)
            rc2 = mx_reply_parse(&split, buf + off, size - off);
        if (rc != rc2 && !(rc2 == MX_REPLY_DONE && rc == MX_REPLY_DONE))
            __builtin_trap(); /* the result must not depend on how the bytes arrived */
        if (rc != MX_REPLY_DONE)
            break;
        char caps[512];
        int64_t sz;
        const char *t;
        size_t n;
        for (unsigned i = 0; i < r.lines; i++)
            if (mx_reply_line(&r, buf + off, i, &t, &n) != 0 || t + n > buf + size)
                __builtin_trap();
        mx_ehlo_caps(&r, buf + off, caps, sizeof(caps), &sz);
        if (strlen(caps) >= sizeof(caps) || r.end == 0)
            __builtin_trap();
        off += r.end;
    }
    return 0;
}
