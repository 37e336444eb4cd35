/*
 * test_val_events.c - expect.events: order modes, counts, tool pairing,
 * nothing after the terminal event, forbidden kinds. Each case pins the
 * failure message, since that text is what a CI user reads.
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

static const ar_ev_kind K_START_TOOL_DONE[] = {AR_EV_AGENT_STARTED, AR_EV_TOOL_EXECUTING,
                                               AR_EV_AGENT_COMPLETED};

static ar_expect_events order_rule(const ar_ev_kind *kinds, size_t n, ar_order_mode mode)
{
    ar_expect_events e = {0};
    e.present = true;
    e.order = (ar_ev_kind *)kinds;
    e.n_order = n;
    e.mode = mode;
    return e;
}

/* start, thinking, tool(c1) exec, tool(c1) done, thinking, completed (terminal) */
static void typical_turn(fx *f)
{
    fx_ev(f, AR_EV_AGENT_STARTED, "Supervisor", NULL, NULL);
    fx_ev(f, AR_EV_AGENT_THINKING, "Supervisor", NULL, NULL);
    fx_ev(f, AR_EV_TOOL_EXECUTING, "Data", "cost_db", "c1");
    fx_ev(f, AR_EV_TOOL_COMPLETED, "Data", "cost_db", "c1")->status = AR_ST_OK;
    fx_ev(f, AR_EV_AGENT_THINKING, "Supervisor", NULL, NULL);
    f->obs.terminal = fx_ev(f, AR_EV_AGENT_COMPLETED, "Supervisor", NULL, NULL);
}

static void test_absent_adds_nothing(void **state)
{
    fx *f = fx_new();
    typical_turn(f);
    ar_expect_events e = {0};
    ar_val_events(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 0);
    fx_free(f);
}

static void test_strict_ignores_unlisted_kinds(void **state)
{
    fx *f = fx_new();
    typical_turn(f);
    /* tool_completed and agent_thinking are not listed, so they are dropped. */
    ar_expect_events e = order_rule(K_START_TOOL_DONE, 3, AR_ORDER_STRICT);
    ar_val_events(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    const ar_check *c = fx_check(f, 0);
    assert_string_equal(c->name, "events.order");
    assert_true(c->passed);
    assert_string_equal(c->message,
                        "events.order (strict): [agent_started, tool_executing, agent_completed] "
                        "observed");
    fx_free(f);
}

static void test_strict_missing_kind_fails(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "A", NULL, NULL);
    fx_ev(f, AR_EV_AGENT_THINKING, "A", NULL, NULL);
    f->obs.terminal = fx_ev(f, AR_EV_AGENT_COMPLETED, "A", NULL, NULL);
    ar_expect_events e = order_rule(K_START_TOOL_DONE, 3, AR_ORDER_STRICT);
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "events.order (strict): expected [agent_started, tool_executing, "
                  "agent_completed], observed [agent_started, agent_completed]");
    assert_has(c, "first difference at position 2");
    fx_free(f);
}

static void test_strict_extra_occurrence_fails(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "A", NULL, NULL);
    fx_ev(f, AR_EV_TOOL_EXECUTING, "A", "t", "1");
    fx_ev(f, AR_EV_TOOL_EXECUTING, "A", "t", "2");
    fx_ev(f, AR_EV_AGENT_COMPLETED, "A", NULL, NULL);
    ar_expect_events e = order_rule(K_START_TOOL_DONE, 3, AR_ORDER_STRICT);
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "observed [agent_started, tool_executing, tool_executing, agent_completed]");
    assert_has(c, "position 3");
    fx_free(f);
}

static void test_strict_wrong_order_fails(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_EXECUTING, "A", "t", "1");
    fx_ev(f, AR_EV_AGENT_STARTED, "A", NULL, NULL);
    fx_ev(f, AR_EV_AGENT_COMPLETED, "A", NULL, NULL);
    ar_expect_events e = order_rule(K_START_TOOL_DONE, 3, AR_ORDER_STRICT);
    ar_val_events(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "position 1");
    fx_free(f);
}

static void test_subsequence_pass_and_fail(void **state)
{
    static const ar_ev_kind want[] = {AR_EV_AGENT_STARTED, AR_EV_TOOL_EXECUTING,
                                      AR_EV_TOOL_COMPLETED, AR_EV_AGENT_COMPLETED};
    fx *f = fx_new();
    typical_turn(f);
    ar_expect_events e = order_rule(want, 4, AR_ORDER_SUBSEQUENCE);
    ar_val_events(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "events.order (subsequence): [agent_started, tool_executing, "
                               "tool_completed, agent_completed] observed in order");
    fx_free(f);

    /* The completion comes before the execution: not a subsequence. */
    f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "A", NULL, NULL);
    fx_ev(f, AR_EV_AGENT_THINKING, "A", NULL, NULL);
    fx_ev(f, AR_EV_AGENT_THINKING, "A", NULL, NULL);
    fx_ev(f, AR_EV_AGENT_THINKING, "A", NULL, NULL);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "A", "t", "1");
    fx_ev(f, AR_EV_TOOL_EXECUTING, "A", "t", "1");
    fx_ev(f, AR_EV_AGENT_COMPLETED, "A", NULL, NULL);
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "events.order (subsequence): expected [agent_started, tool_executing, "
                  "tool_completed, agent_completed] in order, observed [agent_started, "
                  "agent_thinking x3, tool_completed, tool_executing, agent_completed]");
    assert_has(c, "no tool_completed at position 3");
    fx_free(f);
}

static void test_contains_counts_repeats(void **state)
{
    static const ar_ev_kind want[] = {AR_EV_TOOL_EXECUTING, AR_EV_AGENT_STARTED,
                                      AR_EV_TOOL_EXECUTING};
    fx *f = fx_new();
    typical_turn(f);
    ar_expect_events e = order_rule(want, 3, AR_ORDER_CONTAINS);
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "events.order (contains): expected [tool_executing, agent_started, "
                  "tool_executing]");
    assert_has(c, "missing tool_executing (expected 2, observed 1)");
    fx_free(f);

    f = fx_new();
    typical_turn(f);
    fx_ev(f, AR_EV_TOOL_EXECUTING, "Data", "gpu", "c2");
    ar_val_events(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "all observed");
    fx_free(f);
}

static void test_counts(void **state)
{
    ar_count_rule rules[] = {
        {AR_EV_TOOL_EXECUTING, 1, 1},  /* exactly 1: passes */
        {AR_EV_ERROR, -1, 0},          /* at most 0: passes */
        {AR_EV_AGENT_THINKING, 3, -1}, /* at least 3: fails with 2 */
        {AR_EV_TOOL_COMPLETED, 2, 4},  /* 2..4: fails with 1 */
        {AR_EV_OTHER, -1, -1},         /* unbounded: passes */
    };
    fx *f = fx_new();
    typical_turn(f);
    ar_expect_events e = {0};
    e.present = true;
    e.counts = rules;
    e.n_counts = AR_ARRAY_LEN(rules);
    ar_val_events(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 5);
    assert_string_equal(fx_check(f, 0)->name, "events.count");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "events.count: tool_executing expected exactly 1, observed 1");
    assert_true(fx_check(f, 1)->passed);
    assert_has(fx_check(f, 1), "error expected at most 0, observed 0");
    assert_false(fx_check(f, 2)->passed);
    assert_string_equal(fx_check(f, 2)->message,
                        "events.count: agent_thinking expected at least 3, observed 2");
    assert_false(fx_check(f, 3)->passed);
    assert_has(fx_check(f, 3), "tool_completed expected 2..4, observed 1");
    assert_true(fx_check(f, 4)->passed);
    assert_has(fx_check(f, 4), "other expected any number, observed 0");
    fx_free(f);
}

static ar_expect_events paired_rule(void)
{
    ar_expect_events e = {0};
    e.present = true;
    e.tools_paired = true;
    return e;
}

static void test_paired_ok(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "a", "c1");
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "b", "c2");
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "b", "c2");
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "a", "c1");
    /* The same call id reused after the first call completed is a new call. */
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "a", "c1");
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "a", "c1");
    ar_expect_events e = paired_rule();
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_string_equal(c->name, "events.tools_paired");
    assert_true(c->passed);
    assert_string_equal(c->message,
                        "events.tools_paired: 3 tool call(s), each completed exactly once");
    fx_free(f);
}

static void test_paired_duplicate_completion(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "cost_db", "c1");
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "cost_db", "c1");
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "cost_db", "c1");
    ar_expect_events e = paired_rule();
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "observed 1 problem(s): call c1 (cost_db) completed more than once at index 2");
    fx_free(f);
}

static void test_paired_completion_without_executing(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "gpu", "c9");
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "gpu", "c9");
    ar_expect_events e = paired_rule();
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    /* Completion first: it pairs with nothing, and the later execution
     * never completes. */
    assert_has(c, "2 problem(s)");
    assert_has(c, "call c9 (gpu) tool_completed without an earlier tool_executing at index 0");
    assert_has(c, "call c9 (gpu) tool_executing never completed at index 1");
    fx_free(f);
}

/* A wire without call ids (netra) pairs a call by its tool and its order;
 * a completion that names neither pairs with nothing. */
static void test_paired_missing_call_id(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "search", NULL);
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "price", NULL);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "search", NULL);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "price", NULL);
    ar_expect_events e = paired_rule();
    ar_val_events(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    fx_free(f);

    /* Mutation: search's result never came; price completed twice. */
    f = fx_new();
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "search", NULL);
    fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "price", NULL);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "price", NULL);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", "price", NULL);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "D", NULL, NULL);
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "call (none) (price) completed more than once at index 3");
    assert_has(c, "call (none) ((none)) tool_completed without a call id or a tool name at index 4");
    assert_has(c, "call (none) (search) tool_executing never completed at index 0");
    fx_free(f);
}

static void test_paired_many_problems_are_bounded(void **state)
{
    static const char *ids[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    fx *f = fx_new();
    for (size_t i = 0; i < AR_ARRAY_LEN(ids); i++)
        fx_ev(f, AR_EV_TOOL_EXECUTING, "D", "t", ids[i]);
    ar_expect_events e = paired_rule();
    ar_val_events(&e, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_has(c, "10 problem(s)");
    assert_has(c, "; and 4 more");
    assert_lacks(c, "call g ");
    fx_free(f);
}

static void test_nothing_after_terminal(void **state)
{
    ar_expect_events e = {0};
    e.present = true;
    e.nothing_after_terminal = true;

    fx *f = fx_new();
    typical_turn(f);
    ar_val_events(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "events.nothing_after_terminal: agent_completed (index 5) was the last "
                        "event");
    fx_free(f);

    f = fx_new();
    typical_turn(f);
    fx_ev(f, AR_EV_AGENT_THINKING, "S", NULL, NULL);
    fx_ev(f, AR_EV_OTHER, NULL, NULL, NULL);
    ar_val_events(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "events.nothing_after_terminal: expected nothing after the terminal "
                        "agent_completed (index 5), observed 2 event(s) after it: "
                        "[agent_thinking, other]");
    fx_free(f);

    f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL);
    ar_val_events(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "events.nothing_after_terminal: the turn had no terminal event");
    fx_free(f);
}

static void test_forbidden(void **state)
{
    ar_ev_kind forb[] = {AR_EV_ERROR, AR_EV_OTHER};
    ar_expect_events e = {0};
    e.present = true;
    e.forbidden = forb;
    e.n_forbidden = 2;

    fx *f = fx_new();
    typical_turn(f);
    ar_event *err = fx_ev(f, AR_EV_ERROR, "Data", NULL, NULL);
    err->text = (char *)"tool cost_db failed";
    ar_val_events(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    const ar_check *c = fx_check(f, 0);
    assert_string_equal(c->name, "events.forbidden");
    assert_false(c->passed);
    assert_string_equal(c->message, "events.forbidden: expected no error events, observed 1 at "
                                    "index 6 (agent Data: \"tool cost_db failed\")");
    assert_true(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message, "events.forbidden: no other events");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_adds_nothing),
        cmocka_unit_test(test_strict_ignores_unlisted_kinds),
        cmocka_unit_test(test_strict_missing_kind_fails),
        cmocka_unit_test(test_strict_extra_occurrence_fails),
        cmocka_unit_test(test_strict_wrong_order_fails),
        cmocka_unit_test(test_subsequence_pass_and_fail),
        cmocka_unit_test(test_contains_counts_repeats),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_paired_ok),
        cmocka_unit_test(test_paired_duplicate_completion),
        cmocka_unit_test(test_paired_completion_without_executing),
        cmocka_unit_test(test_paired_missing_call_id),
        cmocka_unit_test(test_paired_many_problems_are_bounded),
        cmocka_unit_test(test_nothing_after_terminal),
        cmocka_unit_test(test_forbidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
