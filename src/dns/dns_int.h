/* Inside the DNS stage: reading answers, apart from the queries, so that the bytes a resolver
 * sends (every byte of them hostile) can be fuzzed without a network. */
#ifndef MXTLS_DNS_INT_H
#define MXTLS_DNS_INT_H

#include <stddef.h>
#include <stdint.h>

/* One MX record as the scan uses it: preference, and the host lowercased without its dot. */
typedef struct {
    uint16_t pref;
    char host[256];
} mx__dns_mx_t;

/* Reads the MX answer of ALEN bytes at ABUF into *OUT (N records, sorted by preference, ties
 * in answer order; free() it). Returns "mx", "null_mx" (RFC 7505: one MX "0 .") with nothing
 * in *OUT, "servfail" for an answer that cannot be read, or NULL when memory is out. */
const char *mx__dns_read_mx(const unsigned char *abuf, int alen, mx__dns_mx_t **out, int *n);

/* Reads the addresses of an A (V6 0) or AAAA answer as text into OUT, at most MAX. Returns
 * how many (0 for an answer that cannot be read). */
int mx__dns_read_addrs(const unsigned char *abuf, int alen, int v6, char (*out)[46], int max);

/* Whether the answer carries the AD bit (its resolver validated it with DNSSEC). */
int mx__dns_ad(const unsigned char *abuf, int alen);

/* The RDATA of each answer record of TYPE (for TXT, its character-strings joined) into OUT
 * (CAP bytes) as a two-byte big-endian length and the bytes, *USED bytes in all; records past
 * CAP are left out. Returns how many were kept, or -1 for an answer that cannot be read. */
int mx__dns_read_rdata(const unsigned char *abuf, int alen, int type, uint8_t *out, size_t cap,
                       size_t *used);

#endif
