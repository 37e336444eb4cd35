/*
 * test_rep_json.c - the JSON report: every documented field, read back with
 * cJSON, and the file accepted by a strict parser (Python's json with UTF-8).
 */
#include "test_rep_fixture.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sys/wait.h>

static cJSON *write_and_parse(fx_run *fx, char *path, size_t path_len)
{
    char err[256] = "";
    char *text;
    cJSON *root;

    snprintf(path, path_len, "%s/results/report.json", fx->tmpdir);
    assert_int_equal(ar_report_json(&fx->run, path, err, sizeof(err)), AR_OK);
    assert_string_equal(err, "");
    text = fx_slurp(path);
    assert_true(fx_clean_utf8(text, false));
    root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fail_msg("missing key '%s'", key);
    return v;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_top_level(void **state)
{
    fx_run fx;
    char path[256], iso[64];
    cJSON *root;
    const cJSON *tot;

    fx_build(&fx);
    root = write_and_parse(&fx, path, sizeof(path));
    assert_int_equal((int)num(root, "version"), AR_REPORT_JSON_VERSION);
    assert_string_equal(str(root, "tool"), "agentrig");
    assert_string_equal(str(root, "tool_version"), AR_VERSION);
    assert_string_equal(str(root, "mode"), "run");
    ar_wall_iso8601(FX_WALL_US, iso, sizeof(iso));
    assert_string_equal(str(root, "started_at"), iso);
    assert_true(fabs(num(root, "duration_s") - 3.456789) < 1e-9);
    assert_true(cJSON_IsFalse(get(root, "interrupted")));
    tot = get(root, "totals");
    assert_int_equal((int)num(tot, "sessions"), 3);
    assert_int_equal((int)num(tot, "passed"), 1);
    assert_int_equal((int)num(tot, "failed"), 1);
    assert_int_equal((int)num(tot, "errored"), 1);
    assert_int_equal((int)num(tot, "checks"), 4);
    assert_int_equal((int)num(tot, "checks_failed"), 1);
    assert_int_equal(cJSON_GetArraySize(get(root, "sessions")), 3);
    cJSON_Delete(root);
    fx_free(&fx);
}

static void test_sessions(void **state)
{
    fx_run fx;
    char path[256];
    cJSON *root;
    const cJSON *s, *t, *c;

    fx_build(&fx);
    root = write_and_parse(&fx, path, sizeof(path));

    s = cJSON_GetArrayItem(get(root, "sessions"), 0);
    assert_string_equal(str(s, "scenario"), "complex multi-agent orchestration");
    assert_string_equal(str(s, "file"), "scenarios/complex.yaml");
    assert_int_equal(cJSON_GetArraySize(get(s, "tags")), 3);
    assert_string_equal(cJSON_GetArrayItem(get(s, "tags"), 2)->valuestring, FX_UNICODE_TAG);
    assert_string_equal(str(s, "target"), "ws://127.0.0.1:9000/ws");
    assert_string_equal(str(s, "thread_id"), "th-0");
    assert_string_equal(str(s, "outcome"), "pass");
    assert_true(cJSON_IsNull(get(s, "error")));
    assert_true(cJSON_IsNull(get(s, "error_type")));
    assert_true(cJSON_IsNull(get(s, "transcript")));
    assert_true(fabs(num(s, "duration_s") - 1.23) < 1e-9);
    assert_int_equal((int)num(s, "events"), 4);
    assert_int_equal((int)num(s, "dropped"), 0);
    t = cJSON_GetArrayItem(get(s, "turns"), 0);
    assert_int_equal((int)num(t, "index"), 1);
    assert_true(cJSON_IsTrue(get(t, "ran")));
    assert_string_equal(str(t, "message"), "Analyze costs");
    assert_true(fabs(num(t, "duration_s") - 1.234567) < 1e-9);
    assert_int_equal((int)num(t, "events"), 4);
    c = cJSON_GetArrayItem(get(t, "checks"), 0);
    assert_string_equal(str(c, "name"), "completed");
    assert_true(cJSON_IsTrue(get(c, "passed")));
    assert_string_equal(str(c, "message"), "ended in agent_completed");

    /* The failing session: nasty strings survive, invalid bytes become U+FFFD. */
    s = cJSON_GetArrayItem(get(root, "sessions"), 1);
    assert_string_equal(str(s, "scenario"), FX_NASTY_NAME);
    assert_string_equal(str(s, "thread_id"), "th-\"1\"");
    assert_string_equal(str(s, "outcome"), "fail");
    assert_int_equal((int)num(s, "events"), FX_MAX_EVENTS);
    assert_int_equal((int)num(s, "dropped"), 2);
    assert_int_equal(cJSON_GetArraySize(get(s, "turns")), 3);
    t = cJSON_GetArrayItem(get(s, "turns"), 0);
    assert_string_equal(str(t, "message"), "route me <now> & \"fast\"");
    c = cJSON_GetArrayItem(get(t, "checks"), 1);
    assert_string_equal(str(c, "name"), "route");
    assert_true(cJSON_IsFalse(get(c, "passed")));
    assert_string_equal(str(c, "message"),
                        "route: expected [A, B] observed <C> & \"D\"\x01\x1b[31m "
                        "bad:\xef\xbf\xbd\xef\xbf\xbd end");
    t = cJSON_GetArrayItem(get(s, "turns"), 1);
    assert_int_equal((int)num(t, "index"), 2);
    assert_true(cJSON_IsFalse(get(t, "ran")));
    assert_true(cJSON_IsNull(get(t, "message")));
    assert_int_equal(num(t, "duration_s"), 0);
    assert_int_equal(cJSON_GetArraySize(get(t, "checks")), 0);

    /* The error session. */
    s = cJSON_GetArrayItem(get(root, "sessions"), 2);
    assert_string_equal(str(s, "outcome"), "error");
    assert_string_equal(str(s, "error"),
                        "could not connect to ws://127.0.0.1:1/ws: Connection refused");
    assert_string_equal(str(s, "error_type"), ar_strerror(AR_ECONNECT));
    assert_true(cJSON_IsNull(get(s, "thread_id")));
    assert_int_equal((int)num(s, "events"), 1);
    cJSON_Delete(root);
    fx_free(&fx);
}

static void test_transcript_paths_and_interrupted(void **state)
{
    fx_run fx;
    char path[256], dir[256], err[256];
    cJSON *root;
    const cJSON *s;

    fx_build(&fx);
    snprintf(dir, sizeof(dir), "%s/results/transcripts", fx.tmpdir);
    assert_int_equal(ar_report_transcripts(&fx.run, dir, err, sizeof(err)), AR_OK);
    fx.run.interrupted = true;
    fx.run.mode = NULL;
    root = write_and_parse(&fx, path, sizeof(path));
    assert_true(cJSON_IsTrue(get(root, "interrupted")));
    assert_string_equal(str(root, "mode"), "run");
    s = cJSON_GetArrayItem(get(root, "sessions"), 1);
    assert_string_equal(str(s, "transcript"), fx.run.sessions[1].transcript_path);
    cJSON_Delete(root);
    fx_free(&fx);
}

static void test_strict_parser(void **state)
{
    fx_run fx;
    char path[256], cmd[600];
    int st;

    fx_build(&fx);
    cJSON_Delete(write_and_parse(&fx, path, sizeof(path)));
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1], "
             "encoding=\"utf-8\", errors=\"strict\")); sys.exit(0 if d[\"version\"] == 1 else 1)' "
             "'%s'",
             path);
    st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    fx_free(&fx);
}

static void test_errors(void **state)
{
    fx_run fx;
    char file[256], path[300], err[512], want[600];
    FILE *f;

    fx_build(&fx);
    snprintf(file, sizeof(file), "%s/plain", fx.tmpdir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/sub/report.json", file);
    assert_int_equal(ar_report_json(&fx.run, path, err, sizeof(err)), AR_EIO);
    snprintf(want, sizeof(want), "%s: Not a directory", path);
    assert_string_equal(err, want);
    assert_int_equal(ar_report_json(NULL, "r.json", err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "r.json: no run result");
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_transcript_paths_and_interrupted),
        cmocka_unit_test(test_strict_parser),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
