/*
 * Protocol profiles, the language: sources, conditions, ignore rules, frames
 * of every JSON shape, args/result/error, building a turn's frame from the
 * send template, and a broken profile is a load error that says where. The
 * built-in profiles' own decoding is test_scn_builtin.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "test_scn_profile_fixture.h"

static void bad_frames_become_error_events_that_keep_the_bytes(void **state)
{
    (void)state;
    ar_profile *p = builtin("native");
    struct {
        const char *frame, *why;
    } cases[] = {
        {"{\"type\": \"agent_thinking\", oops", "frame is not valid JSON"},
        {"[1,2,3]", "frame has no string type at /type"}, /* native: unclassified: fail */
        {"null", "frame has no string type at /type"},
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
    decode(p, "{\"t\":\"DONE\",\"parent\":null}", &ev, NULL);
    assert_string_equal(ev.agent, "Boss"); /* the row's constant */
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    /* equals: null wants a null on the wire: a missing parent is unknown,
     * and an unknown never ends a turn (no false pass). */
    decode(p, "{\"t\":\"DONE\"}", &ev, NULL);
    assert_false(ev.terminal);
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
         "server_duration_us, args, result, error)"},
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
    assert_string_equal(err, "unknown protocol 'grpc' (built-in: native, netra, ag-ui, langgraph, openai-agents; or a path "
                             "to a profile file)");
    assert_int_equal(ar_pf_load("/no/such/profile.yaml", &p, err, sizeof err), AR_EIO);
    assert_string_equal(err, "/no/such/profile.yaml: cannot open the profile: No such file or "
                             "directory");
}

/* LangGraph's Agent Server streams `event: updates|Data:06b4...` with data
 * {"<node>": {...}}: the type, the agent and the node all come from outside
 * the JSON object's fields. */
static void sources_event_id_key_and_regex(void **state)
{
    (void)state;
    ar_profile *p = load(
        "name: lg\n"
        "transport: sse\n"
        "send: {q: '${message}'}\n"
        "decode:\n"
        "  type: {from: '@event', regex: '^([a-z]+)'}\n"
        "  events: {updates: agent_started, values: {kind: agent_completed, root: true}}\n"
        "  fields:\n"
        "    agent: [{from: '@event', regex: '^[a-z]+\\|([^:|]+)'}, '@key']\n"
        "    run_id: ['@id']\n"
        "    tool: ['@key:/calls']\n"
        "    call_id: [{from: /id, regex: 'call-\\d+'}]\n"
        "    text: [/messages/-1/content]\n"
        "  end: [{kind: agent_completed, root: true}]\n");
    ar_event ev;
    assert_int_equal(decode_sse(p, "updates|Data:06b4294c-aa", "7",
                                "{\"agent\":{\"messages\":[]},\"calls\":{\"cost_db\":{}},"
                                "\"id\":\"x-call-42-y\"}",
                                &ev),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.type, "updates"); /* the capture, not the whole name */
    assert_string_equal(ev.agent, "Data");   /* the namespace's node */
    assert_string_equal(ev.run_id, "7");
    assert_string_equal(ev.tool, "cost_db"); /* the first key of /calls */
    assert_string_equal(ev.call_id, "call-42"); /* no group: the whole match */
    ar_event_clear(&ev);
    /* Not namespaced: the regex does not match, so the next source, the
     * root's first key (the node name), is the agent. */
    assert_int_equal(
        decode_sse(p, "updates", NULL, "{\"Supervisor\":{\"messages\":[{\"content\":\"a\"}]}}", &ev),
        AR_OK);
    assert_string_equal(ev.agent, "Supervisor");
    assert_null(ev.run_id); /* no id: line, nothing invented */
    assert_null(ev.call_id);
    ar_event_clear(&ev);
    assert_int_equal(decode_sse(p, "values", NULL,
                                "{\"messages\":[{\"content\":\"first\"},{\"content\":\"last\"}]}",
                                &ev),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_string_equal(ev.text, "last"); /* /messages/-1 */
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    /* On WebSocket there is no event name: no type, an unclassified frame. */
    assert_int_equal(decode(p, "{\"a\":1}", &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    assert_null(ev.type);
    assert_string_equal(ev.text, "unclassified: frame has no string type at @event");
    assert_false(ev.decode_error);
    ar_event_clear(&ev);
    /* @key of an empty object, or of no object, is absent. */
    assert_int_equal(decode_sse(p, "updates", NULL, "{}", &ev), AR_OK);
    assert_null(ev.agent);
    ar_event_clear(&ev);
    assert_int_equal(decode_sse(p, "updates", NULL, "[1]", &ev), AR_OK);
    assert_null(ev.agent);
    ar_event_clear(&ev);
    ar_pf_free(p);

    p = load("name: t\nsend: {}\ndecode:\n  type: '@event'\n  events: {end: error}\n"
             "  end: [{kind: error}]\n");
    assert_int_equal(decode_sse(p, "end", NULL, "null", &ev), AR_OK); /* data: null decodes */
    assert_string_equal(ev.type, "end");
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    ar_pf_free(p);
}

/* One profile whose rows are told apart by every operator; the decoded kind
 * says which row held. */
static const char *ops_yaml =
    "name: ops\n"
    "send: {}\n"
    "decode:\n"
    "  type: /t\n"
    "  events:\n"
    "    EQ: [{kind: agent_started, when: {pointer: /v, equals: 1}}]\n"
    "    EQNULL: [{kind: agent_started, when: {pointer: /v, equals: null}}]\n"
    "    EQSTR: [{kind: agent_started, when: {pointer: /v, equals: 'null'}}]\n"
    "    NE: [{kind: agent_started, when: {pointer: /v, not_equals: x}}]\n"
    "    NENULL: [{kind: agent_started, when: {pointer: /v, not_equals: ~}}]\n"
    "    IN: [{kind: agent_started, when: {pointer: /v, in: [a, 2, true, null]}}]\n"
    "    MATCH: [{kind: agent_started, when: {pointer: /v, matches: '^ab+c$'}}]\n"
    "    EX: [{kind: agent_started, when: {pointer: /v, exists: true}}]\n"
    "    NOEX: [{kind: agent_started, when: {pointer: /v, exists: false}}]\n"
    "    BARE: [{kind: agent_started, when: {pointer: /v}}]\n"
    "    ABS: [{kind: agent_started, when: {pointer: /v, absent: true}}]\n"
    "    PRES: [{kind: agent_started, when: {pointer: /v, absent: false}}]\n"
    "    FROM: [{kind: agent_started, when: {from: /v, regex: '^run-(\\d+)$', equals: 7}}]\n"
    "    KEY: [{kind: agent_started, when: {from: '@key:/o', equals: Data}}]\n"
    "    FIELD: [{kind: agent_started, when: {field: agent, equals: Data}}]\n"
    "    FNULL: [{kind: agent_started, when: {field: parent_run_id, equals: null}}]\n"
    "    FABS: [{kind: agent_started, when: {field: parent_run_id, absent: true}}]\n"
    "  fields:\n"
    "    agent: [/obj, /a, /b]\n"
    "    parent_run_id: [/p1, /p2]\n"
    "  end: [{kind: agent_completed}]\n";

static bool holds(const ar_profile *p, const char *frame)
{
    ar_event ev;
    assert_int_equal(decode(p, frame, &ev, NULL), AR_OK);
    bool h = ev.kind == AR_EV_AGENT_STARTED;
    ar_event_clear(&ev);
    return h;
}

static void when_operators_and_null_versus_absent(void **state)
{
    (void)state;
    ar_profile *p = load(ops_yaml);
    assert_true(holds(p, "{\"t\":\"EQ\",\"v\":1}"));
    assert_true(holds(p, "{\"t\":\"EQ\",\"v\":\"1\"}")); /* compared as text */
    assert_false(holds(p, "{\"t\":\"EQ\",\"v\":2}"));
    assert_false(holds(p, "{\"t\":\"EQ\"}"));
    assert_true(holds(p, "{\"t\":\"EQNULL\",\"v\":null}"));
    assert_false(holds(p, "{\"t\":\"EQNULL\"}")); /* absent is not null */
    assert_false(holds(p, "{\"t\":\"EQNULL\",\"v\":\"null\"}"));
    assert_true(holds(p, "{\"t\":\"EQSTR\",\"v\":\"null\"}")); /* quoted: the string */
    assert_false(holds(p, "{\"t\":\"EQSTR\",\"v\":null}"));
    assert_true(holds(p, "{\"t\":\"NE\",\"v\":\"y\"}"));
    assert_true(holds(p, "{\"t\":\"NE\"}")); /* absent counts as not equal */
    assert_false(holds(p, "{\"t\":\"NE\",\"v\":\"x\"}"));
    assert_true(holds(p, "{\"t\":\"NENULL\"}"));
    assert_true(holds(p, "{\"t\":\"NENULL\",\"v\":0}"));
    assert_false(holds(p, "{\"t\":\"NENULL\",\"v\":null}"));
    assert_true(holds(p, "{\"t\":\"IN\",\"v\":\"a\"}"));
    assert_true(holds(p, "{\"t\":\"IN\",\"v\":2}"));
    assert_true(holds(p, "{\"t\":\"IN\",\"v\":true}"));
    assert_true(holds(p, "{\"t\":\"IN\",\"v\":null}"));
    assert_false(holds(p, "{\"t\":\"IN\",\"v\":\"b\"}"));
    assert_false(holds(p, "{\"t\":\"IN\"}"));
    assert_true(holds(p, "{\"t\":\"MATCH\",\"v\":\"abbbc\"}"));
    assert_false(holds(p, "{\"t\":\"MATCH\",\"v\":\"abd\"}"));
    assert_false(holds(p, "{\"t\":\"MATCH\",\"v\":null}"));
    assert_false(holds(p, "{\"t\":\"MATCH\"}"));
    assert_true(holds(p, "{\"t\":\"EX\",\"v\":0}"));
    assert_false(holds(p, "{\"t\":\"EX\",\"v\":null}"));
    assert_false(holds(p, "{\"t\":\"EX\"}"));
    assert_true(holds(p, "{\"t\":\"NOEX\"}"));
    assert_true(holds(p, "{\"t\":\"NOEX\",\"v\":null}"));
    assert_false(holds(p, "{\"t\":\"NOEX\",\"v\":false}"));
    assert_true(holds(p, "{\"t\":\"BARE\",\"v\":false}")); /* no operator: exists */
    assert_false(holds(p, "{\"t\":\"BARE\"}"));
    assert_true(holds(p, "{\"t\":\"ABS\"}"));
    assert_false(holds(p, "{\"t\":\"ABS\",\"v\":null}")); /* null is there */
    assert_true(holds(p, "{\"t\":\"PRES\",\"v\":null}"));
    assert_false(holds(p, "{\"t\":\"PRES\"}"));
    assert_true(holds(p, "{\"t\":\"FROM\",\"v\":\"run-7\"}"));
    assert_false(holds(p, "{\"t\":\"FROM\",\"v\":\"run-8\"}"));
    assert_false(holds(p, "{\"t\":\"FROM\",\"v\":\"x-7\"}"));
    assert_true(holds(p, "{\"t\":\"KEY\",\"o\":{\"Data\":{},\"Other\":{}}}"));
    assert_false(holds(p, "{\"t\":\"KEY\",\"o\":{\"Other\":{},\"Data\":{}}}"));
    /* A field: the first usable value; an object is skipped for a
     * name-like field, so a later string pointer still counts. */
    assert_true(holds(p, "{\"t\":\"FIELD\",\"obj\":{\"x\":1},\"a\":null,\"b\":\"Data\"}"));
    assert_true(holds(p, "{\"t\":\"FNULL\",\"p2\":null}"));
    assert_true(holds(p, "{\"t\":\"FNULL\",\"p1\":null,\"p2\":null}"));
    assert_false(holds(p, "{\"t\":\"FNULL\"}"));
    assert_false(holds(p, "{\"t\":\"FNULL\",\"p1\":null,\"p2\":\"r1\"}"));
    assert_true(holds(p, "{\"t\":\"FABS\"}"));
    assert_false(holds(p, "{\"t\":\"FABS\",\"p1\":null}"));
    ar_pf_free(p);
}

static void ignore_unclassified_and_non_object_frames(void **state)
{
    (void)state;
    ar_profile *p =
        load("name: t\n"
             "transport: sse\n"
             "send: {}\n"
             "decode:\n"
             "  type: /0/type\n"
             "  events: {go: agent_started}\n"
             "  ignore:\n"
             "    - {type: 'PING*'}\n"
             "    - {event: metadata}\n"
             "    - {event: 'heart*'}\n"
             "    - {when: {pointer: /0/kind, equals: noise}}\n"
             "  fields: {agent: /0/agent}\n"
             "  end: [{kind: agent_completed}]\n");
    ar_event ev;
    /* An array frame decodes through /0/... */
    assert_int_equal(decode(p, "[{\"type\":\"go\",\"agent\":\"Data\"}]", &ev, NULL), AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.agent, "Data");
    ar_event_clear(&ev);
    struct {
        const char *event, *frame, *type;
    } ign[] = {
        {NULL, "[{\"type\":\"PING_42\",\"agent\":\"Data\"}]", "PING_42"},
        {"metadata", "{\"run_id\":\"r\"}", NULL},
        {"heartbeat", "", NULL},        /* not JSON, but its event is ignored */
        {"heartbeat", "not json", NULL},
        {NULL, "[{\"type\":\"go\",\"kind\":\"noise\"}]", "go"}, /* ignore wins over the table */
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(ign); i++) {
        assert_int_equal(decode_sse(p, ign[i].event, NULL, ign[i].frame, &ev), AR_OK);
        assert_int_equal(ev.kind, AR_EV_OTHER);
        assert_false(ev.decode_error);
        assert_false(ev.terminal);
        if (ign[i].type)
            assert_string_equal(ev.type, ign[i].type);
        else
            assert_null(ev.type);
        assert_null(ev.agent); /* ignored: nothing decoded from it */
        ar_event_clear(&ev);
    }
    /* Unclassified: valid JSON without a type is `other`, saying why. */
    const char *uncl[] = {"null", "42", "\"s\"", "{\"type\":\"go\"}", "[]", "[{\"type\":7}]"};
    for (size_t i = 0; i < AR_ARRAY_LEN(uncl); i++) {
        assert_int_equal(decode(p, uncl[i], &ev, NULL), AR_OK);
        assert_int_equal(ev.kind, AR_EV_OTHER);
        assert_false(ev.decode_error);
        assert_string_equal(ev.text, "unclassified: frame has no string type at /0/type");
        ar_event_clear(&ev);
    }
    /* Invalid JSON whose event is not ignored stays a decode error; a
     * `when` never excuses it. */
    assert_int_equal(decode_sse(p, "message", NULL, "{oops", &ev), AR_EPARSE);
    assert_true(ev.decode_error);
    assert_string_equal(ev.text, "frame is not valid JSON");
    ar_event_clear(&ev);
    ar_pf_free(p);

    /* unclassified: fail is today's strictness. */
    p = load("name: t\nsend: {}\ndecode:\n  type: /type\n  events: {}\n  unclassified: fail\n"
             "  end: [{kind: error}]\n");
    assert_int_equal(decode(p, "{\"x\":1}", &ev, NULL), AR_EPARSE);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_true(ev.decode_error);
    assert_string_equal(ev.text, "frame has no string type at /type");
    ar_event_clear(&ev);
    ar_pf_free(p);
}

static void args_result_and_error_as_text_or_json(void **state)
{
    (void)state;
    ar_profile *p = load("name: t\n"
                         "send: {}\n"
                         "decode:\n"
                         "  type: /type\n"
                         "  events: {TOOL_CALL_START: tool_executing, TOOL_CALL_ARGS: other,\n"
                         "           TOOL_CALL_RESULT: tool_completed}\n"
                         "  fields:\n"
                         "    args: [/args, /input]\n"
                         "    result: /result\n"
                         "    error: [/error, /err]\n"
                         "    text: [/obj, /msg]\n"
                         "    tokens_in: [/u/s, /u/n]\n"
                         "  args: {deltas: [TOOL_CALL_ARGS], pointer: /delta}\n"
                         "  end: [{kind: agent_completed}]\n");
    ar_event ev;
    decode(p,
           "{\"type\":\"TOOL_CALL_START\",\"args\":{\"spend\": 50000, \"ids\": [1, 2]},"
           "\"obj\":{\"a\":1},\"msg\":\"plain\",\"u\":{\"s\":\"7\",\"n\":12}}",
           &ev, NULL);
    assert_string_equal(ev.args, "{\"spend\":50000,\"ids\":[1,2]}"); /* compact JSON */
    assert_false(ev.args_delta);
    assert_null(ev.result); /* not on the wire: unknown */
    assert_null(ev.error);
    assert_string_equal(ev.text, "plain"); /* the object is skipped for text */
    assert_int_equal(ev.tokens_in, 12);     /* a string is no count */
    ar_event_clear(&ev);
    decode(p, "{\"type\":\"TOOL_CALL_START\",\"args\":null,\"input\":\"{\\\"q\\\":1}\"}", &ev,
           NULL);
    assert_string_equal(ev.args, "{\"q\":1}"); /* a string as is; null skipped */
    ar_event_clear(&ev);
    decode(p, "{\"type\":\"TOOL_CALL_RESULT\",\"result\":[1,\"two\"],\"err\":false}", &ev, NULL);
    assert_string_equal(ev.result, "[1,\"two\"]");
    assert_string_equal(ev.error, "false");
    ar_event_clear(&ev);
    decode(p, "{\"type\":\"TOOL_CALL_RESULT\",\"result\":42.5,\"error\":\"HTTP 503\"}", &ev, NULL);
    assert_string_equal(ev.result, "42.5");
    assert_string_equal(ev.error, "HTTP 503");
    ar_event_clear(&ev);
    decode(p, "{\"type\":\"TOOL_CALL_ARGS\",\"toolCallId\":\"c1\",\"delta\":\"{\\\"sp\"}", &ev,
           NULL);
    assert_string_equal(ev.args, "{\"sp"); /* a fragment, flagged as one */
    assert_true(ev.args_delta);
    ar_event_clear(&ev);
    ar_pf_free(p);
}

static void bad_sources_and_conditions_say_where(void **state)
{
    (void)state;
    static const char head[] = "name: x\nsend: {}\ndecode:\n  type: /t\n  events: {}\n";
    struct {
        const char *tail, *err;
    } cases[] = {
        {"  end: [{kind: error, when: {pointer: /a, equals: 1, matches: x}}]\n",
         "p.yaml:6:54: 'when' takes one operator, got 'equals' and 'matches'"},
        {"  end: [{kind: error, when: {pointer: /a, exists: true, absent: true}}]\n",
         "p.yaml:6:57: 'when' takes one operator, got 'exists' and 'absent'"},
        {"  end: [{kind: error, when: {pointer: /a, matches: 'a(b'}}]\n",
         "p.yaml:6:52: invalid regex 'a(b': missing closing parenthesis at offset 3"},
        {"  fields: {agent: [{from: '@event', regex: '[z-a]'}]}\n  end: [{kind: error}]\n",
         "p.yaml:6:44: invalid regex '[z-a]': range out of order in character class at offset "
         "3"},
        {"  fields: {agent: ['@evnt']}\n  end: [{kind: error}]\n",
         "p.yaml:6:20: unknown source '@evnt' (valid: @event, @id, @key, @key:/pointer, or a "
         "JSON pointer)"},
        {"  end: [{kind: error, when: {from: '@evnt', exists: true}}]\n",
         "p.yaml:6:36: unknown source '@evnt' (valid: @event, @id, @key, @key:/pointer, or a "
         "JSON pointer)"},
        {"  fields: {agent: ['@key:agent']}\n  end: [{kind: error}]\n",
         "p.yaml:6:20: invalid JSON pointer 'agent': must start with '/'"},
        {"  fields: {agent: [/a~2]}\n  end: [{kind: error}]\n",
         "p.yaml:6:20: invalid JSON pointer '/a~2': '~' must be followed by 0 or 1"},
        {"  end: [{kind: error, when: {from: a/b}}]\n",
         "p.yaml:6:36: invalid JSON pointer 'a/b': must start with '/'"},
        {"  end: [{kind: error, when: {field: agent, regex: x}}]\n",
         "p.yaml:6:51: 'regex' goes with 'pointer' or 'from', not 'field'"},
        {"  end: [{kind: error, when: {pointer: /a, from: /b}}]\n",
         "p.yaml:6:29: 'when' takes exactly one subject: 'pointer', 'field' or 'from'"},
        {"  end: [{kind: error, when: {pointer: /a, in: x}}]\n",
         "p.yaml:6:47: 'in' takes a non-empty list of values, like [a, b]"},
        {"  end: [{kind: error, when: {pointer: /a, equals: [1, 2]}}]\n",
         "p.yaml:6:51: 'equals' takes one value (use 'in' for several)"},
        {"  ignore: [{type: a, event: b}]\n  end: [{kind: error}]\n",
         "p.yaml:6:12: an 'ignore' entry is one of {type: T}, {event: NAME} or {when: {...}}"},
        {"  ignore: [{evnt: b}]\n  end: [{kind: error}]\n",
         "p.yaml:6:13: unknown key 'evnt' (did you mean 'event'?)"},
        {"  unclassified: drop\n  end: [{kind: error}]\n",
         "p.yaml:6:17: unknown unclassified 'drop' (valid: other, fail)"},
        {"  fields: {text: {from: '@event', regx: x}}\n  end: [{kind: error}]\n",
         "p.yaml:6:35: unknown key 'regx' (did you mean 'regex'?)"},
        {"  args: {deltas: [A]}\n  end: [{kind: error}]\n",
         "p.yaml:6:9: 'args' needs 'deltas' and 'pointer'"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, "%s%s", head, cases[i].tail);
        ar_profile *p = NULL;
        char err[512] = "";
        assert_int_not_equal(ar_pf_load_string(yaml, strlen(yaml), "p.yaml", &p, err, sizeof err),
                             AR_OK);
        assert_null(p);
        assert_string_equal(err, cases[i].err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_frames_become_error_events_that_keep_the_bytes),
        cmocka_unit_test(send_templates_fill_text_and_json_values),
        cmocka_unit_test(predicates_prefixes_and_field_conditions),
        cmocka_unit_test(bad_profiles_say_where),
        cmocka_unit_test(sources_event_id_key_and_regex),
        cmocka_unit_test(when_operators_and_null_versus_absent),
        cmocka_unit_test(ignore_unclassified_and_non_object_frames),
        cmocka_unit_test(args_result_and_error_as_text_or_json),
        cmocka_unit_test(bad_sources_and_conditions_say_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
