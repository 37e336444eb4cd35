/* The native-protocol decoder: every canonical field, and every bad frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "event.h"

static ar_err decode(const char *s, ar_event *ev)
{
    ar_event_init(ev);
    return ar_event_decode_native(s, strlen(s), ev);
}

static void decodes_every_field_of_a_tool_completion(void **state)
{
    (void)state;
    ar_event ev;
    const char *f = "{\"type\":\"tool_completed\",\"thread_id\":\"t1\",\"turn\":1,\"seq\":7,"
                    "\"ts_us\":1700000000123456,\"agent\":\"Data\",\"run_id\":\"run-3\","
                    "\"parent_run_id\":\"run-2\",\"tool\":\"cost_db\",\"call_id\":\"call-1\","
                    "\"status\":\"error\",\"error\":\"HTTP 503\",\"result\":null}";
    assert_int_equal(decode(f, &ev), AR_OK);
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
    assert_int_equal(ev.raw_len, strlen(f));
    assert_memory_equal(ev.raw, f, strlen(f));
    assert_false(ev.decode_error);
    assert_false(ar_event_is_terminal(&ev));
    ar_event_clear(&ev);
}

static void root_completion_is_terminal_and_carries_response_and_usage(void **state)
{
    (void)state;
    ar_event ev;
    assert_int_equal(decode("{\"type\":\"agent_completed\",\"agent\":\"Supervisor\",\"run_id\":"
                            "\"run-1\",\"parent_run_id\":null,\"status\":\"ok\",\"result\":{"
                            "\"response\":\"42% cheaper\"},\"usage\":{\"input_tokens\":120,"
                            "\"output_tokens\":80,\"cost_usd\":0.0031}}",
                            &ev),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_AGENT_COMPLETED);
    assert_null(ev.parent_run_id);
    assert_true(ar_event_is_terminal(&ev));
    assert_string_equal(ev.text, "42% cheaper");
    assert_int_equal(ev.tokens_in, 120);
    assert_int_equal(ev.tokens_out, 80);
    assert_true(ev.cost_usd > 0.0030 && ev.cost_usd < 0.0032);
    ar_event_clear(&ev);

    /* A sub-agent's completion is not the end of the turn. */
    assert_int_equal(decode("{\"type\":\"agent_completed\",\"agent\":\"Data\",\"run_id\":\"r3\","
                            "\"parent_run_id\":\"r2\",\"status\":\"ok\"}",
                            &ev),
                     AR_OK);
    assert_false(ar_event_is_terminal(&ev));
    ar_event_clear(&ev);
}

static void turn_level_error_is_terminal_but_run_error_is_not(void **state)
{
    (void)state;
    ar_event ev;
    assert_int_equal(decode("{\"type\":\"error\",\"code\":\"busy\",\"message\":\"a turn is "
                            "running\"}",
                            &ev),
                     AR_OK);
    assert_int_equal(ev.kind, AR_EV_ERROR);
    assert_int_equal(ev.status, AR_ST_ERROR);
    assert_string_equal(ev.text, "a turn is running");
    assert_true(ar_event_is_terminal(&ev));
    ar_event_clear(&ev);
    assert_int_equal(decode("{\"type\":\"error\",\"run_id\":\"r4\",\"message\":\"x\"}", &ev),
                     AR_OK);
    assert_false(ar_event_is_terminal(&ev));
    ar_event_clear(&ev);
}

static void unknown_types_are_other_and_keep_their_name(void **state)
{
    (void)state;
    ar_event ev;
    assert_int_equal(decode("{\"type\":\"heartbeat\"}", &ev), AR_OK);
    assert_int_equal(ev.kind, AR_EV_OTHER);
    assert_string_equal(ev.type, "heartbeat");
    char d[128];
    ev.recv_us = 1500;
    ar_event_describe(&ev, 0, d, sizeof d);
    assert_string_equal(d, "heartbeat at 1.5ms");
    ar_event_clear(&ev);
}

static void bad_frames_become_error_events_that_keep_the_bytes(void **state)
{
    (void)state;
    struct {
        const char *frame;
        const char *why;
    } cases[] = {
        {"{\"type\": \"agent_thinking\", oops", "frame is not valid JSON"},
        {"[1,2,3]", "frame is not a JSON object"},
        {"{\"kind\":\"agent_started\"}", "frame has no string \"type\""},
        {"{\"type\":42}", "frame has no string \"type\""},
        {"", "frame is not valid JSON"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        ar_event ev;
        assert_int_equal(decode(cases[i].frame, &ev), AR_EPARSE);
        assert_int_equal(ev.kind, AR_EV_ERROR);
        assert_true(ev.decode_error);
        assert_string_equal(ev.text, cases[i].why);
        assert_string_equal(ev.raw, cases[i].frame);
        assert_false(ar_event_is_terminal(&ev));
        char d[128];
        ar_event_describe(&ev, 0, d, sizeof d);
        assert_non_null(strstr(d, "undecodable frame"));
        ar_event_clear(&ev);
    }
}

static void kind_names_round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < AR_EV__COUNT; k++) {
        ar_ev_kind out;
        assert_true(ar_ev_kind_parse(ar_ev_kind_name((ar_ev_kind)k), &out));
        assert_int_equal(out, k);
    }
    ar_ev_kind out;
    assert_false(ar_ev_kind_parse("agent_done", &out));
    assert_false(ar_ev_kind_parse(NULL, &out));
    assert_string_equal(ar_ev_kind_name((ar_ev_kind)99), "other");
}

static void copy_is_deep(void **state)
{
    (void)state;
    ar_event a, b;
    assert_int_equal(decode("{\"type\":\"tool_executing\",\"agent\":\"Data\",\"tool\":\"cost_db\","
                            "\"call_id\":\"c1\"}",
                            &a),
                     AR_OK);
    assert_int_equal(ar_event_copy(&b, &a), AR_OK);
    ar_event_clear(&a);
    assert_string_equal(b.tool, "cost_db");
    assert_string_equal(b.call_id, "c1");
    assert_non_null(strstr(b.raw, "cost_db"));
    ar_event_clear(&b);
    ar_event_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_every_field_of_a_tool_completion),
        cmocka_unit_test(root_completion_is_terminal_and_carries_response_and_usage),
        cmocka_unit_test(turn_level_error_is_terminal_but_run_error_is_not),
        cmocka_unit_test(unknown_types_are_other_and_keep_their_name),
        cmocka_unit_test(bad_frames_become_error_events_that_keep_the_bytes),
        cmocka_unit_test(kind_names_round_trip),
        cmocka_unit_test(copy_is_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
