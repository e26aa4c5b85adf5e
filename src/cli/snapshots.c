/* Many snapshots read for trend and report (snapshots.h). */
#include "cli/snapshots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

#define TOP 20 /* rows of a long list shown, as stats shows them */

/* ROWS (N) less the long lists' rows past their TOP largest, which neither trend nor report
 * shows: a million domains have hundreds of thousands of providers, and both look rows up by
 * walking them. Returns how many are left. */
static long cut_lists(mx_tally_row_t *rows, long n) {
    long kept = 0, run = 0;
    for (long i = 0; i < n; i++) {
        int top = mx_stats_is_top(rows[i].section);
        if (i == 0 || strcmp(rows[i - 1].section, rows[i].section) != 0 ||
            strcmp(rows[i - 1].bucket, rows[i].bucket) != 0)
            run = 0;
        if (!top || run++ < TOP)
            rows[kept++] = rows[i];
    }
    return kept;
}

int mx_snapshots_load(const char *cmd, char *const *files, int n, time_t at, unsigned top,
                      mx_snapshots_t *out) {
    memset(out, 0, sizeof(*out));
    int ng = mx_snapshot_group(cmd, files, n, &out->groups);
    if (ng < 0)
        return -1;
    out->n = ng;
    out->stats = calloc((size_t)ng, sizeof(*out->stats));
    out->rows = calloc((size_t)ng, sizeof(*out->rows));
    out->snaps = calloc((size_t)ng, sizeof(*out->snaps));
    if (!out->stats || !out->rows || !out->snaps) {
        fprintf(stderr, "mxtls %s: out of memory\n", cmd);
        return -1;
    }
    for (int k = 0; k < ng; k++) {
        mx_snapshot_t *g = &out->groups[k];
        if (!(out->stats[k] = mx_stats_new(at))) {
            fprintf(stderr, "mxtls %s: out of memory\n", cmd);
            return -1;
        }
        mx_stats_set_providers(out->stats[k], top);
        if (mx_stats_read(cmd, g->files, g->nfiles, out->stats[k]) < 0)
            return -1;
        long nr = mx_stats_rows(out->stats[k], &out->rows[k]);
        if (nr < 0) {
            fprintf(stderr, "mxtls %s: out of memory\n", cmd);
            return -1;
        }
        nr = cut_lists(out->rows[k], nr);
        out->snaps[k] =
            (mx_trend_snap_t){g->label, g->start, g->files, g->nfiles, out->rows[k], nr};
    }
    return 0;
}

void mx_snapshots_free(mx_snapshots_t *s) {
    for (int k = 0; k < s->n; k++) {
        if (s->stats)
            mx_stats_free(s->stats[k]);
        if (s->rows)
            free(s->rows[k]);
    }
    free(s->stats);
    free(s->rows);
    free(s->snaps);
    mx_snapshot_groups_free(s->groups, s->n);
    memset(s, 0, sizeof(*s));
}
