/*
 * judge.c - runs a recorded session's validators, turn by turn.
 *
 * Judging after the session, rather than inside the transport callback's
 * loop, keeps the session a pure driver and recorder and lets a check see
 * everything the turn recorded, whenever it arrived.
 */
#include "judge.h"

#include <stdlib.h>

#include "agui.h"
#include "profile.h"
#include "validator.h"

static void judge_turn(const ar_rec *rec, const ar_session_result *s, ar_turn_result *tr)
{
    const ar_scenario *scn = s->scn;
    const ar_turn *t = &scn->turns[tr->index - 1];
    size_t n = tr->n_events;
    const ar_event **evs = calloc(n ? n : 1, sizeof *evs);
    const ar_event **prev = calloc(tr->first_event ? tr->first_event : 1, sizeof *prev);
    if (!evs || !prev) {
        ar_checks_add(&tr->checks, "harness", false, "harness: out of memory while validating");
        free(evs);
        free(prev);
        return;
    }
    for (size_t i = 0; i < n; i++)
        evs[i] = ar_rec_get(rec, s->rec_session, tr->first_event + i);
    for (size_t i = 0; i < tr->first_event; i++)
        prev[i] = ar_rec_get(rec, s->rec_session, i);
    ar_turn_obs obs = {
        .events = evs,
        .n_events = n,
        .terminal = ar_rec_get(rec, s->rec_session, tr->terminal_index),
        .start_us = tr->start_us,
        .end_us = tr->end_us,
        .response = tr->response,
        .vars = tr->vars,
        .prev_events = prev,
        .n_prev_events = tr->first_event,
    };
    ar_val_turn(&t->expect, &obs, &tr->checks);
    if (scn->profile && scn->profile->agui_invariants) ar_val_agui(&obs, &tr->checks);
    free(evs);
    free(prev);
}

/* Moves the session's post checks (captures) after the validators' own. */
static void append_post(ar_turn_result *tr)
{
    for (size_t i = 0; i < tr->post_checks.n; i++) {
        const ar_check *c = &tr->post_checks.items[i];
        ar_checks_add(&tr->checks, c->name, c->passed, "%s", c->message);
    }
    ar_checks_free(&tr->post_checks);
}

void ar_judge_session(const ar_rec *rec, ar_session_result *s)
{
    if (!s || !s->scn) return;
    for (size_t k = 0; k < s->n_turns; k++) {
        ar_turn_result *tr = &s->turns[k];
        if (tr->judge) judge_turn(rec, s, tr);
        tr->judge = false; /* judged once */
        append_post(tr);
    }
    ar_session_result_settle(s);
}
