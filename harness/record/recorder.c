/*
 * recorder.c - the thread-safe event store shared by all worker threads.
 *
 * Layout: a table of sessions (guarded by a read-write lock: it only grows,
 * and lookups vastly outnumber opens), and per session a list of fixed-size
 * chunks of events (guarded by the session's own mutex). Chunks never move,
 * so pointers handed out by ar_rec_get stay valid; only the small array of
 * chunk pointers is reallocated. Two workers recording into two sessions
 * contend only on the read side of the table lock.
 */
#include "recorder.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_EVENTS 256
#define DEFAULT_MAX_EVENTS 1000000

typedef struct {
    pthread_mutex_t mu;
    char *name;
    ar_event **chunks;
    size_t n_chunks;
    size_t cap_chunks;
    size_t count;
    uint64_t dropped;
} rec_session;

struct ar_rec {
    pthread_rwlock_t lock;
    rec_session **sessions;
    size_t n;
    size_t cap;
    size_t max_events;
};

ar_rec *ar_rec_new(size_t max_events_per_session)
{
    ar_rec *rec = calloc(1, sizeof *rec);
    if (!rec) return NULL;
    pthread_rwlock_init(&rec->lock, NULL);
    rec->max_events = max_events_per_session ? max_events_per_session : DEFAULT_MAX_EVENTS;
    return rec;
}

static void session_free(rec_session *s)
{
    for (size_t c = 0; c < s->n_chunks; c++) {
        size_t in_chunk = s->count - c * CHUNK_EVENTS;
        if (in_chunk > CHUNK_EVENTS) in_chunk = CHUNK_EVENTS;
        for (size_t i = 0; i < in_chunk; i++)
            ar_event_clear(&s->chunks[c][i]);
        free(s->chunks[c]);
    }
    free(s->chunks);
    free(s->name);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void ar_rec_free(ar_rec *rec)
{
    if (!rec) return;
    for (size_t i = 0; i < rec->n; i++)
        session_free(rec->sessions[i]);
    free(rec->sessions);
    pthread_rwlock_destroy(&rec->lock);
    free(rec);
}

ar_err ar_rec_open(ar_rec *rec, const char *name, uint32_t *out)
{
    rec_session *s = calloc(1, sizeof *s);
    if (!s) return AR_ENOMEM;
    s->name = strdup(name ? name : "");
    if (!s->name) {
        free(s);
        return AR_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    ar_err rc = AR_OK;
    pthread_rwlock_wrlock(&rec->lock);
    if (rec->n == UINT32_MAX) {
        rc = AR_ETOOBIG;
    } else if (rec->n == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 16;
        rec_session **p = realloc(rec->sessions, cap * sizeof *p);
        if (!p)
            rc = AR_ENOMEM;
        else {
            rec->sessions = p;
            rec->cap = cap;
        }
    }
    if (rc == AR_OK) {
        *out = (uint32_t)rec->n;
        rec->sessions[rec->n++] = s;
    }
    pthread_rwlock_unlock(&rec->lock);
    if (rc) session_free(s);
    return rc;
}

static rec_session *lookup(const ar_rec *rec, uint32_t session)
{
    ar_rec *r = (ar_rec *)rec; /* the lock is not part of the logical state */
    rec_session *s = NULL;
    pthread_rwlock_rdlock(&r->lock);
    if (session < r->n) s = r->sessions[session];
    pthread_rwlock_unlock(&r->lock);
    return s;
}

ar_err ar_rec_add(ar_rec *rec, ar_event *ev)
{
    rec_session *s = lookup(rec, ev->session);
    if (!s) {
        ar_event_clear(ev);
        return AR_EINVAL;
    }
    ar_err rc = AR_OK;
    pthread_mutex_lock(&s->mu);
    if (s->count >= rec->max_events) {
        s->dropped++;
        rc = AR_ETOOBIG;
        goto out;
    }
    size_t c = s->count / CHUNK_EVENTS;
    if (c == s->n_chunks) {
        if (s->n_chunks == s->cap_chunks) {
            size_t cap = s->cap_chunks ? s->cap_chunks * 2 : 4;
            ar_event **p = realloc(s->chunks, cap * sizeof *p);
            if (!p) {
                s->dropped++;
                rc = AR_ENOMEM;
                goto out;
            }
            s->chunks = p;
            s->cap_chunks = cap;
        }
        s->chunks[c] = malloc(CHUNK_EVENTS * sizeof(ar_event));
        if (!s->chunks[c]) {
            s->dropped++;
            rc = AR_ENOMEM;
            goto out;
        }
        s->n_chunks++;
    }
    ev->seq = s->count;
    s->chunks[c][s->count % CHUNK_EVENTS] = *ev; /* takes the strings */
    uint64_t seq = ev->seq;
    ar_event_init(ev);
    ev->seq = seq; /* the caller learns where its event went */
    s->count++;
out:
    pthread_mutex_unlock(&s->mu);
    if (rc) ar_event_clear(ev);
    return rc;
}

size_t ar_rec_sessions(const ar_rec *rec)
{
    ar_rec *r = (ar_rec *)rec;
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->n;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t ar_rec_count(const ar_rec *rec, uint32_t session)
{
    rec_session *s = lookup(rec, session);
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    size_t n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

const ar_event *ar_rec_get(const ar_rec *rec, uint32_t session, size_t index)
{
    rec_session *s = lookup(rec, session);
    if (!s) return NULL;
    const ar_event *ev = NULL;
    pthread_mutex_lock(&s->mu);
    if (index < s->count) ev = &s->chunks[index / CHUNK_EVENTS][index % CHUNK_EVENTS];
    pthread_mutex_unlock(&s->mu);
    return ev;
}

const char *ar_rec_name(const ar_rec *rec, uint32_t session)
{
    rec_session *s = lookup(rec, session);
    return s ? s->name : NULL;
}

uint64_t ar_rec_dropped(const ar_rec *rec, uint32_t session)
{
    rec_session *s = lookup(rec, session);
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t d = s->dropped;
    pthread_mutex_unlock(&s->mu);
    return d;
}
