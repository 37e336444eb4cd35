/*
 * test_scn_load.c - the scenario loader: a full scenario round-trips into the
 * model, and every kind of mistake gives its exact one-line diagnostic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "scenario.h"

#define FIXTURE AR_SOURCE_DIR "/tests/unit/data/scn/full.yaml"

static bool re_matches(void *code, const char *subject)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = pcre2_match(code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static void test_full_example_round_trips(void **state)
{
    (void)state;
    char err[512] = "";
    ar_scenario *s = NULL;
    assert_int_equal(ar_scn_load_file(FIXTURE, &s, err, sizeof(err)), AR_OK);
    assert_string_equal(err, "");
    assert_non_null(s);

    assert_string_equal(s->file, FIXTURE);
    assert_string_equal(s->name, "complex multi-agent orchestration");
    assert_int_equal(s->n_tags, 2);
    assert_string_equal(s->tags[0], "gate");
    assert_string_equal(s->tags[1], "complex");
    assert_string_equal(s->target_tpl, "${AGENT_URL}");
    assert_string_equal(s->protocol, "native");
    assert_string_equal(s->thread_id_tpl, "my-thread-${RUN}");
    assert_int_equal(s->timeout_us, 60000000);
    assert_int_equal(s->loc.line, 2);
    assert_int_equal(s->n_turns, 3);

    /* turn 1: send */
    const ar_turn *t = &s->turns[0];
    assert_int_equal(t->loc.line, 9);
    assert_int_equal(t->loc.col, 5);
    assert_ptr_equal(t->loc.file, s->file);
    assert_string_equal(t->message_tpl,
                        "Analyze our ML training infrastructure costs and optimize for 40% "
                        "reduction");
    assert_false(t->new_thread);
    assert_int_equal(t->timeout_us, 45000000);
    assert_int_equal(ar_scn_turn_timeout_us(s, t), 45000000);
    char *ctx = cJSON_PrintUnformatted(t->context);
    assert_string_equal(ctx, "{\"current_spend\":\"$50K/month\",\"gpu_instances\":20,\"ratio\":0.5,"
                             "\"spot\":true,\"note\":null,\"region\":\"20\",\"labels\":[\"a\",1]}");
    free(ctx);

    /* turn 1: events */
    const ar_expect_events *ev = &t->expect.events;
    assert_true(ev->present);
    assert_int_equal(ev->n_order, 4);
    assert_int_equal(ev->order[0], AR_EV_AGENT_STARTED);
    assert_int_equal(ev->order[1], AR_EV_TOOL_EXECUTING);
    assert_int_equal(ev->order[2], AR_EV_TOOL_COMPLETED);
    assert_int_equal(ev->order[3], AR_EV_AGENT_COMPLETED);
    assert_int_equal(ev->mode, AR_ORDER_SUBSEQUENCE);
    assert_true(ev->tools_paired);
    assert_true(ev->nothing_after_terminal);
    assert_int_equal(ev->n_forbidden, 1);
    assert_int_equal(ev->forbidden[0], AR_EV_ERROR);
    assert_int_equal(ev->n_counts, 3);
    assert_int_equal(ev->counts[0].kind, AR_EV_TOOL_EXECUTING);
    assert_int_equal(ev->counts[0].min, 2);
    assert_int_equal(ev->counts[0].max, 2);
    assert_int_equal(ev->counts[1].kind, AR_EV_ERROR);
    assert_int_equal(ev->counts[1].min, -1);
    assert_int_equal(ev->counts[1].max, 0);
    assert_int_equal(ev->counts[2].kind, AR_EV_AGENT_STARTED);
    assert_int_equal(ev->counts[2].min, 3);
    assert_int_equal(ev->counts[2].max, -1);
    assert_int_equal(ev->loc.line, 16);
    assert_int_equal(ev->loc.col, 15);

    /* route, tools */
    const ar_expect_route *r = &t->expect.route;
    assert_true(r->present);
    assert_int_equal(r->n_agents, 4);
    assert_string_equal(r->agents[0], "Supervisor");
    assert_string_equal(r->agents[3], "Optimization");
    assert_int_equal(r->mode, AR_ROUTE_SUBSEQUENCE);
    const ar_expect_tools *tl = &t->expect.tools;
    assert_true(tl->present);
    assert_int_equal(tl->n_called, 2);
    assert_string_equal(tl->called[1], "gpu_inventory");
    assert_int_equal(tl->n_not_called, 1);
    assert_string_equal(tl->not_called[0], "compliance_check");
    assert_true(tl->all_ok);
    assert_int_equal(tl->n_status, 2);
    assert_string_equal(tl->status[0].tool, "cost_db");
    assert_int_equal(tl->status[0].status, AR_ST_OK);
    assert_int_equal(tl->status[1].status, AR_ST_ERROR);

    /* response: regexes compiled at load */
    assert_int_equal(t->expect.n_regexes, 2);
    const ar_expect_regex *re = &t->expect.regexes[0];
    assert_string_equal(re->pattern_tpl, "(?i)\\b40\\s*%");
    assert_false(re->negate);
    assert_non_null(re->compiled);
    assert_true(re_matches(re->compiled, "a 40 % cut"));
    assert_false(re_matches(re->compiled, "a 400% cut"));
    assert_true(t->expect.regexes[1].negate);
    assert_true(re_matches(t->expect.regexes[1].compiled, "i can't"));
    assert_int_equal(re->loc.line, 24);
    assert_int_equal(re->loc.col, 20);

    /* response: several ops in one json item become several entries */
    assert_int_equal(t->expect.n_jsons, 5);
    const ar_expect_json *j = t->expect.jsons;
    assert_string_equal(j[0].pointer, "/result/savings_pct");
    assert_int_equal(j[0].op, AR_JOP_GTE);
    assert_true(cJSON_IsNumber(j[0].value));
    assert_true(j[0].value->valuedouble == 40.0);
    assert_int_equal(j[1].op, AR_JOP_LTE);
    assert_true(j[1].value->valuedouble == 60.0);
    assert_int_equal(j[2].op, AR_JOP_EXISTS);
    assert_true(cJSON_IsTrue(j[2].value));
    assert_string_equal(j[3].pointer, "/result/currency");
    assert_int_equal(j[3].op, AR_JOP_EQ);
    assert_true(cJSON_IsString(j[3].value));
    assert_string_equal(j[3].value->valuestring, "USD");
    assert_int_equal(j[4].op, AR_JOP_MATCHES);
    assert_string_equal(j[4].pattern, "^[A-Z]{3}$");
    assert_true(re_matches(j[4].compiled, "USD"));
    assert_false(re_matches(j[4].compiled, "usd"));

    /* latency, context */
    const ar_expect_latency *lat = &t->expect.latency;
    assert_true(lat->present);
    assert_int_equal(lat->first_event_us, 2000000);
    assert_int_equal(lat->first_tool_us, 10000000);
    assert_int_equal(lat->turn_us, 45000000);
    assert_true(t->expect.context.present);
    assert_int_equal(t->expect.context.n_same, 1);
    assert_string_equal(t->expect.context.same[0], "thread_id");

    /* captures */
    assert_int_equal(t->n_captures, 3);
    const ar_capture *c = t->captures;
    assert_string_equal(c[0].name, "spend");
    assert_int_equal(c[0].from, AR_CAP_RESPONSE);
    assert_string_equal(c[0].regex, "\\$(\\d+)K/month");
    assert_non_null(c[0].compiled);
    assert_int_equal(c[0].group, 1);
    assert_string_equal(c[1].name, "plan");
    assert_int_equal(c[1].from, AR_CAP_FINAL);
    assert_string_equal(c[1].pointer, "/result/plan_id");
    assert_null(c[1].regex);
    assert_int_equal(c[2].from, AR_CAP_THREAD_ID);
    assert_int_equal(c[2].loc.line, 34);

    /* turn 2: shorthand send, templated regex left uncompiled */
    t = &s->turns[1];
    assert_string_equal(t->message_tpl, "Add PCI compliance constraints");
    assert_null(t->context);
    assert_int_equal(t->timeout_us, -1);
    assert_int_equal(ar_scn_turn_timeout_us(s, t), 60000000);
    assert_false(t->expect.events.present);
    assert_false(t->expect.latency.present);
    assert_int_equal(t->expect.latency.turn_us, -1);
    assert_int_equal(t->expect.n_regexes, 2);
    assert_non_null(t->expect.regexes[0].compiled);
    assert_string_equal(t->expect.regexes[1].pattern_tpl, "\\$${spend}K");
    assert_null(t->expect.regexes[1].compiled);
    assert_int_equal(t->expect.context.n_same, 2);
    assert_string_equal(t->expect.context.same[1], "/payload/thread_id");
    assert_int_equal(t->expect.context.n_reappear, 1);
    assert_string_equal(t->expect.context.reappear[0], "spend");

    /* turn 3: route as a plain list, response as a single mapping */
    t = &s->turns[2];
    assert_true(t->new_thread);
    assert_true(t->expect.route.present);
    assert_int_equal(t->expect.route.mode, AR_ROUTE_SUBSEQUENCE);
    assert_int_equal(t->expect.route.n_agents, 1);
    assert_int_equal(t->expect.n_jsons, 1);
    assert_string_equal(t->expect.jsons[0].pointer, "");
    assert_int_equal(t->expect.jsons[0].op, AR_JOP_NE);
    assert_true(cJSON_IsNull(t->expect.jsons[0].value));

    ar_scn_free(s);
}

static void test_defaults_and_modes(void **state)
{
    (void)state;
    const char *y = "name: m\n"
                    "timeout: 2.5\n"
                    "turns:\n"
                    "  - send: hi\n"
                    "    expect:\n"
                    "      events: {mode: contains}\n"
                    "      route: {agents: [A, B], mode: superset}\n"
                    "  - send: again\n"
                    "    timeout: 500ms\n"
                    "    expect: {events: {mode: strict}, route: {agents: [A], mode: unordered}}\n";
    char err[512] = "";
    ar_scenario *s = NULL;
    assert_int_equal(ar_scn_load_string(y, strlen(y), "m.yaml", &s, err, sizeof(err)), AR_OK);
    assert_null(s->target_tpl);
    assert_null(s->thread_id_tpl);
    assert_string_equal(s->protocol, "native");
    assert_int_equal(s->n_tags, 0);
    assert_int_equal(s->timeout_us, 2500000);
    assert_int_equal(s->turns[0].expect.events.mode, AR_ORDER_CONTAINS);
    assert_false(s->turns[0].expect.events.tools_paired);
    assert_int_equal(s->turns[0].expect.route.mode, AR_ROUTE_SUPERSET);
    assert_int_equal(ar_scn_turn_timeout_us(s, &s->turns[0]), 2500000);
    assert_int_equal(ar_scn_turn_timeout_us(s, &s->turns[1]), 500000);
    assert_int_equal(s->turns[1].expect.events.mode, AR_ORDER_STRICT);
    assert_int_equal(s->turns[1].expect.route.mode, AR_ROUTE_UNORDERED);
    ar_scn_free(s);
}

static void test_capture_groups(void **state)
{
    (void)state;
    const char *y = "name: g\n"
                    "turns:\n"
                    "  - send: hi\n"
                    "    capture:\n"
                    "      whole: {from: response, regex: 'plan-[0-9]+'}\n"
                    "      second: {from: response, regex: '(a)(b)', group: 2}\n"
                    "      code: {from: final, pointer: /result/id, regex: '^(\\w+)-'}\n";
    char err[512] = "";
    ar_scenario *s = NULL;
    assert_int_equal(ar_scn_load_string(y, strlen(y), "g.yaml", &s, err, sizeof(err)), AR_OK);
    assert_int_equal(s->turns[0].captures[0].group, 0);
    assert_int_equal(s->turns[0].captures[1].group, 2);
    assert_int_equal(s->turns[0].captures[2].group, 1);
    assert_non_null(s->turns[0].captures[2].compiled);
    ar_scn_free(s);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ar_order_mode_name(AR_ORDER_STRICT), "strict");
    assert_string_equal(ar_order_mode_name(AR_ORDER_SUBSEQUENCE), "subsequence");
    assert_string_equal(ar_order_mode_name(AR_ORDER_CONTAINS), "contains");
    assert_string_equal(ar_order_mode_name((ar_order_mode)99), "unknown");
    assert_string_equal(ar_route_mode_name(AR_ROUTE_SUBSET), "subset");
    assert_string_equal(ar_route_mode_name(AR_ROUTE_SUBSEQUENCE), "subsequence");
    assert_string_equal(ar_route_mode_name((ar_route_mode)-1), "unknown");
    assert_string_equal(ar_json_op_name(AR_JOP_GTE), "gte");
    assert_string_equal(ar_json_op_name(AR_JOP_MATCHES), "matches");
    assert_string_equal(ar_json_op_name((ar_json_op)42), "unknown");
    ar_scn_free(NULL);
    ar_scn_list_free(NULL);
}

/* Each bad scenario and the exact line it must produce. */
typedef struct {
    const char *yaml;
    ar_err rc;
    const char *msg;
} bad_case;

#define T1 "name: t\nturns:\n  - send: hi\n"
#define EXPECT T1 "    expect:\n"

static const bad_case bad_cases[] = {
    /* malformed YAML: libyaml's own words at its mark */
    {"name: x\nturns:\n  - send:\n      message: hi\n     context: {}\n", AR_EPARSE,
     "x.yaml:5:6: did not find expected key (while parsing a block mapping started at line 3, "
     "column 5)"},
    {"name: \"x\nturns: []\n", AR_EPARSE,
     "x.yaml:3:1: found unexpected end of stream (while scanning a quoted scalar started at line "
     "1, column 7)"},
    {"name: x\x01\n", AR_EPARSE, "x.yaml:1:8: control characters are not allowed"},
    /* the whole file */
    {"", AR_EINVAL,
     "x.yaml:1:1: empty scenario: a scenario is a mapping with at least 'name' and 'turns'"},
    {"# only a comment\n", AR_EINVAL,
     "x.yaml:1:1: empty scenario: a scenario is a mapping with at least 'name' and 'turns'"},
    {"- a\n- b\n", AR_EINVAL,
     "x.yaml:1:1: a scenario must be a mapping with 'name' and 'turns' (got a list)"},
    {"just text\n", AR_EINVAL,
     "x.yaml:1:1: a scenario must be a mapping with 'name' and 'turns' (got a string)"},
    {T1 "---\n" T1, AR_EINVAL,
     "x.yaml:5:1: a file holds one scenario, but a second YAML document starts here"},
    /* unknown keys, with and without a suggestion */
    {T1 "    expcet: {}\n", AR_EINVAL, "x.yaml:4:5: unknown key 'expcet' (did you mean 'expect'?)"},
    {"name: x\nzzz: 1\n", AR_EINVAL,
     "x.yaml:2:1: unknown key 'zzz' (valid keys: name, tags, target, protocol, thread_id, "
     "timeout, turns, faults, proxy, thresholds, fault_directive, stages)"},
    {"name: x\ntruns: []\n", AR_EINVAL, "x.yaml:2:1: unknown key 'truns' (did you mean 'turns'?)"},
    {EXPECT "      events: {tools_pared: true}\n", AR_EINVAL,
     "x.yaml:5:16: unknown key 'tools_pared' (did you mean 'tools_paired'?)"},
    {EXPECT "      response: [{json: {path: /a, gtee: 1}}]\n", AR_EINVAL,
     "x.yaml:5:36: unknown key 'gtee' (did you mean 'gte'?)"},
    {T1 "    capture: {x: {from: response, regx: 'a'}}\n", AR_EINVAL,
     "x.yaml:4:35: unknown key 'regx' (did you mean 'regex'?)"},
    /* fault injection (more in test_scn_faults.c) */
    {T1 "faults: [{tool_falure: {tool: cost_db}}]\n", AR_EINVAL,
     "x.yaml:4:11: unknown key 'tool_falure' (did you mean 'tool_failure'?)"},
    {T1 "thresholds: {recovery: ['rate >= fast']}\n", AR_EINVAL,
     "x.yaml:4:24: threshold 'rate >= fast' on recovery: invalid value 'fast'"},
    /* protocols: a built-in's name or a profile file (test_scn_profile.c) */
    {"name: x\nprotocol: grpc\n", AR_EINVAL,
     "x.yaml:2:11: unknown protocol 'grpc' (built-in: native, netra, ag-ui, langgraph, openai-agents; or a path to a "
     "profile file)"},
    {"name: x\nprotocol: ./no-such-profile.yaml\n", AR_EINVAL,
     "x.yaml:2:11: ./no-such-profile.yaml: cannot open the profile: No such file or directory"},
    /* wrong types */
    {"name: x\ntimeout: fast\n", AR_EINVAL,
     "x.yaml:2:10: 'timeout' must be a duration like 45s, 500ms or 2m (got 'fast')"},
    {"name: x\ntimeout: 0s\n", AR_EINVAL,
     "x.yaml:2:10: 'timeout' must be greater than 0 (got '0s')"},
    {T1 "    timeout: [1]\n", AR_EINVAL,
     "x.yaml:4:14: 'timeout' must be a duration like 45s, 500ms or 2m (got a list)"},
    {"name: x\nturns: hello\n", AR_EINVAL, "x.yaml:2:8: 'turns' must be a list"},
    {"name: x\ntags: gate\n", AR_EINVAL, "x.yaml:2:7: 'tags' must be a list of strings"},
    {"name: x\ntags: [a, [b]]\n", AR_EINVAL, "x.yaml:2:11: 'tags' must be a list of strings"},
    {"name: [x]\n", AR_EINVAL, "x.yaml:1:7: 'name' must be a string (got a list)"},
    {"name:\nturns: [{send: a}]\n", AR_EINVAL, "x.yaml:1:6: 'name' must not be empty"},
    {EXPECT "      events: {tools_paired: yes please}\n", AR_EINVAL,
     "x.yaml:5:30: 'tools_paired' must be true or false (got 'yes please')"},
    {EXPECT "      events: {order: [agent_started, agent_done]}\n", AR_EINVAL,
     "x.yaml:5:39: unknown event kind 'agent_done' (valid: agent_started, agent_thinking, "
     "tool_executing, tool_completed, agent_completed, error, fault, other)"},
    {EXPECT "      events: {forbidden: error}\n", AR_EINVAL,
     "x.yaml:5:27: 'forbidden' must be a list of event kinds"},
    {EXPECT "      events: {mode: loose}\n", AR_EINVAL,
     "x.yaml:5:22: unknown events mode 'loose' (valid: strict, subsequence, contains)"},
    {EXPECT "      route: {agents: [A], mode: exact}\n", AR_EINVAL,
     "x.yaml:5:34: unknown route mode 'exact' (valid: strict, unordered, subset, superset, "
     "subsequence)"},
    {EXPECT "      route: {mode: strict}\n", AR_EINVAL, "x.yaml:5:14: 'route' has no 'agents'"},
    {EXPECT "      route: Supervisor\n", AR_EINVAL,
     "x.yaml:5:14: 'route' must be a list of agents or a mapping with 'agents' and 'mode'"},
    {EXPECT "      events: {count: {tool_executing: two}}\n", AR_EINVAL,
     "x.yaml:5:40: the count of 'tool_executing' must be a whole number, 0 or more (got 'two')"},
    {EXPECT "      events: {count: {error: {max: -1}}}\n", AR_EINVAL,
     "x.yaml:5:37: 'max' for 'error' must be a whole number, 0 or more (got '-1')"},
    {EXPECT "      events: {count: {error: {min: 3, max: 1}}}\n", AR_EINVAL,
     "x.yaml:5:31: 'count' for 'error' has min 3 greater than max 1"},
    {EXPECT "      events: {count: {error: {}}}\n", AR_EINVAL,
     "x.yaml:5:31: 'count' for 'error' needs 'min' or 'max'"},
    {EXPECT "      events: {count: {oops: 1}}\n", AR_EINVAL,
     "x.yaml:5:24: unknown event kind 'oops' (valid: agent_started, agent_thinking, "
     "tool_executing, tool_completed, agent_completed, error, fault, other)"},
    {EXPECT "      tools: {status: {cost_db: fine}}\n", AR_EINVAL,
     "x.yaml:5:33: status of tool 'cost_db' must be ok or error (got 'fine')"},
    {EXPECT "      tools: {all_ok: 1}\n", AR_EINVAL,
     "x.yaml:5:23: 'all_ok' must be true or false (got '1')"},
    {EXPECT "      latency: {first_event: soon}\n", AR_EINVAL,
     "x.yaml:5:30: 'first_event' must be a duration like 45s, 500ms or 2m (got 'soon')"},
    {EXPECT "      response: [PCI]\n", AR_EINVAL,
     "x.yaml:5:18: each 'response' item must be a mapping with matches, not_matches or json"},
    {EXPECT "      response: [{}]\n", AR_EINVAL,
     "x.yaml:5:18: 'response' item needs one of: matches, not_matches, json"},
    {T1 "    expect: [events]\n", AR_EINVAL, "x.yaml:4:13: 'expect' must be a mapping"},
    {"name: x\nturns: [hello]\n", AR_EINVAL,
     "x.yaml:2:9: turn 1 must be a mapping with 'send' and 'expect'"},
    {T1 "  - send: [a]\n", AR_EINVAL,
     "x.yaml:4:11: 'send' must be a message or a mapping with 'message'"},
    {T1 "  - send: {message: hi, new_thread: maybe}\n", AR_EINVAL,
     "x.yaml:4:37: 'new_thread' must be true or false (got 'maybe')"},
    {T1 "  - send: {message: hi, context: [1, 2]}\n", AR_EINVAL,
     "x.yaml:4:34: 'context' must be a mapping"},
    {T1 "  - send: {message: hi, context: {a: 'x${b'}}\n", AR_EINVAL,
     "x.yaml:4:38: 'context': unterminated '${' at offset 1"},
    /* regexes */
    {EXPECT "      response:\n        - matches: '(?i)\\b40('\n", AR_EINVAL,
     "x.yaml:6:20: invalid regex '(?i)\\b40(': missing closing parenthesis at offset 9"},
    {EXPECT "      response: [{not_matches: '[a-'}]\n", AR_EINVAL,
     "x.yaml:5:32: invalid regex '[a-': missing terminating ] for character class at offset 3"},
    {EXPECT "      response: [{matches: '${spend}(x'}]\n", AR_EINVAL,
     "x.yaml:5:28: invalid regex '${spend}(x': missing closing parenthesis at offset 10"},
    {EXPECT "      response: [{matches: 'a${spend'}]\n", AR_EINVAL,
     "x.yaml:5:28: 'matches': unterminated '${' at offset 1"},
    {EXPECT "      response: [{matches: ''}]\n", AR_EINVAL,
     "x.yaml:5:28: 'matches' must not be empty"},
    {T1 "    capture: {x: {from: response, regex: '(a'}}\n", AR_EINVAL,
     "x.yaml:4:42: invalid regex '(a': missing closing parenthesis at offset 2"},
    {EXPECT "      response:\n        - matches: |\n            line one\n            (open\n",
     AR_EINVAL,
     "x.yaml:6:20: invalid regex 'line one (open ': missing closing parenthesis at offset 15"},
    /* JSON pointers and json ops */
    {EXPECT "      response: [{json: {path: result/x, eq: 1}}]\n", AR_EINVAL,
     "x.yaml:5:32: invalid JSON pointer 'result/x': must start with '/'"},
    {EXPECT "      response: [{json: {path: /a~2b, eq: 1}}]\n", AR_EINVAL,
     "x.yaml:5:32: invalid JSON pointer '/a~2b': '~' must be followed by 0 or 1"},
    {EXPECT "      response: [{json: {path: /a, gt: lots}}]\n", AR_EINVAL,
     "x.yaml:5:40: 'gt' must be a number (got 'lots')"},
    {EXPECT "      response: [{json: {path: /a, exists: 1}}]\n", AR_EINVAL,
     "x.yaml:5:44: 'exists' must be true or false (got '1')"},
    {EXPECT "      response: [{json: {eq: 1}}]\n", AR_EINVAL, "x.yaml:5:25: 'json' has no 'path'"},
    {EXPECT "      response: [{json: {path: /a}}]\n", AR_EINVAL,
     "x.yaml:5:25: 'json' needs an operator (one of: eq, ne, gt, gte, lt, lte, exists, matches)"},
    {EXPECT "      response: [{json: {path: /a, matches: '(('}}]\n", AR_EINVAL,
     "x.yaml:5:45: invalid regex '((': missing closing parenthesis at offset 2"},
    /* missing required keys */
    {"turns: [{send: a}]\n", AR_EINVAL, "x.yaml:1:1: scenario has no 'name'"},
    {"name: x\n", AR_EINVAL, "x.yaml:1:1: scenario has no 'turns'"},
    {T1 "  - expect: {}\n", AR_EINVAL, "x.yaml:4:5: turn 2 has no 'send' (or 'http')"},
    {T1 "  - send: {context: {a: 1}}\n", AR_EINVAL, "x.yaml:4:11: 'send' has no 'message'"},
    {"name: x\nturns: []\n", AR_EINVAL, "x.yaml:2:8: 'turns' is empty"},
    /* duplicate and complex keys */
    {"name: x\nname: y\n", AR_EINVAL, "x.yaml:2:1: duplicate key 'name' (first at line 1)"},
    {EXPECT "      tools: {called: [a], all_ok: true, called: [b]}\n", AR_EINVAL,
     "x.yaml:5:42: duplicate key 'called' (first at line 5)"},
    {"name: x\n? [a]\n: 1\n", AR_EINVAL, "x.yaml:2:3: mapping keys must be plain names, not lists"},
    /* captures */
    {T1 "    capture: {x: {from: memory}}\n", AR_EINVAL,
     "x.yaml:4:25: unknown capture source 'memory' (valid: response, final, thread_id)"},
    {T1 "    capture: {x: {from: response}}\n", AR_EINVAL,
     "x.yaml:4:18: capture 'x' from response needs a 'regex'"},
    {T1 "    capture: {x: {from: final}}\n", AR_EINVAL,
     "x.yaml:4:18: capture 'x' from final needs a 'pointer'"},
    {T1 "    capture: {x: {regex: a}}\n", AR_EINVAL, "x.yaml:4:18: capture 'x' has no 'from'"},
    {T1 "    capture: {x: {from: final, pointer: x}}\n", AR_EINVAL,
     "x.yaml:4:41: invalid JSON pointer 'x': must start with '/'"},
    {T1 "    capture: {x: {from: thread_id, regex: a}}\n", AR_EINVAL,
     "x.yaml:4:43: capture 'x': 'regex' cannot be used with from: thread_id"},
    {T1 "    capture: {x: {from: response, regex: '(a)', group: 2}}\n", AR_EINVAL,
     "x.yaml:4:56: capture 'x': 'group' is 2 but the regex has 1 group(s)"},
    {T1 "    capture: {x: {from: response, regex: 'id=${y}'}}\n", AR_EINVAL,
     "x.yaml:4:42: capture 'x': 'regex' cannot use ${...} variables"},
    {T1 "    capture: {x: {from: response, regex: 'a${y'}}\n", AR_EINVAL,
     "x.yaml:4:42: 'regex': unterminated '${' at offset 1"},
    {T1 "    capture: {1x: {from: thread_id}}\n", AR_EINVAL,
     "x.yaml:4:15: capture name '1x' must be letters, digits and '_', not starting with a digit"},
    {T1 "    capture: {x: thread_id}\n", AR_EINVAL,
     "x.yaml:4:18: capture 'x' must be a mapping with 'from'"},
    {T1 "    expect: {context: {reappear: [spend]}}\n", AR_EINVAL,
     "x.yaml:4:35: 'spend' in 'reappear' is not captured by an earlier turn"},
    {T1 "    expect: {context: {same: [thread]}}\n", AR_EINVAL,
     "x.yaml:4:31: unknown context field 'thread' (valid: thread_id, agent, run_id, parent_run_id, "
     "tool, call_id, or a JSON "
     "pointer like /payload/thread_id)"},
    /* outcome and tool arguments */
    {EXPECT "      outcome: maybe\n", AR_EINVAL,
     "x.yaml:5:16: 'outcome' must be ok or error (got 'maybe')"},
    {EXPECT "      outcome: {is: ok, message: x}\n", AR_EINVAL,
     "x.yaml:5:16: 'outcome' has a 'message' only with 'is: error'"},
    {EXPECT "      outcome: {message: x}\n", AR_EINVAL, "x.yaml:5:16: 'outcome' needs 'is': ok or error"},
    {EXPECT "      outcome: {is: error, message: '(x'}\n", AR_EINVAL,
     "x.yaml:5:37: invalid regex '(x': missing closing parenthesis at offset 2"},
    {EXPECT "      tools: {args: {pricing: 5}}\n", AR_EINVAL,
     "x.yaml:5:31: 'args' of tool 'pricing' must be a non-empty mapping of argument names to "
     "values"},
    {EXPECT "      tools: {args: [pricing]}\n", AR_EINVAL,
     "x.yaml:5:21: 'args' must be a mapping of tool name to the arguments its call must carry, "
     "like {pricing: {spend_k: 50}}"},
    {EXPECT "      tools: {args_absent: {pricing: []}}\n", AR_EINVAL,
     "x.yaml:5:38: 'args_absent' of tool 'pricing' lists no keys"},
    {EXPECT "      tools: {args: {pricing: {k: '${x'}}}\n", AR_EINVAL,
     "x.yaml:5:35: 'args': unterminated '${' at offset 0"},
    /* templates */
    {"name: x\ntarget: 'ws://${HOST'\n", AR_EINVAL,
     "x.yaml:2:9: 'target': unterminated '${' at offset 5"},
    {"name: x\nthread_id: 't-${}'\n", AR_EINVAL,
     "x.yaml:2:12: 'thread_id': invalid variable name '' at offset 2"},
    {T1 "  - send: 'go ${a b}'\n", AR_EINVAL,
     "x.yaml:4:11: 'send': invalid variable name 'a b' at offset 3"},
};

static void test_bad_scenarios(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *c = &bad_cases[i];
        char err[512] = "";
        ar_scenario *s = (ar_scenario *)&err; /* must be reset to NULL on failure */
        ar_err rc = ar_scn_load_string(c->yaml, strlen(c->yaml), "x.yaml", &s, err, sizeof(err));
        if (rc != c->rc || strcmp(err, c->msg) != 0) print_error("case %zu:\n%s\n", i, c->yaml);
        assert_string_equal(err, c->msg);
        assert_int_equal(rc, c->rc);
        assert_null(s);
    }
}

/* A capture used in a later turn is fine; `${` only has to be terminated. */
static void test_templates_need_no_definition_at_load(void **state)
{
    (void)state;
    unsetenv("AR_SCN_UNDEFINED_ANYWHERE");
    const char *y = "name: ok\n"
                    "target: ${AR_SCN_UNDEFINED_ANYWHERE}\n"
                    "turns:\n"
                    "  - send: 'spend is $50K, literal $${x}'\n"
                    "    capture: {spend: {from: response, regex: '(\\d+)'}}\n"
                    "  - send: 'and ${spend}'\n"
                    "    expect: {response: [{matches: '^\\$${spend}K$'}]}\n";
    char err[512] = "";
    ar_scenario *s = NULL;
    assert_int_equal(ar_scn_load_string(y, strlen(y), "ok.yaml", &s, err, sizeof(err)), AR_OK);
    assert_string_equal(s->turns[1].message_tpl, "and ${spend}");
    assert_null(s->turns[1].expect.regexes[0].compiled);
    ar_scn_free(s);
}

/* Aliases can describe a huge value in a small file; the loader stops. */
static void test_alias_bomb_is_bounded(void **state)
{
    (void)state;
    char err[512] = "";
    ar_scenario *s = NULL;
    const char *y2 = "name: bomb\n"
                     "turns: [{send: {message: hi, context: {a: &a [x, x, x, x, x, x, x, x, x, "
                     "x], b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a], c: &c [*b, *b, *b, *b, "
                     "*b, *b, *b, *b, *b, *b], d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c], e: "
                     "&e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d], f: [*e, *e, *e, *e, *e, *e, "
                     "*e, *e, *e, *e]}}}]\n";
    ar_err rc = ar_scn_load_string(y2, strlen(y2), "b.yaml", &s, err, sizeof(err));
    assert_int_equal(rc, AR_EINVAL);
    assert_non_null(strstr(err, "'context' is too large (more than 100000 values, aliases "
                                "included)"));
    assert_null(s);
}

static void test_error_buffer_optional(void **state)
{
    (void)state;
    ar_scenario *s = NULL;
    assert_int_equal(ar_scn_load_string("name: x\n", 8, "x.yaml", &s, NULL, 0), AR_EINVAL);
    assert_null(s);
    char small[12];
    assert_int_equal(ar_scn_load_string("name: x\n", 8, "x.yaml", &s, small, sizeof(small)),
                     AR_EINVAL);
    assert_string_equal(small, "x.yaml:1:1:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_example_round_trips),
        cmocka_unit_test(test_defaults_and_modes),
        cmocka_unit_test(test_capture_groups),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bad_scenarios),
        cmocka_unit_test(test_templates_need_no_definition_at_load),
        cmocka_unit_test(test_alias_bomb_is_bounded),
        cmocka_unit_test(test_error_buffer_optional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
