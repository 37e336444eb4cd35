/*
 * progress.h - live progress of `run` and `chaos` on stderr: one result line
 * as each session or trial ends, so a long run is not silent; on a TTY also a
 * status line, "[12/40] 2 failed 3.1s", redrawn in place (and every 200 ms,
 * so the clock moves while a slow session runs). stdout stays the final
 * summary's alone, so `agentrig run > summary.txt` is unchanged.
 */
#ifndef AR_PROGRESS_H
#define AR_PROGRESS_H

#include "ar.h"

typedef struct ar_progress ar_progress;

/* total: the sessions or trials to come. quiet: print nothing at all.
 * Returns owned (NULL on OOM, which every function below accepts). */
ar_progress *ar_progress_new(size_t total, bool quiet);
/* One session or trial ended: prints its line (secrets masked) and redraws
 * the status. Thread-safe: workers call it as they finish. */
void ar_progress_done(ar_progress *p, bool failed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Stops the clock and clears the status line. NULL-safe. */
void ar_progress_free(ar_progress *p);

#endif
