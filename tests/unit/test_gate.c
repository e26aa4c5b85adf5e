/* The handshake gate's queue and its wait forecast (mxtls/gate.h): entries beyond the limit
 * wait in order, a leaving handshake admits the oldest, and the wait a newcomer would have is
 * the backlog at the rate handshakes ended while entries waited, never the rate of an idle
 * gate, with those on their way counted and what is served before the newcomer arrives taken
 * off; before any rate, a prior that lets a blind first fill through only a gate's worth at a
 * time. The engine defers probes on that forecast, so a wrong one is a wrong deferral. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "mxtls/gate.h"

static int admitted[16];
static mx_gate_entry_t ent[16];

static void admit_index(mx_gate_entry_t *e) {
    admitted[e - ent] = 1;
}

static void no_work(mx_gate_entry_t *e) {
    (void)e;
}

static void entries(void) {
    memset(ent, 0, sizeof(ent));
    memset(admitted, 0, sizeof(admitted));
    for (int i = 0; i < 16; i++) {
        ent[i].admit = admit_index;
        ent[i].work = no_work;
    }
}

/* A gate of two handshakes on its own loop, and fresh entries; returns the loop's time. */
static uint64_t gate_open(uv_loop_t *loop, mx_gate_t *g) {
    assert_int_equal(uv_loop_init(loop), 0);
    assert_int_equal(mx_gate_init(g, loop, 2), 0);
    entries();
    return uv_now(loop);
}

/* Entries FROM to TO (excluded) ask for a handshake, or leave, in order. */
static void enter_range(mx_gate_t *g, int from, int to) {
    for (int i = from; i < to; i++)
        mx_gate_enter(g, &ent[i]);
}

static void leave_range(mx_gate_t *g, int from, int to) {
    for (int i = from; i < to; i++)
        mx_gate_leave(g, &ent[i]);
}

/* N more probes coming (N < 0: fewer). */
static void coming(mx_gate_t *g, int n) {
    for (; n > 0; n--)
        mx_gate_coming(g, NULL, 1);
    for (; n < 0; n++)
        mx_gate_coming(g, NULL, -1);
}

static void gate_close(uv_loop_t *loop, mx_gate_t *g) {
    mx_gate_close(g);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_queue_and_forecast(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    /* A free handshake: no wait. */
    assert_int_equal(mx_gate_forecast(&g, t0, 0), 0);
    assert_int_equal(mx_gate_enter(&g, &ent[0]), 1);
    assert_int_equal(mx_gate_enter(&g, &ent[1]), 1);
    for (int i = 2; i < 8; i++)
        assert_int_equal(mx_gate_enter(&g, &ent[i]), 0);
    assert_int_equal(g.nwaiting, 6);
    /* Before any rate is known or any handshake has ended, the first fill is blind: a second
     * per handshake for the seven ahead of a newcomer, two at a time, and nothing taken off
     * for its round trip; the oldest entry's wait when that is longer. */
    assert_int_equal(mx_gate_forecast(&g, t0 + 1500, 0), 3500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 1500, 5000), 3500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 9000, 0), 9000);
    mx_gate_measure(&g, t0 + 1500);
    /* Four handshakes end in the next two seconds while entries wait: 2 per second. */
    leave_range(&g, 0, 4);
    assert_true(admitted[2] && admitted[3] && admitted[4] && admitted[5] && !admitted[6]);
    assert_int_equal(g.nwaiting, 2);
    mx_gate_measure(&g, t0 + 1600); /* 100 ms with a queue: too little for a sample */
    assert_true(g.rate == 0);
    /* A gate's worth of handshakes has ended, no rate yet, entries still wait: still blind
     * (three ahead at a second per handshake, two at a time, or the oldest wait). */
    assert_int_equal(mx_gate_forecast(&g, t0 + 1000, 0), 1500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 2000, 0), 2000);
    mx_gate_measure(&g, t0 + 3500);
    assert_true(g.rate > 1.99 && g.rate < 2.01);
    /* Two wait, the newcomer is third: 1.5 s at 2 per second. */
    assert_int_equal(mx_gate_forecast(&g, t0 + 3500, 0), 1500);
    /* Two more have sent STARTTLS: they are ahead too. Arriving a second from now, two of the
     * five ahead will have been served. */
    coming(&g, 2);
    assert_int_equal(mx_gate_forecast(&g, t0 + 3500, 0), 2500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 3500, 1000), 1500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 3500, 5000), 0);
    coming(&g, -2);
    assert_int_equal(g.coming, 0);

    /* The queue empties and the gate idles: a second with no wait says nothing of its speed. */
    leave_range(&g, 4, 6);
    assert_int_equal(g.nwaiting, 0);
    mx_gate_measure(&g, t0 + 4500); /* entries waited at its start only: no sample */
    mx_gate_measure(&g, t0 + 9500); /* none at its start: no sample either */
    assert_true(g.rate > 1.99 && g.rate < 2.01);
    /* Both handshakes taken, none waiting: a newcomer waits for one to end. */
    assert_int_equal(mx_gate_forecast(&g, t0 + 9500, 0), 500);
    mx_gate_leave(&g, &ent[6]);
    assert_int_equal(mx_gate_forecast(&g, t0 + 9500, 0), 0);
    mx_gate_leave(&g, &ent[7]);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

/* A gate that serves faster than probes come never queues and never measures a rate: once a
 * gate's worth of handshakes has ended, its blind forecast counts on the most it has ended in a
 * second, not on the prior's second per handshake; still without credit for the round trip
 * (what it served may have come only as fast as the forecast let it), and queue or not until
 * a rate is measured. */
static void test_fast_gate_leaves_the_prior(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    mx_gate_measure(&g, t0);
    coming(&g, 5);
    /* Five coming, two free, none served: four ahead of a newcomer at two a second. */
    assert_int_equal(mx_gate_forecast(&g, t0, 0), 2000);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(mx_gate_enter(&g, &ent[i]), 1);
        mx_gate_leave(&g, &ent[i]);
    }
    mx_gate_measure(&g, t0 + 1000); /* eight in a second, none waited */
    assert_true(g.rate == 0 && g.nwaiting == 0);
    assert_int_equal(mx_gate_forecast(&g, t0 + 1000, 0), 500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 1000, 5000), 500);
    enter_range(&g, 8, 11); /* the third waits: seven ahead of a newcomer */
    assert_int_equal(mx_gate_forecast(&g, t0, 0), 875);
    assert_int_equal(mx_gate_forecast(&g, t0 + 1000, 0), 1000); /* the oldest has waited 1 s */
    leave_range(&g, 8, 11);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

/* The scan keeps a wider margin until a probe that came on a forecast made with a measured rate
 * has had its turn, at once or after waiting; probes that came blind do not count. */
static void test_rate_tried(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    mx_gate_coming(&g, &ent[0], 1); /* blind */
    mx_gate_coming(&g, &ent[0], -1);
    enter_range(&g, 0, 6);
    assert_int_equal(mx_gate_rate_tried(&g), 0);
    mx_gate_measure(&g, t0);
    leave_range(&g, 0, 2);
    mx_gate_measure(&g, t0 + 1000); /* a rate: 2 a second */
    assert_true(g.rate > 1.99);
    mx_gate_coming(&g, &ent[6], 1);
    mx_gate_coming(&g, &ent[6], -1);
    enter_range(&g, 6, 7); /* waits behind 4 and 5, which came blind */
    leave_range(&g, 2, 4);
    assert_true(admitted[4] && admitted[5] && !admitted[6]);
    assert_int_equal(mx_gate_rate_tried(&g), 0);
    mx_gate_leave(&g, &ent[4]);
    assert_true(admitted[6]);
    assert_int_equal(mx_gate_rate_tried(&g), 1);
    leave_range(&g, 5, 7);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

/* The forecast counts on the rate's lower envelope: it credits the rate over a whole round
 * trip, so one fast second must not let through more than the slower ones serve. The envelope
 * falls to any lower sample, rises a tenth of the way to a higher one, and never below half
 * the mean (a stalled second). */
static void test_forecast_counts_on_the_low_rate(void **state) {
    (void)state;
    uv_loop_t loop;
    mx_gate_t g;
    uint64_t t0 = gate_open(&loop, &g);
    enter_range(&g, 0, 16);
    mx_gate_measure(&g, t0);
    leave_range(&g, 0, 4);
    mx_gate_measure(&g, t0 + 1000); /* 4 per second */
    leave_range(&g, 4, 6);
    mx_gate_measure(&g, t0 + 2000); /* 2 per second: the mean 3.6, the envelope 2 */
    assert_true(g.rate > 3.59 && g.rate < 3.61 && g.rate_low > 1.99 && g.rate_low < 2.01);
    /* Eight wait, the newcomer is ninth: 4.5 s at 2 per second (2.5 s at the mean); arriving
     * a second from now, two will have been served. */
    assert_int_equal(mx_gate_forecast(&g, t0 + 2000, 0), 4500);
    assert_int_equal(mx_gate_forecast(&g, t0 + 2000, 1000), 3500);
    leave_range(&g, 6, 10);
    mx_gate_measure(&g, t0 + 3000); /* 4 per second: the envelope rises to 2.2 */
    assert_true(g.rate_low > 2.19 && g.rate_low < 2.21);
    assert_int_equal(mx_gate_forecast(&g, t0 + 3000, 0), 2272);
    mx_gate_measure(&g, t0 + 4000); /* nothing served: the envelope stops at half the mean */
    assert_true(g.rate > 2.94 && g.rate < 2.95 && g.rate_low > 1.47 && g.rate_low < 1.48);
    assert_int_equal(mx_gate_forecast(&g, t0 + 4000, 0), 3396);
    leave_range(&g, 10, 16);
    assert_int_equal(g.busy, 0);
    gate_close(&loop, &g);
}

/* Queues shorter than a sample add up to one: the first waves of a scan, each drained in under a
 * second, still give a rate. A gate that has queued stays blind until it has one (its first
 * wave ended fast because the prior held it back, not because the gate is fast). */
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
    /* A gate's worth ended and none waits, but the gate has queued: three coming, two free,
     * two ahead of a newcomer at the prior's two a second. */
    coming(&g, 3);
    assert_int_equal(mx_gate_forecast(&g, t0 + 400, 0), 1000);
    coming(&g, -3);
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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_queue_and_forecast),
                                       cmocka_unit_test(test_forecast_counts_on_the_low_rate),
                                       cmocka_unit_test(test_short_queues_add_up),
                                       cmocka_unit_test(test_fast_gate_leaves_the_prior),
                                       cmocka_unit_test(test_rate_tried)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
