/* Farm public keys for certificates (pubkey.h). The legacy key API is deprecated in OpenSSL
 * 3.0; this file alone asks for the 1.1.1 API, and the farm's keys are made and saved with the
 * current one. */
#define OPENSSL_API_COMPAT 10101

#include "farm/pubkey.h"

#include <openssl/ec.h>
#include <openssl/rsa.h>

EVP_PKEY *farm_pubkey_legacy(EVP_PKEY *key) {
    EVP_PKEY *out = EVP_PKEY_new();
    if (!out)
        return NULL;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        RSA *rsa = EVP_PKEY_get1_RSA(key);
        if (rsa && EVP_PKEY_assign_RSA(out, rsa))
            return out;
        RSA_free(rsa);
    } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        EC_KEY *ec = EVP_PKEY_get1_EC_KEY(key);
        if (ec && EVP_PKEY_assign_EC_KEY(out, ec))
            return out;
        EC_KEY_free(ec);
    }
    EVP_PKEY_free(out);
    return NULL;
}
