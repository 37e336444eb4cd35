/*
 * test_val_route.c - expect.route: every match mode passing and failing,
 * with the expected-vs-observed message pinned.
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

/* agent_started for each name, with thinking noise between them. */
static void started(fx *f, const char *const *agents, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fx_ev(f, AR_EV_AGENT_STARTED, agents[i], NULL, NULL);
        fx_ev(f, AR_EV_AGENT_THINKING, agents[i], NULL, NULL);
    }
}

static const ar_check *run(fx *f, const char *const *want, size_t n_want, ar_route_mode mode,
                           const char *const *seen, size_t n_seen)
{
    started(f, seen, n_seen);
    ar_expect_route e = {0};
    e.present = true;
    e.agents = (char **)want;
    e.n_agents = n_want;
    e.mode = mode;
    ar_val_route(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    assert_string_equal(fx_check(f, 0)->name, "route");
    return fx_check(f, 0);
}

static const char *const PLAN[] = {"Supervisor", "Triage", "Data", "Optimization"};

static void test_absent(void **state)
{
    fx *f = fx_new();
    ar_expect_route e = {0};
    ar_val_route(&e, &f->obs, &f->out);
    assert_int_equal(f->out.n, 0);
    fx_free(f);
}

static void test_subsequence(void **state)
{
    static const char *const ok[] = {"Supervisor", "Triage", "Data", "Supervisor", "Optimization"};
    fx *f = fx_new();
    const ar_check *c = run(f, PLAN, 4, AR_ROUTE_SUBSEQUENCE, ok, 5);
    assert_true(c->passed);
    assert_has(c, "route (subsequence): [Supervisor, Triage, Data, Optimization] observed");
    fx_free(f);

    static const char *const bad[] = {"Supervisor", "Triage", "Compliance"};
    f = fx_new();
    c = run(f, PLAN, 4, AR_ROUTE_SUBSEQUENCE, bad, 3);
    assert_false(c->passed);
    assert_string_equal(c->message,
                        "route (subsequence): expected [Supervisor, Triage, Data, Optimization], "
                        "observed [Supervisor, Triage, Compliance]; not reached in order: Data, "
                        "Optimization");
    fx_free(f);
}

static void test_strict(void **state)
{
    fx *f = fx_new();
    const ar_check *c = run(f, PLAN, 4, AR_ROUTE_STRICT, PLAN, 4);
    assert_true(c->passed);
    assert_string_equal(c->message,
                        "route (strict): [Supervisor, Triage, Data, Optimization] observed");
    fx_free(f);

    /* One extra hop makes strict fail even though the plan is contained. */
    static const char *const extra[] = {"Supervisor", "Triage", "Data", "Optimization",
                                        "Supervisor"};
    f = fx_new();
    c = run(f, PLAN, 4, AR_ROUTE_STRICT, extra, 5);
    assert_false(c->passed);
    assert_has(c, "route (strict): expected [Supervisor, Triage, Data, Optimization], observed "
                  "[Supervisor, Triage, Data, Optimization, Supervisor]");
    fx_free(f);
}

static void test_unordered(void **state)
{
    static const char *const shuffled[] = {"Data", "Supervisor", "Optimization", "Triage"};
    fx *f = fx_new();
    assert_true(run(f, PLAN, 4, AR_ROUTE_UNORDERED, shuffled, 4)->passed);
    fx_free(f);

    /* Multiset: Data twice is not the same as Data once. */
    static const char *const twice[] = {"Data", "Supervisor", "Data", "Triage"};
    f = fx_new();
    const ar_check *c = run(f, PLAN, 4, AR_ROUTE_UNORDERED, twice, 4);
    assert_false(c->passed);
    assert_has(c, "observed [Data, Supervisor, Data, Triage]; missing Optimization; unexpected "
                  "Data");
    fx_free(f);
}

static void test_subset(void **state)
{
    static const char *const part[] = {"Triage", "Supervisor"};
    fx *f = fx_new();
    const ar_check *c = run(f, PLAN, 4, AR_ROUTE_SUBSET, part, 2);
    assert_true(c->passed);
    assert_string_equal(c->message, "route (subset): [Triage, Supervisor] observed");
    fx_free(f);

    static const char *const rogue[] = {"Supervisor", "Compliance"};
    f = fx_new();
    c = run(f, PLAN, 4, AR_ROUTE_SUBSET, rogue, 2);
    assert_false(c->passed);
    assert_has(c, "route (subset): expected [Supervisor, Triage, Data, Optimization], observed "
                  "[Supervisor, Compliance]; not in the expected list: Compliance");
    fx_free(f);
}

static void test_superset(void **state)
{
    static const char *const more[] = {"Supervisor", "Compliance", "Optimization", "Data",
                                       "Triage"};
    fx *f = fx_new();
    assert_true(run(f, PLAN, 4, AR_ROUTE_SUPERSET, more, 5)->passed);
    fx_free(f);

    static const char *const less[] = {"Supervisor", "Data"};
    f = fx_new();
    const ar_check *c = run(f, PLAN, 4, AR_ROUTE_SUPERSET, less, 2);
    assert_false(c->passed);
    assert_has(c, "route (superset): expected [Supervisor, Triage, Data, Optimization], observed "
                  "[Supervisor, Data]; missing Triage, Optimization");
    fx_free(f);
}

static void test_unnamed_agent_and_empty_route(void **state)
{
    fx *f = fx_new();
    fx_ev(f, AR_EV_AGENT_STARTED, NULL, NULL, NULL);
    static const char *const one[] = {"Supervisor"};
    ar_expect_route e = {0};
    e.present = true;
    e.agents = (char **)one;
    e.n_agents = 1;
    e.mode = AR_ROUTE_STRICT;
    ar_val_route(&e, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_has(fx_check(f, 0), "observed [(none)]");
    fx_free(f);

    f = fx_new();
    const ar_check *c = run(f, PLAN, 4, AR_ROUTE_SUPERSET, NULL, 0);
    assert_false(c->passed);
    assert_has(c, "observed []; missing Supervisor, Triage, Data, Optimization");
    fx_free(f);
}

static void test_long_route_is_truncated(void **state)
{
    static const char *const many[] = {"A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9",
                                       "B0", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9"};
    fx *f = fx_new();
    const ar_check *c = run(f, PLAN, 1, AR_ROUTE_STRICT, many, 20);
    assert_false(c->passed);
    assert_has(c, "observed [A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, B0, B1, B2, B3, B4, B5, ... "
                  "(+4 more)]");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_subsequence),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_unordered),
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_superset),
        cmocka_unit_test(test_unnamed_agent_and_empty_route),
        cmocka_unit_test(test_long_route_is_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
