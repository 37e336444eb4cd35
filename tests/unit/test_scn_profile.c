/*
 * Protocol profiles: the built-ins decode their services' frames into
 * canonical events (fields merged from several places, status values mapped,
 * terminals by the profile's rules, deltas), build each turn's frame from
 * the send template, and a broken profile is a load error that says where.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

static ar_profile *builtin(const char *name)
{
    ar_profile *p = NULL;
    char err[256] = "";
    if (ar_pf_load(name, &p, err, sizeof err) != AR_OK) fail_msg("%s", err);
    return p;
}

static ar_err decode(const ar_profile *p, const char *frame, ar_event *ev, char **delta)
{
    ar_event_init(ev);
    return ar_pf_decode(p, frame, strlen(frame), ev, delta);
}

static void native_decodes_every_field(void **state)
{
    (void)state;
    ar_profile *p = builtin("native");
    ar_event ev;
    const char *f = "{\"type\":\"tool_completed\",\"thread_id\":\"t1\",\"ts_us\":1700000000123456,"
                    "\"agent\":\"Data\",\"run_id\":\"run-3\",\"parent_run_id\":\"run-2\","
                    "\"tool\":\"cost_db\",\"call_id\":\"call-1\",\"status\":\"error\","
                    "\"error\":\"HTTP 503\",\"result\":null}";
    assert_int_equal(decode(p, f, &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_TOOL_COMPLETED);
    assert_string_equal(ev.type, "tool_completed");
    assert_string_equal(ev.thread_id, "t1");
    assert_string_equal(ev.agent, "Data");
    assert_string_equal(ev.run_id, "run-3");
    assert_string_equal(ev.parent_run_id, "run-2");
    assert_string_equal(ev.tool, "cost_db");
    assert_string_equal(ev.call_id, "call-1");
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.text, "HTTP 503");
    assert_int_equal(ev.server_ts_us, 1700000000123456LL);
    assert_memory_equal(ev.raw, f, strlen(f));
    assert_false(ev.terminal);
    ar_event_clear(&ev);

    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"agent\":\"Supervisor\",\"run_id\":"
                            "\"run-1\",\"parent_run_id\":null,\"status\":\"ok\",\"result\":{"
                            "\"response\":\"42% cheaper\"},\"usage\":{\"input_tokens\":120,"
                            "\"output_tokens\":80,\"cost_usd\":0.0031}}",
                            &ev, NULL),
                     AR_OK);
    assert_true(ar_event_is_terminal(&ev));
    assert_string_equal(ev.text, "42% cheaper");
    assert_int_equal(ev.tokens_in, 120);
    assert_int_equal(ev.tokens_out, 80);
    assert_true(ev.cost_usd > 0.0030 && ev.cost_usd < 0.0032);
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"agent\":\"Data\",\"run_id\":\"r3\","
                            "\"parent_run_id\":\"r2\",\"status\":\"ok\"}",
                            &ev, NULL),
                     AR_OK);
    assert_false(ar_event_is_terminal(&ev)); /* a sub-agent's completion */
    ar_event_clear(&ev);
    assert_int_equal(
        decode(p, "{\"type\":\"error\",\"code\":\"busy\",\"message\":\"a turn is running\"}", &ev,
               NULL),
        AR_OK);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.text, "a turn is running");
    assert_true(ar_event_is_terminal(&ev)); /* a turn-level error */
    ar_event_clear(&ev);
    assert_int_equal(
        decode(p, "{\"type\":\"error\",\"run_id\":\"r4\",\"message\":\"x\"}", &ev, NULL), AR_OK);
    assert_false(ar_event_is_terminal(&ev)); /* an error inside a run */
    ar_event_clear(&ev);
    assert_int_equal(decode(p, "{\"type\":\"heartbeat\"}", &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    assert_string_equal(ev.type, "heartbeat");
    ar_event_clear(&ev);
    /* A service cannot claim agentrig's own "fault" kind. */
    assert_int_equal(decode(p, "{\"type\":\"fault\"}", &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    ar_event_clear(&ev);
    ar_pf_free(p);
}

static void bad_frames_become_error_events_that_keep_the_bytes(void **state)
{
    (void)state;
    ar_profile *p = builtin("native");
    struct {
        const char *frame, *why;
    } cases[] = {
        {"{\"type\": \"agent_thinking\", oops", "frame is not valid JSON"},
        {"[1,2,3]", "frame is not a JSON object"},
        {"{\"kind\":\"agent_started\"}", "frame has no string type at /type"},
        {"{\"type\":42}", "frame has no string type at /type"},
        {"", "frame is not valid JSON"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        ar_event ev;
        assert_int_equal(decode(p, cases[i].frame, &ev, NULL), AR_EPARSE);
        assert_int_equal(ev.kind, AR_EV_ERROR);
        assert_true(ev.decode_error);
        assert_string_equal(ev.text, cases[i].why);
        assert_string_equal(ev.raw, cases[i].frame);
        assert_false(ar_event_is_terminal(&ev));
        ar_event_clear(&ev);
    }
    ar_pf_free(p);
}

static void netra_merges_root_payload_and_data(void **state)
{
    (void)state;
    ar_profile *p = builtin("netra");
    ar_event ev;
    assert_int_equal(decode(p,
                            "{\"type\":\"tool_executing\",\"run_id\":\"r2\",\"payload\":{"
                            "\"agent_name\":\"Data\",\"tool_name\":\"cost_db\",\"tool_call_id\":"
                            "\"tc1\"},\"data\":{\"thread_id\":\"th\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_TOOL_EXECUTING);
    assert_string_equal(ev.agent, "Data");
    assert_string_equal(ev.run_id, "r2");
    assert_string_equal(ev.tool, "cost_db");
    assert_string_equal(ev.call_id, "tc1");
    assert_string_equal(ev.thread_id, "th");
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"data\":{\"agent_name\":\"Supervisor\","
                            "\"run_id\":\"r1\",\"parent_run_id\":null,\"status\":\"success\","
                            "\"result\":{\"response\":\"Current spend is $50K/month.\"}}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_OK); /* "success" is ok in netra */
    assert_string_equal(ev.text, "Current spend is $50K/month.");
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    ar_pf_free(p);
}

static void agui_maps_steps_tools_deltas_and_the_run(void **state)
{
    (void)state;
    ar_profile *p = builtin("ag-ui");
    assert_int_equal(p->transport, AR_PF_SSE);
    ar_event ev;
    char *delta = NULL;
    assert_int_equal(
        decode(p, "{\"type\":\"RUN_STARTED\",\"threadId\":\"t\",\"runId\":\"r\"}", &ev, &delta),
        AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.run_id, "r");
    assert_string_equal(ev.thread_id, "t");
    assert_false(ev.terminal);
    ar_event_clear(&ev);
    assert_int_equal(decode(p, "{\"type\":\"STEP_STARTED\",\"stepName\":\"Data\"}", &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.agent, "Data");
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"TOOL_CALL_RESULT\",\"toolCallId\":\"c1\",\"messageId\":"
                            "\"m\",\"content\":\"{}\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_TOOL_COMPLETED);
    assert_int_equal(ev.status, AR_ST_OK); /* the row's constant status */
    assert_string_equal(ev.call_id, "c1");
    ar_event_clear(&ev);
    assert_int_equal(
        decode(p, "{\"type\":\"REASONING_MESSAGE_CONTENT\",\"delta\":\"hmm\"}", &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_THINKING); /* REASONING_* */
    ar_event_clear(&ev);
    assert_int_equal(
        decode(p,
               "{\"type\":\"TEXT_MESSAGE_CONTENT\",\"messageId\":\"m\",\"delta\":\"42% "
               "\"}",
               &ev, &delta),
        AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    assert_string_equal(delta, "42% ");
    free(delta);
    ar_event_clear(&ev);
    assert_int_equal(
        decode(p, "{\"type\":\"RUN_FINISHED\",\"threadId\":\"t\",\"runId\":\"r\"}", &ev, &delta),
        AR_OK);
    assert_null(delta);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    assert_int_equal(decode(p, "{\"type\":\"RUN_ERROR\",\"message\":\"boom\"}", &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_true(ev.terminal);
    assert_string_equal(ev.text, "boom");
    ar_event_clear(&ev);
    ar_pf_free(p);
}

static void send_templates_fill_text_and_json_values(void **state)
{
    (void)state;
    ar_vars *v = ar_vars_new();
    ar_vars_set(v, "message", "hi \"there\"");
    ar_vars_set(v, "thread_id", "t-1");
    ar_vars_set(v, "turn", "2");
    cJSON *ctx = cJSON_Parse("{\"gpu_instances\":20}");
    cJSON *msgs = cJSON_Parse("[{\"id\":\"msg-1\",\"role\":\"user\",\"content\":\"hi\"}]");
    char err[256];
    ar_profile *p = builtin("native");
    char *s = ar_pf_build_send(p, p->send, v, ctx, msgs, err, sizeof err);
    assert_string_equal(s, "{\"type\":\"user_message\",\"thread_id\":\"t-1\",\"message\":\"hi "
                           "\\\"there\\\"\",\"context\":{\"gpu_instances\":20}}");
    free(s);
    s = ar_pf_build_send(p, p->send, v, NULL, msgs, err, sizeof err);
    assert_null(strstr(s, "context")); /* no context: the key is dropped, not null */
    free(s);
    ar_pf_free(p);
    p = builtin("ag-ui");
    s = ar_pf_build_send(p, p->send, v, NULL, msgs, err, sizeof err);
    assert_non_null(strstr(s, "\"threadId\":\"t-1\",\"runId\":\"t-1-run-2\""));
    assert_non_null(
        strstr(s, "\"messages\":[{\"id\":\"msg-1\",\"role\":\"user\",\"content\":\"hi\"}]"));
    free(s);
    ar_pf_free(p);
    p = builtin("netra");
    s = ar_pf_build_send(p, p->send, v, ctx, msgs, err, sizeof err);
    assert_non_null(
        strstr(s, "\"payload\":{\"content\":\"hi \\\"there\\\"\",\"thread_id\":\"t-1\""));
    free(s);
    /* A template naming an undefined variable says which. */
    ar_vars *empty = ar_vars_new();
    assert_null(ar_pf_build_send(p, p->send, empty, NULL, NULL, err, sizeof err));
    assert_string_equal(err, "undefined variable 'message'");
    ar_vars_free(empty);
    ar_pf_free(p);
    cJSON_Delete(ctx);
    cJSON_Delete(msgs);
    ar_vars_free(v);
}

static void predicates_prefixes_and_field_conditions(void **state)
{
    (void)state;
    const char *y =
        "name: custom\n"
        "send: {q: '${message}'}\n"
        "decode:\n"
        "  type: /t\n"
        "  events:\n"
        "    CUSTOM:\n"
        "      - {kind: agent_started, when: {pointer: /name, equals: SUBAGENT_STARTED}}\n"
        "      - {kind: agent_completed, when: {pointer: /name, equals: SUBAGENT_FINISHED}}\n"
        "    DONE: {kind: agent_completed, agent: Boss}\n"
        "  fields: {agent: [/value/agent], parent_run_id: /parent}\n"
        "  end: [{kind: agent_completed, when: {field: parent_run_id, equals: null}}]\n";
    ar_profile *p = NULL;
    char err[256] = "";
    assert_int_equal(ar_pf_load_string(y, strlen(y), "c.yaml", &p, err, sizeof err), AR_OK);
    ar_event ev;
    decode(p, "{\"t\":\"CUSTOM\",\"name\":\"SUBAGENT_STARTED\",\"value\":{\"agent\":\"Data\"}}",
           &ev, NULL);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.agent, "Data");
    ar_event_clear(&ev);
    decode(p, "{\"t\":\"CUSTOM\",\"name\":\"SUBAGENT_FINISHED\",\"parent\":\"r1\"}", &ev, NULL);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_false(ev.terminal); /* it has a parent */
    ar_event_clear(&ev);
    decode(p, "{\"t\":\"CUSTOM\",\"name\":\"SOMETHING_ELSE\"}", &ev, NULL);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    ar_event_clear(&ev);
    decode(p, "{\"t\":\"DONE\"}", &ev, NULL);
    assert_string_equal(ev.agent, "Boss"); /* the row's constant */
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    ar_pf_free(p);
}

static void bad_profiles_say_where(void **state)
{
    (void)state;
    struct {
        const char *yaml, *err;
    } cases[] = {
        {"name: x\nsend: {}\ndecode: {type: type, events: {a: agent_started}, end: [{kind: "
         "agent_completed}]}\n",
         "p.yaml:3:16: invalid JSON pointer 'type': must start with '/'"},
        {"name: x\nsend: {}\ndecode: {type: /type, events: {a: agent_done}, end: [{kind: "
         "agent_completed}]}\n",
         "p.yaml:3:35: unknown event kind 'agent_done' (valid: agent_started, agent_thinking, "
         "tool_executing, tool_completed, agent_completed, error, fault, other)"},
        {"name: x\nsend: {}\ndecode: {type: /type, events: {a: agent_started}}\n",
         "p.yaml:3:9: 'decode' needs 'end': what ends a turn, e.g. [{kind: agent_completed, root: "
         "true}]"},
        {"name: x\ntransport: grpc\nsend: {}\n",
         "p.yaml:2:12: unknown transport 'grpc' (valid: ws, sse)"},
        {"name: x\ndecode: {}\n",
         "p.yaml:1:1: the profile has no 'send': the JSON template of a turn's message"},
        {"name: x\nsend: {}\ndecode: {type: /t, events: {}, end: [{kind: error, when: {field: "
         "agnet}}]}\n",
         "p.yaml:3:66: unknown field 'agnet' (valid: agent, run_id, parent_run_id, tool, "
         "call_id, thread_id, status, text, tokens_in, tokens_out, cost_usd, server_ts, "
         "server_duration_us)"},
        {"name: x\nsned: {}\n", "p.yaml:2:1: unknown key 'sned' (did you mean 'send'?)"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        ar_profile *p = NULL;
        char err[512] = "";
        assert_int_not_equal(
            ar_pf_load_string(cases[i].yaml, strlen(cases[i].yaml), "p.yaml", &p, err, sizeof err),
            AR_OK);
        assert_null(p);
        assert_string_equal(err, cases[i].err);
    }
    ar_profile *p = NULL;
    char err[256];
    assert_int_equal(ar_pf_load("grpc", &p, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "unknown protocol 'grpc' (built-in: native, netra, ag-ui; or a path "
                             "to a profile file)");
    assert_int_equal(ar_pf_load("/no/such/profile.yaml", &p, err, sizeof err), AR_EIO);
    assert_string_equal(err, "/no/such/profile.yaml: cannot open the profile: No such file or "
                             "directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(native_decodes_every_field),
        cmocka_unit_test(bad_frames_become_error_events_that_keep_the_bytes),
        cmocka_unit_test(netra_merges_root_payload_and_data),
        cmocka_unit_test(agui_maps_steps_tools_deltas_and_the_run),
        cmocka_unit_test(send_templates_fill_text_and_json_values),
        cmocka_unit_test(predicates_prefixes_and_field_conditions),
        cmocka_unit_test(bad_profiles_say_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
