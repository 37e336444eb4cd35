/*
 * link.h - how an agent reaches its model and its tools: over HTTP (the
 * default, so a fault proxy can sit in between) or inline (--deps inline:
 * the same model.c / tools.c code called in-process, so that in a benchmark
 * refagent spends its time on WebSocket traffic, not on HTTP to itself).
 *
 * Both kinds fail the same way (short reasons such as "HTTP 404"), so the
 * agents cannot tell them apart. One link per worker thread: not thread-safe.
 */
#ifndef RA_LINK_H
#define RA_LINK_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct ra_link ra_link;

/*
 * An HTTP link: POST {model_url}/v1/complete and {tools_url}/tools/<name>
 * (both borrowed, copied; no trailing slash). Returns owned, or NULL.
 */
ra_link *ra_link_new_http(const char *model_url, const char *tools_url);
/* An inline link: no sockets at all. Returns owned, or NULL. */
ra_link *ra_link_new_inline(void);
/* NULL-safe. */
void ra_link_free(ra_link *l);

/*
 * One model completion (req borrowed). Returns 0 and an owned reply in *out,
 * or -1 with a reason in err ("HTTP 400", "timeout after 900 ms", ...).
 * timeout_ms bounds the call (HTTP only; inline answers at once).
 */
int ra_link_model(ra_link *l, const cJSON *req, long timeout_ms, cJSON **out, char *err,
                  size_t err_len);
/* One tool call, one attempt (args borrowed); like ra_link_model. Unknown tool: "HTTP 404". */
int ra_link_tool(ra_link *l, const char *tool, const cJSON *args, long timeout_ms, cJSON **out,
                 char *err, size_t err_len);

#endif
