/* SMTP reply parsing (RFC 5321 4.2): a pure, resumable parser over the bytes a server sent.
 *
 * The reply stays in the caller's input buffer; the parser only scans it, remembering how far
 * it got, so a reply that arrives one byte at a time costs one pass. Hard limits: a line of
 * MX_REPLY_LINE_MAX bytes, a reply of MX_REPLY_MAX bytes and MX_REPLY_LINES lines. Lines end at
 * LF (a CR before it is dropped; bare LF is tolerated, as many servers send it). Multi-line
 * replies are "NNN-text" lines ended by "NNN text" (or "NNN" alone), all with the same code. */
#ifndef MXTLS_REPLY_H
#define MXTLS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define MX_REPLY_LINE_MAX 4096
#define MX_REPLY_MAX (64 * 1024)
#define MX_REPLY_LINES 200

/* Results of mx_reply_parse; the errors are also the schema's `error` tokens. */
#define MX_REPLY_ERRORS(X)                                                                         \
    X(TOO_LONG, "reply_too_long")                                                                  \
    X(TOO_MANY_LINES, "reply_too_many_lines")                                                      \
    X(BAD, "bad_reply")

enum {
    MX_REPLY_AGAIN = 0, /* more bytes needed */
    MX_REPLY_DONE = 1,  /* a whole reply: see mx_reply_t */
#define X(id, token) MX_REPLY_E_##id,
    MX_REPLY__FIRST_ERROR = -100,
    MX_REPLY_ERRORS(X)
#undef X
};

typedef struct {
    size_t scanned; /* bytes of the buffer already split into lines */
    unsigned lines;
    int code;
    size_t end; /* with MX_REPLY_DONE: bytes the reply takes (what follows is not part of it) */
} mx_reply_t;

/* Starts a new reply. */
void mx_reply_init(mx_reply_t *r);

/* Scans BUF[0, LEN), which holds the reply so far from its first byte. Returns MX_REPLY_AGAIN,
 * MX_REPLY_DONE (code, lines, end set) or an MX_REPLY_E_* error. */
int mx_reply_parse(mx_reply_t *r, const char *buf, size_t len);

/* Error token of an MX_REPLY_E_* result ("bad_reply"). */
const char *mx_reply_error_token(int rc);

/* Text of line I (0-based) of a parsed reply, after the code and separator: *TEXT points into
 * BUF, *LEN excludes the line end. Returns 0, or -1 when there is no line I. */
int mx_reply_line(const mx_reply_t *r, const char *buf, unsigned i, const char **text, size_t *len);

/* EHLO extensions of a parsed reply: the keywords of lines 2.. (uppercase, parameters dropped,
 * '|'-separated, server order, keywords of other characters than A-Z 0-9 - skipped) into CAPS
 * of CAP bytes; *SIZE gets the SIZE value, or -1 when absent or not a number; the return value
 * has bit 0 set when STARTTLS is offered. */
int mx_ehlo_caps(const mx_reply_t *r, const char *buf, char *caps, size_t cap, int64_t *size);

#endif
