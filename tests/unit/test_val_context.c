/*
 * test_val_context.c - context.same across turns (canonical fields and JSON
 * pointers into raw frames) and context.reappear of captured values.
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

/* An event of an earlier turn (turn 1). */
static ar_event *fx_prev(fx *f, ar_ev_kind kind, const char *thread_id, const char *raw)
{
    assert_true(f->obs.n_prev_events < FX_MAX_EVENTS);
    ar_event *e = &f->prev[f->obs.n_prev_events];
    ar_event_init(e);
    e->kind = kind;
    e->turn = 1;
    e->thread_id = (char *)thread_id;
    e->raw = (char *)raw;
    e->raw_len = raw ? strlen(raw) : 0;
    f->pp[f->obs.n_prev_events++] = e;
    return e;
}

static ar_expect_context same(const char *const *fields, size_t n)
{
    ar_expect_context e = {0};
    e.present = true;
    e.same = (char **)fields;
    e.n_same = n;
    return e;
}

static void test_same_thread_id_holds(void **state)
{
    static const char *const fields[] = {"thread_id"};
    fx *f = fx_new();
    fx_prev(f, AR_EV_AGENT_STARTED, NULL, NULL); /* first one carrying it wins, not the first */
    fx_prev(f, AR_EV_AGENT_STARTED, "t-1", NULL);
    fx_prev(f, AR_EV_AGENT_COMPLETED, "t-other", NULL);
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL)->thread_id = (char *)"t-1";
    fx_ev(f, AR_EV_AGENT_THINKING, "S", NULL, NULL); /* no thread id: not compared */
    fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL)->thread_id = (char *)"t-1";
    ar_expect_context e = same(fields, 1);
    ar_val_context(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    assert_string_equal(fx_check(f, 0)->name, "context.same");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "context.same: thread_id stayed \"t-1\" (2 event(s) of this turn)");
    fx_free(f);
}

static void test_same_thread_id_changed(void **state)
{
    static const char *const fields[] = {"thread_id"};
    fx *f = fx_new();
    fx_prev(f, AR_EV_AGENT_STARTED, "t-1", NULL);
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL)->thread_id = (char *)"t-1";
    fx_ev(f, AR_EV_TOOL_EXECUTING, "S", NULL, NULL)->thread_id = (char *)"t-2";
    fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL)->thread_id = (char *)"t-2";
    ar_expect_context e = same(fields, 1);
    ar_val_context(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "context.same: thread_id expected \"t-1\" (as in turn 1), observed "
                        "\"t-2\" at index 1 (tool_executing); 2 of 3 event(s) differ");
    fx_free(f);
}

static void test_same_needs_both_sides(void **state)
{
    static const char *const fields[] = {"thread_id", "run_id"};
    fx *f = fx_new();
    fx_prev(f, AR_EV_AGENT_STARTED, "t-1", NULL);
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL);
    ar_expect_context e = same(fields, 2);
    ar_val_context(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "context.same: thread_id expected \"t-1\" (as in turn 1), observed no "
                        "event of this turn carrying it");
    assert_false(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message, "context.same: no earlier turn carried run_id");
    fx_free(f);
}

static void test_same_by_pointer(void **state)
{
    static const char *const fields[] = {"/payload/session", "/payload/n"};
    fx *f = fx_new();
    fx_prev(f, AR_EV_AGENT_STARTED, NULL, "not json");
    fx_prev(f, AR_EV_AGENT_STARTED, NULL, "{\"payload\":{\"session\":\"s-9\",\"n\":3}}");
    ar_event *a = fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL);
    a->raw = (char *)"{\"payload\":{\"session\":\"s-9\",\"n\":3}}";
    ar_event *b = fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    b->raw = (char *)"{\"payload\":{\"session\":\"s-9\",\"n\":4}}";
    ar_expect_context e = same(fields, 2);
    ar_val_context(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    assert_true(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "/payload/session stayed \"s-9\" (2 event(s)");
    assert_false(fx_check(f, 1)->passed);
    assert_has(fx_check(f, 1), "/payload/n expected \"3\" (as in turn 1), observed \"4\" at "
                               "index 1 (agent_completed)");
    fx_free(f);
}

static void test_same_unknown_field(void **state)
{
    static const char *const fields[] = {"threadid"};
    fx *f = fx_new();
    ar_expect_context e = same(fields, 1);
    ar_val_context(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "context.same: unknown field 'threadid' (expected thread_id, agent, "
                        "run_id, parent_run_id, tool, call_id or a JSON pointer such as "
                        "/payload/thread_id)");
    fx_free(f);
}

static void test_reappear(void **state)
{
    static const char *const names[] = {"spend", "region", "ghost"};
    ar_vars *v = ar_vars_new();
    assert_non_null(v);
    assert_int_equal(ar_vars_set(v, "spend", "50"), AR_OK);
    assert_int_equal(ar_vars_set(v, "region", "eu-west-1"), AR_OK);
    ar_expect_context e = {0};
    e.present = true;
    e.reappear = (char **)names;
    e.n_reappear = 3;

    fx *f = fx_new();
    f->obs.vars = v;
    f->obs.response = "With PCI in place, spend stays near $50K/month.";
    ar_val_context(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 3);
    assert_string_equal(fx_check(f, 0)->name, "context.reappear");
    assert_true(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "context.reappear: spend \"50\" found in the response");
    assert_false(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message,
                        "context.reappear: expected capture region \"eu-west-1\" to reappear in "
                        "the response, it did not; response: \"With PCI in place, spend stays "
                        "near $50K/month.\"");
    assert_false(fx_check(f, 2)->passed);
    assert_string_equal(fx_check(f, 2)->message,
                        "context.reappear: unknown capture 'ghost' (no earlier turn captured it)");
    fx_free(f);

    f = fx_new();
    f->obs.vars = v;
    e.n_reappear = 1;
    ar_val_context(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "no response (the turn did not complete)");
    fx_free(f);

    /* No vars at all: every capture is unknown. */
    f = fx_new();
    f->obs.response = "50";
    ar_val_context(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "unknown capture 'spend'");
    fx_free(f);
    ar_vars_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_thread_id_holds),  cmocka_unit_test(test_same_thread_id_changed),
        cmocka_unit_test(test_same_needs_both_sides), cmocka_unit_test(test_same_by_pointer),
        cmocka_unit_test(test_same_unknown_field),    cmocka_unit_test(test_reappear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
