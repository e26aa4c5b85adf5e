/* What a strict sender reads before it sends: the MTA-STS and TLS-RPT TXT records (RFC 8461
 * section 3.1, RFC 8460 section 3) and the MTA-STS policy file (RFC 8461 section 3.2), parsed
 * strictly, each failure with its own token. Every byte comes from other people's DNS and web
 * servers: parsers take lengths, never trust a terminator, and never allocate. */
#ifndef MXTLS_STS_H
#define MXTLS_STS_H

#include <stddef.h>
#include <stdint.h>

/* A domain's TXT answer at _mta-sts or _smtp._tls: its records, each the concatenation of its
 * character-strings (RFC 7208 style), with their lengths. */
typedef struct {
    const char *const *txt;
    const size_t *len;
    int n;
} mx_txt_set_t;

/* The outcome of reading a TXT set: "ok", or why a sender would find no record there:
 * "none" (no record of this kind among them), "multiple" (more than one), "invalid" (the one
 * record breaks the grammar). */
typedef struct {
    const char *status;
    char id[33];        /* MTA-STS: the policy id (1-32 letters and digits) */
    unsigned rua_count; /* TLS-RPT: reporting URIs, each mailto: or https: */
    char rua[256];      /* TLS-RPT: the first of them, cut to fit */
} mx_sts_txt_t;

/* Reads the MTA-STS TXT records SET (records not beginning "v=STSv1" are not MTA-STS records
 * and are skipped, as RFC 8461 says) into OUT. */
void mx_sts_txt_read(const mx_txt_set_t *set, mx_sts_txt_t *out);

/* Reads the TLS-RPT TXT records SET (those beginning "v=TLSRPTv1") into OUT. */
void mx_tlsrpt_txt_read(const mx_txt_set_t *set, mx_sts_txt_t *out);

#define MX_STS_MAX_MX 64 /* mx patterns kept; a policy with more is read, the rest not kept */

typedef enum { MX_STS_NONE, MX_STS_TESTING, MX_STS_ENFORCE } mx_sts_mode_t;

typedef struct {
    const char *status; /* "ok", or the first fault: policy_syntax (a line that is not
                         * "key: value"), policy_version (missing or not STSv1), policy_mode
                         * (missing or unknown), policy_max_age (missing, not a number, above
                         * 31557600), policy_mx (none while the mode is not none, or one that is
                         * not a host name pattern) */
    mx_sts_mode_t mode;
    uint32_t max_age;
    int nmx;                     /* patterns read (at most MX_STS_MAX_MX kept) */
    char mx[MX_STS_MAX_MX][256]; /* lowercase, no trailing dot; "*.example.com" allowed */
} mx_sts_policy_t;

/* Parses the LEN bytes of a policy body at TEXT into OUT (RFC 8461 section 3.2: LF or CRLF
 * lines "key: value"; version, mode and max_age taken from their first line; unknown keys
 * ignored). */
void mx_sts_policy_parse(const char *text, size_t len, mx_sts_policy_t *out);

/* The mode's name: "none", "testing" or "enforce". */
const char *mx_sts_mode_name(mx_sts_mode_t m);

/* Whether HOST matches PATTERN as RFC 8461 section 4.1 has it: equal, or "*.REST" with HOST one
 * label followed by ".REST"; case-insensitive, trailing dots ignored. */
int mx_sts_mx_match(const char *pattern, const char *host);

/* Whether HOST matches any of the policy's patterns. */
int mx_sts_policy_allows(const mx_sts_policy_t *p, const char *host);

#endif
