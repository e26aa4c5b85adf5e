/* The TLS handshakes of one loop. A handshake holds some 40 KiB (full-size record buffers, key
 * exchange, the peer's chain being parsed) and takes milliseconds of CPU for its signatures.
 * The gate lets at most LIMIT run; the others wait after the server's 220 to STARTTLS, holding
 * no TLS state. And the handshakes' CPU work runs from an idle handle, a few milliseconds per
 * turn of the loop, not from read callbacks: libuv polls up to 48 batches of 1,024 events
 * before it runs timers, so a loop whose CPUs fall behind would otherwise spend seconds in one
 * turn, with no timer, progress line or new connection meanwhile. */
#ifndef MXTLS_GATE_H
#define MXTLS_GATE_H

#include <stdint.h>

#include <uv.h>

typedef struct mx_gate_entry mx_gate_entry_t;

/* A user of the gate embeds one entry and recovers itself from it in the callbacks. */
struct mx_gate_entry {
    void (*admit)(mx_gate_entry_t *e); /* a handshake is now this entry's (it waited) */
    void (*work)(mx_gate_entry_t *e);  /* its turn for handshake work */
    mx_gate_entry_t *wprev, *wnext;    /* the waiting queue */
    mx_gate_entry_t *rprev, *rnext;    /* the ready queue */
    uint64_t since;                    /* uv_now() when it began to wait */
    unsigned char gated, waiting, ready;
    unsigned char rated; /* it sent STARTTLS on a forecast made with a measured rate */
};

typedef struct {
    mx_gate_entry_t *head, *tail; /* oldest first */
} mx_gate_queue_t;

typedef struct {
    unsigned limit; /* handshakes at once; 0: no limit */
    unsigned busy;
    int draining;
    mx_gate_queue_t waiting; /* entries waiting to start a handshake */
    unsigned nwaiting;       /* how many: the backlog admission control watches */
    mx_gate_queue_t ready;   /* handshakes with work to do */
    uv_idle_t idle;          /* does that work */
    /* What a newcomer's wait is made of: those coming and waiting ahead of it, and the rate
     * handshakes end at while entries wait. */
    unsigned coming;                  /* probes that sent STARTTLS and wait for its reply */
    unsigned long long entered;       /* entries that asked for a handshake */
    unsigned long long served;        /* handshakes ended */
    unsigned long long served_then;   /* at measured_at */
    uint64_t measured_at;             /* uv_now() of the last call to mx_gate_measure */
    int queued_then;                  /* entries waited at measured_at */
    uint64_t queued_ms;               /* time with a queue since the last sample */
    unsigned long long queued_served; /* handshakes ended in that time */
    double rate;                      /* per second, 0 until measured */
    double rate_low;                  /* a lower envelope of the samples: what forecasts count on */
    int rate_tried;                   /* a rated entry has had its turn */
    /* The most handshakes ended in one second, queue or not: a lower bound of the gate's speed
     * while it has no rate. */
    unsigned long long second_served; /* served at second_at */
    uint64_t second_at;               /* uv_now() when the present second began */
    double served_best;
} mx_gate_t;

/* Sets up GATE on LOOP for at most LIMIT handshakes at once (0: no limit). Returns 0 or a
 * negative libuv code. */
int mx_gate_init(mx_gate_t *g, uv_loop_t *loop, unsigned limit);

/* Closes the gate's handle (once no entry uses it); the loop must run once more to finish. */
void mx_gate_close(mx_gate_t *g);

/* Asks for a handshake: 1 when E may start now, 0 when it waits (E->admit fires later). */
int mx_gate_enter(mx_gate_t *g, mx_gate_entry_t *e);

/* How long the oldest waiting entry has waited (ms at NOW, uv_now()), 0 when none waits: the
 * scan's admission control reads it as the CPUs' backlog. */
uint64_t mx_gate_oldest_wait(const mx_gate_t *g, uint64_t now);

/* Samples the rate handshakes end at (NOW: uv_now(); call it often): over time in which entries
 * waited at both ends of a call, so that an idle gate does not read as a slow one, a sample per
 * half second of such time; and, queue or not, the most handshakes ended in a second. */
void mx_gate_measure(mx_gate_t *g, uint64_t now);

/* How long an entry arriving IN ms after NOW would wait (ms): the backlog ahead of it (those
 * waiting and those coming), less what the gate serves meanwhile, at the lower envelope of the
 * measured rate (an overestimate lets through what the gate cannot serve in time). Before
 * any rate is known (the first fill is blind), the backlog with nothing served meanwhile, at a
 * second per handshake, or, once LIMIT have ended, at the most it has ended in a second. 0 when
 * a handshake will be free. */
uint64_t mx_gate_forecast(const mx_gate_t *g, uint64_t now, uint64_t in);

/* One more (DELTA 1) or one fewer (-1) entry coming: E (or an entry not known, NULL) asked the
 * server to start TLS. */
void mx_gate_coming(mx_gate_t *g, mx_gate_entry_t *e, int delta);

/* Whether an entry that came on a forecast made with a measured rate has had its turn: until
 * then the rate is untried (read on small first waves, it can be well above what a large one
 * gets), and the scan keeps a wider margin. */
int mx_gate_rate_tried(const mx_gate_t *g);

/* E's handshake has work (input, or the ClientHello's key generation): E->work fires on a
 * later turn of the loop. */
void mx_gate_ready(mx_gate_t *g, mx_gate_entry_t *e);

/* E's queued work is done another way (E->work will not fire for it). */
void mx_gate_unready(mx_gate_t *g, mx_gate_entry_t *e);

/* E is out of the queues and gives its handshake back; the freed handshakes go to the entries
 * waiting longest (their admit may run from inside this call). */
void mx_gate_leave(mx_gate_t *g, mx_gate_entry_t *e);

#endif
