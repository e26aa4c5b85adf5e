/* Private parts of the SMTP session, shared by its files: session.c (the SMTP steps and what
 * the driver reports) and session_tls.c (STARTTLS's handshake and the legacy probe). */
#ifndef MXTLS_SMTP_INT_H
#define MXTLS_SMTP_INT_H

#include <stdint.h>

#include "mxtls/reply.h"
#include "mxtls/session.h"

#define STATES(X)                                                                                  \
    X(CONNECT, "connect")                                                                          \
    X(GREETING, "greeting")                                                                        \
    X(EHLO, "ehlo")                                                                                \
    X(HELO, "ehlo")                                                                                \
    X(HOLD, "ehlo")                                                                                \
    X(STARTTLS, "starttls")                                                                        \
    X(TLS, "tls")                                                                                  \
    X(EHLO_TLS, "ehlo_tls")                                                                        \
    X(QUIT, "quit")

typedef enum {
#define X(id, stage) S_##id,
    STATES(X)
#undef X
} state_t;

#define IN_INITIAL 1024
/* A probe held before STARTTLS while the scanner's handshakes are behind (session_hold.c): it
 * pauses at most HOLD_QUIET_MS for the gate's window, then sends NOOP and asks again at its
 * reply, at most HOLD_MAX times. Servers count NOOPs among junk commands (Sendmail allows 20,
 * Postfix 100): a few are an ordinary session. The pause is half the shortest idle timeout a
 * server is known to set (Postfix's 10 s under stress), since a NOOP costs a round trip: where
 * replies take seconds, a pause of 2 s made most of a first fill's holds wait one more. */
#define HOLD_MAX 5
#define HOLD_QUIET_MS 5000
/* Bytes or a close from a server that waited this long at our gate are its giving up on us. */
#define LOCAL_PATIENCE_MS 1000
#define IN_MAX (MX_REPLY_MAX + 4096)

struct mx_session {
    const mx_probe_config_t *cfg;
    const mx_session_io_t *io;
    void *ioud;
    mx_probe_cb cb;
    void *ud;
    char host[256];
    state_t state;
    int done;
    int got_bytes; /* any byte received (a reset before that is conn=reset) */
    uint64_t t0_ms, deadline_at, t_starttls, t_wait0;
    uint64_t t_cmd;  /* when the pending command was sent */
    uint64_t t_hold; /* when the present hold began */
    int pausing;     /* held quietly: the gate releases it, or the timer sends NOOP */
    int coming;      /* counted as coming to the gate (STARTTLS sent, no reply yet) */
    char *in;        /* raw bytes before TLS */
    size_t in_len, in_cap;
    char *rbuf;  /* where the driver was told to read into */
    char *plain; /* decrypted bytes after the handshake */
    size_t plain_len, plain_cap;
    mx_reply_t reply;
    mx_tls_conn_t *tls;
    int tls_up;
    int legacy;    /* the second connection: a raw ClientHello after STARTTLS */
    int injected;  /* bytes came after the 220 to STARTTLS */
    int tls_rx;    /* the server's first TLS record has begun */
    int tls_grace; /* non-TLS bytes came where TLS was due: TLS must follow within the grace */
    int waiting;   /* at the gate: our ClientHello is not sent yet */
    int ready;     /* handshake work queued on the gate */
    mx_probe_result_t res;
    char *banner, *ehlo_caps, *ehlo_tls_caps; /* what RES points to */
    mx_cert_summary_t *cert;
    mx_tlsa_t *tlsa; /* the host's TLSA records, their data after them; NULL: not judged */
    int ntlsa;
};

extern const char *const mx__session_stages[];

void mx__session_set_state(mx_session_t *s, state_t st);
uint64_t mx__session_now_ms(const mx_session_t *s);
/* The one way out: delivers the result and closes the connection. */
void mx__session_finish(mx_session_t *s);
/* Records a failure at the current state (the first one wins). */
void mx__session_fail(mx_session_t *s, const char *error);
/* Arms the timer for MS, never past the probe's deadline. */
void mx__session_arm(mx_session_t *s, uint64_t ms);
/* Sends an SMTP command (over TLS once it is up) and waits for its reply, in state NEXT. */
void mx__session_send_cmd(mx_session_t *s, const char *cmd, state_t next);
void mx__session_send_ehlo(mx_session_t *s, state_t st);
/* The gate's count of probes on their way to it (ON 1: this one now is, 0: no longer). */
void mx__session_coming(mx_session_t *s, int on);
/* After an EHLO (or a hold's NOOP) reply that offers STARTTLS: STARTTLS, a hold, or QUIT for a
 * probe deferred (session_hold.c). */
void mx__session_starttls_or_hold(mx_session_t *s);
/* A reply while held (the NOOP's, or one the server sent while we paused). */
void mx__session_hold_reply(mx_session_t *s, int code);
/* The hold's quiet pause is over: a NOOP goes out, or QUIT after HOLD_MAX. */
void mx__session_hold_paused(mx_session_t *s);
/* Parses replies out of BUF (the raw input before TLS, the plaintext after). */
void mx__session_replies(mx_session_t *s, char *buf, size_t *len);
void mx__session_gate_leave(mx_session_t *s);
void mx__session_tls_free(mx_session_t *s);

/* After the 220 to STARTTLS: the handshake starts now, or when the gate has room. */
void mx__session_begin_tls(mx_session_t *s);
/* Handshake work: from the gate's turn, or at once without a gate. */
void mx__session_tls_work(mx_session_t *s);
/* Plaintext records into the reply buffer, then the replies they complete. */
void mx__session_tls_input(mx_session_t *s);
/* The scanner kept the probe waiting too long to measure the server (the gate's wait ran out,
 * or the server gave up on us meanwhile): not a property of the server. */
void mx__session_local_overload(mx_session_t *s);

/* N bytes came before the server's first TLS record: what is not TLS is dropped (and TLS must
 * follow within a grace). Returns the bytes left in s->rbuf for the handshake, 0 for none. */
size_t mx__session_before_tls(mx_session_t *s, size_t n);
/* The server answered the ClientHello with something that is not TLS, and no TLS followed. */
void mx__session_not_tls(mx_session_t *s);
/* Closes this connection and opens another for the legacy probe; the result so far stays. */
void mx__session_legacy_restart(mx_session_t *s);
/* A reply on the legacy probe's second connection: it only has to reach STARTTLS again. */
void mx__session_legacy_reply(mx_session_t *s, int code, const char *buf);
/* The legacy probe's raw ClientHello, after the second connection's 220 to STARTTLS. */
void mx__session_legacy_hello(mx_session_t *s);
/* The server's answer to the raw ClientHello is in (or the connection ended). */
void mx__session_legacy_done(mx_session_t *s);

#endif
