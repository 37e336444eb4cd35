/*
 * test_rep_junit.c - the JUnit writer against the shared fixture: counts,
 * escaping, failure bodies with the last events, and the real consumers
 * (xmllint with junit-10.xsd, junitparser via tests/tools/check_junit.py).
 */
#include "test_rep_fixture.h"

#include <sys/wait.h>

/* In the repository, so a plain clone runs the schema check too. */
#define SCHEMA AR_SOURCE_DIR "/tests/tools/junit-10.xsd"
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

    assert_int_equal(access(SCHEMA, R_OK), 0); /* tests/tools/junit-10.xsd */
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

/* Replaces session 0's turn checks with the awkward repeats of a real turn. */
static void add_repeated_checks(fx_run *fx, bool cost_db_passes)
{
    ar_checks *c = &fx->run.sessions[0].turns[0].checks;

    ar_checks_free(c);
    ar_checks_init(c);
    ar_checks_add(c, "completed", true, "completed: agent_completed after 1.2s (4 events)");
    /* The validators' passing and failing checks (validators/tools.c), with
     * the subject they set. */
    if (cost_db_passes)
        ar_checks_add(c, "tools.called", true, "tools.called: cost_db called (1 tool_executing)");
    else
        ar_checks_add(c, "tools.called", false,
                      "tools.called: expected cost_db to be called, it was not; called: []");
    ar_checks_set_subject(c, "cost_db");
    ar_checks_add(c, "tools.called", false,
                  "tools.called: expected gpu_inventory to be called, it was not; called: "
                  "[cost_db]");
    ar_checks_set_subject(c, "gpu_inventory");
    ar_checks_add(c, "tools.status", true,
                  "tools.status: cost_db last completed with status ok (1 completion(s))");
    ar_checks_set_subject(c, "cost_db");
    ar_checks_add(c, "tools.args_absent", true,
                  "tools.args_absent: cost_db: none of 1 call(s) "
                  "carried password");
    ar_checks_set_subject(c, "cost_db");
    ar_checks_add(c, "tools.args", false,
                  "tools.args: expected a call of cost_db with {\"q\":1} (observed {})");
    ar_checks_set_subject(c, "cost_db");
    ar_checks_add(c, "response.matches", true, "response.matches: /4\\d%%/ matched \"40%%\"");
    ar_checks_add(c, "response.matches", false,
                  "response.matches: expected /90%%/ to match the response, it did not");
    ar_checks_add(c, "capture", false, "capture 'spend': /x/ did not match \"\"");
    ar_checks_set_subject(c, "spend");
    ar_checks_add(c, "capture", false, "capture 'region': the turn has no response text");
    ar_checks_set_subject(c, "region");
    /* Same tool twice: the subject alone does not make it unique. */
    ar_checks_add(c, "tools.not_called", true, "tools.not_called: rm_rf not called");
    ar_checks_set_subject(c, "rm_rf");
    ar_checks_add(c, "tools.not_called", true, "tools.not_called: rm_rf not called");
    ar_checks_set_subject(c, "rm_rf");
    fx->run.sessions[0].outcome = AR_OUT_FAIL;
}

static void test_unique_names(void **state)
{
    static const char *const want[] = {
        "turn 1: completed",
        "turn 1: tools.called [cost_db]",
        "turn 1: tools.called [gpu_inventory]",
        "turn 1: tools.status [cost_db]",
        "turn 1: tools.args_absent [cost_db]",
        "turn 1: tools.args [cost_db]",
        "turn 1: response.matches [1]",
        "turn 1: response.matches [2]",
        "turn 1: capture [spend]",
        "turn 1: capture [region]",
        "turn 1: tools.not_called [rm_rf] [1]",
        "turn 1: tools.not_called [rm_rf] [2]",
    };
    fx_run fx;
    char path[256], needle[256], cmd[1024];

    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        fx_build(&fx);
        /* cost_db's check passes in one run and fails in the other: same name. */
        add_repeated_checks(&fx, pass == 0);
        char *xml = write_junit(&fx, path, sizeof(path));
        for (size_t i = 0; i < AR_ARRAY_LEN(want); i++) {
            snprintf(needle, sizeof needle,
                     "classname=\"complex multi-agent orchestration\" name=\"%s\" time=", want[i]);
            if (!strstr(xml, needle)) fail_msg("no testcase %s in:\n%s", want[i], xml);
            assert_int_equal(fx_count(xml, needle), 1);
        }
        /* Read the GitLab way: unique keys, and it is still valid XSD. */
        snprintf(cmd, sizeof(cmd),
                 CHECK_JUNIT " '%s' --tests 18 --schema '%s' --case 'turn 1: tools.called "
                             "[cost_db]' --failed-case 'turn 1: response.matches [2]' >/dev/null",
                 path, SCHEMA);
        assert_int_equal(run(cmd), 0);
        free(xml);
        fx_free(&fx);
    }
}

/* Two scenarios with one name: GitLab merges suites, so the suites differ. */
static void test_same_scenario_name_twice(void **state)
{
    fx_run fx;
    char path[256], cmd[1024];

    (void)state;
    fx_build(&fx);
    fx.scn[2].name = fx.scn[0].name;
    char *xml = write_junit(&fx, path, sizeof(path));
    assert_non_null(strstr(xml, "<testsuite name=\"complex multi-agent orchestration [1]\""));
    assert_non_null(strstr(xml, "<testsuite name=\"complex multi-agent orchestration [2]\""));
    assert_non_null(strstr(xml, "<testcase classname=\"complex multi-agent orchestration [2]\" "
                                "name=\"session\""));
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' --tests 8 >/dev/null", path);
    assert_int_equal(run(cmd), 0);
    free(xml);
    fx_free(&fx);
}

static void test_transcript_attachment(void **state)
{
    fx_run fx;
    char path[256], cmd[1024], want[512];
    char err[256] = "";

    (void)state;
    fx_build(&fx);
    snprintf(path, sizeof path, "%s/transcripts", fx.tmpdir);
    assert_int_equal(ar_report_transcripts(&fx.run, path, err, sizeof err), AR_OK);
    char *xml = write_junit(&fx, path, sizeof(path));
    /* The failure and the error carry one system-out each; passes do not. */
    assert_int_equal(fx_count(xml, "<system-out>"), 2);
    snprintf(want, sizeof want,
             "</failure>\n      <system-out>scenario: scenarios/nasty.yaml\n"
             "[[ATTACHMENT|%s/transcripts/002-fail-quoted-apos.jsonl]]\n</system-out>\n"
             "    </testcase>",
             fx.tmpdir);
    assert_non_null(strstr(xml, want));
    snprintf(want, sizeof want,
             "</error>\n      <system-out>scenario: scenarios/down.yaml\n"
             "[[ATTACHMENT|%s/transcripts/003-unreachable-service.jsonl]]\n</system-out>",
             fx.tmpdir);
    assert_non_null(strstr(xml, want));
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' --attachments --schema '%s' >/dev/null", path,
             SCHEMA);
    assert_int_equal(run(cmd), 0);
    free(xml);

    /* GitLab's pattern takes no '|' in a path: then it is only named. */
    free(fx.run.sessions[1].transcript_path);
    fx.run.sessions[1].transcript_path = ar_strdup("out/a|b.jsonl");
    xml = write_junit(&fx, path, sizeof(path));
    assert_non_null(strstr(xml, "transcript: out/a|b.jsonl\n</system-out>"));
    snprintf(cmd, sizeof(cmd),
             CHECK_JUNIT " '%s' --attachments 2>&1 | grep -q 'has no "
                         "\\[\\[ATTACHMENT'",
             path);
    assert_int_equal(run(cmd), 0);
    free(xml);
    fx_free(&fx);
}

/* check_junit.py catches what GitLab would misread. */
static void test_check_junit_gitlab_rules(void **state)
{
    fx_run fx;
    char path[256], cmd[1024];
    FILE *f;

    (void)state;
    fx_build(&fx);
    snprintf(path, sizeof path, "%s/dup.xml", fx.tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("<testsuites><testsuite name=\"s\" tests=\"2\" failures=\"1\" errors=\"0\">"
          "<testcase classname=\"s\" name=\"turn 1: tools.called\"/>"
          "<testcase classname=\"s\" name=\"turn 1: tools.called\"><failure/></testcase>"
          "</testsuite></testsuites>\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             CHECK_JUNIT " '%s' 2>&1 | grep -q \"GitLab key 's_s_turn 1: "
                         "tools.called' repeats (success, failed)\"",
             path);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), CHECK_JUNIT " '%s' >/dev/null 2>&1", path);
    assert_int_equal(run(cmd), 1);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"1\" errors=\"0\">"
          "<testcase name=\"a\"><failure/><system-out>x</system-out>"
          "<system-out>[[ATTACHMENT|/no/such/file]]</system-out></testcase>"
          "</testsuite></testsuites>\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             CHECK_JUNIT " '%s' --attachments 2>&1 | grep -q 'has 2 "
                         "<system-out>'",
             path);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             CHECK_JUNIT " '%s' --attachments 2>&1 | grep -q 'has no "
                         "\\[\\[ATTACHMENT'",
             path);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             CHECK_JUNIT " '%s' --case nope 2>&1 | grep -q \"no testcase "
                         "named 'nope'\"",
             path);
    assert_int_equal(run(cmd), 0);
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
        cmocka_unit_test(test_unique_names),
        cmocka_unit_test(test_same_scenario_name_twice),
        cmocka_unit_test(test_transcript_attachment),
        cmocka_unit_test(test_check_junit_gitlab_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
