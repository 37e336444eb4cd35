/*
 * test_scn_template.c - variables and ${...} expansion: lookup order, the
 * escapes ($$ and \$), errors, and regex quoting that survives hostile values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "template.h"

/* Expands and returns an owned string, failing the test on error. */
static char *expand_ok(const char *tpl, const ar_vars *v, ar_tpl_mode mode)
{
    char err[256] = "";
    char *out = NULL;
    ar_err rc = ar_tpl_expand(tpl, v, mode, &out, err, sizeof(err));
    if (rc != AR_OK) print_error("expand '%s': %s\n", tpl, err);
    assert_int_equal(rc, AR_OK);
    assert_non_null(out);
    return out;
}

static void expect_error(const char *tpl, const ar_vars *v, const char *msg)
{
    char err[256] = "";
    char *out = (char *)"sentinel";
    assert_int_equal(ar_tpl_expand(tpl, v, AR_TPL_PLAIN, &out, err, sizeof(err)), AR_EINVAL);
    assert_null(out);
    assert_string_equal(err, msg);
}

static bool regex_matches(const char *pattern, const char *subject)
{
    int ec;
    PCRE2_SIZE eoff;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eoff, NULL);
    if (!re) print_error("pattern '%s' does not compile (error %d at %zu)\n", pattern, ec, eoff);
    assert_non_null(re);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static void test_vars_map(void **state)
{
    (void)state;
    ar_vars *v = ar_vars_new();
    assert_non_null(v);
    assert_int_equal(ar_vars_count(v), 0);
    assert_int_equal(ar_vars_set(v, "spend", "50"), AR_OK);
    assert_int_equal(ar_vars_set(v, "plan_2", "p-9"), AR_OK);
    assert_int_equal(ar_vars_set(v, "_x", ""), AR_OK);
    assert_int_equal(ar_vars_set(v, "spend", "60"), AR_OK); /* replace keeps position */
    assert_int_equal(ar_vars_count(v), 3);
    assert_string_equal(ar_vars_get(v, "spend"), "60");
    assert_string_equal(ar_vars_get(v, "_x"), "");
    assert_null(ar_vars_get(v, "missing"));
    const char *name, *value;
    ar_vars_at(v, 0, &name, &value);
    assert_string_equal(name, "spend");
    assert_string_equal(value, "60");
    ar_vars_at(v, 1, &name, &value);
    assert_string_equal(name, "plan_2");
    ar_vars_at(v, 3, &name, &value);
    assert_null(name);
    assert_null(value);

    assert_int_equal(ar_vars_set(v, "2x", "a"), AR_EINVAL);
    assert_int_equal(ar_vars_set(v, "a-b", "a"), AR_EINVAL);
    assert_int_equal(ar_vars_set(v, "", "a"), AR_EINVAL);
    assert_int_equal(ar_vars_set(v, "ok", NULL), AR_EINVAL);
    assert_int_equal(ar_vars_count(v), 3);

    /* many entries: the map grows */
    char nm[16];
    for (int i = 0; i < 100; i++) {
        snprintf(nm, sizeof(nm), "v%d", i);
        assert_int_equal(ar_vars_set(v, nm, nm), AR_OK);
    }
    assert_int_equal(ar_vars_count(v), 103);
    assert_string_equal(ar_vars_get(v, "v99"), "v99");
    ar_vars_free(v);
    ar_vars_free(NULL);
    assert_int_equal(ar_vars_count(NULL), 0);
    assert_null(ar_vars_get(NULL, "x"));
}

static void test_env_and_captures(void **state)
{
    (void)state;
    setenv("AR_TPL_URL", "ws://127.0.0.1:9000", 1);
    setenv("spend", "from-env", 1);
    char *s = expand_ok("${AR_TPL_URL}/ws", NULL, AR_TPL_PLAIN);
    assert_string_equal(s, "ws://127.0.0.1:9000/ws");
    free(s);

    ar_vars *v = ar_vars_new();
    s = expand_ok("spend=${spend}", v, AR_TPL_PLAIN);
    assert_string_equal(s, "spend=from-env");
    free(s);
    assert_int_equal(ar_vars_set(v, "spend", "50"), AR_OK);
    s = expand_ok("spend=${spend} at ${AR_TPL_URL}", v, AR_TPL_PLAIN);
    assert_string_equal(s, "spend=50 at ws://127.0.0.1:9000"); /* captures win */
    free(s);
    ar_vars_free(v);
    unsetenv("spend");
}

static void test_dollar_rules(void **state)
{
    (void)state;
    ar_vars *v = ar_vars_new();
    assert_int_equal(ar_vars_set(v, "x", "X"), AR_OK);
    struct {
        const char *tpl, *want;
    } cases[] = {
        {"", ""},
        {"plain", "plain"},
        {"a$$b", "a$b"},
        {"$${x}", "${x}"},            /* $$ then a literal {x} */
        {"$$${x}", "$X"},             /* $$ then a reference */
        {"$50K/month", "$50K/month"}, /* a lone $ is literal */
        {"end$", "end$"},
        {"${x}${x}", "XX"},
        {"\\$${x}K", "\\$XK"}, /* \$ is passed through and never starts a reference */
        {"\\${x}", "\\${x}"},
        {"\\\\${x}", "\\\\X"}, /* an escaped backslash does not escape the $ */
        {"trailing\\", "trailing\\"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = expand_ok(cases[i].tpl, v, AR_TPL_PLAIN);
        if (strcmp(s, cases[i].want)) print_error("case '%s'\n", cases[i].tpl);
        assert_string_equal(s, cases[i].want);
        free(s);
    }
    ar_vars_free(v);
}

static void test_errors(void **state)
{
    (void)state;
    unsetenv("AR_TPL_NOPE");
    expect_error("ab${x", NULL, "unterminated '${' at offset 2");
    expect_error("${", NULL, "unterminated '${' at offset 0");
    expect_error("go ${AR_TPL_NOPE} now", NULL, "undefined variable 'AR_TPL_NOPE'");
    expect_error("${a-b}", NULL, "invalid variable name 'a-b' at offset 0");
    expect_error("x${}", NULL, "invalid variable name '' at offset 1");
    /* an empty value is a value, not an undefined variable */
    setenv("AR_TPL_EMPTY", "", 1);
    char *s = expand_ok("[${AR_TPL_EMPTY}]", NULL, AR_TPL_PLAIN);
    assert_string_equal(s, "[]");
    free(s);
    char *out = NULL;
    assert_int_equal(ar_tpl_expand(NULL, NULL, AR_TPL_PLAIN, &out, NULL, 0), AR_EINVAL);
    assert_int_equal(ar_tpl_expand("${AR_TPL_NOPE}", NULL, AR_TPL_PLAIN, &out, NULL, 0), AR_EINVAL);
}

/* ${NAME:-default}: the default when NAME is unset or empty, as in the shell;
 * a set value wins, a capture wins over the environment as always. */
static void test_defaults(void **state)
{
    (void)state;
    unsetenv("AR_TPL_NOPE");
    setenv("AR_TPL_EMPTY", "", 1);
    setenv("AR_TPL_SET", "real", 1);
    ar_vars *v = ar_vars_new();
    assert_int_equal(ar_vars_set(v, "cap", "captured"), AR_OK);
    char *s = expand_ok("${AR_TPL_NOPE:-agent}/${AR_TPL_EMPTY:-e}/${AR_TPL_SET:-d}/${cap:-x}/"
                        "${AR_TPL_NOPE:-}",
                        v, AR_TPL_PLAIN);
    assert_string_equal(s, "agent/e/real/captured/");
    free(s);
    s = expand_ok("${AR_TPL_NOPE:-a.b}", v, AR_TPL_REGEX);
    assert_string_equal(s, "\\Qa.b\\E");
    free(s);
    expect_error("${1x:-d}", NULL, "invalid variable name '1x' at offset 0");
    ar_vars_free(v);
}

static void test_regex_mode(void **state)
{
    (void)state;
    ar_vars *v = ar_vars_new();
    assert_int_equal(ar_vars_set(v, "spend", "50"), AR_OK);
    assert_int_equal(ar_vars_set(v, "meta", "a.b*(c)?"), AR_OK);
    assert_int_equal(ar_vars_set(v, "evil", "x\\E.*\\Qy"), AR_OK);
    assert_int_equal(ar_vars_set(v, "bs", "c:\\"), AR_OK);

    char *s = expand_ok("\\$${spend}K", v, AR_TPL_REGEX);
    assert_string_equal(s, "\\$\\Q50\\EK");
    assert_true(regex_matches(s, "cost $50K"));
    assert_false(regex_matches(s, "cost 50K"));
    free(s);

    s = expand_ok("^${meta}$", v, AR_TPL_REGEX);
    assert_true(regex_matches(s, "a.b*(c)?"));
    assert_false(regex_matches(s, "aXbbbc"));
    free(s);

    /* a value holding \E must not end the quoting early */
    s = expand_ok("^${evil}$", v, AR_TPL_REGEX);
    assert_string_equal(s, "^\\Qx\\E\\\\E\\Q.*\\Qy\\E$");
    assert_true(regex_matches(s, "x\\E.*\\Qy"));
    assert_false(regex_matches(s, "xanything"));
    free(s);

    /* a value ending in a backslash */
    s = expand_ok("^${bs}$", v, AR_TPL_REGEX);
    assert_true(regex_matches(s, "c:\\"));
    free(s);

    /* PLAIN mode inserts as is */
    s = expand_ok("${meta}", v, AR_TPL_PLAIN);
    assert_string_equal(s, "a.b*(c)?");
    free(s);
    ar_vars_free(v);
}

static void test_has_vars(void **state)
{
    (void)state;
    assert_true(ar_tpl_has_vars("${x}"));
    assert_true(ar_tpl_has_vars("a ${x} b"));
    assert_true(ar_tpl_has_vars("$$${x}"));
    assert_false(ar_tpl_has_vars("$${x}"));
    assert_false(ar_tpl_has_vars("\\${x}"));
    assert_false(ar_tpl_has_vars("$x and $5"));
    assert_false(ar_tpl_has_vars(""));
    assert_false(ar_tpl_has_vars(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vars_map),     cmocka_unit_test(test_env_and_captures),
        cmocka_unit_test(test_dollar_rules), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_regex_mode),   cmocka_unit_test(test_defaults),   cmocka_unit_test(test_has_vars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
