/*
 * refproc.h - the embedded default service: start refagent as a child
 * process on free loopback ports, wait until it says where it listens, stop
 * it afterwards. Like SQLite for a database: `agentrig run` with no target
 * needs nothing else running.
 */
#ifndef AR_REFPROC_H
#define AR_REFPROC_H

#include "ar.h"

typedef struct ar_refproc ar_refproc;

/*
 * Finds the refagent binary: $AGENTRIG_REFAGENT, else beside the agentrig
 * binary (bin/refagent) or in the build tree (../refagent/refagent).
 * Returns an owned path, or NULL when none exists.
 */
char *ar_refproc_find(void);

/*
 * Starts `binary --port 0 [extra_args...]`, its stderr appended to log_path
 * (NULL: discarded), and waits up to 10 s for the line that starts with
 * ready_prefix ("listening " for the WebSocket service, "deps " for
 * `--deps-only`); the rest of that line is the URL. On failure returns
 * AR_ECONNECT/AR_EIO with err saying why (including the exit status if it
 * died).
 */
ar_err ar_refproc_start(const char *binary, const char *const *extra_args, size_t n_extra,
                        const char *log_path, const char *ready_prefix, ar_refproc **out, char *err,
                        size_t err_len);

/* Borrowed: the URL from the ready line, e.g. "ws://127.0.0.1:PORT/ws". */
const char *ar_refproc_url(const ar_refproc *p);

/* SIGTERM, wait up to 3 s, then SIGKILL; frees p. NULL-safe. */
void ar_refproc_stop(ar_refproc *p);

#endif
