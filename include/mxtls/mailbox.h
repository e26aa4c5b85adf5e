/* Messages from a file: one RFC 5322 message (.eml), or an mbox of many ("From " lines at the
 * start of a message), plain or gzip, or standard input. Only what mxtls received needs is
 * kept: the Received headers (unfolded), Message-ID and Date; bodies are skipped as they
 * stream by, so memory does not grow with the file. */
#ifndef MXTLS_MAILBOX_H
#define MXTLS_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#define MX_MAILBOX_HEADER_MAX 16384  /* bytes of one header kept; the rest is counted as cut */
#define MX_MAILBOX_RECEIVED_MAX 1000 /* Received headers kept per message */

typedef struct {
    unsigned long index; /* 1-based within the file */
    uint64_t offset;     /* byte offset (uncompressed) where the message starts */
    char message_id[256], date[128];
    int nreceived;
    char *received[MX_MAILBOX_RECEIVED_MAX]; /* newest first, as in the header */
    unsigned long received_dropped;          /* beyond MX_MAILBOX_RECEIVED_MAX */
    unsigned long headers_cut;               /* headers longer than MX_MAILBOX_HEADER_MAX */
} mx_message_t;

typedef struct mx_mailbox mx_mailbox_t;

/* Opens PATH ("-": standard input). Returns 0 or a negative errno / MX_E_NOMEM. */
int mx_mailbox_open(mx_mailbox_t **out, const char *path);

/* The next message (valid until the next call). Returns 1, 0 at the end, or MX_E_TRUNCATED /
 * MX_E_CORRUPT (binary data) with mx_mailbox_error() saying where; the messages before stand. */
int mx_mailbox_next(mx_mailbox_t *m, const mx_message_t **msg);

/* What went wrong, with the byte offset. */
const char *mx_mailbox_error(const mx_mailbox_t *m);

void mx_mailbox_free(mx_mailbox_t *m);

#endif
