/* DANE for SMTP (RFC 7672): a host's TLSA records against the certificate chain its server
 * presented, as a sending MTA would judge them. Only DANE-TA(2) and DANE-EE(3) records are
 * usable for SMTP; PKIX-TA(0) and PKIX-EE(1) are not (RFC 7672 section 3.1.3). */
#ifndef MXTLS_DANE_H
#define MXTLS_DANE_H

#include <stddef.h>
#include <stdint.h>

/* One TLSA record (RFC 6698 section 2.1); DATA points into the record's own bytes. */
typedef struct mx_tlsa {
    uint8_t usage, selector, mtype;
    const uint8_t *data;
    size_t len;
} mx_tlsa_t;

/* Reads the RDATA of one TLSA record (LEN bytes at RDATA) into OUT. Returns 0, or -1 when it is
 * shorter than its four-byte minimum (usage, selector, matching type, one byte of data). */
int mx_tlsa_parse(const uint8_t *rdata, size_t len, mx_tlsa_t *out);

/* Whether a record can be used by an SMTP client: usage 2 or 3, selector 0 or 1, matching type
 * 0, 1 or 2 with data of the length its digest has (32, 64 bytes). */
int mx_tlsa_usable(const mx_tlsa_t *t);

/* A certificate chain as the server sent it: DER certificates, the server's own first. */
typedef struct {
    const uint8_t *const *der;
    const size_t *len;
    int n;
} mx_chain_t;

/* A host's TLSA answer as the DNS stage keeps it (mxtls/dns.h): N records in DATA, each a
 * two-byte big-endian length and its RDATA. */
typedef struct {
    const uint8_t *data;
    size_t len;
    int n;
} mx_tlsa_set_t;

#define MX_TLSA_MAX 32 /* records of one host judged; a set with more is judged on these */

/* Reads SET's records into RECS (at most MX_TLSA_MAX); returns how many were well formed. */
int mx_tlsa_set_read(const mx_tlsa_set_t *set, mx_tlsa_t *recs);

/* The outcome for one host (mxtls/2 column dane):
 * - "none": no TLSA records (N 0);
 * - "insecure": records, but not from a zone the resolver validated (SECURE 0): a sender
 *   ignores them;
 * - "unusable": validated records, none usable for SMTP;
 * - "match": a usable record matches: DANE-EE the server's own certificate (its name and
 *   dates not checked, RFC 7672 section 3.1.1), or DANE-TA a certificate of the chain from
 *   which the server's certificate verifies, valid now, for HOST (section 3.1.2, 3.2.2);
 * - "mismatch": usable records, none matches (or CHAIN is empty). */
const char *mx_dane_check(const mx_tlsa_t *recs, int n, int secure, const mx_chain_t *chain,
                          const char *host);

#endif
