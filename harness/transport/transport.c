/*
 * transport.c - the transport-neutral entry points: each connection carries
 * its transport's ops (loop_int.h), so sessions drive WebSocket and SSE the
 * same way.
 */
#include "loop_int.h"

ar_err ar_conn_send(ar_conn *c, const char *data, size_t len)
{
    return c->ops->send(c, data, len, false);
}

ar_err ar_conn_send_frame(ar_conn *c, const char *data, size_t len, bool binary)
{
    return c->ops->send(c, data, len, binary);
}

void ar_conn_pause(ar_conn *c, bool paused)
{
    if (c && c->ops->pause) c->ops->pause(c, paused);
}

void ar_conn_close(ar_conn *c)
{
    if (c) c->ops->close(c);
}

bool ar_conn_sse_meta(const ar_conn *c, const char **event, const char **id)
{
    *event = *id = NULL;
    return c && c->ops->meta && c->ops->meta(c, event, id);
}
