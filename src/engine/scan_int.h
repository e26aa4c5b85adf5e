/* Private parts of the scan engine, shared by its files:
 *   scan.c        the scan's life: set-up, workers, the list, writing domains, teardown
 *   limits.c      admission and politeness: --concurrency, --rate, one connection per address,
 *                 --net-limit per network
 *   hosts.c       the host table: each (MX host, address) once per scan, its waiting domains
 *   probes.c      starting probes, their results, --retry-4xx
 *   dns_bridge.c  the DNS thread and the hand-over of answers to the workers
 *   policies.c    the MTA-STS policy fetch of each domain that publishes one
 *   resume.c      --resume: the old file's complete domains kept, the manifest's runs read
 *   progress.c    the counts the progress line shows
 * Everything under `mu` is marked; the rest belongs to one thread. */
#ifndef MXTLS_SCAN_INT_H
#define MXTLS_SCAN_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "mxtls/dns.h"
#include "mxtls/domain_list.h"
#include "mxtls/hashset.h"
#include "mxtls/intern.h"
#include "mxtls/manifest.h"
#include "mxtls/probe.h"
#include "mxtls/rows.h"
#include "mxtls/scan.h"
#include "mxtls/sts_fetch.h"
#include "mxtls/table.h"
#include "mxtls/writer.h"

#define START_BATCH 64 /* probes started per claim */
/* The longest a probe waits at the gate before it is given up as local_overload (and tried
 * again later): servers wait minutes for a ClientHello (Postfix 300 s), and admission keeps
 * the gate's waits to seconds, so this bounds only what admission failed to prevent. */
#define LOCAL_WAIT_MS 60000
#define LOCAL_RETRY_MS 15000 /* a host the scanner failed is tried again this much later */
/* A probe held back by the gate's window before STARTTLS (mxtls/gate.h) holds (NOOPs), then
 * quits and is tried again DEFER_RETRY_MS later, at most DEFER_MAX times. A hold costs the probe
 * a round trip (10 s at farm latency; bench/RESULTS.md, "Holding before STARTTLS"). */
#define DEFER_RETRY_MS 5000
#define DEFER_MAX 3
#define STARVED_MS 30000
#define LAG_BUCKETS 1000 /* loop-lag histogram, 1 ms each; the last holds the rest */

typedef struct dom dom_t;
typedef struct worker worker_t;
typedef struct scan scan_t;

typedef enum { HOST_QUEUED, HOST_PROBING, HOST_DONE } host_state_t;

typedef struct host {
    char *key;             /* "IP MXHOST": the address never contains a space; "IP !DOMAIN" for
                            * the MTA-STS policy fetch of DOMAIN (its policy host's address) */
    mx_host_result_t *res; /* the result, once done */
    /* A policy fetch: the connection passes the same limits as a probe; its outcome, once done
     * (sts_policy), and the policy when one was read. */
    const char *sts_status;
    mx_sts_policy_t *sts;
    /* TLSA records to judge the chain against, in the answer of the domain that made the host
     * (it waits on the host, so they outlive the probe); NULL: not judged */
    const mx_dns_rdata_t *tlsa;
    uint64_t ipk, netk; /* keys of its address and network in the limits' counts */
    uint64_t due_ms;    /* a host to probe again: not before */
    dom_t **waiters;
    int nwait, capwait;
    uint8_t state; /* host_state_t, under mu */
    uint8_t tries;
    uint8_t local_tries; /* times the scanner failed it (local_overload) */
    uint8_t defers;      /* times its probe quit before STARTTLS for our backlog */
    uint8_t first_fill;  /* its probe started before any had ended: admission was blind */
    uint8_t fetch;       /* a policy fetch, not a probe */
    struct host *next;   /* the owner's FIFO of queued probes, or its retry list */
} host_t;

struct dom {
    worker_t *w;
    long rank;
    unsigned long line;
    char *name;
    mx_dns_answer_t *ans;        /* as the DNS stage made it; NULL until then */
    char dns_at[24];             /* when it came: scanned_at of the rows without a probe */
    host_t ***hosts;             /* per MX, per address: the host, NULL when not probed */
    int pending;                 /* touched by its own worker only */
    int dns_doubts, dns_retries; /* times asked again; of which in answered times */
    uint64_t dns_retry_at;       /* when to ask again (the DNS loop's time) */
    const char *sts_status;      /* why no policy was fetched (sts_policy); NULL: none */
    host_t *sts_host;            /* the policy fetch, when one was made */
    dom_t *prev, *next;          /* the scan's domains in flight (under mu) */
};

typedef struct {
    uint64_t key;
    uint32_t count;
} slot_t;

typedef struct {
    dom_t **v;
    size_t n, cap;
} dom_list_t;

struct worker {
    scan_t *s;
    unsigned id;
    uv_loop_t loop;
    uv_thread_t thread;
    mx_tls_config_t *tls;
    mx_probe_config_t probe;
    mx_probe_set_t probes; /* its probes in flight, for the teardown */
    mx_sts_fetch_config_t sts;
    mx_sts_fetch_set_t fetches; /* its policy fetches in flight, for the teardown */
    mx_gate_t gate;
    uv_timer_t tick;
    uv_async_t wake;
    host_t *qhead, *qtail, *retry;
    unsigned long inflight; /* domains of this worker */
    unsigned ticks;
    int loop_ready, handles_ready;
    uint64_t last_tick;
    uint32_t lag_hist[LAG_BUCKETS]; /* its own thread's */
    uint64_t lag_max;
    uint64_t lag_recent, gate_wait;  /* under mu: for admission control */
    unsigned gate_queue;             /* under mu: probes waiting at the gate */
    double gate_rate;                /* under mu: handshakes ended per second, while queued */
    unsigned long long gate_entered; /* under mu: probes that reached the gate */
    dom_list_t inbox;                /* under mu: domains whose host another worker completed */
    dom_list_t resolved;             /* under mu: domains whose DNS answer is in */
};

struct scan {
    const mx_scan_config_t *cfg;
    worker_t *w;
    unsigned nw;
    unsigned long max_inflight; /* domains read ahead, per worker */
    uint64_t t0;
    char *man_path;
    mx_manifest_t man;
    uv_loop_t dns_loop; /* the DNS thread's */
    uv_thread_t dns_thread;
    mx_dns_t *dns;
    uv_async_t dns_wake;
    uv_timer_t dns_tick;
    int dns_ready;
    uv_mutex_t mu;        /* everything below */
    dom_list_t dns_queue; /* domains for the DNS thread */
    int dns_quit;
    unsigned long long dns_inflight;
    dom_t *live; /* every domain in flight */
    mx_domain_reader_t *reader;
    mx_writer_t *writer;
    mx_table_t hosts; /* host_t *, by key */
    slot_t *busy;     /* connections open per address and per network */
    size_t bcap, bused;
    mx_intern_t *strings;
    unsigned open;
    double window; /* admission: probes in flight allowed now (<= --concurrency) */
    uint64_t last_control, last_decrease;
    double probe_ms; /* moving average of a completed probe's time: admission's feedback delay */
    unsigned long long queue_then; /* probes waiting at the gates at queue_at */
    uint64_t queue_at;
    int descriptors_short, throttled;
    unsigned long long held_recent; /* probes held before STARTTLS since the last control step */
    double pace;                    /* admission's rate (limits.c); 0: --rate alone */
    double cpu_pace;                /* the part of it the gates' measured rate sets; 0: none */
    uint64_t queued_seen;           /* when a gate last had probes waiting */
    uint64_t starved_since;         /* no descriptor for a probe while none of ours was open */
    int dns_down;                   /* the resolvers answer nothing: no new domain is fed */
    dom_list_t dns_doubt;      /* domains whose timeouts came while the resolvers were silent */
    uint64_t dns_silent_since; /* when the resolvers last answered, while they are silent */
    uint64_t dns_last_ping;
    int dns_closing;
    mx_manifest_health_t *health; /* &man.health: under mu */
    unsigned long long outcomes[MX_ENDED__COUNT];
    double tokens;
    uint64_t last_refill;
    int eof, stopping, quit, failed, seen_interrupts;
    uint64_t stop_at;
    unsigned long inflight;
    unsigned long long domains_done, hosts_probed, hosts_done, retries;
    unsigned long long hosts_before; /* probed by the runs a --resume continues */
    unsigned long long list_lines;   /* lines of the list file (0: standard input, unknown) */
    unsigned long long addrs_seen, addrs_permitted; /* distinct excluded MX addresses, and the
                                                     * permitted ones, until the first of those */
    mx_hashset_t excluded;                          /* the excluded, until then */
};

uint64_t mx__scan_now_ms(void);

/* Says WHAT once, marks the scan failed and stops it. Under mu. */
void mx__scan_fail(scan_t *s, const char *what);

/* A line for the user (mx_scan_events_t.message); a notice may be silenced. */
void mx__scan_say(const scan_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mx__scan_note(const scan_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends D to LIST (handed to another thread). Under mu. Returns 0 or -1 (out of memory). */
int mx__scan_hand_over(scan_t *s, dom_list_t *list, dom_t *d);

/* One of D's hosts is done (or its DNS answer is in): when it was the last, D's rows go out. */
void mx__scan_dom_step(worker_t *w, dom_t *d);

/* limits.c */
/* The keys of IP's address and network (and its socket address with PORT); 0 when IP is not an
 * address. */
int mx__limits_keys(const char *ip, int port, struct sockaddr_storage *sa, uint64_t *ipk,
                    uint64_t *netk);
/* Admission control, every CONTROL_MS on worker 0's tick. Under mu. */
void mx__limits_control(scan_t *s, uint64_t now);
/* Claims up to START_BATCH queued hosts of W that the limits allow. */
int mx__limits_claim(worker_t *w, host_t **out);
/* H's connection is over. Under mu. */
void mx__limits_release(scan_t *s, const host_t *h);

/* hosts.c */
/* D needs host (MX_HOST, IP): claimed when new (queued on W, its chain to be judged against
 * TLSA when not NULL), waited on until done. Under mu. */
host_t *mx__hosts_need(worker_t *w, dom_t *d, const char *mx_host, const char *ip,
                       const mx_dns_rdata_t *tlsa);
void mx__hosts_free(scan_t *s);

/* probes.c */
/* H's probe or fetch has ended: the limits released, H done, its domains stepped. */
void mx__probes_host_done(worker_t *w, host_t *h);
/* Starts what W's queue and the limits allow. */
void mx__probes_pump(worker_t *w);
/* The probes' defer_tls (mxtls/probe.h): nonzero when the probe would wait too long at W's
 * gate. UD: the probe's own. */
int mx__probes_defer_tls(void *ud, uint64_t rtt_ms);

/* policies.c */
/* On D's worker, once its answer is in: its MTA-STS policy fetch is queued as a host of the
 * table when it publishes one (D then waits for it too), or why not is noted. Under mu. */
void mx__policies_need(worker_t *w, dom_t *d);
/* Starts fetch H's connection (mx__probes_pump); 0 and rc as mx_sts_fetch_start. */
int mx__policies_start(worker_t *w, host_t *h, const struct sockaddr *addr);

/* dns_bridge.c */
int mx__dns_bridge_start(scan_t *s);
/* Asks the DNS thread to resolve the domains queued for it. */
void mx__dns_bridge_kick(scan_t *s);
/* On D's worker, once its answer is in: its hosts are claimed or waited on. */
void mx__dns_bridge_resolved(worker_t *w, dom_t *d);
void mx__dns_bridge_stop(scan_t *s);
/* At the end of a scan: fails it when every probe address was excluded. */
void mx__dns_bridge_all_excluded(scan_t *s);

/* resume.c */
/* --resume: 0, or the outcome to stop with (a message said why). */
int mx__scan_resume(scan_t *s);
/* After the output failed: the manifest's rows and outcome counts made those of the rows the
 * file holds, read back from it. */
void mx__scan_recount(scan_t *s);

/* progress.c */
void mx__scan_progress(scan_t *s, int final);

#endif
