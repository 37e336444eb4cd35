/*
 * test_val_agui.c - AG-UI's ordering rules: a well-formed stream passes, each
 * rule broken on its own fails with its exact message (that text is what a
 * CI user reads), and a stream broken many ways reports everything, bounded.
 */
#include "agui.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX_EVENTS 64

/* Hand-built turns: each event owns its raw JSON (freed by fx_free). */
typedef struct {
    ar_event ev[FX_MAX_EVENTS];
    const ar_event *p[FX_MAX_EVENTS];
    ar_turn_obs obs;
    ar_checks out;
} fx;

static fx *fx_new(void)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->obs.events = f->p;
    ar_checks_init(&f->out);
    return f;
}

static void fx_free(fx *f)
{
    for (size_t i = 0; i < f->obs.n_events; i++)
        free(f->ev[i].raw);
    ar_checks_free(&f->out);
    free(f);
}

/* Appends an event whose type is `type` and whose raw frame is raw (copied). */
static void fx_raw(fx *f, const char *type, const char *raw)
{
    assert_true(f->obs.n_events < FX_MAX_EVENTS);
    ar_event *e = &f->ev[f->obs.n_events];
    ar_event_init(e);
    e->kind = AR_EV_OTHER;
    e->type = (char *)type;
    e->raw = strdup(raw);
    assert_non_null(e->raw);
    e->raw_len = strlen(raw);
    f->p[f->obs.n_events++] = e;
}

/* Appends {"type": type, field: id} (field NULL: no id). */
static void fx_ev(fx *f, const char *type, const char *field, const char *id)
{
    char raw[8192];
    if (field)
        snprintf(raw, sizeof raw, "{\"type\":\"%s\",\"%s\":\"%s\"}", type, field, id);
    else
        snprintf(raw, sizeof raw, "{\"type\":\"%s\"}", type);
    fx_raw(f, type, raw);
}

static void fx_text(fx *f, const char *type, const char *id)
{
    fx_ev(f, type, "messageId", id);
}

static void fx_tool(fx *f, const char *type, const char *id)
{
    fx_ev(f, type, "toolCallId", id);
}

static void fx_step(fx *f, const char *type, const char *name)
{
    fx_ev(f, type, "stepName", name);
}

static void fx_bare(fx *f, const char *type)
{
    fx_ev(f, type, NULL, NULL);
}

/* Runs the validator and asserts exactly one failed check with message msg. */
static void expect_one(fx *f, const char *msg)
{
    ar_val_agui(&f->obs, &f->out);
    if (f->out.n != 1 || f->out.items[0].passed) {
        for (size_t i = 0; i < f->out.n; i++)
            print_message("check %zu: %s\n", i, f->out.items[i].message);
        fail_msg("expected one failed check, got %zu checks", f->out.n);
    }
    assert_string_equal(f->out.items[0].name, "protocol.ag-ui");
    assert_string_equal(f->out.items[0].message, msg);
}

static void expect_pass(fx *f, const char *msg)
{
    ar_val_agui(&f->obs, &f->out);
    if (f->out.n != 1 || !f->out.items[0].passed)
        fail_msg("expected one passing check, got %zu: %s", f->out.n,
                 f->out.n ? f->out.items[0].message : "");
    assert_string_equal(f->out.items[0].name, "protocol.ag-ui");
    assert_string_equal(f->out.items[0].message, msg);
}

static void well_formed_stream_passes(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_bare(f, "RUN_STARTED");
    fx_step(f, "STEP_STARTED", "plan");
    fx_bare(f, "THINKING_START");
    fx_bare(f, "THINKING_TEXT_MESSAGE_START");
    fx_bare(f, "THINKING_TEXT_MESSAGE_CONTENT");
    fx_bare(f, "THINKING_TEXT_MESSAGE_END");
    fx_bare(f, "THINKING_END");
    fx_text(f, "REASONING_START", "r1");
    fx_text(f, "REASONING_MESSAGE_START", "r1");
    fx_text(f, "REASONING_MESSAGE_CONTENT", "r1");
    fx_text(f, "REASONING_MESSAGE_END", "r1");
    fx_text(f, "REASONING_END", "r1");
    fx_tool(f, "TOOL_CALL_START", "c1");
    fx_tool(f, "TOOL_CALL_ARGS", "c1");
    fx_tool(f, "TOOL_CALL_END", "c1");
    fx_tool(f, "TOOL_CALL_RESULT", "c1");
    fx_step(f, "STEP_FINISHED", "plan");
    /* A step name may run again once it finished. */
    fx_step(f, "STEP_STARTED", "plan");
    fx_step(f, "STEP_FINISHED", "plan");
    fx_text(f, "TEXT_MESSAGE_START", "m1");
    /* Interleaved messages and tool calls are fine: rules are per id. */
    fx_tool(f, "TOOL_CALL_START", "c2");
    fx_text(f, "TEXT_MESSAGE_CONTENT", "m1");
    fx_tool(f, "TOOL_CALL_END", "c2");
    fx_text(f, "TEXT_MESSAGE_CONTENT", "m1");
    fx_text(f, "TEXT_MESSAGE_END", "m1");
    fx_bare(f, "STATE_SNAPSHOT");
    fx_bare(f, "TEXT_MESSAGE_CHUNK");
    fx_bare(f, "RUN_FINISHED");
    expect_pass(f, "protocol.ag-ui: 28 events follow AG-UI's ordering rules");
    fx_free(f);
}

static void run_error_may_come_first(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_bare(f, "RUN_ERROR");
    expect_pass(f, "protocol.ag-ui: 1 event follows AG-UI's ordering rules");
    fx_free(f);
}

static void frames_without_type_are_skipped(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_raw(f, NULL, "not json at all");
    fx_raw(f, NULL, "{\"no\":\"type\"}");
    fx_raw(f, "RUN_STARTED", "[1,2]");
    fx_raw(f, NULL, "{\"type\":42}");
    fx_raw(f, NULL, "");
    /* type missing from the event but present in the frame: still checked */
    fx_raw(f, NULL, "{\"type\":\"RUN_STARTED\"}");
    fx_text(f, "TEXT_MESSAGE_START", "m1");
    fx_text(f, "TEXT_MESSAGE_END", "m1");
    ar_event *fault = &f->ev[f->obs.n_events];
    fx_bare(f, "TEXT_MESSAGE_END");
    fault->kind = AR_EV_FAULT; /* injected by agentrig: not the service's */
    fx_bare(f, "RUN_FINISHED");
    expect_pass(f, "protocol.ag-ui: 4 events follow AG-UI's ordering rules (6 frames "
                   "without an AG-UI type skipped)");
    fx_free(f);
}

static void first_event_must_be_run_started(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_text(f, "TEXT_MESSAGE_START", "m1");
    fx_text(f, "TEXT_MESSAGE_END", "m1");
    expect_one(f, "protocol.ag-ui: the first event is TEXT_MESSAGE_START (index 0), not "
                  "RUN_STARTED");
    fx_free(f);
}

static void nothing_after_run_finished(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_bare(f, "RUN_STARTED");
    fx_bare(f, "RUN_FINISHED");
    fx_text(f, "TEXT_MESSAGE_START", "m1");
    expect_one(f, "protocol.ag-ui: TEXT_MESSAGE_START at index 2 after RUN_FINISHED at index 1");
    fx_free(f);
}

static void nothing_after_run_error(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_bare(f, "RUN_STARTED");
    fx_tool(f, "TOOL_CALL_START", "c1");
    fx_bare(f, "RUN_ERROR"); /* an error may leave things open */
    fx_bare(f, "RUN_FINISHED");
    expect_one(f, "protocol.ag-ui: RUN_FINISHED at index 3 after RUN_ERROR at index 2");
    fx_free(f);
}

static void run_started_twice(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_bare(f, "RUN_STARTED");
    fx_bare(f, "RUN_STARTED");
    fx_bare(f, "RUN_FINISHED");
    expect_one(f,
               "protocol.ag-ui: RUN_STARTED at index 1 while the run started at index 0 is still "
               "running");
    fx_free(f);
}

/* One rule broken per case: the events between RUN_STARTED and RUN_FINISHED. */
typedef struct {
    const char *type, *field, *id;
} step_ev;

typedef struct {
    step_ev evs[6];
    const char *msg;
} rule_case;

static void each_id_rule_on_its_own(void **state)
{
    (void)state;
    static const rule_case cases[] = {
        {{{"TEXT_MESSAGE_CONTENT", "messageId", "m1"},
          {"TEXT_MESSAGE_START", "messageId", "m1"},
          {"TEXT_MESSAGE_END", "messageId", "m1"}},
         "protocol.ag-ui: TEXT_MESSAGE_CONTENT (messageId m1) at index 1 before its "
         "TEXT_MESSAGE_START"},
        {{{"TEXT_MESSAGE_END", "messageId", "m1"}},
         "protocol.ag-ui: TEXT_MESSAGE_END (messageId m1) at index 1 before its "
         "TEXT_MESSAGE_START"},
        {{{"TEXT_MESSAGE_START", "messageId", "m1"},
          {"TEXT_MESSAGE_START", "messageId", "m1"},
          {"TEXT_MESSAGE_END", "messageId", "m1"}},
         "protocol.ag-ui: TEXT_MESSAGE_START (messageId m1) at index 2 while the "
         "TEXT_MESSAGE_START at index 1 is still open"},
        {{{"TEXT_MESSAGE_START", "messageId", "m1"},
          {"TEXT_MESSAGE_END", "messageId", "m1"},
          {"TEXT_MESSAGE_START", "messageId", "m1"}},
         "protocol.ag-ui: TEXT_MESSAGE_START (messageId m1) at index 3 repeats the "
         "TEXT_MESSAGE_START at index 1"},
        {{{"TEXT_MESSAGE_START", "messageId", "m1"},
          {"TEXT_MESSAGE_END", "messageId", "m1"},
          {"TEXT_MESSAGE_CONTENT", "messageId", "m1"}},
         "protocol.ag-ui: TEXT_MESSAGE_CONTENT (messageId m1) at index 3 after its "
         "TEXT_MESSAGE_END at index 2"},
        {{{"TEXT_MESSAGE_START", "id", "m1"}},
         "protocol.ag-ui: TEXT_MESSAGE_START at index 1 has no messageId"},
        {{{"TOOL_CALL_ARGS", "toolCallId", "c1"},
          {"TOOL_CALL_START", "toolCallId", "c1"},
          {"TOOL_CALL_END", "toolCallId", "c1"}},
         "protocol.ag-ui: TOOL_CALL_ARGS (toolCallId c1) at index 1 before its TOOL_CALL_START"},
        {{{"TOOL_CALL_END", "toolCallId", "c1"}},
         "protocol.ag-ui: TOOL_CALL_END (toolCallId c1) at index 1 before its TOOL_CALL_START"},
        {{{"TOOL_CALL_START", "toolCallId", "c1"},
          {"TOOL_CALL_START", "toolCallId", "c1"},
          {"TOOL_CALL_END", "toolCallId", "c1"}},
         "protocol.ag-ui: TOOL_CALL_START (toolCallId c1) at index 2 while the TOOL_CALL_START "
         "at index 1 is still open"},
        {{{"TOOL_CALL_START", "toolCallId", "c1"},
          {"TOOL_CALL_END", "toolCallId", "c1"},
          {"TOOL_CALL_ARGS", "toolCallId", "c1"}},
         "protocol.ag-ui: TOOL_CALL_ARGS (toolCallId c1) at index 3 after its TOOL_CALL_END at "
         "index 2"},
        {{{"TOOL_CALL_START", "toolCallId", "c1"},
          {"TOOL_CALL_END", "toolCallId", "c1"},
          {"TOOL_CALL_RESULT", "toolCallId", "c2"}},
         "protocol.ag-ui: TOOL_CALL_RESULT (toolCallId c2) at index 3 for a tool call that was "
         "never started"},
        {{{"TOOL_CALL_RESULT", "messageId", "x"}},
         "protocol.ag-ui: TOOL_CALL_RESULT at index 1 has no toolCallId"},
        {{{"STEP_FINISHED", "stepName", "plan"}},
         "protocol.ag-ui: STEP_FINISHED (stepName plan) at index 1 without an open STEP_STARTED"},
        {{{"STEP_STARTED", "stepName", "plan"},
          {"STEP_FINISHED", "stepName", "other"},
          {"STEP_FINISHED", "stepName", "plan"}},
         "protocol.ag-ui: STEP_FINISHED (stepName other) at index 2 without an open "
         "STEP_STARTED"},
        {{{"STEP_STARTED", "stepName", "plan"},
          {"STEP_FINISHED", "stepName", "plan"},
          {"STEP_FINISHED", "stepName", "plan"}},
         "protocol.ag-ui: STEP_FINISHED (stepName plan) at index 3 without an open STEP_STARTED"},
        {{{"STEP_STARTED", "stepName", "plan"},
          {"STEP_STARTED", "stepName", "plan"},
          {"STEP_FINISHED", "stepName", "plan"}},
         "protocol.ag-ui: STEP_STARTED (stepName plan) at index 2 while the STEP_STARTED at "
         "index 1 is still open"},
        {{{"REASONING_MESSAGE_CONTENT", "messageId", "r1"}},
         "protocol.ag-ui: REASONING_MESSAGE_CONTENT (messageId r1) at index 1 before its "
         "REASONING_MESSAGE_START"},
        {{{"REASONING_MESSAGE_START", "messageId", "r1"},
          {"REASONING_MESSAGE_END", "messageId", "r1"},
          {"REASONING_MESSAGE_CONTENT", "messageId", "r1"}},
         "protocol.ag-ui: REASONING_MESSAGE_CONTENT (messageId r1) at index 3 after its "
         "REASONING_MESSAGE_END at index 2"},
        {{{"REASONING_END", "messageId", "r1"}},
         "protocol.ag-ui: REASONING_END (messageId r1) at index 1 before its REASONING_START"},
        {{{"THINKING_TEXT_MESSAGE_CONTENT", NULL, NULL}},
         "protocol.ag-ui: THINKING_TEXT_MESSAGE_CONTENT at index 1 before its "
         "THINKING_TEXT_MESSAGE_START"},
        {{{"THINKING_END", NULL, NULL}},
         "protocol.ag-ui: THINKING_END at index 1 without an open THINKING_START"},
        /* Ids are per kind: a tool call id is no message id. */
        {{{"TOOL_CALL_START", "toolCallId", "x1"},
          {"TOOL_CALL_END", "toolCallId", "x1"},
          {"TEXT_MESSAGE_END", "messageId", "x1"}},
         "protocol.ag-ui: TEXT_MESSAGE_END (messageId x1) at index 3 before its "
         "TEXT_MESSAGE_START"},
    };
    for (size_t c = 0; c < AR_ARRAY_LEN(cases); c++) {
        fx *f = fx_new();
        fx_bare(f, "RUN_STARTED");
        for (size_t i = 0; i < AR_ARRAY_LEN(cases[c].evs) && cases[c].evs[i].type; i++)
            fx_ev(f, cases[c].evs[i].type, cases[c].evs[i].field, cases[c].evs[i].id);
        fx_bare(f, "RUN_FINISHED");
        print_message("case %zu\n", c);
        expect_one(f, cases[c].msg);
        fx_free(f);
    }
}

static void run_finished_while_things_are_open(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_bare(f, "RUN_STARTED");
    fx_step(f, "STEP_STARTED", "plan");
    fx_text(f, "TEXT_MESSAGE_START", "m1");
    fx_text(f, "TEXT_MESSAGE_START", "m2");
    fx_text(f, "TEXT_MESSAGE_END", "m1");
    fx_tool(f, "TOOL_CALL_START", "c1");
    fx_text(f, "REASONING_START", "r1");
    fx_bare(f, "THINKING_START");
    fx_bare(f, "RUN_FINISHED");
    expect_one(f, "protocol.ag-ui: RUN_FINISHED at index 8 while still open: step plan (started "
                  "at index 1), text message m2 (started at index 3), tool call c1 (started at "
                  "index 5), reasoning r1 (started at index 6), thinking (started at index 7)");
    fx_free(f);
}

static void several_violations_are_all_reported(void **state)
{
    (void)state;
    fx *f = fx_new();
    fx_text(f, "TEXT_MESSAGE_CONTENT", "m1");
    fx_tool(f, "TOOL_CALL_END", "c1");
    fx_step(f, "STEP_FINISHED", "s");
    fx_bare(f, "RUN_FINISHED");
    ar_val_agui(&f->obs, &f->out);
    assert_int_equal(f->out.n, 4);
    assert_int_equal(ar_checks_failed(&f->out), 4);
    assert_string_equal(f->out.items[0].message, "protocol.ag-ui: the first event is "
                                                 "TEXT_MESSAGE_CONTENT (index 0), not RUN_STARTED");
    assert_string_equal(f->out.items[1].message, "protocol.ag-ui: TEXT_MESSAGE_CONTENT (messageId "
                                                 "m1) at index 0 before its TEXT_MESSAGE_START");
    assert_string_equal(f->out.items[2].message, "protocol.ag-ui: TOOL_CALL_END (toolCallId c1) at "
                                                 "index 1 before its TOOL_CALL_START");
    assert_string_equal(f->out.items[3].message, "protocol.ag-ui: STEP_FINISHED (stepName s) at "
                                                 "index 2 without an open STEP_STARTED");
    fx_free(f);
}

static void many_violations_are_capped_and_bounded(void **state)
{
    (void)state;
    fx *f = fx_new();
    char long_id[5001];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    fx_bare(f, "RUN_STARTED");
    for (int i = 0; i < 20; i++)
        fx_text(f, "TEXT_MESSAGE_CONTENT", long_id);
    fx_bare(f, "RUN_FINISHED");
    ar_val_agui(&f->obs, &f->out);
    assert_int_equal(f->out.n, AR_VAL_AGUI_SHOWN);
    for (size_t i = 0; i < f->out.n; i++) {
        assert_false(f->out.items[i].passed);
        assert_true(strlen(f->out.items[i].message) < 300);
        assert_non_null(strstr(f->out.items[i].message, "xxx..."));
    }
    char want[64];
    snprintf(want, sizeof want, "at index %d before", AR_VAL_AGUI_SHOWN);
    assert_non_null(strstr(f->out.items[AR_VAL_AGUI_SHOWN - 1].message, want));
    snprintf(want, sizeof want, "(+%d more violations)", 20 - AR_VAL_AGUI_SHOWN);
    assert_non_null(strstr(f->out.items[AR_VAL_AGUI_SHOWN - 1].message, want));
    fx_free(f);
}

static void empty_turn_passes_with_nothing_checked(void **state)
{
    (void)state;
    fx *f = fx_new();
    expect_pass(f, "protocol.ag-ui: 0 events follow AG-UI's ordering rules");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed_stream_passes),
        cmocka_unit_test(run_error_may_come_first),
        cmocka_unit_test(frames_without_type_are_skipped),
        cmocka_unit_test(first_event_must_be_run_started),
        cmocka_unit_test(nothing_after_run_finished),
        cmocka_unit_test(nothing_after_run_error),
        cmocka_unit_test(run_started_twice),
        cmocka_unit_test(each_id_rule_on_its_own),
        cmocka_unit_test(run_finished_while_things_are_open),
        cmocka_unit_test(several_violations_are_all_reported),
        cmocka_unit_test(many_violations_are_capped_and_bounded),
        cmocka_unit_test(empty_turn_passes_with_nothing_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
