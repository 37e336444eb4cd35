/*
 * server.h - refagent's WebSocket front end (libwebsockets, path /ws).
 *
 * The lws service loop never blocks: each user_message becomes a job on the
 * worker pool, the job's events go into a per-connection queue, and the loop
 * writes one frame per WRITEABLE callback.
 */
#ifndef RA_SERVER_H
#define RA_SERVER_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RA_WS_FRAME_MAX_BYTES (1024u * 1024u)
#define RA_WS_QUEUE_MAX_FRAMES 4096u
#define RA_WS_QUEUE_MAX_BYTES (16u * 1024u * 1024u)

typedef struct {
    int port;              /* 0 = any free port */
    bool deps_inline;      /* model and tools in-process; the URLs are then unused */
    const char *model_url; /* base URLs, no trailing slash */
    const char *tools_url;
    int think_ms;
    int thinking_deltas; /* 0 = one agent_thinking with the text */
    size_t workers;
    long dep_timeout_ms;
    long turn_deadline_ms; /* 0 = none */
    size_t max_threads;    /* conversation memory cap */
    ra_stats *stats;       /* borrowed live counters; NULL: the server keeps its own */
} ra_srv_opts;

typedef struct ra_srv ra_srv;

/* Creates the listener, the worker pool and the memory. Returns owned, or NULL with err. */
ra_srv *ra_srv_new(const ra_srv_opts *opts, char *err, size_t err_len);
/* The WebSocket port actually bound. */
int ra_srv_port(const ra_srv *s);
/* Services connections until ra_srv_stop is called. */
void ra_srv_run(ra_srv *s);
/* Async-signal-safe: asks ra_srv_run to return. */
void ra_srv_stop(ra_srv *s);
/* Total event frames written to clients (also in opts.stats). */
uint64_t ra_srv_events_sent(const ra_srv *s);
/* Finishes in-flight turns, closes everything, frees s. NULL-safe. */
void ra_srv_free(ra_srv *s);

#endif
