/*
 * test_val_json.c - RFC 6901 pointer evaluation and response.json
 * assertions on the terminal frame: each operator passing and failing,
 * type errors, and a turn without a usable terminal frame.
 */
#include "jsonptr.h"
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

static const char *DOC = "{\"a/b\": 1, \"m~n\": 2, \"\": 3, \"arr\": [10, 20, {\"x\": null}],"
                         " \"result\": {\"savings_pct\": 42.5, \"status\": \"done\", "
                         "\"as_text\": \"41\", \"word\": \"forty\", \"ok\": true, "
                         "\"tags\": [\"a\", \"b\"], \"n\": 40}}";

static void test_pointer(void **state)
{
    cJSON *root = cJSON_Parse(DOC);
    assert_non_null(root);
    assert_ptr_equal(ar_json_pointer_get(root, ""), root);
    assert_int_equal(ar_json_pointer_get(root, "/a~1b")->valueint, 1);
    assert_int_equal(ar_json_pointer_get(root, "/m~0n")->valueint, 2);
    assert_int_equal(ar_json_pointer_get(root, "/")->valueint, 3);
    assert_int_equal(ar_json_pointer_get(root, "/arr/1")->valueint, 20);
    assert_true(cJSON_IsNull(ar_json_pointer_get(root, "/arr/2/x")));
    assert_true(cJSON_IsNumber(ar_json_pointer_get(root, "/result/savings_pct")));
    /* Out of range, "-", leading zero, non-numeric. A negative index counts
     * from the end (agentrig's extension; test_base_jsonptr.c has the rest). */
    assert_null(ar_json_pointer_get(root, "/arr/3"));
    assert_null(ar_json_pointer_get(root, "/arr/-"));
    assert_null(ar_json_pointer_get(root, "/arr/01"));
    assert_null(ar_json_pointer_get(root, "/arr/x"));
    assert_ptr_equal(ar_json_pointer_get(root, "/arr/-1"), ar_json_pointer_get(root, "/arr/2"));
    /* ~1 is not the same key as a literal '/' split into two steps. */
    assert_null(ar_json_pointer_get(root, "/a/b"));
    /* Unescaping order: "~01" means "~1", not "/". */
    assert_null(ar_json_pointer_get(root, "/a~01b"));
    /* Malformed: bad escape, no leading slash; a step into a scalar. */
    assert_null(ar_json_pointer_get(root, "/m~2n"));
    assert_null(ar_json_pointer_get(root, "/m~"));
    assert_null(ar_json_pointer_get(root, "result"));
    assert_null(ar_json_pointer_get(root, "/result/n/0"));
    assert_null(ar_json_pointer_get(root, "/missing"));
    assert_null(ar_json_pointer_get(NULL, ""));
    cJSON_Delete(root);

    cJSON *tilde = cJSON_Parse("{\"~1\": 7}");
    assert_int_equal(ar_json_pointer_get(tilde, "/~01")->valueint, 7);
    cJSON_Delete(tilde);
}

/* Runs one assertion (value given as JSON text, may be NULL) against DOC as
 * the terminal frame. */
static const ar_check *run1(fx *f, const char *ptr, ar_json_op op, const char *value_json,
                            const char *pattern)
{
    ar_event *t = fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    t->raw = (char *)DOC;
    t->raw_len = strlen(DOC);
    f->obs.terminal = t;
    ar_expect_json j = {0};
    j.pointer = (char *)ptr;
    j.op = op;
    j.value = value_json ? cJSON_Parse(value_json) : NULL;
    j.pattern = (char *)pattern;
    ar_val_json(&j, 1, &f->obs, &f->out);
    cJSON_Delete(j.value);
    assert_int_equal(f->out.n, 1);
    assert_string_equal(fx_check(f, 0)->name, "response.json");
    return fx_check(f, 0);
}

#define EXPECT(ptr, op, val, pat, passed_, msg)                                                    \
    do {                                                                                           \
        fx *f_ = fx_new();                                                                         \
        const ar_check *c_ = run1(f_, ptr, op, val, pat);                                          \
        if (c_->passed != (passed_))                                                               \
            fail_msg("%s %s: expected passed=%d: %s", ptr, #op, (int)(passed_), c_->message);      \
        assert_string_equal(c_->message, msg);                                                     \
        fx_free(f_);                                                                               \
    } while (0)

static void test_eq_ne(void **state)
{
    EXPECT("/result/n", AR_JOP_EQ, "40.0", NULL, true,
           "response.json: /result/n eq 40: observed 40");
    EXPECT("/result/status", AR_JOP_EQ, "\"done\"", NULL, true,
           "response.json: /result/status eq \"done\": observed \"done\"");
    EXPECT("/result/status", AR_JOP_EQ, "\"pending\"", NULL, false,
           "response.json: /result/status eq \"pending\": observed \"done\"");
    /* A numeric string is not equal to the number. */
    EXPECT("/result/as_text", AR_JOP_EQ, "41", NULL, false,
           "response.json: /result/as_text eq 41: observed \"41\"");
    EXPECT("/result/tags", AR_JOP_EQ, "[\"a\",\"b\"]", NULL, true,
           "response.json: /result/tags eq [\"a\",\"b\"]: observed [\"a\",\"b\"]");
    EXPECT("/result/tags", AR_JOP_EQ, "[\"b\",\"a\"]", NULL, false,
           "response.json: /result/tags eq [\"b\",\"a\"]: observed [\"a\",\"b\"]");
    EXPECT("/arr/2", AR_JOP_EQ, "{\"x\":null}", NULL, true,
           "response.json: /arr/2 eq {\"x\":null}: observed {\"x\":null}");
    EXPECT("/result/status", AR_JOP_NE, "\"failed\"", NULL, true,
           "response.json: /result/status ne \"failed\": observed \"done\"");
    EXPECT("/result/n", AR_JOP_NE, "40", NULL, false,
           "response.json: /result/n ne 40: observed 40");
    EXPECT("/result/nope", AR_JOP_EQ, "1", NULL, false,
           "response.json: /result/nope eq 1: no value at that path in the terminal frame");
}

static void test_numeric_compare(void **state)
{
    EXPECT("/result/savings_pct", AR_JOP_GTE, "40", NULL, true,
           "response.json: /result/savings_pct gte 40: observed 42.5");
    EXPECT("/result/savings_pct", AR_JOP_GT, "42.5", NULL, false,
           "response.json: /result/savings_pct gt 42.5: observed 42.5");
    EXPECT("/result/savings_pct", AR_JOP_GTE, "42.5", NULL, true,
           "response.json: /result/savings_pct gte 42.5: observed 42.5");
    EXPECT("/result/savings_pct", AR_JOP_LT, "42.5", NULL, false,
           "response.json: /result/savings_pct lt 42.5: observed 42.5");
    EXPECT("/result/savings_pct", AR_JOP_LTE, "42.5", NULL, true,
           "response.json: /result/savings_pct lte 42.5: observed 42.5");
    /* Numeric strings are compared as numbers, and the message says so. */
    EXPECT("/result/as_text", AR_JOP_GT, "40", NULL, true,
           "response.json: /result/as_text gt 40: observed \"41\" (a string, compared as a "
           "number)");
    EXPECT("/result/word", AR_JOP_GTE, "40", NULL, false,
           "response.json: /result/word gte 40: expected a number, observed a string \"forty\"");
    EXPECT("/result/ok", AR_JOP_LT, "1", NULL, false,
           "response.json: /result/ok lt 1: expected a number, observed a boolean true");
    EXPECT("/result/tags", AR_JOP_GT, "1", NULL, false,
           "response.json: /result/tags gt 1: expected a number, observed an array [\"a\",\"b\"]");
    EXPECT("/arr/2/x", AR_JOP_GT, "1", NULL, false,
           "response.json: /arr/2/x gt 1: expected a number, observed null");
    EXPECT("/result/savings_pct", AR_JOP_GT, "\"x\"", NULL, false,
           "response.json: /result/savings_pct gt \"x\": the expected value is a string, not a "
           "number");
    EXPECT("/nope", AR_JOP_LT, "1", NULL, false,
           "response.json: /nope lt 1: no value at that path in the terminal frame");
}

static void test_exists(void **state)
{
    EXPECT("/result/status", AR_JOP_EXISTS, "true", NULL, true,
           "response.json: /result/status exists true: observed \"done\"");
    /* A null value exists. */
    EXPECT("/arr/2/x", AR_JOP_EXISTS, "true", NULL, true,
           "response.json: /arr/2/x exists true: observed null");
    EXPECT("/result/error", AR_JOP_EXISTS, "true", NULL, false,
           "response.json: /result/error exists true: expected a value, there is none in the "
           "terminal frame");
    EXPECT("/result/error", AR_JOP_EXISTS, "false", NULL, true,
           "response.json: /result/error exists false: absent, as expected");
    EXPECT("/result/status", AR_JOP_EXISTS, "false", NULL, false,
           "response.json: /result/status exists false: expected no value, observed \"done\"");
}

static void test_matches(void **state)
{
    EXPECT("/result/status", AR_JOP_MATCHES, NULL, "^do", true,
           "response.json: /result/status matches /^do/: matched \"done\"");
    EXPECT("/result/status", AR_JOP_MATCHES, NULL, "^fail", false,
           "response.json: /result/status matches /^fail/: no match in \"done\"");
    /* Numbers are matched as JSON prints them. */
    EXPECT("/result/savings_pct", AR_JOP_MATCHES, NULL, "^42\\.5$", true,
           "response.json: /result/savings_pct matches /^42\\.5$/: matched 42.5");
    EXPECT("/result/n", AR_JOP_MATCHES, NULL, "^40$", true,
           "response.json: /result/n matches /^40$/: matched 40");
    EXPECT("/result/tags", AR_JOP_MATCHES, NULL, "a", false,
           "response.json: /result/tags matches /a/: expected a string or a number, observed an "
           "array [\"a\",\"b\"]");
    EXPECT("/result/status", AR_JOP_MATCHES, NULL, "(", false,
           "response.json: /result/status matches /(/: cannot compile /(/ at offset 1: missing "
           "closing parenthesis");
}

static void test_no_usable_terminal(void **state)
{
    ar_expect_json js[2] = {{0}, {0}};
    js[0].pointer = (char *)"/result/n";
    js[0].op = AR_JOP_GTE;
    js[0].value = cJSON_CreateNumber(40);
    js[1].pointer = (char *)"/result/status";
    js[1].op = AR_JOP_EXISTS;
    js[1].value = cJSON_CreateTrue();

    fx *f = fx_new();
    ar_val_json(js, 2, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message, "response.json: /result/n gte 40: no terminal "
                                                 "event (the turn did not complete)");
    assert_false(fx_check(f, 1)->passed);
    assert_has(fx_check(f, 1), "/result/status exists true: no terminal event");
    fx_free(f);

    f = fx_new();
    ar_event *t = fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    t->raw = (char *)"{not json";
    t->raw_len = 9;
    f->obs.terminal = t;
    ar_val_json(js, 1, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "response.json: /result/n gte 40: the terminal frame is not valid JSON");
    fx_free(f);

    cJSON_Delete(js[0].value);
    cJSON_Delete(js[1].value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer),         cmocka_unit_test(test_eq_ne),
        cmocka_unit_test(test_numeric_compare), cmocka_unit_test(test_exists),
        cmocka_unit_test(test_matches),         cmocka_unit_test(test_no_usable_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
