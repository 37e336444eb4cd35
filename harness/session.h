/*
 * session.h - drives one scenario through one persistent connection, turn by
 * turn, recording every frame. It does not judge: the mode calls
 * ar_judge_session (validators/judge.h) on the result afterwards.
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
    /* Called before each turn's message is sent (turn is 1-based), e.g. to
     * tell a fault proxy which turn runs. May be NULL. */
    void (*on_turn)(void *hook_user, uint32_t turn);
    void *hook_user;
    /* Called once the session's recorder session is open, before connecting,
     * so a runner can route its own events (fault proxy hits) into it. */
    void (*on_session)(void *hook_user, uint32_t rec_session);
    /* Variables given on the command line (--var, --env-file), copied into
     * the session's variables at its start: they win over the environment,
     * captures and the built-ins win over them. Borrowed; may be NULL. */
    const struct ar_vars *vars;
} ar_sess_cfg;

/*
 * Runs scn on loop (owned by the calling thread). index makes the generated
 * thread id unique within the run. Fills *out (which the caller clears with
 * ar_session_result_clear). Never fails as a function: every problem ends up
 * in out (AR_OUT_ERROR with error_code, or failed checks). The turns it
 * marks for judging still need ar_judge_session before out is final.
 */
void ar_sess_run(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn, uint32_t index,
                 ar_session_result *out);

#endif
