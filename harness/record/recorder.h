/*
 * recorder.h - the one structure shared between worker threads: it keeps
 * every event of every session, in arrival order, with a per-session sequence.
 *
 * Sessions are appended to by one worker each, but reports and the runner read
 * them from other threads, and several workers open sessions at once, so every
 * entry point is thread-safe. Events are stored in fixed-size chunks so a
 * pointer returned by ar_rec_get stays valid until ar_rec_free, even while
 * the session keeps growing.
 *
 * Nothing is dropped silently: past the per-session cap an event is counted
 * in ar_rec_dropped() and ar_rec_add returns AR_ETOOBIG.
 */
#ifndef AR_RECORDER_H
#define AR_RECORDER_H

#include "event.h"

typedef struct ar_rec ar_rec;

/* max_events_per_session: 0 means the default (1,000,000). Returns NULL on OOM. */
ar_rec *ar_rec_new(size_t max_events_per_session);
/* NULL-safe. Frees every event. */
void ar_rec_free(ar_rec *rec);

/* Opens a session; name is copied. Returns its id (0, 1, ...) via *out. */
ar_err ar_rec_open(ar_rec *rec, const char *name, uint32_t *out);

/*
 * Appends an event to its session (ev->session). Takes ownership of ev's
 * strings on success AND on failure (ev is left initialised either way).
 * Assigns ev->seq (0-based, per session; it is also the event's index for
 * ar_rec_get) and leaves it in *ev on success, so the caller knows where its
 * event went even when other threads record into the same session (the
 * fault proxy does). Returns AR_EINVAL for an unknown
 * session, AR_ETOOBIG when the session is full (the event is counted as dropped).
 */
ar_err ar_rec_add(ar_rec *rec, ar_event *ev);

size_t ar_rec_sessions(const ar_rec *rec);
/* Events recorded in a session (0 for an unknown one). */
size_t ar_rec_count(const ar_rec *rec, uint32_t session);
/* Borrowed; valid until ar_rec_free. NULL when out of range. */
const ar_event *ar_rec_get(const ar_rec *rec, uint32_t session, size_t index);
/* Borrowed session name. */
const char *ar_rec_name(const ar_rec *rec, uint32_t session);
/* Events refused in a session because it was full. */
uint64_t ar_rec_dropped(const ar_rec *rec, uint32_t session);

#endif
