/* Reading domain lists: plain `domain` lines and Tranco-style `rank,domain` lines, mixed;
 * `#` comments, blank lines, CRLF and a UTF-8 BOM; gzip or plain; "-" for standard input.
 *
 * Each call hands back the next domain to scan. Lines that are not a valid domain come back
 * too, as invalid items with a reason token, because the scan records them as rows and goes
 * on. Names are normalised (lowercase A-labels, one trailing dot dropped; U-labels converted
 * with IDNA 2008). Repeated domains are dropped after the first, and counted. */
#ifndef MXTLS_DOMAIN_LIST_H
#define MXTLS_DOMAIN_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "mxtls/source.h"

#define MX_DOMAIN_MAX 253
#define MX_LINE_MAX 4096

typedef struct {
    unsigned long line;  /* 1-based line number in the (decompressed) input */
    long rank;           /* rank from the list, 0 when the line had none */
    const char *domain;  /* normalised name; for an invalid line, its text (not sanitised) */
    const char *invalid; /* NULL for a valid domain, else the reason token (invalid_*) */
} mx_domain_item_t;

typedef struct {
    unsigned long lines;      /* lines read */
    unsigned long domains;    /* valid, first-seen domains handed out */
    unsigned long invalid;    /* invalid lines handed out */
    unsigned long duplicates; /* valid domains dropped because seen before */
    unsigned long resumed;    /* domains and invalid lines not handed out: already done */
} mx_domain_counts_t;

typedef struct mx_domain_reader mx_domain_reader_t;

/* Opens PATH ("-" for standard input). Returns 0 or a negative code (see source.h). */
int mx_domain_reader_open(mx_domain_reader_t **out, const char *path);

/* A reader over SRC (source.h), which it owns from then on, even on failure. */
int mx_domain_reader_open_source(mx_domain_reader_t **out, mx_source_t *src);

/* Next item; its strings live until the next call. Returns 1 with an item, 0 at the end, or a
 * negative code (MX_E_TRUNCATED, MX_E_CORRUPT, -errno) after the items before the fault. */
int mx_domain_reader_next(mx_domain_reader_t *r, mx_domain_item_t *item);

/* Marks a domain as already done (by --resume): the line naming it first is not handed out
 * but counted (domains, resumed), later ones are duplicates as usual. NAME must be normalised.
 * Returns 0 or MX_E_NOMEM. */
int mx_domain_reader_mark_done(mx_domain_reader_t *r, const char *name);

/* Marks the invalid line LINE as already done (by --resume): it is counted, not handed out. */
int mx_domain_reader_mark_done_line(mx_domain_reader_t *r, unsigned long line);

/* Counters so far. */
const mx_domain_counts_t *mx_domain_reader_counts(const mx_domain_reader_t *r);

/* SHA-256 (hex) and size of the raw input bytes read so far (the whole file at the end). */
unsigned long long mx_domain_reader_sha256(const mx_domain_reader_t *r, char hex[65]);

void mx_domain_reader_free(mx_domain_reader_t *r);

/* Normalises and validates one name of LEN bytes into OUT (MX_DOMAIN_MAX + 1 bytes). Returns
 * NULL when valid, else the reason token: invalid_empty, invalid_too_long, invalid_label_length,
 * invalid_char, invalid_hyphen, invalid_single_label, invalid_numeric_tld or invalid_idn_*. */
const char *mx_domain_normalize(const char *name, size_t len, char *out);

/* 64-bit hash of a normalised name (FNV-1a), the one used for duplicates and --shard. */
uint64_t mx_domain_hash(const char *name);

#endif
