/*
 * result.c - the run result model: checks, turns, sessions, totals.
 */
#include "result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ar_outcome_name(ar_outcome o)
{
    switch (o) {
    case AR_OUT_PASS:
        return "pass";
    case AR_OUT_FAIL:
        return "fail";
    default:
        return "error";
    }
}

void ar_session_result_settle(ar_session_result *s)
{
    if (s->outcome == AR_OUT_ERROR) return;
    s->outcome = AR_OUT_PASS;
    for (size_t t = 0; t < s->n_turns; t++)
        if (ar_checks_failed(&s->turns[t].checks)) s->outcome = AR_OUT_FAIL;
}

void ar_session_result_clear(ar_session_result *s)
{
    if (!s) return;
    for (size_t t = 0; t < s->n_turns; t++) {
        free(s->turns[t].message);
        ar_checks_free(&s->turns[t].checks);
        ar_checks_free(&s->turns[t].post_checks);
        free(s->turns[t].response);
        ar_vars_free(s->turns[t].vars);
    }
    free(s->turns);
    free(s->target);
    free(s->thread_id);
    free(s->error);
    free(s->transcript_path);
    memset(s, 0, sizeof *s);
}

ar_run_totals ar_run_result_totals(const ar_run_result *r)
{
    ar_run_totals t = {0};
    for (size_t i = 0; i < r->n_sessions; i++) {
        const ar_session_result *s = &r->sessions[i];
        t.sessions++;
        if (s->outcome == AR_OUT_PASS)
            t.passed++;
        else if (s->outcome == AR_OUT_FAIL)
            t.failed++;
        else
            t.errored++;
        for (size_t k = 0; k < s->n_turns; k++) {
            t.checks += s->turns[k].checks.n;
            t.checks_failed += ar_checks_failed(&s->turns[k].checks);
        }
    }
    return t;
}
