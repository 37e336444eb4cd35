/*
 * result.h - what a run found: checks per turn, turns per session, sessions
 * per run. Runners fill it in; validators append checks; reports read it.
 *
 * Every turn that ran has at least one check ("completed": did the turn end in
 * a terminal event before its deadline?), so a report never shows a turn that
 * was driven but asserted nothing.
 */
#ifndef AR_RESULT_H
#define AR_RESULT_H

#include "ar.h"
#include "checks.h"
#include "recorder.h"
#include "scenario.h"
#include "template.h"


typedef struct {
    uint32_t index;     /* 1-based */
    bool ran;           /* false: not driven because an earlier turn broke the session */
    char *message;      /* the message as sent (after ${} expansion); owned */
    int64_t start_us;   /* monotonic, when the message was sent */
    int64_t end_us;     /* monotonic, terminal event or deadline or failure */
    size_t first_event; /* recorder index of this turn's first event */
    size_t n_events;    /* events recorded during this turn */
    ar_checks checks;
    /* What the judge (validators/judge.c) needs, left by the session: the
     * session drives and records, the judge runs the turn's validators
     * afterwards over what was recorded. */
    bool judge;            /* the turn ended in its terminal event: validate it */
    size_t terminal_index; /* recorder index of that terminal event */
    char *response;        /* the turn's answer (deltas or the terminal's text); owned, may be NULL */
    ar_vars *vars;         /* ${} values as the turn's checks must see them; owned */
    /* Checks the session made after the point where the validators belong
     * (captures); the judge appends them after the validators' own. */
    ar_checks post_checks;
} ar_turn_result;

typedef enum {
    AR_OUT_PASS = 0, /* every check passed */
    AR_OUT_FAIL,     /* a check failed */
    AR_OUT_ERROR     /* the session could not be driven (unreachable, harness failure) */
} ar_outcome;
const char *ar_outcome_name(ar_outcome o); /* "pass", "fail", "error" */

typedef struct {
    const ar_scenario *scn; /* borrowed */
    uint32_t rec_session;   /* id in the run's recorder */
    char *target;           /* URL actually used; owned */
    char *thread_id;        /* owned */
    ar_outcome outcome;
    ar_err error_code; /* for AR_OUT_ERROR */
    char *error;       /* for AR_OUT_ERROR: what and why, with the URL; owned */
    int64_t start_wall_us;
    int64_t start_us; /* monotonic */
    int64_t duration_us;
    ar_turn_result *turns; /* one per scenario turn */
    size_t n_turns;
    char *transcript_path; /* set by the transcript writer; owned */
} ar_session_result;

typedef struct {
    const char *mode; /* "run" */
    ar_session_result *sessions;
    size_t n_sessions;
    const ar_rec *rec; /* borrowed */
    int64_t start_wall_us;
    int64_t duration_us;
    bool interrupted;
} ar_run_result;

/* Sets outcome from the turns' checks (keeps AR_OUT_ERROR if already set). */
void ar_session_result_settle(ar_session_result *s);
void ar_session_result_clear(ar_session_result *s); /* NULL-safe */
/* Counts over the run. */
typedef struct {
    size_t sessions, passed, failed, errored;
    size_t checks, checks_failed;
} ar_run_totals;
ar_run_totals ar_run_result_totals(const ar_run_result *r);

#endif
