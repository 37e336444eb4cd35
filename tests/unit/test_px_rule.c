/*
 * test_px_rule.c - fault rules as data: every validation message exactly as
 * a user will read it (with and without a file position), copying, clearing,
 * and the names used in reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy.h"

#include <stdlib.h>
#include <string.h>

static ar_px_rule base_rule(void)
{
    ar_px_rule r;
    ar_px_rule_init(&r);
    r.action = AR_PX_RESPOND;
    r.status = 503;
    return r;
}

/* Compiles r and checks the message (the rule is cleared afterwards). */
static void expect_error(ar_px_rule *r, const char *msg)
{
    char err[512] = "";
    assert_int_equal(ar_px_rule_compile(r, err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, msg);
    ar_px_rule_clear(r);
}

static void test_invalid_regex_with_position(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.path_regex = strdup("(");
    r.file = "f.yaml";
    r.line = 4;
    r.col = 9;
    expect_error(&r, "f.yaml:4:9: invalid regex '(' in path: missing closing parenthesis at "
                     "offset 1");
}

static void test_invalid_regex_other_fields(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.body_regex = strdup("a[");
    expect_error(&r, "invalid regex 'a[' in body: missing terminating ] for character class at "
                     "offset 2");
    r = base_rule();
    r.json_pointer = strdup("/tool");
    r.json_matches = strdup("*x");
    expect_error(&r, "invalid regex '*x' in json matches: quantifier does not follow a "
                     "repeatable item at offset 0");
    r = base_rule();
    r.header_name = strdup("X-A");
    r.header_regex = strdup("(?<");
    char err[512] = "";
    assert_int_equal(ar_px_rule_compile(&r, err, sizeof(err)), AR_EINVAL);
    assert_non_null(strstr(err, "invalid regex '(?<' in header matches: "));
    ar_px_rule_clear(&r);
}

static void test_schedule_errors(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.schedule = AR_PX_PROBABILITY;
    r.p = 1.5;
    expect_error(&r, "probability must be between 0 and 1 (got 1.5)");
    r = base_rule();
    r.schedule = AR_PX_PROBABILITY;
    r.p = -0.1;
    expect_error(&r, "probability must be between 0 and 1 (got -0.1)");
    r = base_rule();
    r.schedule = AR_PX_FIRST_N;
    r.n = 0;
    expect_error(&r, "times must be at least 1 (got 0)");
    r = base_rule();
    r.schedule = AR_PX_AFTER_N;
    r.n = -2;
    expect_error(&r, "after must be at least 1 (got -2)");
    r = base_rule();
    r.schedule = AR_PX_EVERY_K;
    expect_error(&r, "every must be at least 1 (got 0)");
    r = base_rule();
    r.schedule = (ar_px_schedule)42;
    expect_error(&r, "unknown schedule (42)");
}

static void test_action_errors(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.status = 42;
    r.file = "rules.yaml";
    r.line = 2;
    r.col = 3;
    expect_error(&r, "rules.yaml:2:3: status must be 100-599 (got 42)");
    r = base_rule();
    r.status = 600;
    expect_error(&r, "status must be 100-599 (got 600)");
    r = base_rule();
    r.action = (ar_px_action)99;
    expect_error(&r, "unknown action (99)");
    r = base_rule();
    r.action = AR_PX_DELAY;
    r.delay_us = -1;
    expect_error(&r, "delay must not be negative");
    r = base_rule();
    r.action = AR_PX_HANG;
    r.hang_us = -5;
    expect_error(&r, "hang must not be negative");
    r = base_rule();
    r.action = AR_PX_TRUNCATE;
    r.truncate_bytes = -3;
    expect_error(&r, "truncate must not be negative (got -3)");
    r = base_rule();
    r.action = AR_PX_THROTTLE;
    expect_error(&r, "throttle must be at least 1 byte/s (got 0)");
}

static void test_match_errors(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.json_pointer = strdup("tool");
    expect_error(&r, "json pointer must be \"\" or start with '/' (got 'tool')");
    r = base_rule();
    r.json_equals = strdup("x");
    expect_error(&r, "json equals/matches needs a pointer");
    r = base_rule();
    r.json_pointer = strdup("/a");
    r.json_equals = strdup("x");
    r.json_matches = strdup("x");
    expect_error(&r, "json: give either equals or matches, not both");
    r = base_rule();
    r.header_regex = strdup("x");
    expect_error(&r, "header matches needs a name");
    r = base_rule();
    r.method = strdup("");
    expect_error(&r, "method must not be empty");
    r = base_rule();
    r.turn = -1;
    expect_error(&r, "turn must be at least 1 (got -1)");
}

static void add_toxic(ar_px_rule *r, ar_tox t)
{
    r->toxics = realloc(r->toxics, (r->n_toxics + 1) * sizeof(ar_tox));
    r->toxics[r->n_toxics++] = t;
}

static void test_toxic_errors(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    add_toxic(&r, (ar_tox){.kind = AR_TOX_LATENCY, .toxicity = 2});
    expect_error(&r, "toxic 1 (latency): toxicity must be between 0 and 1 (got 2)");
    r = base_rule();
    add_toxic(&r, (ar_tox){.kind = AR_TOX_LATENCY, .toxicity = 1, .latency_ms = 10});
    add_toxic(&r, (ar_tox){.kind = AR_TOX_LATENCY, .toxicity = 1, .jitter_ms = -1});
    expect_error(&r, "toxic 2 (latency): jitter must not be negative (got -1)");
    r = base_rule();
    add_toxic(&r, (ar_tox){.kind = AR_TOX_SLICER, .toxicity = 1});
    expect_error(&r, "toxic 1 (slicer): average_size must be at least 1");
    r = base_rule();
    add_toxic(
        &r, (ar_tox){.kind = AR_TOX_SLICER, .toxicity = 1, .average_size = 5, .size_variation = 5});
    expect_error(&r, "toxic 1 (slicer): size_variation must be smaller than average_size");
    r = base_rule();
    add_toxic(&r, (ar_tox){.kind = AR_TOX_BANDWIDTH, .toxicity = 1});
    expect_error(&r, "toxic 1 (bandwidth): rate must be at least 1 KB/s");
    r = base_rule();
    add_toxic(&r, (ar_tox){.kind = AR_TOX_NONE, .toxicity = 1});
    expect_error(&r, "toxic 1: unknown toxic type");
    r = base_rule();
    add_toxic(&r, (ar_tox){.kind = AR_TOX_LIMIT_DATA, .toxicity = 1, .bytes = -1});
    expect_error(&r, "toxic 1 (limit_data): bytes must not be negative (got -1)");
}

static void test_valid_rule_compiles_and_recompiles(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.method = strdup("POST");
    r.path_regex = strdup("^/tools/");
    r.body_regex = strdup("cost");
    r.json_pointer = strdup("/tool");
    r.json_matches = strdup("^cost_");
    r.header_name = strdup("X-Session");
    r.header_regex = strdup("^s-");
    r.schedule = AR_PX_PROBABILITY;
    r.p = 1.0;
    add_toxic(&r, (ar_tox){.kind = AR_TOX_SLICER, .toxicity = 0.5, .average_size = 5});
    char err[256] = "";
    assert_int_equal(ar_px_rule_compile(&r, err, sizeof(err)), AR_OK);
    assert_non_null(r.path_re);
    assert_non_null(r.body_re);
    assert_non_null(r.json_re);
    assert_non_null(r.header_re);
    /* Compiling again replaces the compiled regexes instead of leaking them (ASan). */
    assert_int_equal(ar_px_rule_compile(&r, err, sizeof(err)), AR_OK);

    ar_px_rule c;
    assert_int_equal(ar_px_rule_copy(&c, &r), AR_OK);
    assert_ptr_not_equal(c.path_regex, r.path_regex);
    assert_string_equal(c.path_regex, "^/tools/");
    assert_ptr_not_equal(c.path_re, r.path_re);
    assert_non_null(c.path_re);
    assert_ptr_not_equal(c.toxics, r.toxics);
    assert_int_equal(c.n_toxics, 1);
    assert_int_equal(c.toxics[0].average_size, 5);
    ar_px_rule_clear(&r);
    assert_null(r.path_regex);
    assert_null(r.path_re);
    /* The copy outlives the original. */
    assert_string_equal(c.json_matches, "^cost_");
    ar_px_rule_clear(&c);
    ar_px_rule_clear(NULL);
}

static void test_copy_of_uncompiled_stays_uncompiled(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.path_regex = strdup("(");
    ar_px_rule c;
    /* Not compiled yet: the copy does not compile either, so the error surfaces at compile. */
    assert_int_equal(ar_px_rule_copy(&c, &r), AR_OK);
    assert_null(c.path_re);
    expect_error(&c, "invalid regex '(' in path: missing closing parenthesis at offset 1");
    ar_px_rule_clear(&r);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ar_px_action_name(AR_PX_FORWARD), "forward");
    assert_string_equal(ar_px_action_name(AR_PX_RESPOND), "respond");
    assert_string_equal(ar_px_action_name(AR_PX_DELAY), "delay");
    assert_string_equal(ar_px_action_name(AR_PX_HANG), "hang");
    assert_string_equal(ar_px_action_name(AR_PX_RESET), "reset");
    assert_string_equal(ar_px_action_name(AR_PX_TRUNCATE), "truncate");
    assert_string_equal(ar_px_action_name(AR_PX_MALFORMED), "malformed");
    assert_string_equal(ar_px_action_name(AR_PX_THROTTLE), "throttle");
    assert_string_equal(ar_px_action_name((ar_px_action)77), "unknown");
    assert_string_equal(ar_tox_kind_name(AR_TOX_LATENCY), "latency");
    assert_string_equal(ar_tox_kind_name(AR_TOX_TIMEOUT), "timeout");
    assert_string_equal(ar_tox_kind_name(AR_TOX_RESET_PEER), "reset_peer");
    assert_string_equal(ar_tox_kind_name(AR_TOX_SLICER), "slicer");
    assert_string_equal(ar_tox_kind_name(AR_TOX_LIMIT_DATA), "limit_data");
    assert_string_equal(ar_tox_kind_name(AR_TOX_BANDWIDTH), "bandwidth");
    assert_string_equal(ar_tox_kind_name((ar_tox_kind)77), "unknown");
}

static void test_start_rejects_bad_rule_and_upstream(void **state)
{
    (void)state;
    ar_px_rule r = base_rule();
    r.schedule = AR_PX_PROBABILITY;
    r.p = 3;
    r.file = "s.yaml";
    r.line = 7;
    r.col = 5;
    ar_px_cfg cfg = {.upstream = "http://127.0.0.1:9", .rules = &r, .n_rules = 1};
    ar_proxy *p = (ar_proxy *)1;
    char err[256] = "";
    assert_int_equal(ar_px_start(&cfg, &p, err, sizeof(err)), AR_EINVAL);
    assert_null(p);
    assert_string_equal(err, "s.yaml:7:5: probability must be between 0 and 1 (got 3)");
    ar_px_rule_clear(&r);

    ar_px_cfg bad = {.upstream = "https://example.com"};
    assert_int_equal(ar_px_start(&bad, &p, err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "upstream must be an http:// URL (got 'https://example.com')");
    ar_px_cfg port = {.upstream = "http://127.0.0.1:99999"};
    assert_int_equal(ar_px_start(&port, &p, err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "upstream 'http://127.0.0.1:99999': bad port");
    ar_px_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_regex_with_position),
        cmocka_unit_test(test_invalid_regex_other_fields),
        cmocka_unit_test(test_schedule_errors),
        cmocka_unit_test(test_action_errors),
        cmocka_unit_test(test_match_errors),
        cmocka_unit_test(test_toxic_errors),
        cmocka_unit_test(test_valid_rule_compiles_and_recompiles),
        cmocka_unit_test(test_copy_of_uncompiled_stays_uncompiled),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_start_rejects_bad_rule_and_upstream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
