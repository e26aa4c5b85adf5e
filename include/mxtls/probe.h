/* The probe: one SMTP session to one host (MX name, address) — connect, greeting, EHLO,
 * STARTTLS, TLS handshake, EHLO again, QUIT — as a non-blocking state machine on a libuv loop,
 * producing the host columns of the scan record. Every state has a timeout and the whole probe
 * a deadline, so a silent or dripping server costs bounded time. No mail is ever sent. */
#ifndef MXTLS_PROBE_H
#define MXTLS_PROBE_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "mxtls/record.h"
#include "mxtls/tls.h"

/* The TLS handshakes of one loop. A handshake holds some 40 KiB (full-size record buffers, key
 * exchange, the peer's chain being parsed) and takes milliseconds of CPU for its signatures.
 * The gate lets at most LIMIT run; the others wait after the server's 220 to STARTTLS, holding
 * no TLS state. And the handshakes' CPU work runs from an idle handle, a few milliseconds per
 * turn of the loop, not from read callbacks: libuv polls up to 48 batches of 1,024 events
 * before it runs timers, so a loop whose CPUs fall behind would otherwise spend seconds in one
 * turn, with no timer, progress line or new connection meanwhile. */
typedef struct {
    void *head, *tail; /* probes, oldest first */
} mx_probe_queue_t;

typedef struct {
    unsigned limit; /* handshakes at once; 0: no limit */
    unsigned busy;
    int draining;
    mx_probe_queue_t waiting; /* probes waiting to start a handshake */
    mx_probe_queue_t ready;   /* handshakes with work to do */
    uv_idle_t idle;           /* does that work */
} mx_probe_gate_t;

/* Sets up GATE on LOOP for at most LIMIT handshakes at once (0: no limit). Returns 0 or a
 * negative libuv code. */
int mx_probe_gate_init(mx_probe_gate_t *gate, uv_loop_t *loop, unsigned limit);

/* Closes GATE's handle (once no probe uses it); the loop must run once more to finish. */
void mx_probe_gate_close(mx_probe_gate_t *gate);

typedef struct {
    const char *ehlo;            /* name sent in EHLO/HELO */
    uint64_t timeout_connect_ms; /* --timeout-connect */
    uint64_t timeout_read_ms;    /* --timeout-read: waiting for any one reply */
    uint64_t deadline_ms;        /* --deadline: the whole probe */
    mx_tls_config_t *tls;        /* the worker's TLS configuration */
    mx_probe_gate_t *gate;       /* the loop's handshake gate; NULL: none */
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
    char scanned_at[21];
    const char *stage; /* NULL when the probe completed */
    const char *error; /* NULL when nothing went wrong */
} mx_probe_result_t;

/* Called once per probe, from the loop, with the result (valid during the call only). */
typedef void (*mx_probe_cb)(void *ud, const mx_probe_result_t *res);

/* Starts probing MX_HOST (copied) at ADDR (port included) on LOOP. CFG must outlive the
 * probe. Returns 0, or a negative libuv/project code, in which case CB is never called. */
int mx_probe_start(uv_loop_t *loop, const mx_probe_config_t *cfg, const char *mx_host,
                   const struct sockaddr *addr, mx_probe_cb cb, void *ud);

/* Text buffers for mx_probe_fill(). */
typedef struct {
    char n[16][24];
} mx_probe_text_t;

/* Fills the host columns of REC from RES (strings point into RES and TXT). */
void mx_probe_fill(const mx_probe_result_t *res, mx_record_t *rec, mx_probe_text_t *txt);

#endif
