/* The TLS handshakes of one loop. A handshake holds some 40 KiB (full-size record buffers, key
 * exchange, the peer's chain being parsed) and takes milliseconds of CPU for its signatures.
 * The gate lets at most LIMIT have work for our CPUs queued, and at most SPARE (gate.c) times as
 * many run while the rest wait on their servers (a slow server's handshake costs memory, not
 * CPU); the others wait after the server's 220 to STARTTLS, holding no TLS state. And the
 * handshakes' CPU work runs from an idle handle, a few milliseconds per turn of the loop, not from
 * read callbacks: libuv polls up to 48 batches of 1,024 events before it runs timers, so a loop
 * whose CPUs fall behind would otherwise spend seconds in one turn, with no timer, progress line or
 * new connection meanwhile.
 *
 * A probe that sends STARTTLS reaches the gate a round trip later, and nothing then can stop
 * it waiting there. So the gate keeps a window, like TCP's congestion window, of the probes
 * between STARTTLS and the end of their handshake (on their way, waiting, in handshake): a probe
 * about to send STARTTLS sends it only within the window, and holds otherwise. The window
 * moves with how far the oldest entry's wait is from a target: below it, while probes are held
 * back, it grows, by up to what the gate served (doubling per round trip) until the first wait
 * past the target, then by up to a quarter per round trip; past it, it shrinks, by up to half
 * per round trip. A delay-based law, as LEDBAT: it needs no measured speed, which on a shared
 * machine moves within seconds (docs/local-trouble.md). */
#ifndef MXTLS_GATE_H
#define MXTLS_GATE_H

#include <stdint.h>

#include <uv.h>

typedef struct mx_gate_entry mx_gate_entry_t;

/* A user of the gate embeds one entry and recovers itself from it in the callbacks. */
struct mx_gate_entry {
    void (*admit)(mx_gate_entry_t *e);   /* a handshake is now this entry's (it waited) */
    void (*work)(mx_gate_entry_t *e);    /* its turn for handshake work */
    void (*release)(mx_gate_entry_t *e); /* held, it may send STARTTLS now (mx_gate_hold) */
    mx_gate_entry_t *wprev, *wnext;      /* the waiting queue */
    mx_gate_entry_t *rprev, *rnext;      /* the ready queue */
    mx_gate_entry_t *hprev, *hnext;      /* the held queue */
    uint64_t since;                      /* uv_now() when it began to wait */
    unsigned char gated, waiting, ready, holding;
};

typedef struct {
    mx_gate_entry_t *head, *tail; /* oldest first */
} mx_gate_queue_t;

typedef struct {
    unsigned limit; /* handshakes with CPU work queued at once; 0: no limit */
    unsigned busy;
    unsigned nready; /* handshakes with work queued for our CPUs */
    int draining;
    mx_gate_queue_t waiting; /* entries waiting to start a handshake */
    unsigned nwaiting;       /* how many: the backlog admission control watches */
    mx_gate_queue_t ready;   /* handshakes with work to do */
    uv_idle_t idle;          /* does that work */
    unsigned coming;         /* probes that sent STARTTLS and wait for its reply */
    mx_gate_queue_t holding; /* probes held before STARTTLS, quietly, oldest first */
    unsigned nholding;
    unsigned long long entered; /* entries that asked for a handshake */
    unsigned long long served;  /* handshakes ended */
    /* The rate handshakes end at while entries wait (admission paces by it). */
    unsigned long long served_then;   /* at measured_at */
    uint64_t measured_at;             /* uv_now() of the last call to mx_gate_measure */
    int queued_then;                  /* entries waited at measured_at */
    uint64_t queued_ms;               /* time with a queue since the last sample */
    unsigned long long queued_served; /* handshakes ended in that time */
    double rate;                      /* per second, 0 until measured */
    /* The window (above). */
    double window;                    /* coming + waiting + busy allowed */
    double rtt_ms;                    /* smoothed time of the replies before STARTTLS */
    int slow_start;                   /* no wait has passed the target yet */
    uint64_t window_at;               /* uv_now() of its last update */
    unsigned long long window_served; /* served then */
    unsigned long long held;          /* probes held back since then */
} mx_gate_t;

/* Sets up GATE on LOOP for at most LIMIT handshakes with CPU work at once (0: no limit). Returns 0
 * or a negative libuv code. */
int mx_gate_init(mx_gate_t *g, uv_loop_t *loop, unsigned limit);

/* Closes the gate's handle (once no entry uses it); the loop must run once more to finish. */
void mx_gate_close(mx_gate_t *g);

/* Asks for a handshake: 1 when E may start now, 0 when it waits (E->admit fires later). */
int mx_gate_enter(mx_gate_t *g, mx_gate_entry_t *e);

/* How long the oldest waiting entry has waited (ms at NOW, uv_now()), 0 when none waits: the
 * window and the scan's admission control read it as the CPUs' backlog. */
uint64_t mx_gate_oldest_wait(const mx_gate_t *g, uint64_t now);

/* Samples the rate handshakes end at (NOW: uv_now(); call it often): over time in which entries
 * waited at both ends of a call, so that an idle gate does not read as a slow one, a sample per
 * half second of such time. Moves the window, every half second, and releases the held entries
 * the window has room for. */
void mx_gate_measure(mx_gate_t *g, uint64_t now);

/* Whether a probe about to send STARTTLS may (1), or holds (0): it may while those coming,
 * waiting and in handshake stay within the window and none holds before it. RTT_MS: how long
 * its last reply took. */
int mx_gate_may_start(mx_gate_t *g, uint64_t rtt_ms);

/* E, a probe that may not start (mx_gate_may_start), holds quietly until the window has room
 * for it, after those held before it: E->release fires then, from mx_gate_measure. */
void mx_gate_hold(mx_gate_t *g, mx_gate_entry_t *e);

/* E holds no more (its own timer ran out, or it ended): out of the held queue. */
void mx_gate_unhold(mx_gate_t *g, mx_gate_entry_t *e);

/* One more (DELTA 1) or one fewer (-1) entry coming: a probe asked the server to start TLS. */
void mx_gate_coming(mx_gate_t *g, int delta);

/* E's handshake has work (input, or the ClientHello's key generation): E->work fires on a
 * later turn of the loop. */
void mx_gate_ready(mx_gate_t *g, mx_gate_entry_t *e);

/* E's queued work is done another way (E->work will not fire for it). */
void mx_gate_unready(mx_gate_t *g, mx_gate_entry_t *e);

/* E is out of the queues and gives its handshake back; the freed handshakes go to the entries
 * waiting longest (their admit may run from inside this call). */
void mx_gate_leave(mx_gate_t *g, mx_gate_entry_t *e);

#endif
