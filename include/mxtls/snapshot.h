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

#endif
