/*
 * test_val_tools.c - expect.tools: called, not_called, all_ok, and status
 * judged on the last completion of a tool.
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

#include <cjson/cJSON.h>

/* Hand-built turns: events point at string literals and are never cleared. */
#include "test_val_fixture.h"

static void call(fx *f, const char *tool, const char *id, ar_ev_status st)
{
    fx_ev(f, AR_EV_TOOL_EXECUTING, "Data", tool, id);
    fx_ev(f, AR_EV_TOOL_COMPLETED, "Data", tool, id)->status = st;
}

static void test_absent(void **state)
{
    fx *f = fx_new();
    call(f, "cost_db", "c1", AR_ST_ERROR);
    ar_expect_tools e = {0};
    e.all_ok = true;
    ar_val_tools(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 0);
    fx_free(f);
}

static void test_called(void **state)
{
    static const char *const want[] = {"cost_db", "gpu_inventory"};
    fx *f = fx_new();
    call(f, "cost_db", "c1", AR_ST_OK);
    call(f, "cost_db", "c2", AR_ST_OK);
    call(f, "pricing", "c3", AR_ST_OK);
    ar_expect_tools e = {0};
    e.present = true;
    e.called = (char **)want;
    e.n_called = 2;
    ar_val_tools(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    assert_string_equal(fx_check(f, 0)->name, "tools.called");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message, "tools.called: cost_db called (2 tool_executing)");
    assert_string_equal(fx_check(f, 0)->subject, "cost_db"); /* names the JUnit testcase */
    assert_string_equal(fx_check(f, 1)->subject, "gpu_inventory");
    assert_false(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message, "tools.called: expected gpu_inventory to be "
                                                 "called, it was not; called: [cost_db, pricing]");
    fx_free(f);
}

static void test_completion_alone_is_not_a_call(void **state)
{
    static const char *const want[] = {"cost_db"};
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_COMPLETED, "Data", "cost_db", "c1");
    ar_expect_tools e = {0};
    e.present = true;
    e.called = (char **)want;
    e.n_called = 1;
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "called: []");
    fx_free(f);
}

static void test_not_called(void **state)
{
    static const char *const never[] = {"delete_db", "cost_db"};
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL);
    call(f, "cost_db", "c1", AR_ST_OK);
    call(f, "cost_db", "c2", AR_ST_OK);
    ar_expect_tools e = {0};
    e.present = true;
    e.not_called = (char **)never;
    e.n_not_called = 2;
    ar_val_tools(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    assert_string_equal(fx_check(f, 0)->name, "tools.not_called");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message, "tools.not_called: delete_db not called");
    assert_false(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message,
                        "tools.not_called: expected cost_db not to be called, observed 2 "
                        "tool_executing (first at index 1)");
    fx_free(f);
}

static void test_all_ok(void **state)
{
    ar_expect_tools e = {0};
    e.present = true;
    e.all_ok = true;

    fx *f = fx_new();
    call(f, "a", "c1", AR_ST_OK);
    call(f, "b", "c2", AR_ST_OK);
    ar_val_tools(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.all_ok: 2 call(s), 2 tool_completed, all ok");
    fx_free(f);

    f = fx_new();
    call(f, "a", "c1", AR_ST_OK);
    call(f, "cost_db", "c2", AR_ST_ERROR);
    call(f, "gpu", "c3", AR_ST_NONE);
    ar_val_tools(&e, &f->obs, &f->out);
    assert_string_equal(fx_check(f, 0)->name, "tools.all_ok");
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.all_ok: expected every call to complete with status ok, observed "
                        "2 problem(s) in 3 call(s) and 3 tool_completed: cost_db (call c2) "
                        "error, gpu (call c3) unknown (no status decoded from the wire)");
    fx_free(f);
}

/* Mutation: the results of three calls were never decoded. "0 completed,
 * all ok" was a false PASS; a call without its completion is not ok. */
static void test_all_ok_calls_without_results_fail(void **state)
{
    ar_expect_tools e = {0};
    e.present = true;
    e.all_ok = true;
    fx *f = fx_new();
    fx_ev(f, AR_EV_TOOL_EXECUTING, "Data", "cost_db", "c1");
    fx_ev(f, AR_EV_TOOL_EXECUTING, "Data", "pricing", "c2");
    fx_ev(f, AR_EV_TOOL_EXECUTING, "Data", "gpu", NULL);
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.all_ok: expected every call to complete with status ok, observed "
                        "3 problem(s) in 3 call(s) and 0 tool_completed: cost_db (call c1) never "
                        "completed, pricing (call c2) never completed, gpu (call (none)) never "
                        "completed");
    fx_free(f);
}

/* Nothing to check is not a pass. */
static void test_all_ok_no_tools_fails(void **state)
{
    ar_expect_tools e = {0};
    e.present = true;
    e.all_ok = true;
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL);
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.all_ok: nothing to check: no tool_executing or tool_completed in "
                        "this turn");
    fx_free(f);
}

/* A protocol that carries no tool status (AG-UI, the Agents SDK) can never
 * pass all_ok or status: ok, because the status is unknown. */
static void test_status_unknown_is_not_ok(void **state)
{
    ar_tool_status_rule rules[] = {{(char *)"cost_db", AR_ST_OK}};
    ar_expect_tools e = {0};
    e.present = true;
    e.all_ok = true;
    e.status = rules;
    e.n_status = 1;
    fx *f = fx_new();
    call(f, "cost_db", "c1", AR_ST_NONE);
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 1)->name, "tools.status");
    assert_false(fx_check(f, 1)->passed);
    assert_has(fx_check(f, 1), "observed unknown (no status decoded from the wire)");
    fx_free(f);
}

static ar_event *exec_args(fx *f, const char *tool, const char *id, const char *args)
{
    ar_event *ev = fx_ev(f, AR_EV_TOOL_EXECUTING, "Opt", tool, id);
    ev->args = (char *)args;
    return ev;
}

static void test_args_subset(void **state)
{
    cJSON *want = cJSON_Parse("{\"spend_k\": 50, \"region\": {\"name\": \"eu\"}}");
    ar_tool_args_rule rule = {.tool = (char *)"pricing", .subset = want};
    ar_expect_tools e = {0};
    e.present = true;
    e.args = &rule;
    e.n_args = 1;
    fx *f = fx_new();
    exec_args(f, "pricing", "c1", "{\"spend_k\":50,\"spend\":\"$50K\",\"region\":{\"name\":\"eu\"}}");
    ar_val_tools(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "tools.args: pricing called with");
    fx_free(f);

    /* Mutation: the figure from turn 1 is missing from the call. */
    f = fx_new();
    exec_args(f, "pricing", "c1", "{\"spend_k\":null,\"region\":{\"name\":\"eu\"}}");
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "(/spend_k: expected 50)");
    fx_free(f);

    /* Arguments not on the wire are unknown, never a match. */
    f = fx_new();
    exec_args(f, "pricing", "c1", NULL);
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "observed no arguments on the wire (unknown)");
    fx_free(f);

    /* Not called: nothing to check is a failure. */
    f = fx_new();
    exec_args(f, "cost_db", "c1", "{}");
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.args: nothing to check: pricing was not called in this turn");
    fx_free(f);
    cJSON_Delete(want);
}

/* AG-UI streams a call's arguments as fragments with its call id. */
static void test_args_from_deltas_and_templates(void **state)
{
    cJSON *want = cJSON_Parse("{\"spend_k\": \"${k}\"}");
    ar_tool_args_rule rule = {.tool = (char *)"pricing", .subset = want};
    ar_expect_tools e = {0};
    e.present = true;
    e.args = &rule;
    e.n_args = 1;
    fx *f = fx_new();
    ar_vars *vars = ar_vars_new();
    ar_vars_set(vars, "k", "50");
    f->obs.vars = vars;
    exec_args(f, "pricing", "c1", NULL);
    ar_event *d1 = fx_ev(f, AR_EV_OTHER, "Opt", NULL, "c1");
    d1->args = (char *)"{\"spend_";
    d1->args_delta = true;
    ar_event *d2 = fx_ev(f, AR_EV_OTHER, "Opt", NULL, "c1");
    d2->args = (char *)"k\":50}";
    d2->args_delta = true;
    ar_val_tools(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    fx_free(f);
    ar_vars_free(vars);
    cJSON_Delete(want);
}

static void test_args_absent(void **state)
{
    char *keys[] = {(char *)"spend"};
    ar_tool_args_rule rule = {.tool = (char *)"pricing", .absent = keys, .n_absent = 1};
    ar_expect_tools e = {0};
    e.present = true;
    e.args = &rule;
    e.n_args = 1;
    fx *f = fx_new();
    exec_args(f, "pricing", "c1", "{\"spend_k\":null,\"spend\":null}");
    ar_val_tools(&e, &f->obs, &f->out);
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.args_absent: pricing: none of 1 call(s) carried spend");
    fx_free(f);

    /* Mutation: a fresh thread's call carries the first thread's figure. */
    f = fx_new();
    exec_args(f, "pricing", "c1", "{\"spend\":\"$50K/month\"}");
    ar_val_tools(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "expected no call to carry spend (/spend present)");
    fx_free(f);
}

static void test_status_last_completion_wins(void **state)
{
    ar_tool_status_rule rules[] = {{(char *)"cost_db", AR_ST_OK},
                                   {(char *)"gpu", AR_ST_ERROR},
                                   {(char *)"never", AR_ST_ERROR}};
    fx *f = fx_new();
    /* cost_db failed, then the retry succeeded; gpu succeeded only. */
    call(f, "cost_db", "c1", AR_ST_ERROR);
    call(f, "gpu", "c2", AR_ST_OK);
    call(f, "cost_db", "c3", AR_ST_OK);
    ar_expect_tools e = {0};
    e.present = true;
    e.status = rules;
    e.n_status = 3;
    ar_val_tools(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 3);
    assert_string_equal(fx_check(f, 0)->name, "tools.status");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "tools.status: cost_db last completed with status ok (2 completion(s))");
    assert_false(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message,
                        "tools.status: expected gpu to end with status error, observed ok (last "
                        "of 1 completion(s), call c2)");
    assert_false(fx_check(f, 2)->passed);
    assert_string_equal(fx_check(f, 2)->message,
                        "tools.status: expected never to complete with status error, it never "
                        "completed");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_called),
        cmocka_unit_test(test_completion_alone_is_not_a_call),
        cmocka_unit_test(test_not_called),
        cmocka_unit_test(test_all_ok),
        cmocka_unit_test(test_all_ok_calls_without_results_fail),
        cmocka_unit_test(test_all_ok_no_tools_fails),
        cmocka_unit_test(test_status_unknown_is_not_ok),
        cmocka_unit_test(test_args_subset),
        cmocka_unit_test(test_args_from_deltas_and_templates),
        cmocka_unit_test(test_args_absent),
        cmocka_unit_test(test_status_last_completion_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
