/*
 * deps.h - refagent's dependency server: the model and tools endpoints its
 * agents call over HTTP, on a second loopback port.
 *
 * They are served over real HTTP (not function calls) so that a fault proxy
 * can be put between the agents and their dependencies (--model-url,
 * --tools-url). A small HTTP/1.1 server on its own thread: one poll loop,
 * keep-alive, Content-Length bodies, caps on header and body size.
 */
#ifndef RA_DEPS_H
#define RA_DEPS_H

#include "util.h"

#include <stddef.h>

#define RA_DEPS_HEADER_MAX_BYTES (16u * 1024u)
#define RA_DEPS_BODY_MAX_BYTES (1024u * 1024u)
#define RA_DEPS_MAX_CONNS 512

typedef struct ra_deps ra_deps;

/*
 * Binds 127.0.0.1:port (0 = any free port) and starts the server thread.
 * GET /stats reports *stats (borrowed, must outlive the server; NULL: zeros).
 * Returns an owned server, or NULL with a reason in err.
 */
ra_deps *ra_deps_start(int port, const ra_stats *stats, char *err, size_t err_len);
/* The port actually bound. */
int ra_deps_port(const ra_deps *d);
/* Stops the thread, closes every connection and frees d. NULL-safe. */
void ra_deps_stop(ra_deps *d);

#endif
