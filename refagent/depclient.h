/*
 * depclient.h - the agents' HTTP client for their model and tools.
 *
 * One client per worker thread (its own CURL easy handle, so connections are
 * kept alive between calls and never shared across threads).
 */
#ifndef RA_DEPCLIENT_H
#define RA_DEPCLIENT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define RA_DC_REPLY_MAX_BYTES (1024u * 1024u)

typedef struct ra_dc ra_dc;

/* Returns an owned client whose calls time out after timeout_ms, or NULL. */
ra_dc *ra_dc_new(long timeout_ms);
/* NULL-safe. */
void ra_dc_free(ra_dc *dc);

/*
 * POSTs body (borrowed) as JSON to url. On success returns 0 and an owned
 * JSON object in *out. On failure returns -1 and a short reason in err:
 * "HTTP 503", "timeout after 5000 ms", "connection failed: ...",
 * "invalid JSON reply", "reply too large".
 */
int ra_dc_post(ra_dc *dc, const char *url, const cJSON *body, cJSON **out, char *err,
               size_t err_len);

/* Like ra_dc_post with this call's own timeout (a turn deadline may shorten it). */
int ra_dc_post_within(ra_dc *dc, const char *url, const cJSON *body, long timeout_ms, cJSON **out,
                      char *err, size_t err_len);

/*
 * Like ra_dc_post, retried once on any failure. *attempts receives the
 * number of tries made (1 or 2); on final failure err says
 * "<reason> after 2 attempts".
 */
int ra_dc_post_retry(ra_dc *dc, const char *url, const cJSON *body, cJSON **out, int *attempts,
                     char *err, size_t err_len);

#endif
