/*
 * faultenv.h - the environment one fault-injection session runs in: its own
 * fault proxy in front of the dependencies and, for the embedded service,
 * its own refagent pointed at that proxy. Shared by `agentrig chaos` (one per
 * trial) and `agentrig run` (one per scenario that has faults), so a fault
 * scenario means the same thing in both modes.
 */
#ifndef AR_FAULTENV_H
#define AR_FAULTENV_H

#include "recorder.h"
#include "result.h"
#include "scenario.h"
#include "session.h"

typedef struct {
    ar_rec *rec;          /* where proxy hits are recorded (kind "fault") */
    const char *deps_url; /* the shared dependency server, for the embedded service */
    const char *refbin;   /* refagent binary, for the embedded service */
    const char *reflog;   /* refagent's stderr */
    const char *const
        *refagent_args; /* after chaos's defaults (--think-ms=0 --dep-timeout-ms=500) */
    size_t n_refagent_args;
    const char *target_override; /* --target */
    const struct ar_vars *vars;  /* --var, --env-file: for the proxy's upstream; may be NULL */
} ar_fenv_cfg;

typedef struct ar_fenv ar_fenv;

/*
 * Starts the proxy (if scn has dependency faults) and the embedded refagent
 * (if scn has no target), seeded with seed. On failure returns an error with
 * err saying why (everything started is stopped).
 */
ar_err ar_fenv_start(const ar_fenv_cfg *cfg, const ar_scenario *scn, uint64_t seed, ar_fenv **out,
                     char *err, size_t err_len);

/* Points a session at this environment: target and hooks. */
void ar_fenv_session(ar_fenv *env, ar_sess_cfg *sc);

/*
 * After the session: stops the proxy and refagent, then judges the session:
 * adds a failed "fault_fired" check when no fault fired (*fired false: the
 * trial is inconclusive) and the "fault_surfaced" checks of named faults, and
 * settles the outcome. *ttr_us: time from the first fault to the turn that
 * recovered, -1 if none.
 */
void ar_fenv_finish(ar_fenv *env, const ar_scenario *scn, ar_session_result *res, bool *fired,
                    int64_t *ttr_us);

void ar_fenv_free(ar_fenv *env); /* NULL-safe; stops what still runs */

/* Seed for trial `trial` of scenario `scenario` under run seed `seed`. */
uint64_t ar_fenv_seed(uint64_t seed, size_t scenario, long trial);

#endif
