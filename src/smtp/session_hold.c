/* Holding a probe before STARTTLS while the scanner's handshakes are behind (smtp_int.h).
 *
 * The server never waits on us: it sees NOOPs a second or more apart, each answered, or a
 * session that ends with QUIT; never one stalled after its 220 to STARTTLS while our CPUs catch
 * up. A hold costs the probe a round trip of its session where quitting costs a new session. */
#include <stdint.h>

#include "smtp/smtp_int.h"

void mx__session_starttls_or_hold(mx_session_t *s) {
    uint64_t now = mx__session_now_ms(s), rtt = now - s->t_cmd;
    if (s->cfg->defer_tls && s->cfg->defer_tls(s->ud, rtt)) {
        if (s->res.holds >= HOLD_MAX) {
            s->res.deferred = 1;
            mx__session_send_cmd(s, "QUIT\r\n", S_QUIT);
            return;
        }
        s->res.holds++;
        s->t_hold = now;
        mx__session_set_state(s, S_HOLD);
        if (rtt < HOLD_MIN_MS) {
            s->pausing = 1;
            mx_reply_init(&s->reply); /* what the server says meanwhile is read as ever */
            s->io->arm(s->ioud, HOLD_MIN_MS - rtt);
            return;
        }
        mx__session_send_cmd(s, "NOOP\r\n", S_HOLD);
        return;
    }
    mx__session_send_cmd(s, "STARTTLS\r\n", S_STARTTLS);
    mx__session_coming(s, 1);
}

/* The hold was ours: the deadline moves by it. A server that does not take the NOOP, or speaks
 * while we pause, has its session ended politely, and the probe is deferred. */
void mx__session_hold_reply(mx_session_t *s, int code) {
    s->deadline_at += mx__session_now_ms(s) - s->t_hold;
    if (s->pausing || code / 100 != 2) {
        s->pausing = 0;
        s->res.deferred = 1;
        mx__session_send_cmd(s, "QUIT\r\n", S_QUIT);
        return;
    }
    mx__session_starttls_or_hold(s);
}

void mx__session_hold_paused(mx_session_t *s) {
    s->pausing = 0;
    mx__session_send_cmd(s, "NOOP\r\n", S_HOLD);
}
