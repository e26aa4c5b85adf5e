/* Fuzz target: the mbox / .eml reader on arbitrary bytes (gzip or not): messages in order, each
 * with at most MX_MAILBOX_RECEIVED_MAX Received headers of at most MX_MAILBOX_HEADER_MAX bytes,
 * and an end or an error, never more. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memfile.h"
#include "mxtls/mailbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = memfile(data, size, path);
    mx_mailbox_t *m;
    const mx_message_t *msg;
    unsigned long last = 0;
    if (fd < 0)
        return 0;
    if (mx_mailbox_open(&m, path) == 0) {
        while (mx_mailbox_next(m, &msg) == 1) {
            if (msg->index != last + 1 || msg->nreceived > MX_MAILBOX_RECEIVED_MAX)
                __builtin_trap();
            last = msg->index;
            for (int i = 0; i < msg->nreceived; i++)
                if (strlen(msg->received[i]) > MX_MAILBOX_HEADER_MAX)
                    __builtin_trap();
        }
        mx_mailbox_free(m);
    }
    close(fd);
    return 0;
}
