/* Whether files given together are one snapshot, from the manifests beside them: stats, diff and
 * check refuse to count two scans as one, or a shard set with a shard missing. */
#ifndef MXTLS_SNAPSHOT_H
#define MXTLS_SNAPSHOT_H

/* Checks that FILES (N of them) are one snapshot: every manifest (OUT.meta.json beside each
 * file) names the same list (its SHA-256) and the same shard count N, and the shards 0..N-1 are
 * each there once. Files with no manifest at all (farm truth files) are not checked; a mix of
 * files with and without one is refused. Returns 0, or -1 after saying why on stderr, naming
 * the files, as "mxtls CMD: ...". */
int mx_snapshot_check(const char *cmd, char *const *files, int n);

/* One snapshot of several given together (mxtls trend, mxtls report). */
typedef struct {
    char **files; /* its files (the caller's strings) */
    int nfiles;
    char label[64]; /* the day its scan began (and the time, when two began that day); the
                     * file's name when it has no manifest */
    char start[32]; /* when its scan began, "" without a manifest */
    int first;      /* the position of its first file among those given */
    int *index;     /* the positions of its files */
} mx_snapshot_t;

/* Groups FILES (N) into snapshots: files whose manifests name the same list, scan id and shard
 * count (and, without a scan id, began the same day) form one shard set, each shard once (a
 * shard seen again begins another snapshot); a
 * file without a manifest is a snapshot of its own. Snapshots are ordered by when their scans
 * began (as given when any file lacks a manifest). Each must be complete. Returns how many,
 * with the array in *OUT (free it with mx_snapshot_groups_free()), or -1 after saying why. */
int mx_snapshot_group(const char *cmd, char *const *files, int n, mx_snapshot_t **out);

void mx_snapshot_groups_free(mx_snapshot_t *g, int n);

#endif
