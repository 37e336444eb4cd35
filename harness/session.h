/*
 * session.h - drives one scenario through one persistent connection, turn by
 * turn, recording every frame and judging each turn with the validators.
 */
#ifndef AR_SESSION_H
#define AR_SESSION_H

#include <stdatomic.h>

#include "recorder.h"
#include "result.h"
#include "scenario.h"
#include "transport.h"

typedef struct {
    ar_rec *rec;                 /* shared recorder (borrowed) */
    const char *target_override; /* --target: wins over the scenario's target */
    const char *default_target;  /* the embedded refagent's URL, for scenarios with none */
    /* Set by SIGINT: end the session at once. Atomic, not volatile
     * sig_atomic_t, because worker threads read it while a signal handler on
     * another thread writes it. */
    const atomic_int *stop;
} ar_sess_cfg;

/*
 * Runs scn on loop (owned by the calling thread). index makes the generated
 * thread id unique within the run. Fills *out (which the caller clears with
 * ar_session_result_clear). Never fails as a function: every problem ends up
 * in out (AR_OUT_ERROR with error_code, or failed checks).
 */
void ar_sess_run(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn, uint32_t index,
                 ar_session_result *out);

#endif
