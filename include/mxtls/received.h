/* One Received header (RFC 5321 4.4, RFC 5322 3.6.7) read for what it says about the hop: who
 * handed the message to whom, with which protocol, and whether the hop was encrypted, with
 * which TLS version and cipher. A pure function over bytes: headers are hostile input. */
#ifndef MXTLS_RECEIVED_H
#define MXTLS_RECEIVED_H

#include <stddef.h>

typedef struct {
    char from[256];        /* host after "from" (empty when absent) */
    char by[256];          /* host after "by" */
    char protocol[64];     /* the "with" keyword, uppercase (ESMTPS, SMTP, LMTP, HTTP, LOCAL ...) */
    const char *encrypted; /* "yes", "no" or "unknown" */
    char version[16];      /* TLSv1.3, TLSv1.2, TLSv1.1, TLSv1.0, SSLv3; empty when not stated */
    char cipher[128];      /* IANA name when the spelling maps to one suite, else as written */
    char mta[32];          /* Postfix, Exim, Microsoft Exchange, Gmail, Sendmail, OpenSMTPD ... */
    int smtp;              /* the protocol is SMTP of some kind (ESMTP*, SMTP, UTF8SMTP*, LMTP) */
} mx_hop_t;

/* Reads the header VALUE (LEN bytes, unfolded or not) into HOP. Anything not understood leaves
 * its field empty and the hop "unknown": never a guess. */
void mx_received_parse(const char *value, size_t len, mx_hop_t *hop);

/* "TLSv1.3" for TLSv1.3, TLS1.3, TLS1_3, TLSv1_3; "TLSv1.0" for TLSv1, TLS1.0 ...; "SSLv3".
 * Empty when S is none of these. */
void mx_tls_version_normalize(const char *s, size_t len, char *out, size_t cap);

#endif
