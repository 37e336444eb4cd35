/*
 * pool.h - a fixed pool of worker threads that run turns.
 *
 * Turns block (HTTP calls, think-time sleeps), the WebSocket loop must not:
 * the loop hands each turn to this pool. Each worker owns a context made by
 * ctx_new (refagent uses it for the worker's own HTTP client).
 */
#ifndef RA_POOL_H
#define RA_POOL_H

#include <stddef.h>

typedef struct ra_pool ra_pool;

typedef void *(*ra_pool_ctx_new_fn)(void *user);
typedef void (*ra_pool_ctx_free_fn)(void *ctx);
/* A job: runs on a worker with that worker's ctx; owns arg. */
typedef void (*ra_pool_job_fn)(void *worker_ctx, void *arg);

/*
 * Starts n_workers threads; ctx_new/ctx_free may be NULL (ctx is then NULL).
 * Returns an owned pool, or NULL when a thread or a context could not be made.
 */
ra_pool *ra_pool_new(size_t n_workers, ra_pool_ctx_new_fn ctx_new, ra_pool_ctx_free_fn ctx_free,
                     void *user);
/* Queues a job (fn takes ownership of arg once this returns 0). -1 after shutdown began. */
int ra_pool_submit(ra_pool *p, ra_pool_job_fn fn, void *arg);
/* Jobs queued or running right now. */
size_t ra_pool_pending(ra_pool *p);
/* Runs every queued job to completion, joins the workers and frees p. NULL-safe. */
void ra_pool_free(ra_pool *p);

#endif
