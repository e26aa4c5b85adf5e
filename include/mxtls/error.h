/* Error codes of mxtls.
 *
 * Functions return 0 (or a count) on success and a negative code on failure. Codes above
 * MX__ERR_BASE are negated errno values (as libuv's are on Unix) and pass through unchanged;
 * the project's own codes come from the one list below, which also generates their names. */
#ifndef MXTLS_ERROR_H
#define MXTLS_ERROR_H

#define MX__ERR_BASE (-20000)

#define MX_ERRNO_MAP(X)                                                                            \
    X(NOMEM, "out of memory")                                                                      \
    X(CORRUPT, "corrupt compressed data")                                                          \
    X(TRUNCATED, "file ends in the middle of a record (truncated)")                                \
    X(TOO_LONG, "record exceeds the size limit")                                                   \
    X(BAD_HEADER, "not a mxtls scan file (bad header row)")                                        \
    X(NO_COLUMN, "a required column is missing")                                                   \
    X(USAGE, "invalid argument")                                                                   \
    X(AGAIN, "more input needed")                                                                  \
    X(REGROUPED, "a domain's rows are not together (a reordered file, or one given twice)")

/* Index of each code in the list, so values are dense and stable in list order. */
enum {
#define X(name, text) MX__ERR_IDX_##name,
    MX_ERRNO_MAP(X)
#undef X
        MX__ERR_COUNT
};

enum {
#define X(name, text) MX_E_##name = MX__ERR_BASE - 1 - MX__ERR_IDX_##name,
    MX_ERRNO_MAP(X)
#undef X
};

/* Human-readable text for any code this project returns (project codes and -errno). */
const char *mx_strerror(int err);

/* 1 when ERR is the scanner's own shortage (descriptors, buffers, memory, local ports:
 * EADDRNOTAVAIL or EAGAIN when the ephemeral range is used up), never a remote server's doing. */
int mx_err_local_shortage(int err);

/* Stable name of a code ("MX_E_TRUNCATED", "ENOENT"), for logs and tests. */
const char *mx_err_name(int err);

#endif
