/* mxtls scan: the survey (shared/DESIGN.md): a domain list in, one gzip CSV of scan records and
 * its manifest out. The engine reads the list as it goes, resolves each domain (DNS stage),
 * probes each (MX host, address) once per scan however many domains name it, within global
 * limits that protect the servers surveyed, and writes each domain's rows together once all
 * its hosts are done. It prints nothing and handles no signal: what the user sees comes out
 * through mx_scan_events_t, and interruptions come in through a counter. */
#ifndef MXTLS_SCAN_H
#define MXTLS_SCAN_H

#include <signal.h>
#include <stdint.h>

#include "mxtls/netlist.h"
#include "mxtls/options.h"

/* How the probes so far ended, as the progress line counts them. */
#define MX_ENDED_NAMES(X)                                                                          \
    X(OK, "ok")                                                                                    \
    X(TIMEOUT, "timeout")                                                                          \
    X(REFUSED, "refused")                                                                          \
    X(TLS_FAILED, "TLS failed")                                                                    \
    X(OVERLOAD, "overload")                                                                        \
    X(DEFERRED, "deferred")                                                                        \
    X(OTHER, "other")
typedef enum {
#define X(id, name) MX_ENDED_##id,
    MX_ENDED_NAMES(X)
#undef X
        MX_ENDED__COUNT
} mx_probe_ended_t;

/* What the progress line shows. */
typedef struct {
    unsigned long long domains_done, domains_read, hosts_probed, hosts_done, dns_inflight;
    unsigned long long lines_read, list_lines; /* of the list; list_lines 0 when unknown */
    unsigned long long outcomes[MX_ENDED__COUNT];
    int list_read;   /* the whole list has been read: domains_read is the total */
    unsigned open;   /* connections open */
    unsigned window; /* probes admission allows now (below --concurrency when throttled) */
    int throttled;   /* admission is holding back: the CPUs (or descriptors) are saturated */
    int dns_down;    /* the resolvers answer nothing: admission waits for them */
    double seconds;
} mx_scan_progress_t;

typedef struct {
    /* A line for the user: why the scan stops or an interruption (NOTICE 0), or what --resume
     * kept (NOTICE 1, which --quiet silences). */
    void (*message)(void *ud, int notice, const char *text);
    /* The counts, every 250 ms (FINAL 0) and once at the end (FINAL 1). */
    void (*progress)(void *ud, const mx_scan_progress_t *p, int final);
    void *ud;
} mx_scan_events_t;

typedef struct {
    const char *list, *out;
    mx_dns_opts_t dns;
    mx_probe_opts_t probe;
    unsigned concurrency, rate, net_limit, threads;
    unsigned handshakes; /* TLS handshakes in progress per thread (mxtls/gate.h) */
    unsigned retry_4xx;  /* probes again of a host that answered 4xx to the greeting or EHLO */
    uint64_t grace_ms, retry_after_ms;
    uint64_t dns_outage_ms; /* resolvers silent this long stop the scan (--dns-outage) */
    int resume;
    int fixed_admission; /* --admission fixed: --concurrency is held, whatever the machine */
    int csv_plain;       /* --csv-dialect plain: no formula guard in the file */
    const char *scan_id; /* --scan-id: names the survey its shards belong to; NULL: none */
    mx_netlist_t allow, exclude, reserved;
    unsigned shard_i, shard_n;
    const char *command_line;
    /* SIGINT/SIGTERM seen: the first lets probes in flight finish within --grace, the second
     * stops at once; read on the loops' ticks, so a signal handler may bump it. */
    const volatile sig_atomic_t *interrupts;
    mx_scan_events_t events;
} mx_scan_config_t;

typedef enum {
    MX_SCAN_FINISHED,
    MX_SCAN_FAILED,      /* a runtime failure; the file holds what was complete */
    MX_SCAN_INTERRUPTED, /* the file is readable and the manifest says so */
    MX_SCAN_REFUSED      /* --resume of a file made from another list: nothing was done */
} mx_scan_outcome_t;

/* Runs the scan to its end, every handle closed and everything freed. */
mx_scan_outcome_t mx_scan_run(const mx_scan_config_t *cfg);

#endif
