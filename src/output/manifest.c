/* The scan manifest (mxtls/manifest.h). */
#include "mxtls/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mxtls/error.h"
#include "mxtls/json.h"
#include "mxtls/version.h"

char *mx_manifest_path(const char *out) {
    size_t n = strlen(out);
    char *p = malloc(n + 16);
    if (!p)
        return NULL;
    memcpy(p, out, n + 1);
    if (n > 7 && strcmp(out + n - 7, ".csv.gz") == 0)
        n -= 7;
    else if (n > 3 && strcmp(out + n - 3, ".gz") == 0)
        n -= 3;
    memcpy(p + n, ".meta.json", 11);
    return p;
}

void mx_utc_now(char *buf, unsigned long size) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void health(mx_json_t *j, const mx_manifest_health_t *h) {
    mx_json_object(j, "health");
    mx_json_int(j, "local_waits", (long long)h->local_waits);
    mx_json_int(j, "longest_wait_ms", (long long)h->longest_wait_ms);
    mx_json_int(j, "longest_wait_after_first_fill_ms", (long long)h->longest_wait_later_ms);
    mx_json_int(j, "reprobes", (long long)h->reprobes);
    mx_json_int(j, "deferred", (long long)h->deferred);
    mx_json_int(j, "held", (long long)h->held);
    mx_json_int(j, "holds", (long long)h->holds);
    mx_json_int(j, "overload_rows", (long long)h->overload_rows);
    mx_json_int(j, "descriptor_waits", (long long)h->descriptor_waits);
    mx_json_int(j, "dns_retried", (long long)h->dns_retried);
    mx_json_int(j, "throttled_ms", (long long)h->throttled_ms);
    mx_json_object(j, "loop_lag_ms");
    mx_json_int(j, "p50", (long long)h->lag_p50_ms);
    mx_json_int(j, "p99", (long long)h->lag_p99_ms);
    mx_json_int(j, "max", (long long)h->lag_max_ms);
    mx_json_end_object(j);
    mx_json_str(j, "failure", h->failure[0] ? h->failure : NULL);
    mx_json_end_object(j);
}

static void build(mx_json_t *j, const mx_manifest_t *m) {
    char shard[32];
    mx_json_object(j, NULL);
    mx_json_str(j, "schema", MX_SCHEMA_NAME);
    mx_versions_json(j);
    mx_json_str(j, "command_line", m->command_line);
    mx_json_object(j, "input");
    mx_json_str(j, "file", m->input);
    mx_json_str(j, "sha256", m->input_sha256[0] ? m->input_sha256 : NULL);
    mx_json_end_object(j);
    snprintf(shard, sizeof(shard), "%u/%u", m->shard_index, m->shard_count ? m->shard_count : 1);
    mx_json_str(j, "shard", shard);
    mx_json_array(j, "runs");
    for (int i = 0; i < m->nruns; i++) {
        mx_json_object(j, NULL);
        mx_json_str(j, "start", m->runs[i].start);
        mx_json_str(j, "end", m->runs[i].end[0] ? m->runs[i].end : NULL);
        mx_json_str(j, "status", m->runs[i].status);
        mx_json_end_object(j);
    }
    mx_json_end_array(j);
    mx_json_array(j, "resolvers");
    for (int i = 0; i < m->nresolvers; i++)
        mx_json_str(j, NULL, m->resolvers[i]);
    mx_json_end_array(j);
    mx_json_str(j, "ehlo", m->ehlo);
    mx_json_str(j, "csv_dialect", m->csv_dialect[0] ? m->csv_dialect : "spreadsheet");
    mx_json_str(j, "scan_id", m->scan_id[0] ? m->scan_id : NULL);
    mx_json_str(j, "source_address", m->source_address);
    mx_json_object(j, "ca");
    mx_json_str(j, "file", m->ca_file);
    mx_json_str(j, "sha256", m->ca_sha256[0] ? m->ca_sha256 : NULL);
    mx_json_end_object(j);
    mx_json_object(j, "counts");
    mx_json_int(j, "lines", (long long)m->lines);
    mx_json_int(j, "domains", (long long)m->domains);
    mx_json_int(j, "invalid", (long long)m->invalid);
    mx_json_int(j, "duplicates", (long long)m->duplicates);
    mx_json_int(j, "rows", (long long)m->rows);
    mx_json_int(j, "hosts_probed", (long long)m->hosts_probed);
    mx_json_object(j, "conn");
    for (int i = 0; i < MX_CONN__COUNT; i++)
        mx_json_int(j, mx_conn_name((mx_conn_t)i), (long long)m->conn[i]);
    mx_json_end_object(j);
    mx_json_object(j, "tls");
    for (int i = 0; i < MX_TLS__COUNT; i++)
        mx_json_int(j, mx_tls_name((mx_tls_t)i), (long long)m->tls[i]);
    mx_json_end_object(j);
    mx_json_end_object(j);
    health(j, &m->health);
    mx_json_str(j, "status", m->nruns ? m->runs[m->nruns - 1].status : "running");
    mx_json_bool(j, "finished", m->nruns && strcmp(m->runs[m->nruns - 1].status, "finished") == 0);
    mx_json_end_object(j);
}

/* Writes LEN bytes of BUF and a newline to FD at offset 0. 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t k = pwrite(fd, buf + off, len - off, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        off += (size_t)k;
    }
    return pwrite(fd, "\n", 1, (off_t)len) == 1 ? 0 : -EIO;
}

/* Manifests are written whole to a temporary file and renamed over the old one, so that a
 * reader never sees half of one. Each file keeps blocks reserved past its end: on a full disk,
 * where the temporary file cannot be written, the manifest is rewritten in place within them,
 * so the last word of a run that filled the disk (failed, with its counts) is not lost. */
#define MANIFEST_RESERVE (64 * 1024)

static int write_in_place(const char *path, const mx_json_t *j) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, j->buf, j->len);
    if (!rc && ftruncate(fd, (off_t)j->len + 1) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    return rc;
}

int mx_manifest_write(const char *path, const mx_manifest_t *m) {
    mx_json_t j;
    int rc = 0, fd;
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp)
        return MX_E_NOMEM;
    snprintf(tmp, n + 8, "%s.tmp", path);
    mx_json_init(&j);
    build(&j, m);
    if ((rc = mx_json_status(&j)))
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
    } else {
        (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, MANIFEST_RESERVE); /* best effort */
        rc = write_all(fd, j.buf, j.len);
        if (close(fd) < 0 && !rc)
            rc = -errno;
    }
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    if (rc == -ENOSPC || rc == -EDQUOT)
        rc = write_in_place(path, &j);
out:
    mx_json_free(&j);
    free(tmp);
    return rc;
}

#define MANIFEST_MAX (1 << 20) /* a manifest is a few KiB; a larger file is not one */

/* The file at PATH, whole; NULL with *RC set. */
static char *slurp(const char *path, size_t *len, int *rc) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    if (!f) {
        *rc = -errno;
        return NULL;
    }
    /* Sized by the file (a manifest is a few KiB, and stats reads one per snapshot), plus one
     * byte that shows a file grown since, or longer than any manifest. */
    struct stat st;
    size_t cap = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < MANIFEST_MAX
                     ? (size_t)st.st_size + 1
                     : MANIFEST_MAX + 1;
    if (!(text = malloc(cap))) {
        *rc = MX_E_NOMEM;
    } else if ((*len = fread(text, 1, cap, f)) >= cap || ferror(f)) {
        *rc = ferror(f) ? -EIO : MX_E_CORRUPT;
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

static void copy(char *out, size_t cap, const char *s) {
    snprintf(out, cap, "%s", s ? s : "");
}

int mx_manifest_read(const char *path, mx_manifest_t *m, char *err, size_t errlen) {
    size_t len = 0;
    int rc = 0;
    char *text = slurp(path, &len, &rc);
    snprintf(err, errlen, "%s", rc == MX_E_CORRUPT ? "larger than a manifest" : "");
    if (!text)
        return rc;
    mx_json_value_t *root = mx_json_parse(text, len, err, errlen);
    free(text);
    if (!root || !mx_json_get(root, "schema")) {
        if (root)
            snprintf(err, errlen, "no \"schema\" member: not a scan manifest");
        mx_json_value_free(root);
        return MX_E_CORRUPT;
    }
    copy(m->input_sha256, sizeof(m->input_sha256),
         mx_json_string(mx_json_get(mx_json_get(root, "input"), "sha256")));
    /* Manifests from before the option knew only the spreadsheet dialect. */
    const char *dialect = mx_json_string(mx_json_get(root, "csv_dialect"));
    copy(m->csv_dialect, sizeof(m->csv_dialect), dialect ? dialect : "spreadsheet");
    copy(m->scan_id, sizeof(m->scan_id), mx_json_string(mx_json_get(root, "scan_id")));
    const char *shard = mx_json_string(mx_json_get(root, "shard"));
    if (!shard || sscanf(shard, "%u/%u", &m->shard_index, &m->shard_count) != 2)
        m->shard_index = 0, m->shard_count = 1;
    const mx_json_value_t *probed = mx_json_get(mx_json_get(root, "counts"), "hosts_probed");
    if (probed && probed->type == MX_JSON_NUM && probed->num >= 0)
        m->hosts_probed = (unsigned long long)probed->num;
    const mx_json_value_t *runs = mx_json_get(root, "runs");
    for (const mx_json_value_t *r = runs ? runs->kid : NULL;
         r && m->nruns < MX_MANIFEST_MAX_RUNS - 1; r = r->next) {
        mx_manifest_run_t *run = &m->runs[m->nruns++];
        copy(run->start, sizeof(run->start), mx_json_string(mx_json_get(r, "start")));
        copy(run->end, sizeof(run->end), mx_json_string(mx_json_get(r, "end")));
        copy(run->status, sizeof(run->status), mx_json_string(mx_json_get(r, "status")));
        if (!strcmp(run->status, "running"))
            copy(run->status, sizeof(run->status), "killed");
    }
    mx_json_value_free(root);
    return 0;
}
