/*
 * loop_int.h - internal to the transports (ws.c, sse_conn.c, transport.c):
 * what an event loop and a connection are made of. Nothing above the
 * transports includes this; they see transport.h only.
 */
#ifndef AR_LOOP_INT_H
#define AR_LOOP_INT_H

#include <libwebsockets.h>

#include "transport.h"

/* Every connection starts with this, so transport.c can dispatch. */
typedef struct {
    ar_err (*send)(ar_conn *c, const char *data, size_t len, bool binary);
    void (*pause)(ar_conn *c, bool paused);
    void (*close)(ar_conn *c);
    /* SSE: the event being delivered (ar_conn_sse_meta); NULL for WebSocket. */
    bool (*meta)(const ar_conn *c, const char **event, const char **id);
} ar_conn_ops;

struct ar_conn {
    const ar_conn_ops *ops;
};

typedef struct ws_conn ws_conn;

struct ar_loop {
    struct lws_context *ctx; /* the WebSocket side (ws.c) */
    bool tls;
    char **headers; /* name, value, name, value ... for the next connections */
    size_t n_headers;
    char *subprotocols; /* for the next connections, or NULL */
    int ping_every_s;   /* for the next connections; 0: none */
    lws_sorted_usec_list_t wake;
    ws_conn *conns;
    void *sse; /* the SSE side (sse_conn.c): its curl multi handle and transfers; NULL until used */
};

/* The SSE side of a loop (sse_conn.c). */
bool ar_sse_loop_active(const ar_loop *l);              /* any SSE connection open (even idle)? */
void ar_sse_loop_step(ar_loop *l, int64_t max_wait_us); /* like ar_loop_step, for SSE */
void ar_sse_loop_free(ar_loop *l);                      /* NULL-safe on l->sse */

#endif
