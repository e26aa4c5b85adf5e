/* --resume (shared/DESIGN.md, Writer): the old file's complete domain groups are copied into a
 * new file, which replaces OUT at once; the scan goes on into it, skipping those domains. The
 * manifest must name the same list, and its earlier runs are kept. */
#include "engine/scan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mxtls/error.h"
#include "mxtls/reader.h"
#include "mxtls/salvage.h"
#include "mxtls/source.h"

/* The index of NAME among N names, or -1. */
static int name_index(const char *name, const char *(*name_of)(int), int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(name, name_of(i)))
            return i;
    return -1;
}

static const char *conn_name(int i) {
    return mx_conn_name((mx_conn_t)i);
}

static const char *tls_name(int i) {
    return mx_tls_name((mx_tls_t)i);
}

/* Counts ROW into the manifest as the scan that wrote it did. */
static void count_row(scan_t *s, const mx_record_t *row) {
    int c = name_index(mx_record_get(row, MX_COL_CONN), conn_name, MX_CONN__COUNT);
    int t = name_index(mx_record_get(row, MX_COL_TLS), tls_name, MX_TLS__COUNT);
    if (c >= 0)
        s->man.conn[c]++;
    if (t >= 0)
        s->man.tls[t]++;
    s->health->overload_rows += !strcmp(mx_record_get(row, MX_COL_ERROR), MX_LOCAL_OVERLOAD);
}

void mx__scan_recount(scan_t *s) {
    mx_reader_t *r;
    mx_record_t rec;
    const char *path = s->cfg->out;
    memset(s->man.conn, 0, sizeof(s->man.conn));
    memset(s->man.tls, 0, sizeof(s->man.tls));
    s->health->overload_rows = s->man.rows = 0;
    if (mx_reader_open(&r, &path, 1, 1ull << MX_COL_DOMAIN) < 0)
        return;
    while (mx_reader_next(r, &rec) == 1) {
        count_row(s, &rec);
        s->man.rows++;
    }
    mx_reader_free(r);
}

/* A row kept from the old file: what it holds is not scanned again, and the manifest counts it
 * as the scan that wrote it did, so that its counts are the whole file's. */
static int salvaged(void *ud, const mx_record_t *row, size_t index) {
    scan_t *s = ud;
    const char *error = mx_record_get(row, MX_COL_ERROR);
    count_row(s, row);
    if (!strncmp(error, "invalid_", 8))
        return mx_domain_reader_mark_done_line(
            s->reader, strtoul(mx_record_get(row, MX_COL_INPUT_LINE), NULL, 10));
    return index == 0 ? mx_domain_reader_mark_done(s->reader, mx_record_get(row, MX_COL_DOMAIN))
                      : 0;
}

/* Whether the manifest beside OUT names the list and shard being scanned; its runs go into
 * the new one. Without a readable manifest nothing says what the file was made from, and
 * mixing two lists or two shards in one file cannot be undone: the resume is refused. */
static int same_list(scan_t *s) {
    const mx_scan_config_t *cfg = s->cfg;
    char err[256];
    mx_manifest_t old;
    memset(&old, 0, sizeof(old));
    if (mx_manifest_read(s->man_path, &old, err, sizeof(err)) < 0) {
        mx__scan_say(s,
                     "--resume: %s (%s), so nothing tells which list %s was made from; scan into "
                     "a new file",
                     s->man_path, err, cfg->out);
        return 0;
    }
    if (strcmp(old.input_sha256, s->man.input_sha256) != 0) {
        mx__scan_say(s,
                     "--resume: %s was made from another list than %s (SHA-256 differs); resume "
                     "with that list, or scan into a new file",
                     cfg->out, cfg->list);
        return 0;
    }
    if (old.shard_count != cfg->shard_n || (cfg->shard_n > 1 && old.shard_index != cfg->shard_i)) {
        mx__scan_say(s, "--resume: %s holds shard %u/%u, not %u/%u; resume with that --shard",
                     cfg->out, old.shard_index, old.shard_count, cfg->shard_i, cfg->shard_n);
        return 0;
    }
    if (strcmp(old.scan_id, s->man.scan_id) != 0) {
        mx__scan_say(s, "--resume: %s belongs to scan id '%s', not '%s'", cfg->out, old.scan_id,
                     s->man.scan_id);
        return 0;
    }
    if (strcmp(old.csv_dialect, s->man.csv_dialect) != 0) {
        mx__scan_say(s, "--resume: %s is in the %s CSV dialect; resume with --csv-dialect %s",
                     cfg->out, old.csv_dialect, old.csv_dialect);
        return 0;
    }
    memcpy(s->man.runs, old.runs, sizeof(old.runs));
    s->man.nruns = old.nruns;
    s->hosts_before = old.hosts_probed;
    return 1;
}

int mx__scan_resume(scan_t *s) {
    const mx_scan_config_t *cfg = s->cfg;
    char err[512], tmp[4096];
    if (!same_list(s))
        return MX_SCAN_REFUSED;
    snprintf(tmp, sizeof(tmp), "%s.resume", cfg->out);
    int rc = mx_writer_open(&s->writer, tmp);
    if (rc < 0) {
        mx__scan_say(s, "%s: %s", tmp, mx_strerror(rc));
        return MX_SCAN_FAILED;
    }
    if (cfg->csv_plain)
        mx_writer_set_plain(s->writer);
    mx_salvage_result_t res;
    rc = mx_salvage(cfg->out, s->writer, salvaged, s, &res, err, sizeof(err));
    if (rc < 0) {
        mx__scan_say(s, "--resume: %s", err[0] ? err : mx_strerror(rc));
        unlink(tmp);
        return MX_SCAN_FAILED;
    }
    if (rename(tmp, cfg->out) < 0) {
        mx__scan_say(s, "%s: cannot replace it with the resumed file", cfg->out);
        return MX_SCAN_FAILED;
    }
    mx__scan_note(s, "resuming: %llu domains (%llu rows) kept from %s%s",
                  (unsigned long long)res.groups, (unsigned long long)res.rows, cfg->out,
                  res.truncated ? ", which was cut short" : "");
    return 0;
}
