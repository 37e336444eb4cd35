/*
 * test_rep_transcript.c - JSONL transcripts: file naming, header/event/end
 * lines read back with cJSON, exact 64-bit integers, omitted absent fields,
 * binary frames as base64 and the 64 KiB cap on raw frames.
 */
#include "test_rep_fixture.h"

#include <cjson/cJSON.h>

#define MAX_LINES 64

typedef struct {
    char *text;
    char *lines[MAX_LINES];
    cJSON *json[MAX_LINES];
    size_t n;
} lines_t;

static void read_lines(const char *path, lines_t *l)
{
    memset(l, 0, sizeof(*l));
    l->text = fx_slurp(path);
    assert_true(fx_clean_utf8(l->text, false));
    for (char *p = l->text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with a newline */
        *nl = '\0';
        assert_true(l->n < MAX_LINES);
        l->lines[l->n] = p;
        l->json[l->n] = cJSON_Parse(p);
        if (!l->json[l->n]) fail_msg("line %zu does not parse: %.200s", l->n + 1, p);
        l->n++;
    }
}

static void free_lines(lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        cJSON_Delete(l->json[i]);
    free(l->text);
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fail_msg("missing key '%s'", key);
    return v;
}

static bool has(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key) != NULL;
}

static void write_all(fx_run *fx, char *dir, size_t dir_len)
{
    char err[256] = "";

    snprintf(dir, dir_len, "%s/results/transcripts/", fx->tmpdir);
    assert_int_equal(ar_report_transcripts(&fx->run, dir, err, sizeof(err)), AR_OK);
    assert_string_equal(err, "");
}

static void test_paths(void **state)
{
    fx_run fx;
    char dir[256], want[512];

    fx_build(&fx);
    write_all(&fx, dir, sizeof(dir));
    snprintf(want, sizeof(want),
             "%s/results/transcripts/001-complex-multi-agent-orchestration.jsonl", fx.tmpdir);
    assert_string_equal(fx.run.sessions[0].transcript_path, want);
    snprintf(want, sizeof(want), "%s/results/transcripts/002-fail-quoted-apos.jsonl", fx.tmpdir);
    assert_string_equal(fx.run.sessions[1].transcript_path, want);
    snprintf(want, sizeof(want), "%s/results/transcripts/003-unreachable-service.jsonl", fx.tmpdir);
    assert_string_equal(fx.run.sessions[2].transcript_path, want);
    /* Writing again replaces the path without leaking the old one. */
    write_all(&fx, dir, sizeof(dir));
    assert_string_equal(fx.run.sessions[2].transcript_path, want);
    fx_free(&fx);
}

static void test_passing_session(void **state)
{
    fx_run fx;
    char dir[256], iso[64];
    lines_t l;
    const cJSON *h, *e, *u, *end;

    fx_build(&fx);
    write_all(&fx, dir, sizeof(dir));
    read_lines(fx.run.sessions[0].transcript_path, &l);
    assert_int_equal(l.n, 1 + 4 + 1);

    h = l.json[0];
    assert_int_equal(get(h, "transcript")->valueint, 1);
    assert_int_equal(get(h, "session")->valueint, 1);
    assert_string_equal(get(h, "scenario")->valuestring, "complex multi-agent orchestration");
    assert_string_equal(get(h, "file")->valuestring, "scenarios/complex.yaml");
    assert_string_equal(get(h, "target")->valuestring, "ws://127.0.0.1:9000/ws");
    assert_string_equal(get(h, "thread_id")->valuestring, "th-0");
    ar_wall_iso8601(FX_WALL_US, iso, sizeof(iso));
    assert_string_equal(get(h, "started_at")->valuestring, iso);

    /* First event: only the fields it has. */
    e = l.json[1];
    assert_int_equal(get(e, "seq")->valueint, 0);
    assert_int_equal(get(e, "turn")->valueint, 1);
    assert_string_equal(get(e, "kind")->valuestring, "agent_started");
    assert_int_equal(get(e, "t_us")->valueint, 2000);
    assert_string_equal(get(e, "agent")->valuestring, "Supervisor");
    assert_string_equal(get(e, "raw")->valuestring, "{\"type\":\"agent_started\"}");
    assert_int_equal(get(e, "wire_len")->valueint, 24);
    assert_false(has(e, "tool"));
    assert_false(has(e, "status"));
    assert_false(has(e, "server_ts_us"));
    assert_false(has(e, "usage"));
    assert_false(has(e, "binary"));
    assert_false(has(e, "raw_truncated"));
    assert_false(has(e, "decode_error"));

    e = l.json[3];
    assert_string_equal(get(e, "tool")->valuestring, "cost_db");
    assert_string_equal(get(e, "call_id")->valuestring, "c-1");
    assert_string_equal(get(e, "status")->valuestring, "ok");

    /* Terminal event: usage, exact server timestamp. */
    e = l.json[4];
    assert_int_equal(get(e, "seq")->valueint, 3);
    assert_string_equal(get(e, "run_id")->valuestring, "r-1");
    assert_string_equal(get(e, "thread_id")->valuestring, "th-0");
    assert_string_equal(get(e, "text")->valuestring, "Saved 40%");
    u = get(e, "usage");
    assert_int_equal(get(u, "tokens_in")->valueint, 120);
    assert_int_equal(get(u, "tokens_out")->valueint, 45);
    assert_true(get(u, "cost_usd")->valuedouble == 0.25);
    assert_non_null(strstr(l.lines[4], "\"server_ts_us\":1790000000005000,"));

    end = l.json[5];
    assert_true(cJSON_IsTrue(get(end, "end")));
    assert_string_equal(get(end, "outcome")->valuestring, "pass");
    assert_int_equal(get(end, "events")->valueint, 4);
    assert_int_equal(get(end, "dropped")->valueint, 0);
    assert_false(has(end, "error"));
    free_lines(&l);
    fx_free(&fx);
}

static void test_failing_session_frames(void **state)
{
    fx_run fx;
    char dir[256];
    lines_t l;
    const cJSON *e, *end;
    const char *raw;

    fx_build(&fx);
    write_all(&fx, dir, sizeof(dir));
    read_lines(fx.run.sessions[1].transcript_path, &l);
    assert_int_equal(l.n, 1 + FX_MAX_EVENTS + 1);
    assert_string_equal(get(l.json[0], "scenario")->valuestring, FX_NASTY_NAME);
    assert_string_equal(get(l.json[0], "thread_id")->valuestring, "th-\"1\"");

    /* Sequence numbers are in order. */
    for (size_t i = 1; i <= FX_MAX_EVENTS; i++)
        assert_int_equal(get(l.json[i], "seq")->valueint, (int)(i - 1));

    /* Invalid UTF-8 in the text repaired, control character kept (JSON escapes it). */
    e = l.json[13];
    assert_string_equal(get(e, "text")->valuestring, "boom <x> & \x02 \xef\xbf\xbd(");
    assert_string_equal(get(e, "kind")->valuestring, "tool_executing");
    assert_string_equal(get(l.json[12], "status")->valuestring, "error");

    /* The binary frame: base64 of 00 ff 01. */
    e = l.json[14];
    assert_true(cJSON_IsTrue(get(e, "binary")));
    assert_string_equal(get(e, "raw")->valuestring, "AP8B");
    assert_int_equal(get(e, "wire_len")->valueint, 3);
    assert_string_equal(get(e, "kind")->valuestring, "other");

    /* The oversized frame: cut at 64 KiB of input, first byte repaired. */
    e = l.json[15];
    raw = get(e, "raw")->valuestring;
    assert_int_equal(strlen(raw), 3 + 64 * 1024 - 1);
    assert_memory_equal(raw, "\xef\xbf\xbdxxx", 6);
    assert_true(cJSON_IsTrue(get(e, "raw_truncated")));
    assert_true(cJSON_IsTrue(get(e, "decode_error")));
    assert_int_equal(get(e, "wire_len")->valueint, FX_BIG_RAW_BYTES);
    assert_string_equal(get(e, "text")->valuestring, "not JSON");

    end = l.json[l.n - 1];
    assert_string_equal(get(end, "outcome")->valuestring, "fail");
    assert_int_equal(get(end, "events")->valueint, FX_MAX_EVENTS);
    assert_int_equal(get(end, "dropped")->valueint, 2);
    free_lines(&l);
    fx_free(&fx);
}

static void test_error_session(void **state)
{
    fx_run fx;
    char dir[256];
    lines_t l;
    const cJSON *e, *end;

    fx_build(&fx);
    write_all(&fx, dir, sizeof(dir));
    read_lines(fx.run.sessions[2].transcript_path, &l);
    assert_int_equal(l.n, 3);
    assert_false(has(l.json[0], "thread_id"));
    e = l.json[1];
    assert_int_equal(get(e, "turn")->valueint, 0);
    assert_int_equal(get(e, "t_us")->valueint, 4000);
    assert_string_equal(get(e, "kind")->valuestring, "error");
    end = l.json[2];
    assert_string_equal(get(end, "outcome")->valuestring, "error");
    assert_string_equal(get(end, "error")->valuestring,
                        "could not connect to ws://127.0.0.1:1/ws: Connection refused");
    free_lines(&l);
    fx_free(&fx);
}

static void test_errors(void **state)
{
    fx_run fx;
    char file[256], err[512], want[600];
    FILE *f;

    fx_build(&fx);
    snprintf(file, sizeof(file), "%s/plain", fx.tmpdir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(ar_report_transcripts(&fx.run, file, err, sizeof(err)), AR_EIO);
    /* The first failing session is the one reported; none gets a path. */
    snprintf(want, sizeof(want), "%s/001-complex-multi-agent-orchestration.jsonl: Not a directory",
             file);
    assert_string_equal(err, want);
    for (size_t i = 0; i < fx.run.n_sessions; i++)
        assert_null(fx.run.sessions[i].transcript_path);

    assert_int_equal(ar_report_transcripts(&fx.run, "", err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "transcripts: empty directory");
    assert_int_equal(ar_report_transcripts(NULL, "x", err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, "transcripts: no run result");
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_passing_session),
        cmocka_unit_test(test_failing_session_frames),
        cmocka_unit_test(test_error_session),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
