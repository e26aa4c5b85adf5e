/* Fuzz target: TLSA records and a certificate chain, both from the same bytes, judged as DANE
 * for SMTP. The input's first byte says how many of the following 0xFF-separated pieces are
 * TLSA RDATA (the rest are DER certificates, the server's first); its low bit, whether the
 * records came validated. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/dane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    int nrec = (data[0] >> 1) % 5, secure = data[0] & 1, nt = 0, nc = 0;
    mx_tlsa_t recs[4] = {{0}};
    const uint8_t *der[4];
    size_t len[4];
    const uint8_t *p = data + 1, *end = data + size;
    for (int piece = 0; piece < 8 && p <= end; piece++) {
        const uint8_t *cut = memchr(p, 0xFF, (size_t)(end - p));
        size_t n = (size_t)((cut ? cut : end) - p);
        if (piece < nrec) {
            if (nt < 4 && mx_tlsa_parse(p, n, &recs[nt]) == 0)
                nt++;
        } else if (nc < 4) {
            der[nc] = p;
            len[nc++] = n;
        }
        if (!cut)
            break;
        p = cut + 1;
    }
    mx_chain_t chain = {der, len, nc};
    const char *r = mx_dane_check(recs, nt, secure, &chain, "mx.example.test");
    if (strcmp(r, "none") && strcmp(r, "insecure") && strcmp(r, "unusable") && strcmp(r, "match") &&
        strcmp(r, "mismatch"))
        __builtin_trap();
    if (!nt != !strcmp(r, "none") || (nt && !secure && strcmp(r, "insecure")))
        __builtin_trap();
    return 0;
}
