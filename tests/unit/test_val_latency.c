/*
 * test_val_latency.c - per-turn limits: the boundary (observed == limit
 * holds, one microsecond more does not), milestones that never happened, and
 * limits that are not set.
 */
#include "validator.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hand-built turns: events point at string literals and are never cleared. */
#include "test_val_fixture.h"

static ar_expect_latency limits(int64_t first_event_us, int64_t first_tool_us, int64_t turn_us)
{
    ar_expect_latency e = {0};
    e.present = true;
    e.first_event_us = first_event_us;
    e.first_tool_us = first_tool_us;
    e.turn_us = turn_us;
    return e;
}

/* A turn whose events arrive at the given offsets after the start. */
static void turn_at(fx *f, int64_t first_us, int64_t tool_us, int64_t end_us)
{
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL)->recv_us = f->obs.start_us + first_us;
    fx_ev(f, AR_EV_TOOL_EXECUTING, "S", "t", "c1")->recv_us = f->obs.start_us + tool_us;
    ar_event *t = fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    t->recv_us = f->obs.start_us + end_us;
    f->obs.terminal = t;
    f->obs.end_us = t->recv_us;
}

static void test_at_the_limit_passes(void **state)
{
    fx *f = fx_new();
    turn_at(f, 2000000, 3000000, 45000000);
    ar_expect_latency e = limits(2000000, 3000000, 45000000);
    ar_val_latency(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 3);
    assert_string_equal(fx_check(f, 0)->name, "latency.first_event");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "latency.first_event: expected ≤ 2.00s, observed 2.00s");
    assert_string_equal(fx_check(f, 1)->name, "latency.first_tool");
    assert_true(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 2)->name, "latency.turn");
    assert_true(fx_check(f, 2)->passed);
    fx_free(f);
}

static void test_one_microsecond_over_fails(void **state)
{
    fx *f = fx_new();
    turn_at(f, 2000001, 3000001, 47200000);
    ar_expect_latency e = limits(2000000, 3000000, 45000000);
    ar_val_latency(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 3);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "latency.first_event: expected ≤ 2.00s, observed 2.00s (2000001us > "
                        "2000000us)");
    assert_false(fx_check(f, 1)->passed);
    assert_false(fx_check(f, 2)->passed);
    assert_string_equal(fx_check(f, 2)->message,
                        "latency.turn: expected ≤ 45.00s, observed 47.20s");
    fx_free(f);
}

static void test_first_tool_is_the_first_tool_executing(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL)->recv_us = f->obs.start_us + 100;
    fx_ev(f, AR_EV_TOOL_COMPLETED, "S", "t", "c0")->recv_us = f->obs.start_us + 200;
    fx_ev(f, AR_EV_TOOL_EXECUTING, "S", "t", "c1")->recv_us = f->obs.start_us + 850;
    fx_ev(f, AR_EV_TOOL_EXECUTING, "S", "t", "c2")->recv_us = f->obs.start_us + 900;
    ar_expect_latency e = limits(-1, 800, -1);
    ar_val_latency(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "latency.first_tool: expected ≤ 800us, observed 850us");
    fx_free(f);
}

static void test_missing_milestones_fail(void **state)
{
    fx *f = fx_new();
    f->obs.end_us = f->obs.start_us + 60000000;
    ar_expect_latency e = limits(2000000, 3000000, 45000000);
    ar_val_latency(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 3);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "latency.first_event: expected ≤ 2.00s, observed no event (waited "
                        "60.00s)");
    assert_false(fx_check(f, 1)->passed);
    assert_has(fx_check(f, 1), "observed no tool_executing");
    assert_false(fx_check(f, 2)->passed);
    assert_string_equal(fx_check(f, 2)->message,
                        "latency.turn: expected ≤ 45.00s, observed no terminal event (the turn "
                        "did not complete) (waited 60.00s)");
    fx_free(f);
}

static void test_unset_limits_and_absent(void **state)
{
    fx *f = fx_new();
    turn_at(f, 1, 2, 3);
    ar_expect_latency e = limits(-1, -1, 10);
    ar_val_latency(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    assert_string_equal(fx_check(f, 0)->name, "latency.turn");
    assert_true(fx_check(f, 0)->passed);
    e.present = false;
    ar_val_latency(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_the_limit_passes),
        cmocka_unit_test(test_one_microsecond_over_fails),
        cmocka_unit_test(test_first_tool_is_the_first_tool_executing),
        cmocka_unit_test(test_missing_milestones_fail),
        cmocka_unit_test(test_unset_limits_and_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
