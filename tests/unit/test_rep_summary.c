/*
 * test_rep_summary.c - the terminal summary: verdict lines, failed checks
 * under their session, the totals line, colour only when asked, and no raw
 * control bytes from the service reaching the terminal.
 */
#include "test_rep_fixture.h"

static char *summary(fx_run *fx, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    ar_report_summary(&fx->run, f, color);
    fclose(f);
    return buf;
}

static void test_plain(void **state)
{
    fx_run fx;
    char *out;

    fx_build(&fx);
    out = summary(&fx, false);
    assert_non_null(
        strstr(out, "PASS  complex multi-agent orchestration  (1 turn, 4 events, 1.23s)\n"));
    assert_non_null(strstr(out, "FAIL  " FX_NASTY_NAME "  (1/3 turns, 16 events, 2.00s)\n"
                                "      turn 1: route: expected [A, B] observed <C> & "
                                "\"D\"\\x01\\x1b[31m bad:\\xff\\xfe end\n"
                                "      2 turns not run\n"));
    assert_non_null(strstr(out, "ERROR unreachable service  (0/1 turns, 1 event, 5.0ms)\n"
                                "      error (could not connect): could not connect to "
                                "ws://127.0.0.1:1/ws: Connection refused\n"));
    assert_non_null(
        strstr(out, "\n3 sessions: 1 passed, 1 failed, 1 error; 4 checks, 1 failed  (3.46s)\n"));
    /* Passed checks are not listed. */
    assert_null(strstr(out, "completed"));
    /* Nothing from the service reaches the terminal raw. */
    assert_null(strchr(out, '\x1b'));
    assert_null(strstr(out, "interrupted"));
    assert_true(fx_clean_utf8(out, false));
    free(out);
    fx_free(&fx);
}

static void test_color_and_extras(void **state)
{
    fx_run fx;
    char *out;

    fx_build(&fx);
    fx.run.interrupted = true;
    fx.run.sessions[1].transcript_path = ar_strdup("results/transcripts/002-x.jsonl");
    fx.run.sessions[1].turns[0].checks.items[1].message =
        realloc(fx.run.sessions[1].turns[0].checks.items[1].message, 32);
    strcpy(fx.run.sessions[1].turns[0].checks.items[1].message, "line one\nline two");
    out = summary(&fx, true);
    assert_non_null(strstr(out, "\x1b[32mPASS \x1b[0m complex"));
    assert_non_null(strstr(out, "\x1b[31mFAIL \x1b[0m fail"));
    assert_non_null(strstr(out, "\x1b[31m\x1b[1mERROR\x1b[0m unreachable"));
    /* Multi-line messages stay indented under their check. */
    assert_non_null(strstr(out, "line one\n        line two"));
    assert_non_null(strstr(out, "transcript: results/transcripts/002-x.jsonl"));
    assert_non_null(strstr(out, "interrupted: the run was stopped; sessions marked SKIP did not run"));
    /* The totals line is red when anything failed. */
    assert_non_null(strstr(out, "\x1b[31m3 sessions: 1 passed"));
    free(out);
    fx_free(&fx);
}

static void test_all_pass_and_empty(void **state)
{
    fx_run fx;
    char *out;

    fx_build(&fx);
    fx.run.n_sessions = 1;
    out = summary(&fx, true);
    assert_non_null(strstr(out, "\x1b[32m1 session: 1 passed, 0 failed, 0 errors; 2 checks, "
                                "0 failed"));
    free(out);
    fx.run.n_sessions = 0;
    out = summary(&fx, false);
    assert_string_equal(out, "0 sessions: 0 passed, 0 failed, 0 errors; 0 checks, 0 failed  "
                             "(3.46s)\n");
    free(out);
    fx.run.n_sessions = 3;
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_color_and_extras),
        cmocka_unit_test(test_all_pass_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
