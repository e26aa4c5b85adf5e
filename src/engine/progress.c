/* What the scan tells its user (scan_int.h): messages, and the progress counts, taken under the
 * mutex and handed to the command's callbacks, which decide what to show. */
#include "engine/scan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 0))) static void say(const scan_t *s, int notice, const char *fmt,
                                                      va_list ap) {
    char text[1024];
    vsnprintf(text, sizeof(text), fmt, ap);
    if (s->cfg->events.message)
        s->cfg->events.message(s->cfg->events.ud, notice, text);
}

void mx__scan_say(const scan_t *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say(s, 0, fmt, ap);
    va_end(ap);
}

void mx__scan_note(const scan_t *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say(s, 1, fmt, ap);
    va_end(ap);
}

void mx__scan_fail(scan_t *s, const char *what) {
    if (!s->failed)
        mx__scan_say(s, "%s", what);
    if (!s->health->failure[0])
        snprintf(s->health->failure, sizeof(s->health->failure), "%.255s", what);
    s->failed = 1;
    s->stopping = 1;
}

void mx__scan_progress(scan_t *s, int final) {
    if (!s->cfg->events.progress)
        return;
    const mx_domain_counts_t *c = mx_domain_reader_counts(s->reader);
    mx_scan_progress_t p = {.domains_done = s->domains_done,
                            .domains_read = c->domains + c->invalid,
                            .lines_read = c->lines,
                            .list_lines = s->list_lines,
                            .hosts_probed = s->hosts_probed,
                            .hosts_done = s->hosts_done,
                            .dns_inflight = s->dns_inflight,
                            .list_read = s->eof,
                            .open = s->open,
                            .window = (unsigned)s->window,
                            .throttled = s->throttled,
                            .dns_down = s->dns_down,
                            .seconds = (double)(mx__scan_now_ms() - s->t0) / 1000.0};
    memcpy(p.outcomes, s->outcomes, sizeof(p.outcomes));
    s->cfg->events.progress(s->cfg->events.ud, &p, final);
}
