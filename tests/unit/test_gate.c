/* The handshake gate (mxtls/gate.h): entries beyond the limit wait in order and a leaving
 * handshake admits the oldest; the rate is measured only while entries wait; and the window of
 * probes between STARTTLS and the end of their handshake lets a probe send STARTTLS only within
 * it, grows while the gate idles with probes held back and shrinks while the oldest wait is past
 * the target. The engine holds probes on that window, so a wrong one is a wrong hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mxtls/gate.h"

static int admitted[16];
static mx_gate_entry_t ent[16];
static mx_gate_t *the_gate; /* the gate of the test that runs */

/* A handshake that starts has CPU work at once (its ClientHello's key), as a session's has. */
static void admit_index(mx_gate_entry_t *e) {
    admitted[e - ent] = 1;
    mx_gate_ready(the_gate, e);
}

static void no_work(mx_gate_entry_t *e) {
    (void)e;
}

static int released[16], nreleased;

static void release_index(mx_gate_entry_t *e) {
    released[nreleased++] = (int)(e - ent);
    mx_gate_coming(the_gate, 1);
}

static void entries(void) {
    memset(ent, 0, sizeof(ent));
    memset(admitted, 0, sizeof(admitted));
    for (int i = 0; i < 16; i++) {
        ent[i].admit = admit_index;
        ent[i].work = no_work;
        ent[i].release = release_index;
    }
    nreleased = 0;
}

/* A gate of two handshakes on its own loop, and fresh entries; returns the loop's time. */
static uint64_t gate_open(uv_loop_t *loop, mx_gate_t *g) {
    assert_int_equal(uv_loop_init(loop), 0);
    assert_int_equal(mx_gate_init(g, loop, 2), 0);
    the_gate = g;
    entries();
    return uv_now(loop);
}

/* Entries FROM to TO (excluded) ask for a handshake, or leave, in order; those that start have
 * CPU work. */
static void enter_range(mx_gate_t *g, int from, int to) {
    for (int i = from; i < to; i++)
        if (mx_gate_enter(g, &ent[i]))
            mx_gate_ready(g, &ent[i]);
}

static void leave_range(mx_gate_t *g, int from, int to) {
    for (int i = from; i < to; i++)
        mx_gate_leave(g, &ent[i]);
}

/* N more probes coming (N < 0: fewer). */
static void coming(mx_gate_t *g, int n) {
    for (; n > 0; n--)
        mx_gate_coming(g, 1);
    for (; n < 0; n++)
        mx_gate_coming(g, -1);
}

static void gate_close(uv_loop_t *loop, mx_gate_t *g) {
    mx_gate_close(g);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_queue_and_rate(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    enter_range(&g, 0, 2);
    assert_int_equal(g.busy, 2);
    for (int i = 2; i < 8; i++)
        assert_int_equal(mx_gate_enter(&g, &ent[i]), 0);
    assert_int_equal(g.nwaiting, 6);
    assert_int_equal(mx_gate_oldest_wait(&g, t0 + 1500), 1500);
    mx_gate_measure(&g, t0 + 1500);
    /* Four handshakes end in the next two seconds while entries wait: 2 per second. The oldest
     * waiting go first. */
    leave_range(&g, 0, 4);
    assert_true(admitted[2] && admitted[3] && admitted[4] && admitted[5] && !admitted[6]);
    assert_int_equal(g.nwaiting, 2);
    mx_gate_measure(&g, t0 + 1600); /* 100 ms with a queue: too little for a sample */
    assert_true(g.rate == 0);
    mx_gate_measure(&g, t0 + 3500);
    assert_true(g.rate > 1.99 && g.rate < 2.01);
    /* The queue empties and the gate idles: a second with no wait says nothing of its speed. */
    leave_range(&g, 4, 6);
    assert_int_equal(g.nwaiting, 0);
    assert_int_equal(mx_gate_oldest_wait(&g, t0 + 4000), 0);
    mx_gate_measure(&g, t0 + 4500); /* entries waited at its start only: no sample */
    mx_gate_measure(&g, t0 + 9500); /* none at its start: no sample either */
    assert_true(g.rate > 1.99 && g.rate < 2.01);
    leave_range(&g, 6, 8);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

/* Queues shorter than a sample add up to one: the first waves of a scan, each drained in under a
 * second, still give a rate. */
static void test_short_queues_add_up(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    enter_range(&g, 0, 4);
    mx_gate_measure(&g, t0);
    mx_gate_leave(&g, &ent[0]);
    mx_gate_measure(&g, t0 + 300); /* 300 ms with a queue, one served */
    mx_gate_leave(&g, &ent[1]);
    mx_gate_measure(&g, t0 + 400); /* the queue is gone: not counted */
    leave_range(&g, 2, 4);
    assert_true(g.rate == 0 && g.served == 4 && g.busy == 0);
    /* The second wave queues 200 ms and serves one: 500 ms and two served in all. */
    enter_range(&g, 4, 8);
    mx_gate_measure(&g, t0 + 5000);
    mx_gate_leave(&g, &ent[4]);
    mx_gate_measure(&g, t0 + 5200);
    assert_true(g.rate > 3.99 && g.rate < 4.01);
    leave_range(&g, 5, 8);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

/* A probe may send STARTTLS while those coming, waiting and in handshake, itself included, stay
 * within the window: two gates' worth before anything is known. */
static void test_window_counts_all_on_their_way(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    gate_open(&loop, &g);
    assert_true(g.window > 3.99 && g.window < 4.01);
    coming(&g, 2);
    enter_range(&g, 0, 1); /* one in handshake */
    assert_int_equal(mx_gate_may_start(&g, 1000), 1);
    coming(&g, 1);
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    assert_int_equal(g.held, 1);
    coming(&g, -1);
    enter_range(&g, 1, 3); /* one more in handshake, one waiting: four on their way */
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    leave_range(&g, 0, 1); /* the waiting one has its handshake */
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    coming(&g, -1); /* one of those coming has its reply */
    assert_int_equal(mx_gate_may_start(&g, 1000), 1);
    coming(&g, -1);
    leave_range(&g, 1, 3);
    gate_close(&loop, &g);
}

/* While probes are held back, the window grows by what the gate served (slow start: doubling
 * per round trip), in proportion to how far the oldest wait is below the 2 s target; a gate
 * that held nobody back does not grow it. */
static void test_window_slow_start(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    mx_gate_measure(&g, t0);
    enter_range(&g, 0, 2);
    leave_range(&g, 0, 2);
    mx_gate_measure(&g, t0 + 500); /* two served, nobody held back */
    assert_true(g.window > 3.99 && g.window < 4.01);
    coming(&g, 4);
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    coming(&g, -4);
    enter_range(&g, 2, 5);
    leave_range(&g, 2, 4); /* two served, one in handshake, none waiting */
    mx_gate_measure(&g, t0 + 1000);
    assert_true(g.window > 5.99 && g.window < 6.01);
    assert_int_equal(g.held, 0);
    enter_range(&g, 5, 9); /* two wait from t0 */
    coming(&g, 4);
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    coming(&g, -4);
    leave_range(&g, 4, 6); /* two served; one still waits, 1.5 s at the next step */
    mx_gate_measure(&g, t0 + 1500);
    assert_true(g.window > 6.49 && g.window < 6.51);
    assert_int_equal(g.slow_start, 1);
    leave_range(&g, 6, 9);
    gate_close(&loop, &g);
}

/* An oldest wait past the 2 s target shrinks the window a little at every step, in proportion
 * to how far past and to the step's share of a round trip, at most by half per round trip, never
 * below the gate's limit; and ends slow start: from then on the window grows by up to a quarter
 * per round trip, in proportion to how far the wait is below the target. */
static void test_window_shrinks_past_the_target(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    g.window = 100;
    mx_gate_measure(&g, t0);
    assert_int_equal(mx_gate_may_start(&g, 1000), 1); /* the round trip stays a second */
    enter_range(&g, 0, 3);                            /* the third waits from t0 */
    mx_gate_measure(&g, t0 + 1000);                   /* waited 1 s: within the target */
    assert_true(g.window > 99.99 && g.window < 100.01);
    mx_gate_measure(&g, t0 + 3000); /* 3 s: half past it, a round trip of 2 s, a step of 1 */
    assert_true(g.window > 74.99 && g.window < 75.01);
    assert_int_equal(g.slow_start, 0);
    mx_gate_measure(&g, t0 + 9000); /* far past it, a step of three round trips: half */
    assert_true(g.window > 37.49 && g.window < 37.51);
    for (uint64_t t = t0 + 10000; t < t0 + 30000; t += 1000)
        mx_gate_measure(&g, t);
    assert_true(g.window > 1.99 && g.window < 2.01); /* the limit */
    leave_range(&g, 0, 2);                           /* the queue is gone, a handshake free */
    g.window = 100;
    coming(&g, 200);
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    coming(&g, -200);
    mx_gate_measure(&g, t0 + 30000); /* idle, a probe held back, a step of half a round trip */
    assert_true(g.window > 112.49 && g.window < 112.51);
    enter_range(&g, 3, 5); /* one waits, from 1 s before the next step */
    ent[4].since = t0 + 30000;
    coming(&g, 200);
    assert_int_equal(mx_gate_may_start(&g, 1000), 0);
    coming(&g, -200);
    mx_gate_measure(&g, t0 + 31000); /* half the target: half the growth */
    assert_true(g.window > 119.52 && g.window < 119.54);
    leave_range(&g, 2, 5);
    gate_close(&loop, &g);
}

/* Probes held back wait quietly in order: a newcomer may not pass those held before it, the
 * window's room goes to the oldest held (as it is released it is on its way), and one that ends
 * while held leaves the queue. */
static void test_held_released_in_order(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    coming(&g, 4); /* the window of four is full */
    for (int i = 10; i < 13; i++) {
        assert_int_equal(mx_gate_may_start(&g, 1000), 0);
        mx_gate_hold(&g, &ent[i]);
    }
    mx_gate_measure(&g, t0 + 10);
    assert_int_equal(nreleased, 0);
    coming(&g, -2);                                   /* two replies came: room for two */
    assert_int_equal(mx_gate_may_start(&g, 1000), 0); /* not before those held */
    mx_gate_measure(&g, t0 + 20);
    assert_int_equal(nreleased, 2);
    assert_true(released[0] == 10 && released[1] == 11);
    assert_int_equal(g.coming, 4);
    assert_int_equal(g.nholding, 1);
    mx_gate_leave(&g, &ent[12]); /* it ended while held */
    assert_int_equal(g.nholding, 0);
    assert_int_equal(g.served, 0);
    coming(&g, -1);
    mx_gate_measure(&g, t0 + 30);
    assert_int_equal(nreleased, 2);
    assert_int_equal(mx_gate_may_start(&g, 1000), 1); /* nobody held: room is the newcomer's */
    coming(&g, -3);
    gate_close(&loop, &g);
}

/* The limit bounds the handshakes with work for our CPUs. Those waiting on their servers leave
 * room for more (a slow server must not keep probes waiting for our CPUs, which are idle), up to
 * four times the limit: their memory. The waiting keep their order. */
static void test_spare_handshakes(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    enter_range(&g, 0, 3); /* two start, with work; the third waits */
    assert_true(admitted[0] == 0 && g.busy == 2 && g.nwaiting == 1);
    mx_gate_unready(&g, &ent[0]); /* its ClientHello is out: it waits on its server */
    assert_int_equal(mx_gate_enter(&g, &ent[3]), 0); /* not before the one waiting */
    mx_gate_measure(&g, t0 + 10);
    assert_true(admitted[2] && !admitted[3] && g.busy == 3);
    for (int i = 1; i < 4; i++)
        mx_gate_unready(&g, &ent[i]);
    mx_gate_measure(&g, t0 + 20);
    assert_true(admitted[3] && g.busy == 4);
    mx_gate_unready(&g, &ent[3]);
    for (int i = 4; i < 12; i++)
        if (mx_gate_enter(&g, &ent[i]))
            mx_gate_unready(&g, &ent[i]); /* nothing ready: each handshake sent its hello */
    assert_int_equal(g.busy, 8);          /* four times the limit */
    assert_int_equal(g.nwaiting, 4);
    mx_gate_measure(&g, t0 + 30);
    assert_int_equal(g.busy, 8);
    leave_range(&g, 0, 1); /* a handshake ends: the oldest waiting starts */
    assert_true(admitted[8] && !admitted[9] && g.busy == 8);
    leave_range(&g, 1, 12);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_queue_and_rate),
                                       cmocka_unit_test(test_short_queues_add_up),
                                       cmocka_unit_test(test_window_counts_all_on_their_way),
                                       cmocka_unit_test(test_window_slow_start),
                                       cmocka_unit_test(test_window_shrinks_past_the_target),
                                       cmocka_unit_test(test_held_released_in_order),
                                       cmocka_unit_test(test_spare_handshakes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
