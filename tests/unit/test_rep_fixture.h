/*
 * test_rep_fixture.h - one hand-built run result shared by the report tests,
 * so every writer is checked against the same awkward cases: a passing
 * session, a failing one with more than ten events, skipped turns, a session
 * that could not connect, dropped events, a binary frame, an oversized frame
 * and strings full of XML/JSON/terminal hazards (quotes, <, &, control
 * characters, invalid UTF-8).
 */
#ifndef TEST_REP_FIXTURE_H
#define TEST_REP_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "text.h"

/* Session 1's scenario name and failure message: every hazard at once. */
#define FX_NASTY_NAME "fail <&> \"quoted\" 'apos'"
#define FX_NASTY_MSG "route: expected [A, B] observed <C> & \"D\"\x01\x1b[31m bad:\xff\xfe end"
/* Valid multi-byte UTF-8 must survive every writer unchanged. */
#define FX_UNICODE_TAG                                                                             \
    "\xc3\xbcn\xc3\xaf"                                                                            \
    "code-\xf0\x9f\x98\x80"
#define FX_BIG_RAW_BYTES (70u * 1024u)
/* Recorder cap: session 1 gets two more events than this and drops them. */
#define FX_MAX_EVENTS 16
#define FX_T0_US 1000000000LL
#define FX_WALL_US 1790000000000000LL

typedef struct {
    ar_rec *rec;
    ar_run_result run;
    ar_scenario scn[3];
    char *tags0[3];
    char tmpdir[64];
} fx_run;

static inline void fx_add(fx_run *fx, uint32_t session, uint32_t turn, ar_ev_kind kind,
                          int64_t recv_us, const char *agent, const char *tool, const char *call_id,
                          ar_ev_status st, const char *text)
{
    ar_event ev;
    ar_event_init(&ev);
    ev.session = session;
    ev.turn = turn;
    ev.kind = kind;
    ev.recv_us = recv_us;
    ev.type = ar_strdup(ar_ev_kind_name(kind));
    ev.agent = ar_strdup(agent);
    ev.tool = ar_strdup(tool);
    ev.call_id = ar_strdup(call_id);
    ev.status = st;
    ev.text = ar_strdup(text);
    ev.raw = ar_asprintf("{\"type\":\"%s\"}", ar_ev_kind_name(kind));
    ev.raw_len = ev.wire_len = strlen(ev.raw);
    ar_rec_add(fx->rec, &ev);
}

static inline ar_turn_result *fx_turns(size_t n)
{
    ar_turn_result *t = calloc(n, sizeof(*t));
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        t[i].index = (uint32_t)(i + 1);
        ar_checks_init(&t[i].checks);
    }
    return t;
}

static inline void fx_build(fx_run *fx)
{
    uint32_t id;
    ar_session_result *s;

    memset(fx, 0, sizeof(*fx));
    snprintf(fx->tmpdir, sizeof(fx->tmpdir), "/tmp/ar-rep-XXXXXX");
    assert_non_null(mkdtemp(fx->tmpdir));
    fx->rec = ar_rec_new(FX_MAX_EVENTS);
    assert_non_null(fx->rec);

    fx->tags0[0] = "gate";
    fx->tags0[1] = "complex";
    fx->tags0[2] = FX_UNICODE_TAG;
    fx->scn[0] = (ar_scenario){.file = "scenarios/complex.yaml",
                               .name = "complex multi-agent orchestration",
                               .tags = fx->tags0,
                               .n_tags = 3,
                               .protocol = "native"};
    fx->scn[1] =
        (ar_scenario){.file = "scenarios/nasty.yaml", .name = FX_NASTY_NAME, .protocol = "native"};
    fx->scn[2] = (ar_scenario){
        .file = "scenarios/down.yaml", .name = "unreachable service", .protocol = "native"};

    fx->run.mode = "run";
    fx->run.rec = fx->rec;
    fx->run.start_wall_us = FX_WALL_US;
    fx->run.duration_us = 3456789;
    fx->run.n_sessions = 3;
    fx->run.sessions = calloc(3, sizeof(ar_session_result));
    assert_non_null(fx->run.sessions);

    /* Session 0: passes, 4 events, usage on the terminal event. */
    assert_int_equal(ar_rec_open(fx->rec, "s0", &id), AR_OK);
    s = &fx->run.sessions[0];
    s->scn = &fx->scn[0];
    s->rec_session = id;
    s->target = ar_strdup("ws://127.0.0.1:9000/ws");
    s->thread_id = ar_strdup("th-0");
    s->start_wall_us = FX_WALL_US;
    s->start_us = FX_T0_US;
    s->duration_us = 1230000;
    s->n_turns = 1;
    s->turns = fx_turns(1);
    s->turns[0].ran = true;
    s->turns[0].message = ar_strdup("Analyze costs");
    s->turns[0].start_us = FX_T0_US + 1000;
    s->turns[0].end_us = FX_T0_US + 1000 + 1234567;
    s->turns[0].first_event = 0;
    s->turns[0].n_events = 4;
    fx_add(fx, id, 1, AR_EV_AGENT_STARTED, FX_T0_US + 2000, "Supervisor", NULL, NULL, AR_ST_NONE,
           NULL);
    fx_add(fx, id, 1, AR_EV_TOOL_EXECUTING, FX_T0_US + 3000, "Data", "cost_db", "c-1", AR_ST_NONE,
           NULL);
    fx_add(fx, id, 1, AR_EV_TOOL_COMPLETED, FX_T0_US + 4000, "Data", "cost_db", "c-1", AR_ST_OK,
           NULL);
    {
        ar_event ev;
        ar_event_init(&ev);
        ev.session = id;
        ev.turn = 1;
        ev.kind = AR_EV_AGENT_COMPLETED;
        ev.recv_us = FX_T0_US + 5000;
        ev.server_ts_us = FX_WALL_US + 5000;
        ev.agent = ar_strdup("Supervisor");
        ev.run_id = ar_strdup("r-1");
        ev.thread_id = ar_strdup("th-0");
        ev.status = AR_ST_OK;
        ev.text = ar_strdup("Saved 40%");
        ev.tokens_in = 120;
        ev.tokens_out = 45;
        ev.cost_usd = 0.25;
        ev.raw = ar_strdup("{\"type\":\"agent_completed\",\"text\":\"Saved 40%\"}");
        ev.raw_len = ev.wire_len = strlen(ev.raw);
        assert_int_equal(ar_rec_add(fx->rec, &ev), AR_OK);
    }
    assert_int_equal(
        ar_checks_add(&s->turns[0].checks, "completed", true, "ended in %s", "agent_completed"),
        AR_OK);
    assert_int_equal(ar_checks_add(&s->turns[0].checks, "route", true, "route held"), AR_OK);
    s->outcome = AR_OUT_PASS;

    /* Session 1: turn 1 fails its route check; turns 2 and 3 never ran. */
    assert_int_equal(ar_rec_open(fx->rec, "s1", &id), AR_OK);
    s = &fx->run.sessions[1];
    s->scn = &fx->scn[1];
    s->rec_session = id;
    s->target = ar_strdup("ws://127.0.0.1:9000/ws?a=1&b=<2>");
    s->thread_id = ar_strdup("th-\"1\"");
    s->start_wall_us = FX_WALL_US + 2000000;
    s->start_us = FX_T0_US + 2000000;
    s->duration_us = 2000000;
    s->n_turns = 3;
    s->turns = fx_turns(3);
    s->turns[0].ran = true;
    s->turns[0].message = ar_strdup("route me <now> & \"fast\"");
    s->turns[0].start_us = FX_T0_US + 2000000;
    s->turns[0].end_us = FX_T0_US + 3500000;
    s->turns[0].first_event = 0;
    s->turns[0].n_events = FX_MAX_EVENTS;
    for (int i = 0; i < 13; i++) {
        char call[16];
        snprintf(call, sizeof(call), "c-%d", i);
        fx_add(fx, id, 1, i % 2 ? AR_EV_TOOL_COMPLETED : AR_EV_TOOL_EXECUTING,
               FX_T0_US + 2000000 + (int64_t)(i + 1) * 100000, "Data", "cost_db", call,
               i % 2 ? AR_ST_ERROR : AR_ST_NONE, i == 12 ? "boom <x> & \x02 \xc3\x28" : NULL);
    }
    {
        /* A binary frame: the transcript must base64 it. */
        ar_event ev;
        ar_event_init(&ev);
        ev.session = id;
        ev.turn = 1;
        ev.recv_us = FX_T0_US + 3400000;
        ev.raw = malloc(4);
        memcpy(ev.raw, "\x00\xff\x01", 4);
        ev.raw_len = 3;
        ev.wire_len = 3;
        ev.raw_binary = true;
        assert_int_equal(ar_rec_add(fx->rec, &ev), AR_OK);
    }
    {
        /* An oversized text frame that does not decode. */
        ar_event ev;
        ar_event_init(&ev);
        ev.session = id;
        ev.turn = 1;
        ev.kind = AR_EV_ERROR;
        ev.recv_us = FX_T0_US + 3450000;
        ev.decode_error = true;
        ev.text = ar_strdup("not JSON");
        ev.raw = malloc(FX_BIG_RAW_BYTES + 1);
        memset(ev.raw, 'x', FX_BIG_RAW_BYTES);
        ev.raw[0] = '\xff';
        ev.raw[FX_BIG_RAW_BYTES] = '\0';
        ev.raw_len = FX_BIG_RAW_BYTES;
        ev.wire_len = FX_BIG_RAW_BYTES;
        assert_int_equal(ar_rec_add(fx->rec, &ev), AR_OK);
    }
    fx_add(fx, id, 1, AR_EV_AGENT_COMPLETED, FX_T0_US + 3500000, "Supervisor", NULL, NULL, AR_ST_OK,
           "done");
    /* Past the cap: two dropped events. */
    fx_add(fx, id, 1, AR_EV_OTHER, FX_T0_US + 3600000, NULL, NULL, NULL, AR_ST_NONE, NULL);
    fx_add(fx, id, 1, AR_EV_OTHER, FX_T0_US + 3700000, NULL, NULL, NULL, AR_ST_NONE, NULL);
    assert_int_equal(ar_rec_count(fx->rec, id), FX_MAX_EVENTS);
    assert_int_equal(ar_rec_dropped(fx->rec, id), 2);
    assert_int_equal(ar_checks_add(&s->turns[0].checks, "completed", true, "ok"), AR_OK);
    assert_int_equal(ar_checks_add(&s->turns[0].checks, "route", false, "%s", FX_NASTY_MSG), AR_OK);
    s->outcome = AR_OUT_FAIL;

    /* Session 2: could not connect; one error event outside any turn. */
    assert_int_equal(ar_rec_open(fx->rec, "s2", &id), AR_OK);
    s = &fx->run.sessions[2];
    s->scn = &fx->scn[2];
    s->rec_session = id;
    s->target = ar_strdup("ws://127.0.0.1:1/ws");
    s->start_wall_us = FX_WALL_US + 4000000;
    s->start_us = FX_T0_US + 4000000;
    s->duration_us = 5000;
    s->n_turns = 1;
    s->turns = fx_turns(1);
    s->turns[0].message = ar_strdup("hello");
    fx_add(fx, id, 0, AR_EV_ERROR, FX_T0_US + 4004000, NULL, NULL, NULL, AR_ST_ERROR,
           "connect: Connection refused");
    s->outcome = AR_OUT_ERROR;
    s->error_code = AR_ECONNECT;
    s->error = ar_strdup("could not connect to ws://127.0.0.1:1/ws: Connection refused");
}

static inline void fx_free(fx_run *fx)
{
    char cmd[128];

    for (size_t i = 0; i < fx->run.n_sessions; i++)
        ar_session_result_clear(&fx->run.sessions[i]);
    free(fx->run.sessions);
    ar_rec_free(fx->rec);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* Returns the owned contents of a file, or fails the test. */
static inline char *fx_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* True when the whole buffer is valid UTF-8 with no C0 controls but tab/LF/CR. */
static inline bool fx_clean_utf8(const char *s, bool allow_controls)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = ar_text_utf8_next(u + i, len - i, &cp);
        if (cp == AR_TEXT_REPLACEMENT && n == 1) return false;
        if (!allow_controls && cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') return false;
        i += n;
    }
    return true;
}

static inline size_t fx_count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

#endif
