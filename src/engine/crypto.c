/* The process's cryptography (mxtls/crypto.h). */
#include "mxtls/crypto.h"

#include <stdlib.h>
#include <string.h>

#include "mxtls/fast_ec.h"
#include "mxtls/version.h"

void mx_crypto_init(void) {
    const char *curves = getenv("MXTLS_CURVES");
    mx_fast_ec_enable(!(curves && strcmp(curves, "mbedtls") == 0));
    mx_versions_set_curves(mx_fast_ec_backend());
}
