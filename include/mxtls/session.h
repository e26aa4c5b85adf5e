/* The SMTP session of a probe, with no socket and no clock of its own: connect, greeting,
 * EHLO, STARTTLS, TLS handshake (through mxtls/tls.h), EHLO again, QUIT, and the legacy probe
 * on a second connection. The driver (mxtls/probe.h for libuv; the unit tests with scripted
 * servers) owns the connection and the timer: it calls in with what happened, and the session
 * calls out through mx_session_io_t for what to do. Every way out goes through one finish,
 * which closes the connection and then delivers the result once. */
#ifndef MXTLS_SESSION_H
#define MXTLS_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mxtls/probe.h"

typedef struct mx_session mx_session_t;

/* What the session asks of its driver; IO is the driver's pointer. The gate functions may be
 * NULL (no gate: a handshake starts at once and its work runs from the input). */
typedef struct {
    int (*send)(void *io, const void *data, size_t len); /* 0 or a negative code */
    void (*arm)(void *io, uint64_t ms);       /* (re)arms the one timer: mx_session_timeout() */
    void (*redial)(void *io);                 /* closes the connection, dials again: connected() */
    void (*close)(void *io);                  /* closes the connection for good */
    uint64_t (*now)(void *io);                /* milliseconds, monotonic */
    int (*gate_enter)(void *io);              /* 1: handshake now; 0: mx_session_admitted() later */
    void (*gate_ready)(void *io);             /* handshake work pending: mx_session_work() later */
    void (*gate_unready)(void *io);           /* the pending work was done from the input */
    void (*gate_leave)(void *io);             /* the handshake is over (or never started) */
    void (*gate_coming)(void *io, int delta); /* 1: STARTTLS sent; -1: its reply came (or none) */
    void (*gate_hold)(void *io);   /* held before STARTTLS: mx_session_released() later */
    void (*gate_unhold)(void *io); /* holds no more, not released */
} mx_session_io_t;

/* A session probing MX_HOST (copied) with CFG, which must outlive it. CB gets the result once,
 * valid until mx_session_free(). Returns NULL when memory is out. */
mx_session_t *mx_session_new(const mx_probe_config_t *cfg, const mx_session_io_t *io, void *ioud,
                             const char *mx_host, mx_probe_cb cb, void *ud);
void mx_session_free(mx_session_t *s);

/* The host's TLSA records (the usable ones copied), against which the chain is judged
 * (mx_probe_result_t's dane; none usable: not judged). Returns 0, or MX_E_NOMEM. */
int mx_session_set_tlsa(mx_session_t *s, const mx_tlsa_set_t *set);

/* The dial has begun: the connect timeout runs from now. */
void mx_session_start(mx_session_t *s);

/* The dial ended: STATUS 0 or a negative libuv code. */
void mx_session_connected(mx_session_t *s, int status);

/* Room for the next bytes from the server, then how they came: N > 0 bytes, or a negative
 * libuv code (UV_EOF, UV_ECONNRESET ...). */
void mx_session_reserve(mx_session_t *s, char **buf, size_t *len);
void mx_session_received(mx_session_t *s, ssize_t n);

/* Ends the session without a result (its owner stops): the connection closes, the gate is left. */
void mx_session_abort(mx_session_t *s);

/* The timer fired; a write failed with STATUS. */
void mx_session_timeout(mx_session_t *s);
void mx_session_write_failed(mx_session_t *s, int status);

/* The gate let the handshake start; the gate gives the handshake its turn of work. */
void mx_session_admitted(mx_session_t *s);
void mx_session_work(mx_session_t *s);

/* The gate has room for the held probe: it sends STARTTLS now. */
void mx_session_released(mx_session_t *s);

/* The driver waited MS for a local resource (a descriptor): not the server's time. */
void mx_session_waited_locally(mx_session_t *s, uint64_t ms);

/* When the whole probe must end (the driver's clock). */
uint64_t mx_session_deadline(const mx_session_t *s);

/* 1 while dialling (no connection to read from yet); 1 once the result is delivered. */
int mx_session_connecting(const mx_session_t *s);
int mx_session_done(const mx_session_t *s);

#endif
