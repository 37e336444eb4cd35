/*
 * test_val_response.c - response.matches / not_matches: PCRE2 over the final
 * response, loader-compiled and ${}-templated patterns, and the messages for
 * a missing response, a bad template and a bad pattern.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "validator.h"

#include <pcre2.h>

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

static const char *RESPONSE = "Current spend is $50K/month. Plan: cut 40 % of GPU hours.";

static ar_expect_regex rx(const char *pattern, bool negate)
{
    ar_expect_regex r = {0};
    r.pattern_tpl = (char *)pattern;
    r.negate = negate;
    return r;
}

/* Runs one regex over the response and returns the only check. */
static const ar_check *run1(fx *f, ar_expect_regex r, const char *response)
{
    fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    f->obs.response = response;
    ar_val_response(&r, 1, &f->obs, &f->out);
    assert_int_equal(f->out.n, 1);
    return fx_check(f, 0);
}

static void test_matches(void **state)
{
    fx *f = fx_new();
    const ar_check *c = run1(f, rx("(?i)\\b40\\s*%", false), RESPONSE);
    assert_string_equal(c->name, "response.matches");
    assert_true(c->passed);
    assert_string_equal(c->message, "response.matches: /(?i)\\b40\\s*%/ matched \"40 %\"");
    fx_free(f);

    f = fx_new();
    c = run1(f, rx("(?i)\\b60\\s*%", false), RESPONSE);
    assert_false(c->passed);
    assert_string_equal(c->message,
                        "response.matches: expected /(?i)\\b60\\s*%/ to match the response, it "
                        "did not; response: \"Current spend is $50K/month. Plan: cut 40 % of GPU "
                        "hours.\"");
    fx_free(f);
}

static void test_not_matches(void **state)
{
    fx *f = fx_new();
    const ar_check *c = run1(f, rx("(?i)\\bI (cannot|can.t)\\b", true), RESPONSE);
    assert_string_equal(c->name, "response.not_matches");
    assert_true(c->passed);
    assert_string_equal(c->message,
                        "response.not_matches: /(?i)\\bI (cannot|can.t)\\b/ did not match");
    fx_free(f);

    f = fx_new();
    c = run1(f, rx("GPU \\w+", true), RESPONSE);
    assert_false(c->passed);
    assert_has(c, "response.not_matches: expected /GPU \\w+/ not to match the response, it "
                  "matched \"GPU hours\" at offset 47; response: \"Current spend");
    fx_free(f);
}

static void test_no_response_fails_both(void **state)
{
    fx *f = fx_new();
    ar_expect_regex rs[] = {rx("x", false), rx("y", true)};
    ar_val_response(rs, 2, &f->obs, &f->out);
    assert_int_equal(f->out.n, 2);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message, "response.matches: no response (the turn did "
                                                 "not complete); expected /x/ to match");
    assert_false(fx_check(f, 1)->passed);
    assert_string_equal(fx_check(f, 1)->message, "response.not_matches: no response (the turn "
                                                 "did not complete); expected /y/ not to match");
    fx_free(f);
}

/* A turn that completed without text is not "did not complete": the message
 * says what really happened (the terminal carried no text). */
static void test_completed_without_text(void **state)
{
    fx *f = fx_new();
    ar_event *t = fx_ev(f, AR_EV_AGENT_COMPLETED, "S", NULL, NULL);
    f->obs.terminal = t;
    ar_expect_regex r = rx("x", false);
    ar_val_response(&r, 1, &f->obs, &f->out);
    assert_false(fx_check(f, 0)->passed);
    assert_string_equal(fx_check(f, 0)->message,
                        "response.matches: no response text (the turn completed, but its "
                        "terminal event carried none the profile could decode); expected /x/ to "
                        "match");
    fx_free(f);
}

static void test_loader_compiled_code_is_used(void **state)
{
    /* The compiled code wins over pattern_tpl: this proves the validator does
     * not recompile (a caseless flag set only at compile time). */
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR) "plan", PCRE2_ZERO_TERMINATED, PCRE2_CASELESS, &ec, &eo, NULL);
    assert_non_null(code);
    ar_expect_regex r = rx("plan", false);
    r.compiled = code;
    fx *f = fx_new();
    const ar_check *c = run1(f, r, RESPONSE);
    assert_true(c->passed);
    assert_has(c, "matched \"Plan\"");
    fx_free(f);
    pcre2_code_free(code);
}

static void test_templated_regex(void **state)
{
    ar_vars *v = ar_vars_new();
    assert_non_null(v);
    /* The value holds regex metacharacters: it must be matched literally. */
    assert_int_equal(ar_vars_set(v, "spend", "$50K"), AR_OK);
    assert_int_equal(ar_vars_set(v, "dot", "a.b"), AR_OK);

    fx *f = fx_new();
    f->obs.vars = v;
    const ar_check *c = run1(f, rx("spend is ${spend}/month", false), RESPONSE);
    assert_true(c->passed);
    assert_string_equal(c->message, "response.matches: /spend is ${spend}/month/ (as /spend is "
                                    "\\Q$50K\\E/month/) matched \"spend is $50K/month\"");
    fx_free(f);

    f = fx_new();
    f->obs.vars = v;
    c = run1(f, rx("${dot}", false), "axb");
    assert_false(c->passed);
    assert_has(c, "expected /${dot}/ (as /\\Qa.b\\E/) to match the response, it did not");
    fx_free(f);

    f = fx_new();
    f->obs.vars = v;
    c = run1(f, rx("${nope}K", false), RESPONSE);
    assert_false(c->passed);
    assert_string_equal(c->message, "response.matches: cannot expand /${nope}K/: undefined "
                                    "variable 'nope'");
    fx_free(f);
    ar_vars_free(v);
}

static void test_bad_pattern(void **state)
{
    fx *f = fx_new();
    const ar_check *c = run1(f, rx("(unclosed", false), RESPONSE);
    assert_false(c->passed);
    assert_has(c, "response.matches: cannot compile /(unclosed/ at offset 9: missing closing "
                  "parenthesis");
    fx_free(f);
}

static void test_long_response_is_quoted_short(void **state)
{
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[10] = '\n'; /* must not break the one-line message */
    fx *f = fx_new();
    const ar_check *c = run1(f, rx("y", false), big);
    assert_false(c->passed);
    assert_null(strchr(c->message, '\n'));
    assert_true(strlen(c->message) < 400);
    assert_has(c, "xxx...\"");
    fx_free(f);
}

static void test_invalid_utf8_response(void **state)
{
    fx *f = fx_new();
    const ar_check *c = run1(f, rx("ok", false), "\xff\xfe ok");
    assert_true(c->passed);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_not_matches),
        cmocka_unit_test(test_no_response_fails_both),
        cmocka_unit_test(test_completed_without_text),
        cmocka_unit_test(test_loader_compiled_code_is_used),
        cmocka_unit_test(test_templated_regex),
        cmocka_unit_test(test_bad_pattern),
        cmocka_unit_test(test_long_response_is_quoted_short),
        cmocka_unit_test(test_invalid_utf8_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
