/*
 * test_ra_faults.c - parsing refagent's fault_directive test hooks: every
 * item kind, separators, wildcards, and the exact message of each refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "faults.h"

#include <string.h>

static void test_parse_items(void **state)
{
    (void)state;
    ra_faults f;
    char err[160] = "";
    assert_int_equal(ra_faults_parse(" fail_tool=cost_db; fail_agent=Data,slow_agent=Triage:250  ",
                                     &f, err, sizeof(err)),
                     0);
    assert_true(ra_faults_tool_fails(&f, "cost_db"));
    assert_false(ra_faults_tool_fails(&f, "pricing"));
    assert_true(ra_faults_agent_fails(&f, "Data"));
    assert_false(ra_faults_agent_fails(&f, "Estimator"));
    assert_int_equal(ra_faults_agent_delay_ms(&f, "Triage"), 250);
    assert_int_equal(ra_faults_agent_delay_ms(&f, "Data"), 0);

    assert_int_equal(ra_faults_parse("fail_agent=* slow_agent=*:10", &f, err, sizeof(err)), 0);
    assert_true(ra_faults_agent_fails(&f, "Supervisor"));
    assert_int_equal(ra_faults_agent_delay_ms(&f, "Planner"), 10);

    assert_int_equal(ra_faults_parse("", &f, err, sizeof(err)), 0);
    assert_false(ra_faults_agent_fails(&f, "Data"));
    assert_false(ra_faults_tool_fails(NULL, "cost_db"));
    assert_false(ra_faults_agent_fails(NULL, "Data"));
    assert_int_equal(ra_faults_agent_delay_ms(NULL, "Data"), 0);
}

static void expect_error(const char *directive, const char *message)
{
    ra_faults f;
    char err[200] = "";
    assert_int_equal(ra_faults_parse(directive, &f, err, sizeof(err)), -1);
    assert_string_equal(err, message);
    /* A refused directive leaves no half-parsed faults behind. */
    assert_int_equal(f.n_fail_tools + f.n_fail_agents + f.n_slow_agents, 0);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("fail_tool=cost_db;explode=1",
                 "fault_directive: unknown item 'explode=1' (use fail_tool=, fail_agent= or "
                 "slow_agent=)");
    expect_error("fail_tool", "fault_directive: unknown item 'fail_tool' (use fail_tool=, "
                              "fail_agent= or slow_agent=)");
    expect_error("fail_agent=", "fault_directive: fail_agent needs a name of 1 to 31 bytes");
    expect_error("fail_tool=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "fault_directive: fail_tool needs a name of 1 to 31 bytes");
    expect_error(
        "slow_agent=Data",
        "fault_directive: slow_agent needs <agent>:<ms> with ms in 0..3600000, got 'Data'");
    expect_error("slow_agent=Data:-5", "fault_directive: slow_agent needs <agent>:<ms> with ms in "
                                       "0..3600000, got 'Data:-5'");
    expect_error("slow_agent=Data:9x", "fault_directive: slow_agent needs <agent>:<ms> with ms in "
                                       "0..3600000, got 'Data:9x'");
    expect_error("slow_agent=:5", "fault_directive: slow_agent needs a name of 1 to 31 bytes");
    expect_error("fail_tool=a fail_tool=b fail_tool=c fail_tool=d fail_tool=e fail_tool=f "
                 "fail_tool=g fail_tool=h fail_tool=i",
                 "fault_directive: at most 8 items of each kind");
    char big[600];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_error(big, "fault_directive: longer than 512 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_items),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
