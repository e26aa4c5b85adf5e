/* Holding a probe before STARTTLS while the scanner's handshakes are behind (smtp_int.h).
 *
 * A held probe waits quietly, at most HOLD_QUIET_MS, for the gate's window to have room; the
 * gate releases it then, oldest first, and it sends STARTTLS at once. A server waits minutes for
 * a client's next command (RFC 5321 4.5.3.2), so a pause of seconds between two is an ordinary
 * session. Past the pause the probe sends NOOP and, at its reply, asks again: the server never
 * sees a client silent for longer, nor one stalled after its 220 to STARTTLS while our CPUs catch
 * up. After HOLD_MAX NOOPs it quits instead and is probed again later. */
#include <stdint.h>

#include "smtp/smtp_int.h"

static void quiet_end(mx_session_t *s) {
    s->pausing = 0;
    if (s->io->gate_unhold)
        s->io->gate_unhold(s->ioud);
}

/* The hold was ours: the deadline moves by it. */
static void hold_over(mx_session_t *s) {
    s->deadline_at += mx__session_now_ms(s) - s->t_hold;
}

static void send_starttls(mx_session_t *s) {
    mx__session_send_cmd(s, "STARTTLS\r\n", S_STARTTLS);
    mx__session_coming(s, 1);
}

void mx__session_starttls_or_hold(mx_session_t *s) {
    uint64_t now = mx__session_now_ms(s), rtt = now - s->t_cmd;
    if (!s->cfg->defer_tls || !s->cfg->defer_tls(s->ud, rtt)) {
        send_starttls(s);
        return;
    }
    s->t_hold = now;
    s->res.held = 1;
    mx__session_set_state(s, S_HOLD);
    s->pausing = 1;
    mx_reply_init(&s->reply); /* what the server says meanwhile is read as ever */
    if (s->io->gate_hold)
        s->io->gate_hold(s->ioud);
    s->io->arm(s->ioud, HOLD_QUIET_MS);
}

void mx_session_released(mx_session_t *s) {
    if (s->done || !s->pausing)
        return;
    s->pausing = 0; /* the gate has let it go already */
    hold_over(s);
    send_starttls(s);
}

/* The NOOP's reply. A server that does not take the NOOP, or speaks while we pause, has its
 * session ended politely, and the probe is deferred. */
void mx__session_hold_reply(mx_session_t *s, int code) {
    int spoke = s->pausing;
    if (spoke)
        quiet_end(s);
    hold_over(s);
    if (spoke || code / 100 != 2) {
        s->res.deferred = 1;
        mx__session_send_cmd(s, "QUIT\r\n", S_QUIT);
        return;
    }
    mx__session_starttls_or_hold(s);
}

/* The quiet pause ran out with the window still full. */
void mx__session_hold_paused(mx_session_t *s) {
    quiet_end(s);
    if (s->res.holds >= HOLD_MAX) {
        hold_over(s);
        s->res.deferred = 1;
        mx__session_send_cmd(s, "QUIT\r\n", S_QUIT);
        return;
    }
    s->res.holds++;
    mx__session_send_cmd(s, "NOOP\r\n", S_HOLD);
}
