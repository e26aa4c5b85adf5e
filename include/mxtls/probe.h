/* The probe: one SMTP session (mxtls/session.h) to one host (MX name, address) over a libuv
 * TCP connection and timer, producing the host columns of the scan record. Every state has a
 * timeout and the whole probe a deadline, so a silent or dripping server costs bounded time.
 * No mail is ever sent. */
#ifndef MXTLS_PROBE_H
#define MXTLS_PROBE_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "mxtls/dane.h"
#include "mxtls/gate.h"
#include "mxtls/record.h"
#include "mxtls/tls.h"

/* The probes in flight on one loop, so that a scan stopped before they end can close them. */
typedef struct {
    void *head;
} mx_probe_set_t;

typedef struct {
    const char *ehlo;            /* name sent in EHLO/HELO */
    uint64_t timeout_connect_ms; /* --timeout-connect */
    uint64_t timeout_read_ms;    /* --timeout-read: waiting for any one reply */
    uint64_t deadline_ms;        /* --deadline: the whole probe, the scanner's own waits aside */
    uint64_t local_wait_ms;      /* the longest wait at the gate (0: the deadline) */
    mx_tls_config_t *tls;        /* the worker's TLS configuration */
    mx_gate_t *gate;             /* the loop's handshake gate; NULL: none */
    mx_probe_set_t *set;         /* where the probes in flight are kept; NULL: nowhere */
    /* Asked with the probe's UD before it sends STARTTLS, its reply due in about RTT_MS (as the
     * last reply took): nonzero when the scanner's handshakes are so far behind that this probe
     * would wait too long for its turn. The probe then holds: quietly, until the gate has room
     * for it or HOLD_QUIET_MS (smtp_int.h) pass, then a NOOP and the question again at its
     * reply; after HOLD_MAX NOOPs, or if the server does not take the NOOP or speaks meanwhile,
     * it quits (QUIT, no TLS) and ends with result.deferred, to be
     * probed again later. NULL: never. */
    int (*defer_tls)(void *ud, uint64_t rtt_ms);
} mx_probe_config_t;

/* What one probe found; strings are empty when unknown, never NULL. The texts of a reply are
 * kept at their length, not in fixed arrays: a session holds them for its whole life. */
typedef struct {
    int conn;           /* mx_conn_t */
    int banner_code;    /* 0 when none */
    const char *banner; /* first line of the greeting after the code (at most 256 bytes) */
    int ehlo_code;
    const char *ehlo_caps;
    int64_t size_limit; /* -1 when not advertised */
    int starttls;       /* -1 unknown, 0 no, 1 yes */
    int starttls_code;
    int tls; /* mx_tls_t, -1 when unknown (the probe ended before) */
    const char *tls_version;
    const char *tls_cipher;
    char tls_group[24];
    const char *tls_error;
    const mx_cert_summary_t *cert; /* NULL when no certificate was seen */
    const char *ehlo_tls_caps;
    int64_t t_connect_ms, t_banner_ms, t_tls_ms, t_total_ms; /* -1 when not reached */
    int64_t local_wait_ms; /* time the scanner made it wait (the gate), not the server */
    int local_overload;    /* the scanner could not measure it: error=local_overload */
    int deferred;          /* quit before STARTTLS for the scanner's backlog: not a result */
    int holds;             /* NOOPs sent before STARTTLS for the scanner's backlog */
    int held;              /* it held before STARTTLS at all, quietly or with NOOPs */
    const char *dane;      /* the chain against the host's usable TLSA records: "match" or
                            * "mismatch" (no TLS was had); NULL when not judged */
    char scanned_at[21];
    const char *stage; /* NULL when the probe completed */
    const char *error; /* NULL when nothing went wrong */
} mx_probe_result_t;

/* Called once per probe, from the loop, with the result (valid during the call only). */
typedef void (*mx_probe_cb)(void *ud, const mx_probe_result_t *res);

/* Starts probing MX_HOST (copied) at ADDR (port included) on LOOP, judging its chain against
 * TLSA (copied; NULL: not judged). CFG must outlive the probe. Returns 0, or a negative
 * libuv/project code, in which case CB is never called. */
int mx_probe_start(uv_loop_t *loop, const mx_probe_config_t *cfg, const char *mx_host,
                   const struct sockaddr *addr, const mx_tlsa_set_t *tlsa, mx_probe_cb cb,
                   void *ud);

/* Ends every probe of SET without a result: their connections close, and they are freed as the
 * loop runs on; FORGET (when not NULL) gets the UD each was started with, for its owner to free. */
void mx_probe_abort_all(mx_probe_set_t *set, void (*forget)(void *ud));

#endif
