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
#include "recorder.h"
#include "scenario.h"

typedef struct {
    char *name; /* "route", "events.order", "response.matches", ... */
    bool passed;
    /* One line that starts with the check's name, so it stands alone in any
     * report: "route (subsequence): expected [...], observed [...]".
     * passed: what held; failed: expected vs observed. */
    char *message;
} ar_check;

typedef struct {
    ar_check *items;
    size_t n;
    size_t cap;
} ar_checks;

void ar_checks_init(ar_checks *c);
void ar_checks_free(ar_checks *c); /* NULL-safe */
/* Appends a check; name is copied, the message is formatted. */
ar_err ar_checks_add(ar_checks *c, const char *name, bool passed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
size_t ar_checks_failed(const ar_checks *c);

typedef struct {
    uint32_t index;     /* 1-based */
    bool ran;           /* false: not driven because an earlier turn broke the session */
    char *message;      /* the message as sent (after ${} expansion); owned */
    int64_t start_us;   /* monotonic, when the message was sent */
    int64_t end_us;     /* monotonic, terminal event or deadline or failure */
    size_t first_event; /* recorder index of this turn's first event */
    size_t n_events;    /* events recorded during this turn */
    ar_checks checks;
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
