/*
 * pool.c - worker threads over one mutex-protected FIFO (see pool.h).
 *
 * A single queue is enough: jobs are whole turns (milliseconds to seconds),
 * so contention on the queue lock is negligible next to the work.
 */
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct job {
    ra_pool_job_fn fn;
    void *arg;
    struct job *next;
} job;

struct ra_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    size_t pending;
    bool stopping;
    size_t n_workers; /* threads started */
    size_t n_slots;   /* contexts allocated */
    pthread_t *threads;
    void **ctxs;
    ra_pool_ctx_free_fn ctx_free;
};

typedef struct {
    ra_pool *p;
    size_t index;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    ra_pool *p = wa.p;
    void *ctx = p->ctxs[wa.index];
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        job *j = p->head;
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(ctx, j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
        p->pending--;
        pthread_mutex_unlock(&p->mu);
    }
}

ra_pool *ra_pool_new(size_t n_workers, ra_pool_ctx_new_fn ctx_new, ra_pool_ctx_free_fn ctx_free,
                     void *user)
{
    if (n_workers == 0) return NULL;
    ra_pool *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->ctx_free = ctx_free;
    p->threads = calloc(n_workers, sizeof(*p->threads));
    p->ctxs = calloc(n_workers, sizeof(*p->ctxs));
    if (!p->threads || !p->ctxs) goto fail;
    p->n_slots = n_workers;
    for (size_t i = 0; i < n_workers; i++) {
        if (ctx_new && !(p->ctxs[i] = ctx_new(user))) goto fail;
        worker_arg *wa = malloc(sizeof(*wa));
        if (!wa) goto fail;
        *wa = (worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            goto fail;
        }
        p->n_workers++;
    }
    return p;
fail:
    ra_pool_free(p);
    return NULL;
}

int ra_pool_submit(ra_pool *p, ra_pool_job_fn fn, void *arg)
{
    job *j = malloc(sizeof(*j));
    if (!j) return -1;
    *j = (job){fn, arg, NULL};
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(j);
        return -1;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->pending++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

size_t ra_pool_pending(ra_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->pending;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void ra_pool_free(ra_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_workers; i++)
        pthread_join(p->threads[i], NULL);
    if (p->ctxs) {
        for (size_t i = 0; i < p->n_slots && p->ctx_free; i++) {
            if (p->ctxs[i]) p->ctx_free(p->ctxs[i]);
        }
    }
    free(p->ctxs);
    free(p->threads);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
