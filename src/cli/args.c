/* Option values (args.h). */
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int mx_arg_uint(const char *cmd, const char *opt, const char *v, unsigned long min,
                unsigned long max, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (!*v || *end || errno || *v == '-' || x < min || x > max) {
        fprintf(stderr, "mxtls %s: %s takes a whole number from %lu to %lu, not '%s'\n", cmd, opt,
                min, max, v);
        return -1;
    }
    *out = x;
    return 0;
}

int mx_arg_seconds(const char *cmd, const char *opt, const char *v, uint64_t *ms) {
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x > 0) || x > 86400) {
        fprintf(stderr, "mxtls %s: %s takes seconds (0 < S <= 86400), not '%s'\n", cmd, opt, v);
        return -1;
    }
    *ms = (uint64_t)(x * 1000);
    return 0;
}
