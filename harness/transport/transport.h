/*
 * transport.h - the seam between the orchestration code and the wire.
 *
 * A loop is one thread's event loop (for WebSocket: one lws context; lws is
 * built with LWS_MAX_SMP=1, so contexts are never shared between threads).
 * A connection delivers whole frames to callbacks on the loop's thread.
 * Session and runner code include only this header: never libwebsockets.h
 * or curl.h.
 */
#ifndef AR_TRANSPORT_H
#define AR_TRANSPORT_H

#include "ar.h"

typedef struct ar_loop ar_loop;
typedef struct ar_conn ar_conn;

typedef struct {
    /* The handshake completed. */
    void (*on_open)(void *user);
    /*
     * One whole frame. data is borrowed for the call. A frame over the cap
     * arrives once, truncated to the cap, with truncated set and wire_len the
     * full size, so the caller can record it and fail honestly.
     */
    void (*on_frame)(void *user, const char *data, size_t len, bool binary, bool truncated,
                     size_t wire_len);
    /*
     * The connection is gone: could not connect (AR_ECONNECT, detail says
     * why), or closed by the peer (AR_ECLOSED, detail has the close code and
     * reason; close_code is the WebSocket close code, 0 when the peer sent no
     * close frame). Called at most once, and never after ar_conn_close.
     */
    void (*on_close)(void *user, ar_err why, int close_code, const char *detail);
    /*
     * SSE only (WebSocket never calls it; may be NULL): one response stream,
     * the answer to one ar_conn_send, ended. why is AR_OK when the server
     * ended it normally; AR_EPROTO for an HTTP status >= 400 or a wrong
     * Content-Type before the stream (detail has the status and the start of
     * the body); AR_ECLOSED when it dropped mid-stream (after the reconnect,
     * if allowed, failed too); AR_ECONNECT when it could not connect.
     */
    void (*on_stream_end)(void *user, int http_status, ar_err why, const char *detail);
    /*
     * Input that is not a frame: an SSE line that is no field, an event over
     * the size cap (raw is then its first bytes). raw is kept by the caller
     * for the transcript; why says what was wrong. May be NULL.
     */
    void (*on_bad_input)(void *user, const char *raw, size_t len, const char *why);
} ar_conn_cb;

/*
 * Returns NULL and writes err on failure. tls: able to open wss:// (loads the
 * system CA store into OpenSSL, which costs time and memory per loop, so
 * loops are made without it unless some target needs it).
 */
ar_loop *ar_loop_new(bool tls, char *err, size_t err_len);
/* Closes every connection without calling back, frees everything. NULL-safe. */
void ar_loop_free(ar_loop *loop);
/* Services the loop once: returns when something happened or after at most
 * max_wait_us. */
void ar_loop_step(ar_loop *loop, int64_t max_wait_us);

/*
 * Starts a WebSocket connection to url (ws:// or wss://). cb and user are
 * borrowed until on_close or ar_conn_close. Returns NULL with err set for a
 * URL that cannot be used; connection failures arrive through on_close.
 */
ar_conn *ar_ws_connect(ar_loop *loop, const char *url, const ar_conn_cb *cb, void *user, char *err,
                       size_t err_len);

/*
 * An SSE "connection" to url (http:// or https://): every ar_conn_send sends
 * the data as an HTTP request body (opts->method, default POST, with
 * opts->headers and `Accept: text/event-stream`) and reads the response as a
 * Server-Sent-Events stream, incrementally, on the loop's thread: the data of
 * each event (multi-line data joined with '\n') arrives through on_frame.
 * on_open is called before this returns. One request at a time per
 * connection. Returns NULL with err set for a URL it cannot use.
 */
typedef struct {
    const char *method;         /* default "POST" */
    const char *const *headers; /* n_headers (name, value) pairs, copied */
    size_t n_headers;
    size_t max_event_bytes;     /* default AR_FRAME_MAX_BYTES (1 MiB) */
    bool reconnect;             /* a dropped stream is retried once with Last-Event-ID */
    int64_t connect_timeout_us; /* default 10 s */
} ar_sse_opts;

ar_conn *ar_sse_open(ar_loop *loop, const char *url, const ar_sse_opts *opts, const ar_conn_cb *cb,
                     void *user, char *err, size_t err_len);

/* Extra handshake headers for the next ar_ws_connect on this thread's loop:
 * n pairs of (name, value), copied. Used for header fault directives and
 * profile headers. */
ar_err ar_loop_set_headers(ar_loop *loop, const char *const *pairs, size_t n);

/* Keepalive for the next ar_ws_connect on this loop: send a ping after
 * every_us without traffic (whole seconds, at least 1), and give up on the
 * connection when 3 intervals pass with no answer. 0: only answer pings. */
void ar_loop_set_ping(ar_loop *loop, int64_t every_us);

/* WebSocket subprotocols to request on the next ar_ws_connect on this loop
 * (comma-separated, e.g. "jwt.abc"), copied; NULL: none. */
ar_err ar_loop_set_subprotocols(ar_loop *loop, const char *list);

/* Queues a text frame (copied). AR_ECLOSED when the connection is gone,
 * AR_ETOOBIG when the send queue is full. */
ar_err ar_conn_send(ar_conn *c, const char *data, size_t len);
/* Same, binary or text. */
ar_err ar_conn_send_frame(ar_conn *c, const char *data, size_t len, bool binary);

/*
 * SSE only: called from inside on_frame, the delivered event's `event:`
 * field (NULL when it had none, the spec's "message") and the stream's last
 * event ID (NULL when none), both borrowed until on_frame returns. Returns
 * false, with both NULL, on a WebSocket connection, outside on_frame, or for
 * c NULL. A query rather than an extra member of ar_conn_cb, so callers that
 * initialise ar_conn_cb positionally need no change.
 */
bool ar_conn_sse_meta(const ar_conn *c, const char **event, const char **id);

/* Stops (true) or resumes (false) reading from the socket: a slow reader.
 * The service's frames wait in the kernel buffers meanwhile. */
void ar_conn_pause(ar_conn *c, bool paused);

/*
 * Closes (normal closure) and detaches the callbacks; the transport frees c
 * once the socket is gone. Must be called exactly once per connection, also
 * after on_close (that is what releases it). NULL-safe.
 */
void ar_conn_close(ar_conn *c);

/* Splits ws://host:port/path. Returns false for anything else. Outputs are
 * owned by the caller. */
bool ar_url_split(const char *url, bool *tls, char **host, int *port, char **path);

#endif
