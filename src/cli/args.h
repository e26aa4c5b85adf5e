/* Option values of the subcommands: parsed one way, refused with one message form. */
#ifndef MXTLS_CLI_ARGS_H
#define MXTLS_CLI_ARGS_H

#include <stdint.h>
#include <time.h>

/* A whole number from MIN to MAX into *OUT. Returns 0, or -1 after "mxtls CMD: OPT takes ...". */
int mx_arg_uint(const char *cmd, const char *opt, const char *v, unsigned long min,
                unsigned long max, unsigned long *out);

/* Seconds (0 < S <= 86400, fractions allowed) into *MS. Returns 0, or -1 with a message. */
int mx_arg_seconds(const char *cmd, const char *opt, const char *v, uint64_t *ms);

/* A date YYYY-MM-DD (UTC midnight) into *OUT. Returns 0, or -1 with a message. */
int mx_arg_date(const char *cmd, const char *opt, const char *v, time_t *out);

#endif
