/* Captures: from the response, the final frame and the thread id; and every
 * way a capture can fail, each with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "profile.h"

static const char *final_frame =
    "{\"type\":\"agent_completed\",\"agent\":\"Supervisor\",\"run_id\":\"r1\","
    "\"parent_run_id\":null,\"thread_id\":\"svc-thread-7\",\"status\":\"ok\",\"result\":{"
    "\"response\":\"Current spend is $50K/month; plan P-17 saves 42%\",\"plan_id\":\"P-17\","
    "\"savings_pct\":42,\"steps\":[\"a\",\"b\"]}}";

typedef struct {
    ar_event terminal;
    ar_vars *vars;
    ar_checks checks;
    ar_scenario *scn;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    ar_event_init(&f->terminal);
    ar_profile *native = NULL;
    char perr[256];
    assert_int_equal(ar_pf_load("native", &native, perr, sizeof perr), AR_OK);
    assert_int_equal(ar_pf_decode(native, final_frame, strlen(final_frame), &f->terminal, NULL),
                     AR_OK);
    ar_pf_free(native);
    f->vars = ar_vars_new();
    ar_checks_init(&f->checks);
    /* Captures come from the real loader, so regexes are compiled as in a run. */
    const char *yaml = "name: c\n"
                       "turns:\n"
                       "  - send: hi\n"
                       "    capture:\n"
                       "      spend: {from: response, regex: '\\$(\\d+)K/month'}\n"
                       "      whole: {from: response, regex: 'P-\\d+'}\n"
                       "      plan:  {from: final, pointer: /result/plan_id}\n"
                       "      pct:   {from: final, pointer: /result/savings_pct}\n"
                       "      steps: {from: final, pointer: /result/steps}\n"
                       "      digits: {from: final, pointer: /result/plan_id, regex: '\\d+'}\n"
                       "      tid:   {from: thread_id}\n"
                       "      nope:  {from: response, regex: 'refund of \\$(\\d+)'}\n"
                       "      gone:  {from: final, pointer: /result/missing}\n";
    char err[256];
    assert_int_equal(ar_scn_load_string(yaml, strlen(yaml), "c.yaml", &f->scn, err, sizeof err),
                     AR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ar_event_clear(&f->terminal);
    ar_vars_free(f->vars);
    ar_checks_free(&f->checks);
    ar_scn_free(f->scn);
    free(f);
    return 0;
}

static const ar_capture *cap(fx *f, const char *name)
{
    const ar_turn *t = &f->scn->turns[0];
    for (size_t i = 0; i < t->n_captures; i++)
        if (strcmp(t->captures[i].name, name) == 0) return &t->captures[i];
    fail_msg("no capture %s", name);
    return NULL;
}

static void takes_group_one_or_the_whole_match(void **state)
{
    fx *f = *state;
    assert_true(ar_capture_take(cap(f, "spend"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "spend"), "50");
    assert_true(ar_capture_take(cap(f, "whole"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "whole"), "P-17");
    assert_int_equal(f->checks.n, 0); /* success adds no check */
}

static void takes_values_of_the_final_frame(void **state)
{
    fx *f = *state;
    assert_true(ar_capture_take(cap(f, "plan"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "plan"), "P-17");
    assert_true(ar_capture_take(cap(f, "pct"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "pct"), "42");
    assert_true(ar_capture_take(cap(f, "steps"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "steps"), "[\"a\",\"b\"]");
    assert_true(ar_capture_take(cap(f, "digits"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "digits"), "17");
}

static void thread_id_prefers_what_the_service_reported(void **state)
{
    fx *f = *state;
    assert_true(ar_capture_take(cap(f, "tid"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "tid"), "svc-thread-7");
    free(f->terminal.thread_id);
    f->terminal.thread_id = NULL;
    assert_true(ar_capture_take(cap(f, "tid"), &f->terminal, f->terminal.text, "mine", f->vars,
                                &f->checks));
    assert_string_equal(ar_vars_get(f->vars, "tid"), "mine");
}

static void failures_are_checks_that_say_why(void **state)
{
    fx *f = *state;
    assert_false(ar_capture_take(cap(f, "nope"), &f->terminal, f->terminal.text, "mine", f->vars,
                                 &f->checks));
    assert_false(ar_capture_take(cap(f, "gone"), &f->terminal, f->terminal.text, "mine", f->vars,
                                 &f->checks));
    assert_false(ar_capture_take(cap(f, "spend"), &f->terminal, NULL, "mine", f->vars, &f->checks));
    assert_int_equal(f->checks.n, 3);
    assert_int_equal(ar_checks_failed(&f->checks), 3);
    assert_string_equal(f->checks.items[0].name, "capture");
    assert_string_equal(f->checks.items[0].message,
                        "capture 'nope': /refund of \\$(\\d+)/ did not match \"Current spend is "
                        "$50K/month; plan P-17 saves 42%\"");
    assert_string_equal(
        f->checks.items[1].message,
        "capture 'gone': JSON pointer /result/missing not found in the final frame");
    assert_string_equal(f->checks.items[2].message,
                        "capture 'spend': the turn has no response text");
    assert_null(ar_vars_get(f->vars, "nope"));
    assert_null(ar_vars_get(f->vars, "gone"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(takes_group_one_or_the_whole_match, setup, teardown),
        cmocka_unit_test_setup_teardown(takes_values_of_the_final_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(thread_id_prefers_what_the_service_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failures_are_checks_that_say_why, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
