/*
 * test_val_validate.c - ar_val_turn runs the present expectations in the
 * documented order, and every message stays one bounded line.
 */
#include "valfmt.h"
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

static void test_order_and_presence(void **state)
{
    static const ar_ev_kind order[] = {AR_EV_AGENT_STARTED, AR_EV_AGENT_COMPLETED};
    static const char *const agents[] = {"S"};
    static const char *const called[] = {"t"};
    static const char *const fields[] = {"thread_id"};
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, "S", NULL, NULL)->thread_id = (char *)"t-1";
    ar_event *t = fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    t->raw = (char *)"{\"type\":\"agent_completed\",\"result\":{\"n\":1}}";
    f->obs.terminal = t;
    f->obs.response = "done";

    ar_expect x = {0};
    /* Filled in reverse order of execution to show the order is fixed. */
    x.context.present = true;
    x.context.same = (char **)fields;
    x.context.n_same = 1;
    x.latency.present = true;
    x.latency.first_event_us = -1;
    x.latency.first_tool_us = -1;
    x.latency.turn_us = 1000000;
    ar_expect_json j = {0};
    j.pointer = (char *)"/result/n";
    j.op = AR_JOP_EXISTS;
    x.jsons = &j;
    x.n_jsons = 1;
    ar_expect_regex r = {0};
    r.pattern_tpl = (char *)"done";
    x.regexes = &r;
    x.n_regexes = 1;
    x.tools.present = true;
    x.tools.not_called = (char **)called;
    x.tools.n_not_called = 1;
    x.route.present = true;
    x.route.agents = (char **)agents;
    x.route.n_agents = 1;
    x.route.mode = AR_ROUTE_STRICT;
    x.events.present = true;
    x.events.order = (ar_ev_kind *)order;
    x.events.n_order = 2;
    x.events.mode = AR_ORDER_SUBSEQUENCE;

    ar_val_turn(&x, &f->obs, &f->out);
    static const char *const names[] = {"events.order",     "route",         "tools.not_called",
                                        "response.matches", "response.json", "latency.turn",
                                        "context.same"};
    assert_int_equal(f->out.n, AR_ARRAY_LEN(names));
    for (size_t i = 0; i < AR_ARRAY_LEN(names); i++)
        assert_string_equal(fx_check(f, i)->name, names[i]);
    /* context.same fails (no earlier turn); everything else holds. */
    assert_int_equal(ar_checks_failed(&f->out), 1);
    assert_false(fx_check(f, 6)->passed);
    fx_free(f);

    /* Nothing present: nothing checked. */
    f = fx_new();
    ar_expect none = {0};
    ar_val_turn(&none, &f->obs, &f->out);
    assert_int_equal(f->out.n, 0);
    fx_free(f);
}

static void test_messages_are_bounded(void **state)
{
    char pattern[3000];
    memset(pattern, 'p', sizeof pattern - 1);
    pattern[sizeof pattern - 1] = '\0';
    ar_expect_regex r = {0};
    r.pattern_tpl = pattern;
    fx *f = fx_new();
    f->obs.response = "nothing here";
    ar_val_response(&r, 1, &f->obs, &f->out);
    const ar_check *c = fx_check(f, 0);
    assert_false(c->passed);
    assert_true(strlen(c->message) < AR_VF_MSG_MAX);
    assert_has(c, "ppp...");
    fx_free(f);
}

static void test_fmt_cut_keeps_utf8_whole(void **state)
{
    /* "é" is two bytes; a cut between them would leave invalid UTF-8. */
    ar_vf_msg m;
    ar_vf_init(&m);
    ar_vf_text(&m, "aé", 2);
    assert_string_equal(m.s, "a...");
    ar_vf_init(&m);
    ar_vf_quote(&m, "line1\nline2\ttab", 100);
    assert_string_equal(m.s, "\"line1 line2 tab\"");
    ar_vf_init(&m);
    ar_vf_text(&m, NULL, 10);
    assert_string_equal(m.s, "(none)");

    /* Fill the message with 3-byte characters: the cut must land between them. */
    ar_vf_init(&m);
    for (int i = 0; i < 600; i++)
        ar_vf_printf(&m, "€");
    assert_true(m.truncated);
    assert_int_equal(m.len % 3, 0);
    fx *f = fx_new();
    ar_vf_add(&f->out, "x", false, &m);
    const char *s = fx_check(f, 0)->message;
    size_t n = strlen(s);
    assert_true(n < AR_VF_MSG_MAX);
    assert_string_equal(s + n - 3, "...");
    assert_int_equal((n - 3) % 3, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_presence),
        cmocka_unit_test(test_messages_are_bounded),
        cmocka_unit_test(test_fmt_cut_keeps_utf8_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
