/* Fuzz target: the Received-header parser on arbitrary bytes: every field NUL-terminated within
 * its buffer, the verdict fields one of their tokens. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mxtls/received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mx_hop_t hop;
    memset(&hop, 0x55, sizeof(hop));
    mx_received_parse((const char *)data, size, &hop);
    if (!memchr(hop.from, 0, sizeof(hop.from)) || !memchr(hop.by, 0, sizeof(hop.by)) ||
        !memchr(hop.protocol, 0, sizeof(hop.protocol)) ||
        !memchr(hop.version, 0, sizeof(hop.version)) ||
        !memchr(hop.cipher, 0, sizeof(hop.cipher)) || !memchr(hop.mta, 0, sizeof(hop.mta)))
        __builtin_trap();
    if (strcmp(hop.encrypted, "yes") && strcmp(hop.encrypted, "no") &&
        strcmp(hop.encrypted, "unknown"))
        __builtin_trap();
    return 0;
}
