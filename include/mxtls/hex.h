/* Lowercase hex of bytes, as the schema writes fingerprints and the manifest hashes. */
#ifndef MXTLS_HEX_H
#define MXTLS_HEX_H

#include <stddef.h>

/* Writes 2 * N hex digits and a NUL to OUT. */
void mx_hex(const unsigned char *data, size_t n, char *out);

#endif
