/* placeholder until the SSE transport lands: no SSE transfers ever run. */
#include "loop_int.h"

#include <stdio.h>

bool ar_sse_loop_active(const ar_loop *l)
{
    return l->sse != NULL;
}

void ar_sse_loop_step(ar_loop *l, int64_t max_wait_us)
{
    (void)l;
    (void)max_wait_us;
}

void ar_sse_loop_free(ar_loop *l)
{
    (void)l;
}

ar_conn *ar_sse_open(ar_loop *loop, const char *url, const ar_sse_opts *opts,
                     const ar_conn_cb *cb, void *user, char *err, size_t err_len)
{
    (void)loop;
    (void)opts;
    (void)cb;
    (void)user;
    snprintf(err, err_len, "'%s': the SSE transport is not built in this version", url);
    return NULL;
}
