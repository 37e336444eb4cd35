/*
 * arrival.h - the open-model arrival scheduler: when session i should start.
 *
 * Why intended start times: in an open model, arrivals do not wait for the
 * service. If the harness measured latency from when it actually managed to
 * start a session, a stalled service would slow the harness down and hide
 * its own stall (coordinated omission). Runners ask this scheduler when
 * arrival i was *due* and measure from then (wrk2's correction).
 *
 * Semantics follow k6's ramping-arrival-rate executor: the rate starts at
 * start_rate and each stage ramps linearly from the previous rate to its
 * target over its duration (a zero-duration stage jumps; a stage at rate 0
 * is a pause). Arrival i is due at the time t_i where the integral of the
 * rate from 0 reaches i, so t_0 = 0 and a constant rate r gives t_i = i / r;
 * arrivals stop at the end of the last stage (t_i < total duration).
 */
#ifndef AR_ARRIVAL_H
#define AR_ARRIVAL_H

#include "ar.h"

#define AR_ARR_MAX_STAGES 64

typedef struct {
    int64_t duration_us; /* >= 0 */
    double target_per_s; /* rate reached at the end of the stage, >= 0 */
} ar_arr_stage;

/* Plain state, no heap: ar_arr_init fills it, ar_arr_next advances it. */
typedef struct {
    ar_arr_stage stages[AR_ARR_MAX_STAGES];
    size_t n_stages;
    double start_per_s;
    int64_t total_us;
    double total_arrivals; /* the integral of the rate over the whole run */
    /* Cursor: next arrival, and the stage that holds it. */
    uint64_t next_i;
    size_t stage;
    int64_t stage_start_us;
    double stage_start_rate;
    double arrivals_before_stage;
} ar_arr;

/*
 * Copies n stages (borrowed) and start_rate_per_s into *out. Returns AR_OK,
 * or AR_EINVAL with a message in err: no stages, too many (max 64), a
 * negative or non-finite rate, a negative duration, a total over 10 years.
 */
ar_err ar_arr_init(const ar_arr_stage *stages, size_t n, double start_rate_per_s, ar_arr *out,
                   char *err, size_t err_len);

/*
 * Gives the intended start of the next arrival, in us from the start of the
 * run, and advances. Returns false once the schedule is over (the next
 * arrival would be at or after the end of the last stage).
 */
bool ar_arr_next(ar_arr *a, int64_t *t_us);

/* Number of arrivals the whole schedule produces (what ar_arr_next returns true for). */
uint64_t ar_arr_total(const ar_arr *a);
/* Total duration of the stages, us. */
int64_t ar_arr_duration_us(const ar_arr *a);
/* The scheduled rate (per second) at t_us from the start; 0 outside [0, duration]. */
double ar_arr_rate_at(const ar_arr *a, int64_t t_us);

#endif
