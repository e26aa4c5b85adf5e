/* A leaf certificate's public key in the form OpenSSL 3.0 encodes fast. */
#ifndef MXTLS_FARM_PUBKEY_H
#define MXTLS_FARM_PUBKEY_H

#include <openssl/evp.h>

/* A copy of KEY's RSA or EC key as a legacy (non-provider) EVP_PKEY, for X509_set_pubkey, or
 * NULL. OpenSSL 3.0 sets a provider key into a certificate by encoding it and decoding it
 * again through a decoder looked up anew each time: 180 us of the 210 a farm leaf cost, a
 * third of the farm's CPU under a scan. A legacy key is encoded directly. */
EVP_PKEY *farm_pubkey_legacy(EVP_PKEY *key);

#endif
