/*
 * The fault-injection keys of a scenario: named faults compile into the proxy
 * rules refagent's dependency API needs, raw rules and toxics (flat and
 * Toxiproxy's nested attributes), client faults, fault directives,
 * thresholds, standalone rules files, and every error with its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

#define HEAD "name: x\nturns:\n  - send: hi\n"

static ar_scenario *load_ok(const char *yaml)
{
    ar_scenario *s = NULL;
    char err[512] = "";
    ar_err rc = ar_scn_load_string(yaml, strlen(yaml), "x.yaml", &s, err, sizeof err);
    if (rc != AR_OK) fail_msg("unexpected error: %s", err);
    return s;
}

static void load_err(const char *yaml, const char *want)
{
    ar_scenario *s = NULL;
    char err[512] = "";
    ar_err rc = ar_scn_load_string(yaml, strlen(yaml), "x.yaml", &s, err, sizeof err);
    assert_int_not_equal(rc, AR_OK);
    assert_null(s);
    assert_string_equal(err, want);
}

static void named_faults_compile_to_refagent_rules(void **state)
{
    (void)state;
    ar_scenario *s = load_ok(HEAD "faults:\n"
                                  "  - tool_failure: {tool: cost_db, times: 2}\n"
                                  "  - tool_timeout: {tool: gpu_inventory, delay: 1500ms}\n"
                                  "  - agent_timeout: {agent: Data, delay: 2s, turn: 2}\n"
                                  "  - agent_failure: {agent: Optimization, status: 502, "
                                  "probability: 0.25}\n");
    assert_int_equal(s->n_faults, 4);
    assert_true(ar_scn_has_faults(s));

    ar_fault *f = &s->faults[0];
    assert_string_equal(f->type, "tool_failure");
    assert_string_equal(f->subject, "cost_db");
    assert_int_equal(f->times, 2);
    ar_px_rule *r = &f->rules[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->path_regex, "^/tools/cost_db(\\?|$)");
    assert_int_equal(r->action, AR_PX_RESPOND);
    assert_int_equal(r->status, 503);
    assert_non_null(strstr(r->body, "tool_failure on cost_db"));
    assert_int_equal(r->schedule, AR_PX_FIRST_N);
    assert_int_equal(r->n, 2);
    assert_non_null(r->path_re); /* compiled at load */
    assert_int_equal(r->line, 5);

    r = &s->faults[1].rules[0];
    assert_int_equal(r->action, AR_PX_DELAY);
    assert_int_equal(r->delay_us, 1500000);
    assert_int_equal(r->schedule, AR_PX_ALL);

    r = &s->faults[2].rules[0];
    assert_string_equal(r->path_regex, "^/v1/complete(\\?|$)");
    assert_string_equal(r->json_pointer, "/agent");
    assert_string_equal(r->json_equals, "Data");
    assert_int_equal(r->turn, 2);
    assert_int_equal(r->delay_us, 2000000);

    r = &s->faults[3].rules[0];
    assert_int_equal(r->status, 502);
    assert_int_equal(r->schedule, AR_PX_PROBABILITY);
    assert_true(r->p > 0.249 && r->p < 0.251);
    ar_scn_free(s);
}

static void raw_rules_and_both_toxic_forms(void **state)
{
    (void)state;
    ar_scenario *s = load_ok(
        HEAD "faults:\n"
             "  - rule:\n"
             "      name: flaky_search\n"
             "      match: {method: POST, path: '^/search', body: 'q=', "
             "json: {pointer: /agent, matches: '^D'}, header: {name: X-T, matches: 'y'}, turn: 1}\n"
             "      every: 3\n"
             "      truncate: 10\n"
             "      toxics:\n"
             "        - {type: latency, latency: 1500, jitter: 200}\n"
             "        - {type: slicer, stream: upstream, toxicity: 0.5, attributes: "
             "{average_size: 64, size_variation: 32, delay: 10000}}\n"
             "  - rule: {match: {path: '^/tools/'}, toxics: [{type: bandwidth, rate: 10}]}\n"
             "  - rule: {hang: 5s}\n"
             "  - rule: {hang: true, after: 1}\n");
    ar_fault *f = &s->faults[0];
    assert_string_equal(f->type, "flaky_search");
    assert_null(f->subject);
    ar_px_rule *r = &f->rules[0];
    assert_string_equal(r->body_regex, "q=");
    assert_string_equal(r->json_matches, "^D");
    assert_string_equal(r->header_name, "X-T");
    assert_int_equal(r->schedule, AR_PX_EVERY_K);
    assert_int_equal(r->n, 3);
    assert_int_equal(r->action, AR_PX_TRUNCATE);
    assert_int_equal(r->truncate_bytes, 10);
    assert_int_equal(r->n_toxics, 2);
    assert_int_equal(r->toxics[0].kind, AR_TOX_LATENCY);
    assert_int_equal(r->toxics[0].latency_ms, 1500);
    assert_int_equal(r->toxics[0].jitter_ms, 200);
    assert_false(r->toxics[0].upstream);
    assert_true(r->toxics[0].toxicity == 1.0); /* Toxiproxy's default */
    assert_int_equal(r->toxics[1].kind, AR_TOX_SLICER);
    assert_true(r->toxics[1].upstream);
    assert_true(r->toxics[1].toxicity == 0.5);
    assert_int_equal(r->toxics[1].average_size, 64);
    assert_int_equal(r->toxics[1].delay_us, 10000);
    assert_string_equal(s->faults[1].type, "rule");
    assert_int_equal(s->faults[1].rules[0].action, AR_PX_FORWARD);
    assert_int_equal(s->faults[1].rules[0].toxics[0].rate_kbps, 10);
    assert_int_equal(s->faults[2].rules[0].action, AR_PX_HANG);
    assert_int_equal(s->faults[2].rules[0].hang_us, 5000000);
    assert_int_equal(s->faults[3].rules[0].hang_us, 0);
    assert_int_equal(s->faults[3].rules[0].schedule, AR_PX_AFTER_N);
    ar_scn_free(s);
}

static void client_faults_directives_proxy_thresholds(void **state)
{
    (void)state;
    ar_scenario *s = load_ok("name: x\n"
                             "proxy: {listen: '127.0.0.1:9100', upstream: '${UP}'}\n"
                             "fault_directive: {header: X-Fault, value: slow_db}\n"
                             "thresholds: {recovery: ['rate >= 0.9'], time_to_recover: ['p(95) < "
                             "2s', 'max < 5s']}\n"
                             "turns:\n"
                             "  - send: a\n"
                             "    client_fault: {disconnect_after: {events: 3}}\n"
                             "  - send: b\n"
                             "    client_fault: {disconnect_after: {kind: tool_executing}}\n"
                             "    fault_directive: fail_tool=cost_db\n"
                             "  - send: c\n"
                             "    client_fault: {slow_reader: 2s}\n"
                             "    fault_directive: {field: chaos, value: '${X}'}\n"
                             "  - send: d\n"
                             "    client_fault: {send_raw: '{oops'}\n"
                             "  - send: e\n"
                             "    client_fault: {send_binary: 64}\n"
                             "  - send: f\n"
                             "    client_fault: {send_oversized: 2000000}\n"
                             "  - send: g\n"
                             "    client_fault: {send_unknown_type: true}\n");
    assert_true(ar_scn_has_faults(s));
    assert_string_equal(s->proxy_listen, "127.0.0.1:9100");
    assert_string_equal(s->proxy_upstream_tpl, "${UP}");
    assert_string_equal(s->directive.header, "X-Fault");
    assert_string_equal(s->directive.value_tpl, "slow_db");
    assert_int_equal(s->n_thresholds, 2);
    assert_string_equal(s->thresholds[1].metric, "time_to_recover");
    assert_int_equal(s->thresholds[1].n_exprs, 2);
    const ar_client_fault *cf = &s->turns[0].client_fault;
    assert_int_equal(cf->kind, AR_CF_DISCONNECT);
    assert_int_equal(cf->events, 3);
    cf = &s->turns[1].client_fault;
    assert_true(cf->has_kind_after);
    assert_int_equal(cf->kind_after, AR_EV_TOOL_EXECUTING);
    assert_string_equal(s->turns[1].directive.field, "fault_directive");
    assert_string_equal(s->turns[1].directive.value_tpl, "fail_tool=cost_db");
    assert_int_equal(s->turns[2].client_fault.pause_us, 2000000);
    assert_string_equal(s->turns[2].directive.field, "chaos");
    assert_string_equal(s->turns[3].client_fault.raw, "{oops");
    assert_int_equal(s->turns[4].client_fault.bytes, 64);
    assert_int_equal(s->turns[5].client_fault.kind, AR_CF_SEND_OVERSIZED);
    assert_int_equal(s->turns[6].client_fault.kind, AR_CF_SEND_UNKNOWN_TYPE);
    assert_string_equal(ar_cf_kind_name(AR_CF_SEND_RAW), "malformed_frame");
    ar_scn_free(s);

    s = load_ok(HEAD);
    assert_false(ar_scn_has_faults(s));
    ar_scn_free(s);
}

static void every_error_says_where_and_why(void **state)
{
    (void)state;
    load_err(HEAD "faults: {tool_failure: {tool: x}}\n",
             "x.yaml:4:9: 'faults' must be a list, e.g. [{tool_failure: {tool: cost_db}}]");
    load_err(HEAD "faults: [{tool_falure: {tool: x}}]\n",
             "x.yaml:4:11: unknown key 'tool_falure' (did you mean 'tool_failure'?)");
    load_err(HEAD "faults: [{tool_failure: {tool: x}, agent_failure: {agent: y}}]\n",
             "x.yaml:4:10: a fault is a mapping with one key: tool_failure, tool_timeout, "
             "agent_timeout, agent_failure or rule");
    load_err(HEAD "faults: [{tool_failure: {status: 500}}]\n",
             "x.yaml:4:25: 'tool_failure' needs 'tool'");
    load_err(HEAD "faults: [{tool_timeout: {tool: x}}]\n",
             "x.yaml:4:25: 'tool_timeout' needs 'delay': how long the call is held, longer than "
             "the service's own timeout");
    load_err(HEAD "faults: [{agent_failure: {agent: x, delay: 1s}}]\n",
             "x.yaml:4:44: 'agent_failure' takes 'status', not 'delay'");
    load_err(HEAD "faults: [{tool_failure: {tool: x, probability: 1.5}}]\n",
             "x.yaml:4:11: probability must be between 0 and 1 (got 1.5)");
    load_err(HEAD "faults: [{tool_failure: {tool: x, times: 1, probability: 0.5}}]\n",
             "x.yaml:4:58: 'times' and 'probability' cannot be combined: a rule has one "
             "schedule");
    load_err(HEAD "faults: [{rule: {match: {path: '('}, status: 503}}]\n",
             "x.yaml:4:17: invalid regex '(' in path: missing closing parenthesis at offset 1");
    load_err(HEAD "faults: [{rule: {match: {path: '^/x'}}}]\n",
             "x.yaml:4:17: the rule does nothing: give it an action (status, delay, hang, reset, "
             "truncate, malformed, throttle) or toxics");
    load_err(HEAD "faults: [{rule: {status: 503, delay: 1s}}]\n",
             "x.yaml:4:38: 'status' and 'delay' cannot be combined: a rule has one action");
    load_err(HEAD "faults: [{rule: {status: 42}}]\n",
             "x.yaml:4:17: status must be 100-599 (got 42)");
    load_err(HEAD "faults: [{rule: {status: 500, times: 0}}]\n",
             "x.yaml:4:17: times must be at least 1 (got 0)");
    load_err(HEAD "faults: [{rule: {toxics: [{type: latency, rate: 10}]}}]\n",
             "x.yaml:4:43: 'rate' is not an attribute of a latency toxic (valid: latency, "
             "jitter)");
    load_err(HEAD "faults: [{rule: {toxics: [{type: jitterbug}]}}]\n",
             "x.yaml:4:34: unknown toxic type 'jitterbug' (valid: latency, timeout, reset_peer, "
             "slicer, limit_data, bandwidth)");
    load_err(HEAD "faults: [{rule: {match: {json: {equals: Data}}, status: 500}}]\n",
             "x.yaml:4:32: 'json' needs a 'pointer'");
    load_err("name: x\nturns:\n  - send: a\n    client_fault: {disconnect_after: {events: 0}}\n",
             "x.yaml:4:47: 'events' must be 1 or more");
    load_err("name: x\nturns:\n  - send: a\n    client_fault: {slow_reader: 1s, send_binary: 3}\n",
             "x.yaml:4:19: 'client_fault' is a mapping with one key: disconnect_after, "
             "slow_reader, send_raw, send_binary, send_oversized or send_unknown_type");
    load_err("name: x\nturns:\n  - send: a\n    fault_directive: {header: X, value: v}\n",
             "x.yaml:4:31: a header directive goes at the scenario level: headers are sent once, "
             "when the connection opens");
    load_err(HEAD "thresholds: {recovery: ['rate >= fast']}\n",
             "x.yaml:4:24: threshold 'rate >= fast' on recovery: invalid value 'fast'");
}

static void rules_files_load_rules_then_faults(void **state)
{
    (void)state;
    char path[] = "/tmp/ar-rules-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "faults:\n"
                       "  - agent_failure: {agent: Data}\n"
                       "rules:\n"
                       "  - {name: slow, match: {path: '^/tools/pricing'}, delay: 300ms}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ar_px_rule *rules = NULL;
    size_t n = 0;
    char err[512] = "";
    assert_int_equal(ar_scn_load_rules_file(path, &rules, &n, err, sizeof err), AR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rules[0].name, "slow");
    assert_string_equal(rules[1].name, "agent_failure");
    assert_non_null(rules[1].path_re);
    for (size_t i = 0; i < n; i++)
        ar_px_rule_clear(&rules[i]);
    free(rules);

    FILE *f = fopen(path, "w");
    fputs("rules:\n  - {match: {path: '^/x'}, probability: 2, status: 500}\n", f);
    fclose(f);
    assert_int_equal(ar_scn_load_rules_file(path, &rules, &n, err, sizeof err), AR_EINVAL);
    char want[256];
    snprintf(want, sizeof want, "%s:2:5: probability must be between 0 and 1 (got 2)", path);
    assert_string_equal(err, want);
    assert_null(rules);
    assert_int_equal(n, 0);

    f = fopen(path, "w");
    fputs("ruels: []\n", f);
    fclose(f);
    assert_int_equal(ar_scn_load_rules_file(path, &rules, &n, err, sizeof err), AR_EINVAL);
    snprintf(want, sizeof want, "%s:1:1: unknown key 'ruels' (did you mean 'rules'?)", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_equal(ar_scn_load_rules_file("/no/such/rules.yaml", &rules, &n, err, sizeof err),
                     AR_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_faults_compile_to_refagent_rules),
        cmocka_unit_test(raw_rules_and_both_toxic_forms),
        cmocka_unit_test(client_faults_directives_proxy_thresholds),
        cmocka_unit_test(every_error_says_where_and_why),
        cmocka_unit_test(rules_files_load_rules_then_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
