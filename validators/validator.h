/*
 * validator.h - per-turn checks over the canonical events.
 *
 * One file per validator; each is a pure function of the turn's expectation
 * and what the turn observed, appending one check per rule to `out`. None of
 * them touches sockets, clocks or the recorder, which is what makes them
 * unit-testable with hand-built events. Failure messages always say what was
 * expected and what was observed.
 */
#ifndef AR_VALIDATOR_H
#define AR_VALIDATOR_H

#include "event.h"
#include "result.h"
#include "scenario.h"
#include "template.h"

typedef struct {
    const ar_event *const *events; /* this turn's events, in arrival order */
    size_t n_events;
    const ar_event *terminal;           /* the terminal event, or NULL if none came */
    int64_t start_us;                   /* monotonic: when the turn's message was sent */
    int64_t end_us;                     /* monotonic: terminal event, or the deadline */
    const char *response;               /* the final response text, or NULL */
    const ar_vars *vars;                /* captured values so far (may be NULL) */
    const ar_event *const *prev_events; /* every event of the earlier turns */
    size_t n_prev_events;
    /* Events recorded after this turn that carry one of its run ids (a late
     * event of a finished run): they belong to this turn, whenever they came. */
    const ar_event *const *late_events;
    size_t n_late_events;
} ar_turn_obs;

void ar_val_events(const ar_expect_events *e, const ar_turn_obs *o, ar_checks *out);
void ar_val_route(const ar_expect_route *e, const ar_turn_obs *o, ar_checks *out);
void ar_val_tools(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out);
/* tools.args and tools.args_absent (called by ar_val_tools). */
void ar_val_tool_args(const ar_expect_tools *e, const ar_turn_obs *o, ar_checks *out);
void ar_val_response(const ar_expect_regex *rs, size_t n, const ar_turn_obs *o, ar_checks *out);
void ar_val_json(const ar_expect_json *js, size_t n, const ar_turn_obs *o, ar_checks *out);
void ar_val_latency(const ar_expect_latency *e, const ar_turn_obs *o, ar_checks *out);
void ar_val_context(const ar_expect_context *e, const ar_turn_obs *o, ar_checks *out);

/* Runs every validator whose expectation is present, in the order above. */
void ar_val_turn(const ar_expect *e, const ar_turn_obs *o, ar_checks *out);

#endif
