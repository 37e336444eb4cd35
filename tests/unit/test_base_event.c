/* The canonical event: kind names, ownership, description. (Decoding is the
 * protocol profiles' job: tests/unit/test_scn_profile.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event.h"

static void kind_names_round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < AR_EV__COUNT; k++) {
        ar_ev_kind out;
        if (k == AR_EV_SENT) continue; /* agentrig's own records: not for scenarios */
        assert_true(ar_ev_kind_parse(ar_ev_kind_name((ar_ev_kind)k), &out));
        assert_int_equal(out, k);
    }
    ar_ev_kind out;
    assert_string_equal(ar_ev_kind_name(AR_EV_SENT), "sent");
    assert_false(ar_ev_kind_parse("sent", &out));
    assert_false(ar_ev_kind_parse("agent_done", &out));
    assert_false(ar_ev_kind_parse(NULL, &out));
    assert_string_equal(ar_ev_kind_name((ar_ev_kind)99), "other");
}

static void describe_says_what_where_and_when(void **state)
{
    (void)state;
    ar_event ev;
    ar_event_init(&ev);
    ev.kind = AR_EV_TOOL_EXECUTING;
    ev.agent = strdup("Data");
    ev.tool = strdup("cost_db");
    ev.recv_us = 12300000;
    char d[128];
    ar_event_describe(&ev, 0, d, sizeof d);
    assert_string_equal(d, "tool_executing (Data/cost_db) at 12.30s");
    ar_event_clear(&ev);
    ev.kind = AR_EV_OTHER;
    ev.type = strdup("heartbeat");
    ev.recv_us = 1500;
    ar_event_describe(&ev, 0, d, sizeof d);
    assert_string_equal(d, "heartbeat at 1.5ms");
    ar_event_clear(&ev);
    ev.decode_error = true;
    ev.text = strdup("frame is not valid JSON");
    ar_event_describe(&ev, 0, d, sizeof d);
    assert_string_equal(d, "undecodable frame (frame is not valid JSON) at 0us");
    assert_false(ar_event_is_terminal(&ev));
    ev.terminal = true; /* a broken frame never ends a turn, whatever it says */
    assert_false(ar_event_is_terminal(&ev));
    ar_event_clear(&ev);
}

static void copy_is_deep(void **state)
{
    (void)state;
    ar_event a, b;
    ar_event_init(&a);
    a.kind = AR_EV_TOOL_EXECUTING;
    a.tool = strdup("cost_db");
    a.call_id = strdup("c1");
    a.raw = strdup("{\"tool\":\"cost_db\"}");
    a.raw_len = strlen(a.raw);
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
        cmocka_unit_test(kind_names_round_trip),
        cmocka_unit_test(describe_says_what_where_and_when),
        cmocka_unit_test(copy_is_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
