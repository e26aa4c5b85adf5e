/* --resume (shared/DESIGN.md, Writer): the old file's complete domain groups are copied into a
 * new file, which replaces OUT at once; the scan goes on into it, skipping those domains. The
 * manifest must name the same list, and its earlier runs are kept. */
#include "engine/scan_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mxtls/error.h"
#include "mxtls/salvage.h"
#include "mxtls/source.h"

static int salvaged(void *ud, const char *domain) {
    scan_t *s = ud;
    return mx_domain_reader_mark_seen(s->reader, domain);
}

/* Whether the manifest beside OUT names the list being scanned; its runs go into the new one.
 * A manifest that is missing or unreadable names none (the file's groups are still checked
 * one by one against the list as they are copied). */
static int same_list(scan_t *s) {
    const mx_scan_config_t *cfg = s->cfg;
    char cur_sha[65], err[256];
    mx_manifest_t old;
    memset(&old, 0, sizeof(old));
    if (mx_manifest_read(s->man_path, &old, err, sizeof(err)) < 0)
        old.input_sha256[0] = 0;
    if (mx_sha256_file(cfg->list, cur_sha) < 0 ||
        (old.input_sha256[0] && strcmp(old.input_sha256, cur_sha) != 0)) {
        mx__scan_say(s,
                     "--resume: %s was made from another list than %s (SHA-256 differs); resume "
                     "with that list, or scan into a new file",
                     cfg->out, cfg->list);
        return 0;
    }
    memcpy(s->man.runs, old.runs, sizeof(old.runs));
    s->man.nruns = old.nruns;
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
