/*
 * judge.c - runs a recorded session's validators, turn by turn.
 *
 * Judging after the session, rather than inside the transport callback's
 * loop, keeps the session a pure driver and recorder and lets a check see
 * everything the session recorded, whenever it arrived. In particular an
 * event that carries a finished turn's run id belongs to that turn even when
 * it arrives during the next one: it is taken out of the later turn's events
 * and fails the earlier turn's events.nothing_after_terminal.
 */
#include "judge.h"

#include <stdlib.h>
#include <string.h>

#include "agui.h"
#include "profile.h"
#include "valfmt.h"
#include "validator.h"

/* Run ids tracked per session; past this a hostile stream of distinct ids
 * stops being attributed (each turn keeps its own events). A hash table, so
 * a flood of a million events costs a million lookups, not a million scans. */
#define RUN_IDS_MAX 4096
#define RUN_SLOTS (2 * RUN_IDS_MAX) /* a power of two, at most half full */

typedef struct {
    const char *id[RUN_SLOTS]; /* borrowed from the recorder's events; NULL: empty */
    uint32_t turn[RUN_SLOTS];  /* 1-based: the first turn that carried it */
    size_t n;
} run_owners;

static size_t slot_of(const run_owners *ro, const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)id; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    size_t i = (size_t)h & (RUN_SLOTS - 1);
    while (ro->id[i] && strcmp(ro->id[i], id))
        i = (i + 1) & (RUN_SLOTS - 1);
    return i;
}

static uint32_t owner_of(const run_owners *ro, const char *id)
{
    size_t i = slot_of(ro, id);
    return ro->id[i] ? ro->turn[i] : 0;
}

/* Which turn each run id first appeared in. */
static void map_runs(const ar_rec *rec, const ar_session_result *s, run_owners *ro)
{
    for (size_t k = 0; k < s->n_turns; k++) {
        const ar_turn_result *tr = &s->turns[k];
        for (size_t i = 0; i < tr->n_events; i++) {
            const ar_event *ev = ar_rec_get(rec, s->rec_session, tr->first_event + i);
            if (!ev || !ev->run_id || ev->kind == AR_EV_FAULT) continue;
            size_t slot = slot_of(ro, ev->run_id);
            if (ro->id[slot]) continue;
            if (ro->n == RUN_IDS_MAX) return;
            ro->id[slot] = ev->run_id;
            ro->turn[slot] = tr->index;
            ro->n++;
        }
    }
}

/* The turn an event belongs to: its run's turn, else the turn it came in. */
static uint32_t belongs(const run_owners *ro, const ar_event *ev, uint32_t came_in)
{
    uint32_t t = ev->run_id ? owner_of(ro, ev->run_id) : 0;
    return t ? t : came_in;
}

typedef struct {
    const ar_event **evs, **late;
    size_t n_evs, n_late;
} turn_events;

/* Splits the session's events into turn tr's own and its late ones. */
static bool gather(const ar_rec *rec, const ar_session_result *s, const run_owners *ro,
                   const ar_turn_result *tr, turn_events *te)
{
    size_t total = ar_rec_count(rec, s->rec_session);
    te->evs = calloc(tr->n_events + 1, sizeof *te->evs);
    te->late = calloc(total + 1, sizeof *te->late);
    te->n_evs = te->n_late = 0;
    if (!te->evs || !te->late) return false;
    for (size_t k = 0; k < s->n_turns; k++) {
        const ar_turn_result *other = &s->turns[k];
        for (size_t i = 0; i < other->n_events; i++) {
            const ar_event *ev = ar_rec_get(rec, s->rec_session, other->first_event + i);
            if (!ev) continue;
            uint32_t b = belongs(ro, ev, other->index);
            if (other == tr && b == tr->index)
                te->evs[te->n_evs++] = ev;
            else if (other->index > tr->index && b == tr->index)
                te->late[te->n_late++] = ev;
        }
    }
    return true;
}

/*
 * completed (and outcome): how the turn ended. The session saw the terminal
 * event; whether that ending is the expected one is a judgement.
 */
static void judge_ending(const ar_turn *t, const ar_turn_result *tr, const ar_event *term,
                         ar_checks *out)
{
    const ar_client_fault *cf = &t->client_fault;
    const ar_expect_outcome *oc = &t->expect.outcome;
    char took[32];
    ar_fmt_duration(tr->end_us - tr->start_us, took, sizeof took);
    const char *text = term->text ? term->text : "(no message)";
    bool is_error = term->kind == AR_EV_ERROR;
    bool bad_frame = cf->kind == AR_CF_SEND_RAW || cf->kind == AR_CF_SEND_BINARY ||
                     cf->kind == AR_CF_SEND_OVERSIZED || cf->kind == AR_CF_SEND_UNKNOWN_TYPE;
    if (is_error && bad_frame)
        ar_checks_add(out, "completed", true,
                      "completed: the service answered the %s with an error event after %s: %s",
                      ar_cf_kind_name(cf->kind), took, text);
    else if (is_error && oc->expect_error)
        ar_checks_add(out, "completed", true, "completed: error event after %s (%zu events): %s",
                      took, tr->n_events, text);
    else if (is_error)
        ar_checks_add(out, "completed", false,
                      "completed: the turn ended with an error event after %s: %s", took, text);
    else
        ar_checks_add(out, "completed", true, "completed: agent_completed after %s (%zu events)",
                      took, tr->n_events);
    if (!oc->expect_error) return;
    bool failed = is_error || term->status == AR_ST_ERROR;
    if (!failed) {
        ar_checks_add(out, "outcome", false,
                      "outcome: expected the turn to end in an error, it ended in %s (status %s) "
                      "after %s",
                      ar_ev_kind_name(term->kind),
                      term->status == AR_ST_NONE ? "unknown" : ar_ev_status_name(term->status),
                      took);
        return;
    }
    if (!oc->compiled) {
        ar_checks_add(out, "outcome", true, "outcome: ended in %s after %s: %s",
                      is_error ? "an error event" : "a failed completion", took, text);
        return;
    }
    size_t ms, me;
    char err[128];
    int rc = term->text ? ar_vf_regex_match(oc->compiled, term->text, strlen(term->text), &ms,
                                            &me, err, sizeof err)
                        : 0;
    if (rc > 0)
        ar_checks_add(out, "outcome", true, "outcome: ended in an error matching /%s/: %s",
                      oc->message, text);
    else
        ar_checks_add(out, "outcome", false,
                      "outcome: expected the error message to match /%s/, observed %s%s%s",
                      oc->message, term->text ? "\"" : "", term->text ? term->text : "no message",
                      term->text ? "\"" : "");
}

static void judge_turn(const ar_rec *rec, const ar_session_result *s, const run_owners *ro,
                       ar_turn_result *tr)
{
    const ar_scenario *scn = s->scn;
    const ar_turn *t = &scn->turns[tr->index - 1];
    turn_events te;
    const ar_event **prev = calloc(tr->first_event ? tr->first_event : 1, sizeof *prev);
    if (!gather(rec, s, ro, tr, &te) || !prev) {
        ar_checks_add(&tr->checks, "harness", false, "harness: out of memory while validating");
        free(te.evs);
        free(te.late);
        free(prev);
        return;
    }
    for (size_t i = 0; i < tr->first_event; i++)
        prev[i] = ar_rec_get(rec, s->rec_session, i);
    const ar_event *term = ar_rec_get(rec, s->rec_session, tr->terminal_index);
    judge_ending(t, tr, term, &tr->checks);
    ar_turn_obs obs = {
        .events = te.evs,
        .n_events = te.n_evs,
        .terminal = term,
        .start_us = tr->start_us,
        .end_us = tr->end_us,
        .response = tr->response,
        .vars = tr->vars,
        .prev_events = prev,
        .n_prev_events = tr->first_event,
        .late_events = te.late,
        .n_late_events = te.n_late,
    };
    ar_val_turn(&t->expect, &obs, &tr->checks);
    if (scn->profile && scn->profile->agui_invariants) ar_val_agui(&obs, &tr->checks);
    free(te.evs);
    free(te.late);
    free(prev);
}

/* Moves the session's post checks (captures) after the validators' own. */
static void append_post(ar_turn_result *tr)
{
    for (size_t i = 0; i < tr->post_checks.n; i++)
        ar_checks_append(&tr->checks, &tr->post_checks.items[i]);
    ar_checks_free(&tr->post_checks);
}

void ar_judge_session(const ar_rec *rec, ar_session_result *s)
{
    if (!s || !s->scn) return;
    run_owners *ro = calloc(1, sizeof *ro);
    if (ro) map_runs(rec, s, ro);
    for (size_t k = 0; k < s->n_turns; k++) {
        ar_turn_result *tr = &s->turns[k];
        if (tr->judge && ro) judge_turn(rec, s, ro, tr);
        if (tr->judge && !ro)
            ar_checks_add(&tr->checks, "harness", false, "harness: out of memory while judging");
        tr->judge = false; /* judged once */
        append_post(tr);
    }
    free(ro);
    ar_session_result_settle(s);
}
