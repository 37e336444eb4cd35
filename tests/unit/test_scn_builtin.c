/*
 * The built-in profiles decode their services' frames into canonical events:
 * fields merged from several places, status values mapped (and unknown where
 * the wire has none), terminals by each profile's rules, deltas.
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

/* netra's beta-17 wire (tests/peers/NETRA_WIRE.md, netra_peer.py --wire beta17):
 * one run id for every agent, no parent_run_id, fields flat or under data,
 * the outcome in results.status / result.success, the answer in final_response. */
static void netra_decodes_beta17_frames(void **state)
{
    (void)state;
    ar_profile *p = builtin("netra");
    ar_event ev;

    /* After auth: set aside, never an event of the turn, never the end. */
    assert_int_equal(decode(p,
                            "{\"type\":\"connection_established\",\"data\":{\"mode\":\"main\"},"
                            "\"timestamp\":1758207361.12,\"server_id\":null}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    assert_false(ev.terminal);
    ar_event_clear(&ev);

    /* agent_started (bridge-direct): names at the root, boilerplate under data. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_started\",\"run_id\":\"R\",\"user_id\":\"u\","
                            "\"agent_name\":\"Supervisor\",\"timestamp\":\"2025-09-18T14:56:01.123456+00:00\","
                            "\"data\":{\"status\":\"started\",\"context\":{},\"message\":"
                            "\"Supervisor has started processing your request\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.agent, "Supervisor");
    assert_string_equal(ev.run_id, "R");
    assert_null(ev.parent_run_id);
    assert_null(ev.text); /* "... has started processing" is not text */
    assert_int_equal(ev.status, AR_ST_NONE);
    ar_event_clear(&ev);

    /* agent_thinking (flat): the text is `reasoning`. */
    assert_int_equal(decode(p,
                            "{\"timestamp\":\"t\",\"critical\":true,\"type\":\"agent_thinking\","
                            "\"reasoning\":\"Routing to Data.\",\"user_id\":null,\"thread_id\":\"th\","
                            "\"step_number\":1,\"agent_name\":\"Supervisor\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_THINKING);
    assert_string_equal(ev.text, "Routing to Data.");
    assert_string_equal(ev.thread_id, "th");
    ar_event_clear(&ev);

    /* tool_executing: args under data.parameters; no call id on the wire, so
     * the tool name is the pairing key. */
    assert_int_equal(decode(p,
                            "{\"type\":\"tool_executing\",\"run_id\":\"R\",\"agent_name\":\"Data\","
                            "\"tool_name\":\"cost_db\",\"timestamp\":\"t\",\"data\":{\"parameters\":"
                            "{\"spend\":\"$50K/month\"},\"status\":\"executing\",\"message\":"
                            "\"Data is using cost_db\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_TOOL_EXECUTING);
    assert_string_equal(ev.tool, "cost_db");
    assert_null(ev.call_id); /* beta17 has none: unknown, never made up */
    assert_string_equal(ev.args, "{\"spend\":\"$50K/month\"}");
    assert_int_equal(ev.status, AR_ST_NONE);
    assert_null(ev.text);
    ar_event_clear(&ev);

    /* tool_completed: the outcome is results.status; data.status is always
     * "completed" and means nothing. */
    static const char *const outcomes[][2] = {{"success", "ok"}, {"error", "error"},
                                              {"timeout", "error"}};
    for (size_t i = 0; i < 3; i++) {
        char f[600];
        snprintf(f, sizeof f,
                 "{\"type\":\"tool_completed\",\"run_id\":\"R\",\"agent_name\":\"Data\","
                 "\"tool_name\":\"cost_db\",\"results\":{\"status\":\"%s\",\"duration_ms\":3.1,"
                 "\"tool_name\":\"cost_db\",%s},\"data\":{\"result\":{\"status\":\"%s\"},"
                 "\"execution_time_ms\":3.1,\"status\":\"completed\"}}",
                 outcomes[i][0],
                 i == 0 ? "\"output\":\"{'monthly_usd': 50000}\""
                        : "\"error\":\"cost_db unavailable: HTTP 503\"",
                 outcomes[i][0]);
        assert_int_equal(decode(p, f, &ev, NULL), AR_OK);
        assert_int_equal(ev.kind, AR_EV_TOOL_COMPLETED);
        assert_null(ev.call_id);
        assert_int_equal(ev.status, i == 0 ? AR_ST_OK : AR_ST_ERROR);
        if (i == 0) {
            assert_string_equal(ev.result, "{'monthly_usd': 50000}");
            assert_null(ev.error);
        } else {
            assert_null(ev.result); /* a failure has no output, never the error dict */
            assert_string_equal(ev.error, "cost_db unavailable: HTTP 503");
        }
        ar_event_clear(&ev);
    }
    /* Only data.status "completed": the outcome is unknown, never ok. */
    assert_int_equal(decode(p,
                            "{\"type\":\"tool_completed\",\"agent_name\":\"Data\",\"tool_name\":"
                            "\"cost_db\",\"data\":{\"status\":\"completed\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_NONE);
    ar_event_clear(&ev);

    /* A sub-agent's agent_completed (flat): same run id, no parent; status
     * "completed" is no outcome, result.success is; it never ends the turn. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"status\":\"completed\",\"final_response\":"
                            "{\"status\":\"completed\",\"success\":true,\"text\":\"Spend is $50K.\"},"
                            "\"thread_id\":\"th\",\"result\":{\"status\":\"completed\",\"success\":true,"
                            "\"text\":\"Spend is $50K.\"},\"message\":\"Data has completed processing "
                            "your request\",\"agent_name\":\"Data\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_string_equal(ev.agent, "Data");
    assert_int_equal(ev.status, AR_ST_OK);
    assert_null(ev.text); /* no answer string: not the boilerplate message */
    assert_false(ev.terminal);
    ar_event_clear(&ev);
    /* A failed sub-agent: result.success false is an error, still not the end. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"status\":\"completed\",\"final_response\":"
                            "{\"status\":\"completed\",\"success\":false,\"error\":\"cost_db failed.\"},"
                            "\"result\":{\"status\":\"completed\",\"success\":false,\"error\":"
                            "\"cost_db failed.\"},\"agent_name\":\"Data\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.error, "cost_db failed.");
    assert_false(ev.terminal);
    ar_event_clear(&ev);
    /* Neither success nor a legacy status: unknown, never ok. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"status\":\"completed\",\"result\":{},"
                            "\"agent_name\":\"Data\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_NONE);
    ar_event_clear(&ev);

    /* The Supervisor's agent_completed ends the turn; the answer is inside
     * final_response (an object), never its boilerplate message. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"status\":\"completed\",\"final_response\":"
                            "{\"supervisor_result\":\"completed\",\"orchestration_successful\":true,"
                            "\"results\":{\"response\":\"Current spend is $50K/month.\"}},"
                            "\"result\":{\"supervisor_result\":\"completed\",\"orchestration_successful\":"
                            "true,\"results\":{\"response\":\"Current spend is $50K/month.\"}},"
                            "\"execution_time_ms\":0,\"message\":\"Supervisor has completed processing "
                            "your request\",\"agent_name\":\"Supervisor\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_int_equal(ev.status, AR_ST_OK);
    assert_string_equal(ev.text, "Current spend is $50K/month.");
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    /* Without an answer string inside: no text (unknown), not the boilerplate. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"status\":\"completed\",\"final_response\":"
                            "{\"supervisor_result\":\"completed\",\"orchestration_successful\":false,"
                            "\"results\":{\"data\":[1]}},\"result\":{\"orchestration_successful\":false},"
                            "\"message\":\"Supervisor has completed processing your request\","
                            "\"agent_name\":\"Supervisor\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_null(ev.text);
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    /* final_response as the string the schema declares is the answer. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"status\":\"completed\",\"final_response\":"
                            "\"Spend is $50K.\",\"agent_name\":\"Supervisor\",\"run_id\":\"R\"}",
                            &ev, NULL),
                     AR_OK);
    assert_string_equal(ev.text, "Spend is $50K.");
    assert_int_equal(ev.status, AR_ST_NONE);
    ar_event_clear(&ev);

    /* agent_error: the Supervisor's ends the turn (no agent_completed comes);
     * a sub-agent's does not. */
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_error\",\"run_id\":\"R\",\"agent_name\":\"Supervisor\","
                            "\"timestamp\":\"t\",\"data\":{\"status\":\"error\",\"error_message\":"
                            "\"Supervisor execution failed: boom\",\"message\":\"Supervisor encountered "
                            "an issue processing your request\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.text, "Supervisor execution failed: boom");
    assert_string_equal(ev.error, "Supervisor execution failed: boom");
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_error\",\"run_id\":\"R\",\"agent_name\":\"Data\","
                            "\"data\":{\"status\":\"error\",\"error_message\":\"x\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_false(ev.terminal);
    ar_event_clear(&ev);

    /* Request-level errors: the plain error frame and the auth failure. */
    assert_int_equal(decode(p, "{\"type\":\"error\",\"message\":\"Please enter a message\"}", &ev,
                            NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_string_equal(ev.text, "Please enter a message");
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"error_message\",\"error_code\":\"AUTH_FAILED\","
                            "\"error_message\":\"invalid token\",\"details\":{},\"timestamp\":1.5}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_string_equal(ev.text, "invalid token");
    ar_event_clear(&ev);
    ar_pf_free(p);
}

/* The legacy wire (netra_peer.py's default) decodes as before: a sub-agent's
 * agent_completed carries a parent and does not end the turn; a failed tool's
 * status is payload.status. */
static void netra_legacy_wire_unchanged(void **state)
{
    (void)state;
    ar_profile *p = builtin("netra");
    ar_event ev;
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_completed\",\"thread_id\":\"t\",\"data\":{\"agent_name\":"
                            "\"Data\",\"run_id\":\"run-2\",\"parent_run_id\":\"run-1\",\"status\":"
                            "\"error\",\"result\":{\"text\":\"cost_db failed.\",\"error\":\"HTTP 503\"}}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.error, "HTTP 503");
    assert_false(ev.terminal);
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"tool_completed\",\"payload\":{\"agent_name\":\"Data\","
                            "\"tool_name\":\"cost_db\",\"tool_call_id\":\"call-1\",\"status\":\"error\","
                            "\"error\":\"cost_db unavailable: HTTP 503\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.call_id, "call-1");
    assert_string_equal(ev.error, "cost_db unavailable: HTTP 503");
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"agent_thinking\",\"payload\":{\"agent_name\":\"Data\","
                            "\"thought\":\"Looking up spend.\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_string_equal(ev.text, "Looking up spend.");
    ar_event_clear(&ev);
    assert_int_equal(decode(p, "{\"type\":\"error\",\"payload\":{\"message\":\"invalid JSON\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_string_equal(ev.text, "invalid JSON");
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
    /* Steps are steps, not agents. */
    assert_int_equal(decode(p, "{\"type\":\"STEP_STARTED\",\"stepName\":\"Data\"}", &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    assert_null(ev.agent);
    ar_event_clear(&ev);
    assert_int_equal(decode(p, "{\"type\":\"SUBAGENT_STARTED\",\"name\":\"Data\"}", &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_STARTED);
    assert_string_equal(ev.agent, "Data");
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"SUBAGENT_ERROR\",\"subagentRunId\":\"s\",\"code\":\"X\","
                            "\"message\":\"cost_db down\",\"metadata\":{\"agentName\":\"Data\"}}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_int_equal(ev.status, AR_ST_ERROR);
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"TOOL_CALL_ARGS\",\"toolCallId\":\"c1\",\"delta\":"
                            "\"{\\\"spend\"}",
                            &ev, NULL),
                     AR_OK);
    assert_true(ev.args_delta);
    assert_string_equal(ev.args, "{\"spend");
    ar_event_clear(&ev);
    assert_int_equal(decode(p,
                            "{\"type\":\"TOOL_CALL_RESULT\",\"toolCallId\":\"c1\",\"messageId\":"
                            "\"m\",\"content\":\"{}\"}",
                            &ev, NULL),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_TOOL_COMPLETED);
    /* AG-UI has no tool status: unknown, never a constant ok (that was a
     * false PASS of tools.all_ok with every tool down). */
    assert_int_equal(ev.status, AR_ST_NONE);
    assert_string_equal(ev.call_id, "c1");
    assert_string_equal(ev.result, "{}");
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

static void native_ends_on_present_null_or_a_missing_run_id(void **state)
{
    (void)state;
    ar_profile *p = builtin("native");
    ar_event ev;
    /* refagent's root run carries "parent_run_id": null. */
    decode(p, "{\"type\":\"agent_completed\",\"run_id\":\"r1\",\"parent_run_id\":null}", &ev, NULL);
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    /* A completion that does not say its parent is not the root's. */
    decode(p, "{\"type\":\"agent_completed\",\"run_id\":\"r1\"}", &ev, NULL);
    assert_false(ev.terminal);
    ar_event_clear(&ev);
    /* Connection-level errors omit run_id (docs/protocol.md). */
    decode(p, "{\"type\":\"error\",\"turn\":0,\"agent\":null,\"code\":\"busy\"}", &ev, NULL);
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    decode(p, "{\"type\":\"error\",\"run_id\":null}", &ev, NULL);
    assert_true(ev.terminal);
    ar_event_clear(&ev);
    ar_pf_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(native_decodes_every_field),
        cmocka_unit_test(netra_merges_root_payload_and_data),
        cmocka_unit_test(netra_decodes_beta17_frames),
        cmocka_unit_test(netra_legacy_wire_unchanged),
        cmocka_unit_test(agui_maps_steps_tools_deltas_and_the_run),
        cmocka_unit_test(native_ends_on_present_null_or_a_missing_run_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
