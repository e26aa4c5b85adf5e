/* Fuzz target: the --allow / --exclude file parser and the CIDR parser on arbitrary bytes:
 * a list, or a refusal with a message; an address the list contains is permitted by it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

#include "memfile.h"
#include "mxtls/netlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64], err[512], text[128];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    mx_prefix_t p;
    memcpy(text, data, n);
    text[n] = 0;
    (void)mx_prefix_parse(text, &p);
    int fd = memfile(data, size, path);
    if (fd < 0)
        return 0;
    mx_netlist_t l;
    memset(&l, 0, sizeof(l));
    err[0] = 0;
    if (mx_netlist_add(&l, path, err, sizeof(err)) < 0 && !err[0])
        __builtin_trap();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    (void)mx_netlist_contains(&l, (struct sockaddr *)&sa);
    mx_netlist_close(&l);
    close(fd);
    return 0;
}
