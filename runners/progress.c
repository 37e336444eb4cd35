/*
 * progress.c - live progress on stderr (progress.h).
 */
#include "progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define TICK_NS (200 * 1000 * 1000L)

struct ar_progress {
    pthread_mutex_t mu; /* one writer at a time: lines never interleave */
    pthread_cond_t cv;
    pthread_t ticker;
    bool ticking, stopping, tty;
    size_t total, done, failed;
    int64_t t0_us;
};

/* Caller holds mu. */
static void draw_status(ar_progress *p)
{
    double el = (double)(ar_now_us() - p->t0_us) / 1e6;
    fprintf(stderr, "\r\033[K[%zu/%zu] %zu failed %.1fs", p->done, p->total, p->failed, el);
    fflush(stderr);
}

static void *ticker_main(void *arg)
{
    ar_progress *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (!p->stopping) draw_status(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ar_progress *ar_progress_new(size_t total, bool quiet)
{
    if (quiet) return NULL;
    ar_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->total = total;
    p->t0_us = ar_now_us();
    /* TERM=dumb (an editor's shell, some CI consoles) is a TTY that cannot
     * move the cursor: plain lines there too. */
    const char *term = getenv("TERM");
    p->tty = isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));
    if (p->tty) {
        pthread_mutex_lock(&p->mu);
        draw_status(p);
        pthread_mutex_unlock(&p->mu);
        p->ticking = pthread_create(&p->ticker, NULL, ticker_main, p) == 0;
    }
    return p;
}

void ar_progress_done(ar_progress *p, bool failed, const char *fmt, ...)
{
    if (!p) return;
    va_list ap;
    va_start(ap, fmt);
    ar_buf b;
    ar_buf_init(&b, 64 * 1024);
    ar_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    size_t len = b.len;
    char *raw = ar_buf_take(&b);
    char *line = raw ? ar_report_mask(raw, len, NULL) : NULL;
    free(raw);
    pthread_mutex_lock(&p->mu);
    p->done++;
    if (failed) p->failed++;
    if (p->tty) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s\n", line ? line : "(out of memory)");
    if (p->tty)
        draw_status(p);
    else
        fflush(stderr);
    pthread_mutex_unlock(&p->mu);
    free(line);
}

void ar_progress_free(ar_progress *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->ticking) pthread_join(p->ticker, NULL);
    if (p->tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
