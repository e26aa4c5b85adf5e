/* Option values (args.h). */
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int mx_arg_date(const char *cmd, const char *opt, const char *v, time_t *out) {
    struct tm tm;
    char extra;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(v, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &extra) != 3 ||
        tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31) {
        fprintf(stderr, "mxtls %s: %s takes a date YYYY-MM-DD, not '%s'\n", cmd, opt, v);
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}
