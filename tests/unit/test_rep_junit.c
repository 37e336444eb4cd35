/*
 * test_rep_junit.c - the JUnit writer against the shared fixture: counts,
 * escaping, failure bodies with the last events, and the real consumers
 * (xmllint with junit-10.xsd, junitparser via tests/tools/check_junit.py).
 */
#include "test_rep_fixture.h"

#include <sys/wait.h>

#define SCHEMA AR_SOURCE_DIR "/../shared/schemas/junit-10.xsd"
#define CHECK_JUNIT "/usr/bin/python3 " AR_SOURCE_DIR "/tests/tools/check_junit.py"

static char *write_junit(fx_run *fx, char *path, size_t path_len)
{
    char err[256] = "";

    snprintf(path, path_len, "%s/out/ci/junit.xml", fx->tmpdir);
    assert_int_equal(ar_report_junit(&fx->run, path, err, sizeof(err)), AR_OK);
    assert_string_equal(err, "");
    return fx_slurp(path);
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_counts_and_structure(void **state)
{
    fx_run fx;
    char path[256], tmp[300], stamp[64], want[512];
    char *xml;

    fx_build(&fx);
    xml = write_junit(&fx, path, sizeof(path));
    assert_non_null(strstr(xml, "<testsuites name=\"agentrig\" tests=\"8\" failures=\"1\" "
                                "errors=\"1\" time=\"3.456\">"));
    assert_int_equal(fx_count(xml, "<testsuite "), 3);
    assert_int_equal(fx_count(xml, "<testcase "), 8);
    assert_int_equal(fx_count(xml, "<failure "), 1);
    assert_int_equal(fx_count(xml, "<error "), 1);
    assert_int_equal(fx_count(xml, "<skipped "), 3);
    assert_non_null(strstr(xml, "tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\""));
    assert_non_null(strstr(xml, "tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"2\""));
    assert_non_null(strstr(xml, "tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\""));

    /* Suite attributes and properties. */
    ar_wall_iso8601(FX_WALL_US, stamp, sizeof(stamp));
    snprintf(want, sizeof(want), "time=\"1.230\" timestamp=\"%s\"", stamp);
    assert_non_null(strstr(xml, want));
    assert_non_null(strstr(xml, "file=\"scenarios/complex.yaml\""));
    assert_non_null(strstr(xml, "<property name=\"target\" value=\"ws://127.0.0.1:9000/ws\"/>"));
    assert_non_null(strstr(xml, "<property name=\"protocol\" value=\"native\"/>"));
    assert_non_null(
        strstr(xml, "<property name=\"tags\" value=\"gate,complex," FX_UNICODE_TAG "\"/>"));
    assert_non_null(strstr(xml, "value=\"ws://127.0.0.1:9000/ws?a=1&amp;b=&lt;2&gt;\""));
    assert_non_null(strstr(xml, "<property name=\"thread_id\" value=\"th-&quot;1&quot;\"/>"));

    /* Testcases: names, classnames, the completed check carries the turn time. */
    assert_non_null(strstr(xml, "<testcase classname=\"complex multi-agent orchestration\" "
                                "name=\"turn 1: completed\" time=\"1.234\"/>"));
    assert_non_null(strstr(xml, "<testcase classname=\"complex multi-agent orchestration\" "
                                "name=\"turn 1: route\" time=\"0.000\"/>"));
    assert_non_null(strstr(xml, "<testsuite name=\"fail &lt;&amp;&gt; &quot;quoted&quot; "
                                "&apos;apos&apos;\""));

    /* The failure: escaped message attribute, controls and bad bytes replaced. */
    assert_non_null(strstr(xml, "<failure type=\"route\" message=\"route: expected [A, B] "
                                "observed &lt;C&gt; &amp; &quot;D&quot;\xef\xbf\xbd\xef\xbf\xbd"
                                "[31m bad:\xef\xbf\xbd\xef\xbf\xbd end\">"));
    /* Its body: the message, then the last 10 of the turn's 16 events. */
    assert_non_null(strstr(xml, "last 10 of 16 events in turn 1 (time from its start):\n"
                                "  +0.700s tool_executing Data/cost_db call=c-6\n"
                                "  +0.800s tool_completed Data/cost_db call=c-7 status=error\n"));
    assert_null(strstr(xml, "call=c-5"));
    assert_non_null(strstr(xml, "  +1.300s tool_executing Data/cost_db call=c-12 "
                                "\"boom &lt;x&gt; &amp; \xef\xbf\xbd \xef\xbf\xbd(\"\n"));
    assert_non_null(strstr(xml, "  +1.400s other\n"));
    assert_non_null(strstr(xml, "  +1.450s error decode_error \"not JSON\"\n"));
    assert_non_null(strstr(xml, "  +1.500s agent_completed Supervisor status=ok \"done\"\n"
                                "</failure>"));

    /* Skipped turns say why. */
    assert_int_equal(fx_count(xml, "<skipped message=\"not run: turn 1 failed\"/>"), 2);
    assert_non_null(strstr(xml, "<skipped message=\"not run: the session failed (could not "
                                "connect): could not connect to ws://127.0.0.1:1/ws: "
                                "Connection refused\"/>"));

    /* The error session: type from ar_strerror, the session's events in the body. */
    assert_non_null(strstr(xml, "<testcase classname=\"unreachable service\" name=\"session\" "
                                "time=\"0.000\">\n      <error type=\"could not connect\" "
                                "message=\"could not connect to ws://127.0.0.1:1/ws: Connection "
                                "refused\">"));
    assert_non_null(strstr(xml, "last 1 of 1 events in the session (time from its start):\n"
                                "  +0.004s error status=error \"connect: Connection refused\"\n"));

    /* Whole file: valid UTF-8, no forbidden controls; no temporary file left. */
    assert_true(fx_clean_utf8(xml, false));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    free(xml);
    fx_free(&fx);
}

static void test_xmllint_schema(void **state)
{
    fx_run fx;
    char path[256], cmd[1024];

    if (access(SCHEMA, R_OK) != 0) {
        printf("skipping xmllint schema check: ../shared/schemas/junit-10.xsd not found\n");
        return;
    }
    fx_build(&fx);
    free(write_junit(&fx, path, sizeof(path)));
    snprintf(cmd, sizeof(cmd), "xmllint --noout --schema '%s' '%s'", SCHEMA, path);
    assert_int_equal(run(cmd), 0);

    /* An empty run is still a valid document. */
    fx.run.n_sessions = 0;
    free(write_junit(&fx, path, sizeof(path)));
    assert_int_equal(run(cmd), 0);
    fx.run.n_sessions = 3;
    fx_free(&fx);
}

static void test_check_junit_script(void **state)
{
    fx_run fx;
    char path[256], cmd[1024];

    fx_build(&fx);
    free(write_junit(&fx, path, sizeof(path)));
    snprintf(cmd, sizeof(cmd),
             CHECK_JUNIT " '%s' --tests 8 --failures 1 --errors 1 --skipped 3 --schema '%s'", path,
             SCHEMA);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' --tests 8 --failures 2 --errors 1 --skipped 3",
             path);
    assert_int_equal(run(cmd), 1);
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' --tests many 2>/dev/null", path);
    assert_int_equal(run(cmd), 2);

    /* A suite whose declared counts disagree with its testcases is caught. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("<testsuites><testsuite name=\"s\" tests=\"3\" failures=\"0\" errors=\"0\">"
          "<testcase name=\"a\"/><testcase name=\"b\"/></testsuite></testsuites>\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' --tests 2 2>&1 | grep -q 'declares tests=3'",
             path);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' --tests 2 >/dev/null 2>&1", path);
    assert_int_equal(run(cmd), 1);
    fx_free(&fx);
}

static void test_empty_run(void **state)
{
    fx_run fx;
    char path[256];
    char *xml;

    fx_build(&fx);
    fx.run.n_sessions = 0;
    fx.run.duration_us = -5;
    xml = write_junit(&fx, path, sizeof(path));
    assert_non_null(strstr(xml, "<testsuites name=\"agentrig\" tests=\"0\" failures=\"0\" "
                                "errors=\"0\" time=\"0.000\">\n</testsuites>\n"));
    free(xml);
    fx.run.n_sessions = 3;
    fx_free(&fx);
}

static void test_bad_path(void **state)
{
    fx_run fx;
    char file[256], path[300], err[512], want[600];
    FILE *f;

    fx_build(&fx);
    snprintf(file, sizeof(file), "%s/plain", fx.tmpdir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/junit.xml", file);
    assert_int_equal(ar_report_junit(&fx.run, path, err, sizeof(err)), AR_EIO);
    snprintf(want, sizeof(want), "%s: Not a directory", path);
    assert_string_equal(err, want);

    assert_int_equal(ar_report_junit(NULL, "x.xml", err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "x.xml: no run result");
    assert_int_equal(ar_report_junit(&fx.run, "", err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "(report): empty output path");
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_structure),
        cmocka_unit_test(test_xmllint_schema),
        cmocka_unit_test(test_check_junit_script),
        cmocka_unit_test(test_empty_run),
        cmocka_unit_test(test_bad_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
