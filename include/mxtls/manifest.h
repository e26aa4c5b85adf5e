/* The scan manifest OUT.meta.json (shared/SCHEMA.md, Manifest): what was scanned, with what,
 * how, and whether the run finished. Written at the start of a run and rewritten at its end;
 * each write replaces the file at once (write a temporary file, then rename). */
#ifndef MXTLS_MANIFEST_H
#define MXTLS_MANIFEST_H

#include "mxtls/record.h"

#define MX_MANIFEST_MAX_RUNS 64

typedef struct {
    char start[32];  /* ISO 8601 UTC */
    char end[32];    /* "" while running */
    char status[16]; /* running, finished, interrupted, failed */
} mx_manifest_run_t;

/* How healthy the scanning machine was during the run: what local trouble cost, so that a
 * reader can tell a snapshot measured under strain (shared/SCHEMA.md, Manifest). */
typedef struct {
    unsigned long long local_waits;           /* probes that waited at the handshake gate */
    unsigned long long longest_wait_ms;       /* the longest of those waits */
    unsigned long long longest_wait_later_ms; /* of probes started after the first one ended,
                                               * once admission knew a probe's time */
    unsigned long long reprobes;              /* probes tried again after the scanner failed them */
    unsigned long long deferred;         /* probes that quit before STARTTLS, the gate too full */
    unsigned long long held;             /* probes that held before STARTTLS, quietly or not */
    unsigned long long holds;            /* NOOPs sent before STARTTLS, the gate too full */
    unsigned long long overload_rows;    /* rows written with error=local_overload */
    unsigned long long descriptor_waits; /* probes that waited for a file descriptor */
    unsigned long long dns_retried;      /* domains asked again: their DNS timeouts came while
                                          * the resolvers answered nothing at all */
    unsigned long long throttled_ms;     /* time admission held back below --concurrency */
    unsigned long long lag_p50_ms, lag_p99_ms, lag_max_ms; /* worker loops' turn lag */
    char failure[256]; /* why the run stopped failed, "" otherwise */
} mx_manifest_health_t;

typedef struct {
    const char *command_line;
    const char *input;
    char input_sha256[65];
    unsigned shard_index, shard_count;
    mx_manifest_run_t runs[MX_MANIFEST_MAX_RUNS];
    int nruns;
    const char *const *resolvers;
    int nresolvers;
    const char *ehlo;
    char csv_dialect[16]; /* "spreadsheet" (a formula guard) or "plain" */
    char scan_id[65];     /* --scan-id, "" when none was given */
    const char *source_address;
    const char *ca_file;
    char ca_sha256[65];
    unsigned long long lines, domains, invalid, duplicates, rows, hosts_probed;
    unsigned long long conn[MX_CONN__COUNT];
    unsigned long long tls[MX_TLS__COUNT];
    mx_manifest_health_t health;
} mx_manifest_t;

/* Path of the manifest beside OUT: OUT with ".csv.gz" (or ".gz") replaced by ".meta.json".
 * Returns a heap string or NULL. */
char *mx_manifest_path(const char *out);

/* Writes M as JSON to PATH, atomically (in place within reserved blocks when the disk is
 * full). Returns 0 or -errno / MX_E_NOMEM. */
int mx_manifest_write(const char *path, const mx_manifest_t *m);

/* Reads what a resumed run keeps of the manifest at PATH into M: the input's SHA-256, shard,
 * hosts probed and the
 * earlier runs (a run still "running" was killed: it never wrote its end). Returns 0, -errno,
 * or MX_E_CORRUPT with a one-line reason in ERR when the file is not a manifest. */
int mx_manifest_read(const char *path, mx_manifest_t *m, char *err, size_t errlen);

/* Current UTC time in ISO 8601 ("2026-01-31T12:00:00Z") into BUF (at least 21 bytes). */
void mx_utc_now(char *buf, unsigned long size);

#endif
