/*
 * sse.h - an incremental Server-Sent-Events parser (WHATWG "event stream
 * interpretation"), fed whatever bytes the network hands over.
 *
 * Why incremental: an agent's answer is one long response whose events must
 * reach the session as they arrive, and a read may end anywhere - inside a
 * field name, between the CR and LF of a line ending, inside a UTF-8
 * sequence. Why capped: the stream comes from the service under test, so an
 * event larger than max_event_bytes is reported and dropped, never buffered.
 *
 * Where we differ from a browser: a line whose field name is not data, event,
 * id or retry is ignored by the spec, but is reported here (on_garbage), since
 * a service that writes such lines is broken and the test must say so.
 */
#ifndef AR_SSE_H
#define AR_SSE_H

#include "ar.h"

typedef struct ar_sse_parser ar_sse_parser;

/* At most this many first bytes of an oversize event are handed to on_oversize. */
#define AR_SSE_PREVIEW_BYTES 4096u

typedef struct {
    /*
     * One dispatched event. type: the `event:` field, NULL when none was given
     * (the spec's "message"); data: the data lines joined with '\n',
     * NUL-terminated, data_len excludes the NUL; id: the last event ID at
     * dispatch, NULL when none. All borrowed for the call.
     */
    void (*on_event)(void *user, const char *type, const char *data, size_t data_len,
                     const char *id);
    /* A line that is no field (unknown field name): the raw line without its
     * line ending, borrowed. May be NULL. */
    void (*on_garbage)(void *user, const char *line, size_t len);
    /*
     * An event (accumulated data plus the current line) or a single line went
     * over max_event_bytes. Called once per such event; first holds its first
     * bytes (at most AR_SSE_PREVIEW_BYTES, borrowed), total_so_far the bytes
     * counted when the cap was crossed. The rest of the event, up to the next
     * blank line, is discarded. May be NULL.
     */
    void (*on_oversize)(void *user, const char *first, size_t len, size_t total_so_far);
} ar_sse_cb;

/*
 * Returns an owned parser (free with ar_sse_free), or NULL when out of
 * memory. max_event_bytes 0 means AR_FRAME_MAX_BYTES. cb and user are
 * borrowed for the parser's life; callbacks run inside ar_sse_feed.
 */
ar_sse_parser *ar_sse_new(size_t max_event_bytes, const ar_sse_cb *cb, void *user);
/* NULL-safe. */
void ar_sse_free(ar_sse_parser *p);

/* Parses len bytes (borrowed), split anywhere, calling back for what they
 * complete. Memory stays below about twice max_event_bytes whatever comes.
 * A callback must not free or reset p. */
void ar_sse_feed(ar_sse_parser *p, const char *bytes, size_t len);

/*
 * The stream ended. Per the spec an event without its closing blank line is
 * discarded, not dispatched; returns how many bytes were discarded that way
 * (its data so far, then an unfinished field line, raw; 0 for a clean end)
 * and points *pending at them (borrowed until the next call on p; may be
 * NULL when not wanted). The parser is then ready for a new stream.
 */
size_t ar_sse_finish(ar_sse_parser *p, const char **pending);

/*
 * Forgets a half-read stream (after a dropped connection), so the next feed
 * starts a new one. keep_last_id: true for a reconnect (the spec keeps the
 * last event ID across them), false for an unrelated new request.
 */
void ar_sse_reset(ar_sse_parser *p, bool keep_last_id);

/* The last event ID seen (borrowed, "" when none): what a reconnect sends as
 * Last-Event-ID. */
const char *ar_sse_last_event_id(const ar_sse_parser *p);

/* The reconnection time from the last valid `retry:` field in ms, -1 when
 * none was seen. */
int64_t ar_sse_retry_ms(const ar_sse_parser *p);

#endif
