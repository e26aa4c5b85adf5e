/* Fuzz target: the certificate summary (the cert_* columns) of a chain made from arbitrary
 * bytes: the input is cut into certificates by two-byte big-endian lengths, each parsed as DER
 * by mbedTLS as the handshake would, and the chain summarised for a host name taken from the
 * first bytes. Every text field ends within its buffer; never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mxtls/tls.h"
#include "tls/tls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mx_tls_config_t *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256], host[64];
    if (!cfg && mx_tls_config_new(&cfg, NULL, err, sizeof(err)) < 0)
        return 0;
    size_t hl = size && data[0] < sizeof(host) ? data[0] : 0;
    if (1 + hl > size)
        return 0;
    memcpy(host, data + 1, hl);
    host[hl] = 0;
    mbedtls_x509_crt chain;
    mbedtls_x509_crt_init(&chain);
    for (size_t o = 1 + hl; o + 2 <= size;) {
        size_t n = (size_t)data[o] << 8 | data[o + 1];
        o += 2;
        if (n > size - o)
            n = size - o;
        (void)mbedtls_x509_crt_parse_der(&chain, data + o, n);
        o += n;
    }
    mx_cert_summary_t *s = mx__tls_summarize(cfg, &chain, host);
    if (s) {
        if (!s->cn || !s->san || !s->issuer || !memchr(s->key, 0, sizeof(s->key)) ||
            !memchr(s->sig, 0, sizeof(s->sig)) || !memchr(s->valid, 0, sizeof(s->valid)) ||
            strlen(s->cn) > 256 || strlen(s->san) > 1023 || strlen(s->issuer) > 511)
            __builtin_trap();
        free(s);
    }
    mbedtls_x509_crt_free(&chain);
    return 0;
}
