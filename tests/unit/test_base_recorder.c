/*
 * Recorder tests, including the stress case from issue 2: 8 threads x
 * 100,000 events, none lost or reordered within a session, with a reader
 * thread walking the sessions meanwhile. Built under ThreadSanitizer by the
 * `tsan` CI job (AR_SANITIZE=thread), where it is the test that matters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"

#define THREADS 8
#define PER_THREAD 100000

typedef struct {
    ar_rec *rec;
    uint32_t own;    /* this thread's session */
    uint32_t shared; /* one session all threads write to */
    uint32_t id;
    int failures;
} worker;

static atomic_int writers_done;

static void *write_events(void *arg)
{
    worker *w = arg;
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        ar_event ev;
        ar_event_init(&ev);
        ev.kind = (ar_ev_kind)(i % AR_EV__COUNT);
        ev.session = (i % 4 == 3) ? w->shared : w->own;
        ev.turn = w->id;
        ev.server_ts_us = i; /* the writer's own counter, to check order */
        ev.agent = strdup("Data");
        if (ar_rec_add(w->rec, &ev) != AR_OK) w->failures++;
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* Reads while writers write, so TSan sees readers and writers race if the
 * locking is wrong. */
static void *read_events(void *arg)
{
    ar_rec *rec = arg;
    uint64_t sink = 0;
    while (atomic_load(&writers_done) < THREADS) {
        size_t n = ar_rec_sessions(rec);
        for (uint32_t s = 0; s < n; s++) {
            size_t c = ar_rec_count(rec, s);
            if (c) {
                const ar_event *ev = ar_rec_get(rec, s, c - 1);
                sink += ev ? ev->seq : 0;
            }
        }
    }
    return (void *)(uintptr_t)(sink & 1);
}

static void stress_8_threads_nothing_lost_or_reordered(void **state)
{
    (void)state;
    ar_rec *rec = ar_rec_new(0);
    assert_non_null(rec);
    uint32_t shared;
    assert_int_equal(ar_rec_open(rec, "shared", &shared), AR_OK);
    worker w[THREADS];
    pthread_t th[THREADS], reader;
    atomic_store(&writers_done, 0);
    for (uint32_t t = 0; t < THREADS; t++) {
        char name[32];
        snprintf(name, sizeof name, "worker-%u", t);
        w[t] = (worker){.rec = rec, .shared = shared, .id = t};
        assert_int_equal(ar_rec_open(rec, name, &w[t].own), AR_OK);
    }
    pthread_create(&reader, NULL, read_events, rec);
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, write_events, &w[t]);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_join(reader, NULL);

    size_t per_own = PER_THREAD - PER_THREAD / 4;
    size_t total = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(w[t].failures, 0);
        assert_int_equal(ar_rec_count(rec, w[t].own), per_own);
        int64_t last = -1;
        for (size_t i = 0; i < per_own; i++) {
            const ar_event *ev = ar_rec_get(rec, w[t].own, i);
            assert_non_null(ev);
            assert_int_equal(ev->seq, i);
            assert_int_equal(ev->turn, (uint32_t)t);
            assert_true(ev->server_ts_us > last); /* the writer's order is kept */
            last = ev->server_ts_us;
            assert_string_equal(ev->agent, "Data");
        }
        total += per_own;
    }
    /* The shared session interleaves threads; each thread's own order must hold. */
    size_t n_shared = ar_rec_count(rec, shared);
    assert_int_equal(n_shared, (size_t)THREADS * (PER_THREAD / 4));
    int64_t last_by[THREADS];
    for (int t = 0; t < THREADS; t++)
        last_by[t] = -1;
    for (size_t i = 0; i < n_shared; i++) {
        const ar_event *ev = ar_rec_get(rec, shared, i);
        assert_int_equal(ev->seq, i);
        assert_true(ev->server_ts_us > last_by[ev->turn]);
        last_by[ev->turn] = ev->server_ts_us;
    }
    total += n_shared;
    assert_int_equal(total, (size_t)THREADS * PER_THREAD);
    for (uint32_t s = 0; s < ar_rec_sessions(rec); s++)
        assert_int_equal(ar_rec_dropped(rec, s), 0);
    ar_rec_free(rec);
}

static void cap_counts_dropped_events_and_says_so(void **state)
{
    (void)state;
    ar_rec *rec = ar_rec_new(3);
    uint32_t s;
    assert_int_equal(ar_rec_open(rec, "small", &s), AR_OK);
    for (int i = 0; i < 5; i++) {
        ar_event ev;
        ar_event_init(&ev);
        ev.session = s;
        ev.text = strdup("payload");
        ar_err rc = ar_rec_add(rec, &ev);
        assert_int_equal(rc, i < 3 ? AR_OK : AR_ETOOBIG);
        assert_null(ev.text);                                   /* ownership was taken either way */
        if (rc == AR_OK) assert_int_equal(ev.seq, (uint64_t)i); /* and where it went is known */
    }
    assert_int_equal(ar_rec_count(rec, s), 3);
    assert_int_equal(ar_rec_dropped(rec, s), 2);
    ar_rec_free(rec);
}

static void unknown_session_is_an_error_and_pointers_stay_valid(void **state)
{
    (void)state;
    ar_rec *rec = ar_rec_new(0);
    ar_event ev;
    ar_event_init(&ev);
    ev.session = 7;
    ev.agent = strdup("x");
    assert_int_equal(ar_rec_add(rec, &ev), AR_EINVAL);
    assert_null(ar_rec_get(rec, 7, 0));
    assert_int_equal(ar_rec_count(rec, 7), 0);
    assert_null(ar_rec_name(rec, 7));

    uint32_t s;
    assert_int_equal(ar_rec_open(rec, "grow", &s), AR_OK);
    assert_string_equal(ar_rec_name(rec, s), "grow");
    ar_event_init(&ev);
    ev.session = s;
    ev.agent = strdup("first");
    assert_int_equal(ar_rec_add(rec, &ev), AR_OK);
    const ar_event *first = ar_rec_get(rec, s, 0);
    /* Grow across many chunks: the first pointer must stay valid. */
    for (int i = 0; i < 5000; i++) {
        ar_event_init(&ev);
        ev.session = s;
        assert_int_equal(ar_rec_add(rec, &ev), AR_OK);
    }
    assert_ptr_equal(first, ar_rec_get(rec, s, 0));
    assert_string_equal(first->agent, "first");
    assert_null(ar_rec_get(rec, s, 5001));
    ar_rec_free(rec);
    ar_rec_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stress_8_threads_nothing_lost_or_reordered),
        cmocka_unit_test(cap_counts_dropped_events_and_says_so),
        cmocka_unit_test(unknown_session_is_an_error_and_pointers_stay_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
