/* One snapshot or not (mxtls/snapshot.h), from the manifests beside the files. */
#include "mxtls/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mxtls/manifest.h"

#define SHARDS_MAX 4096 /* more shards than any survey runs; more is refused */

typedef struct {
    int have;
    char sha[65], id[65], start[32];
    unsigned index, count;
} info_t;

/* The manifest of FILE into I: 1, 0 when there is none, -1 when it is unreadable. */
static int read_info(const char *cmd, const char *file, info_t *i) {
    char *path = mx_manifest_path(file), err[256];
    mx_manifest_t m;
    int rc = 0;
    memset(i, 0, sizeof(*i));
    if (!path) {
        fprintf(stderr, "mxtls %s: out of memory\n", cmd);
        return -1;
    }
    memset(&m, 0, sizeof(m));
    if (access(path, F_OK) == 0) {
        if (mx_manifest_read(path, &m, err, sizeof(err)) < 0) {
            fprintf(stderr, "mxtls %s: %s: %s (use --force to count %s anyway)\n", cmd, path,
                    err[0] ? err : "unreadable", file);
            rc = -1;
        } else {
            i->have = 1;
            snprintf(i->sha, sizeof(i->sha), "%s", m.input_sha256);
            snprintf(i->id, sizeof(i->id), "%s", m.scan_id);
            snprintf(i->start, sizeof(i->start), "%s", m.nruns ? m.runs[0].start : "");
            i->index = m.shard_index;
            i->count = m.shard_count ? m.shard_count : 1;
            rc = 1;
        }
    }
    free(path);
    return rc;
}

int mx_snapshot_check(const char *cmd, char *const *files, int n) {
    info_t *in = calloc((size_t)n, sizeof(*in));
    int with = 0, rc = 0;
    if (!in) {
        fprintf(stderr, "mxtls %s: out of memory\n", cmd);
        return -1;
    }
    for (int i = 0; i < n && !rc; i++) {
        int r = read_info(cmd, files[i], &in[i]);
        rc = r < 0 ? -1 : 0;
        with += r == 1;
    }
    for (int i = 0; !rc && with && i < n; i++) {
        const info_t *a = &in[i], *first = &in[0];
        if (!a->have || !first->have) {
            fprintf(stderr,
                    "mxtls %s: %s has a manifest and %s has none: not one snapshot (use --force "
                    "to count them together)\n",
                    cmd, a->have ? files[i] : files[0], a->have ? files[0] : files[i]);
            rc = -1;
        } else if (strcmp(a->sha, first->sha) != 0) {
            fprintf(stderr,
                    "mxtls %s: %s and %s are scans of different lists (their SHA-256 differ): "
                    "not one snapshot (use --force to count them together)\n",
                    cmd, files[0], files[i]);
            rc = -1;
        } else if (strcmp(a->id, first->id) != 0) {
            fprintf(stderr,
                    "mxtls %s: %s and %s belong to different scans (scan ids '%s' and '%s'): "
                    "not one snapshot (use --force to count them together)\n",
                    cmd, files[0], files[i], first->id, a->id);
            rc = -1;
        } else if (a->count != first->count || a->index >= a->count || a->count > SHARDS_MAX) {
            fprintf(stderr,
                    "mxtls %s: %s is shard %u/%u and %s shard %u/%u: not one shard set (use "
                    "--force to count them together)\n",
                    cmd, files[0], first->index, first->count, files[i], a->index, a->count);
            rc = -1;
        } else {
            for (int k = 0; k < i && !rc; k++)
                if (in[k].index == a->index) {
                    fprintf(stderr,
                            "mxtls %s: %s and %s are both shard %u/%u: two scans, or one file "
                            "given twice (use --force to count them together)\n",
                            cmd, files[k], files[i], a->index, a->count);
                    rc = -1;
                }
        }
    }
    if (!rc && with && (unsigned)n != in[0].count) {
        fprintf(stderr,
                "mxtls %s: %d of the %u shards of %s's scan are given: an incomplete snapshot "
                "(give every shard, or use --force)\n",
                cmd, n, in[0].count, files[0]);
        rc = -1;
    }
    free(in);
    return rc;
}

/* Whether file I can join GROUP: the same scan, and a shard it lacks. */
static int joins(const mx_snapshot_t *g, const info_t *in, int i) {
    const info_t *a = &in[i], *b = &in[g->first];
    if (!a->have || !b->have || strcmp(a->sha, b->sha) || strcmp(a->id, b->id) ||
        a->count != b->count || g->nfiles >= (int)b->count)
        return 0;
    /* Without a scan id, two scans of one list are told apart by the day they began: a guess
     * that fails loudly (a set left incomplete) rather than mixing two scans. */
    if (!a->id[0] && strncmp(a->start, b->start, 10) != 0)
        return 0;
    for (int k = 0; k < g->nfiles; k++)
        if (in[g->index[k]].index == a->index)
            return 0;
    return 1;
}

static int by_start(const void *a, const void *b) {
    const mx_snapshot_t *x = a, *y = b;
    int c = strcmp(x->start, y->start);
    return c ? c : x->first - y->first;
}

int mx_snapshot_group(const char *cmd, char *const *files, int n, mx_snapshot_t **out) {
    info_t *in = calloc((size_t)n, sizeof(*in));
    mx_snapshot_t *g = calloc((size_t)n, sizeof(*g));
    int ng = 0, with = 0, rc = 0;
    if (!in || !g) {
        fprintf(stderr, "mxtls %s: out of memory\n", cmd);
        rc = -1;
    }
    for (int i = 0; i < n && !rc; i++) {
        int r = read_info(cmd, files[i], &in[i]);
        rc = r < 0 ? -1 : 0;
        with += r == 1;
    }
    for (int i = 0; i < n && !rc; i++) {
        int k = 0;
        while (k < ng && !joins(&g[k], in, i))
            k++;
        if (k == ng) {
            if (!(g[ng].files = calloc((size_t)n, sizeof(char *))) ||
                !(g[ng].index = calloc((size_t)n, sizeof(int)))) {
                fprintf(stderr, "mxtls %s: out of memory\n", cmd);
                rc = -1;
                ng++;
                break;
            }
            g[ng].first = i;
            snprintf(g[ng].start, sizeof(g[ng].start), "%s", in[i].start);
            const char *base = strrchr(files[i], '/');
            base = base ? base + 1 : files[i];
            size_t len = strlen(base), ext = strlen(".csv.gz");
            if (len > ext && !strcmp(base + len - ext, ".csv.gz"))
                len -= ext; /* the name says what it is without it, and fits a chart's axis */
            if (in[i].have)
                snprintf(g[ng].label, sizeof(g[ng].label), "%.10s", in[i].start);
            else
                snprintf(g[ng].label, sizeof(g[ng].label), "%.*s", (int)len, base);
            ng++;
        }
        g[k].index[g[k].nfiles] = i;
        g[k].files[g[k].nfiles++] = files[i];
        if (strcmp(in[i].start, g[k].start) < 0)
            snprintf(g[k].start, sizeof(g[k].start), "%s", in[i].start);
    }
    for (int k = 0; k < ng && !rc; k++)
        if (in[g[k].first].have && g[k].nfiles != (int)in[g[k].first].count) {
            fprintf(stderr,
                    "mxtls %s: %d of the %u shards of %s's scan are given: an incomplete "
                    "snapshot (give every shard; shards of a scan without --scan-id are "
                    "grouped by the day they began)\n",
                    cmd, g[k].nfiles, in[g[k].first].count, files[g[k].first]);
            rc = -1;
        }
    /* Scans are ordered by when they began; files without a manifest keep the order given. */
    if (!rc && with == n)
        qsort(g, (size_t)ng, sizeof(*g), by_start);
    for (int k = 0; k < ng && !rc; k++) /* two scans of one day: the time tells them apart */
        for (int j = 0; j < ng; j++)
            if (j != k && in[g[k].first].have && !strcmp(g[j].label, g[k].label)) {
                snprintf(g[k].label, sizeof(g[k].label), "%.10s %.5s", g[k].start,
                         g[k].start + (strlen(g[k].start) > 11 ? 11 : strlen(g[k].start)));
                break;
            }
    free(in);
    if (rc) {
        mx_snapshot_groups_free(g, ng);
        return -1;
    }
    *out = g;
    return ng;
}

void mx_snapshot_groups_free(mx_snapshot_t *g, int n) {
    if (!g)
        return;
    for (int i = 0; i < n; i++) {
        free(g[i].files);
        free(g[i].index);
    }
    free(g);
}
