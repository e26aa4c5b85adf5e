/* The progress counts (scan_int.h): taken under the mutex, handed to the command's callback,
 * which decides what to show. */
#include "engine/scan_int.h"

#include <string.h>

void mx__scan_progress(scan_t *s, int final) {
    if (!s->cfg->events.progress)
        return;
    const mx_domain_counts_t *c = mx_domain_reader_counts(s->reader);
    mx_scan_progress_t p = {.domains_done = s->domains_done,
                            .domains_read = c->domains + c->invalid,
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
