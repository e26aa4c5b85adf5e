/* Many snapshots read for trend and report: grouped (mxtls/snapshot.h), each counted by stats,
 * its reported rows kept. */
#ifndef MXTLS_CLI_SNAPSHOTS_H
#define MXTLS_CLI_SNAPSHOTS_H

#include <time.h>

#include "mxtls/charts.h"
#include "mxtls/snapshot.h"
#include "mxtls/stats.h"

typedef struct {
    mx_snapshot_t *groups;
    int n;
    mx_stats_t **stats;
    mx_tally_row_t **rows;
    mx_trend_snap_t *snaps; /* n of them, oldest first */
} mx_snapshots_t;

/* Groups FILES (N) into snapshots and counts each (AT and TOP as mx_stats_new() and
 * mx_stats_set_providers() take them). Returns 0, or -1 after saying why as "mxtls CMD: ...". */
int mx_snapshots_load(const char *cmd, char *const *files, int n, time_t at, unsigned top,
                      mx_snapshots_t *out);

void mx_snapshots_free(mx_snapshots_t *s);

#endif
