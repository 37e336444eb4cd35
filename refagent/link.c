/*
 * link.c - the two ways to reach the dependencies (see link.h).
 *
 * The inline kind mirrors deps.c's answers status for status (400 for a
 * malformed model request, 404 for an unknown tool, 500 when memory ran
 * out), which is what keeps --deps inline a faithful stand-in for HTTP.
 */
#include "link.h"
#include "depclient.h"
#include "model.h"
#include "tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ra_link {
    ra_dc *dc; /* NULL: inline */
    char *model_url;
    char *tools_url;
};

ra_link *ra_link_new_http(const char *model_url, const char *tools_url)
{
    ra_link *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    /* The per-call timeout is always given, so the client's default is never used. */
    l->dc = ra_dc_new(5000);
    l->model_url = strdup(model_url);
    l->tools_url = strdup(tools_url);
    if (!l->dc || !l->model_url || !l->tools_url) {
        ra_link_free(l);
        return NULL;
    }
    return l;
}

ra_link *ra_link_new_inline(void)
{
    return calloc(1, sizeof(ra_link));
}

void ra_link_free(ra_link *l)
{
    if (!l) return;
    ra_dc_free(l->dc);
    free(l->model_url);
    free(l->tools_url);
    free(l);
}

int ra_link_model(ra_link *l, const cJSON *req, long timeout_ms, cJSON **out, char *err,
                  size_t err_len)
{
    *out = NULL;
    if (l->dc) {
        char url[1024];
        snprintf(url, sizeof(url), "%s/v1/complete", l->model_url);
        return ra_dc_post_within(l->dc, url, req, timeout_ms, out, err, err_len);
    }
    char why[160] = "";
    *out = ra_model_complete(req, why, sizeof(why));
    if (*out) return 0;
    snprintf(err, err_len, "HTTP %d", why[0] ? 400 : 500);
    return -1;
}

int ra_link_tool(ra_link *l, const char *tool, const cJSON *args, long timeout_ms, cJSON **out,
                 char *err, size_t err_len)
{
    *out = NULL;
    if (l->dc) {
        char url[1024];
        snprintf(url, sizeof(url), "%s/tools/%s", l->tools_url, tool);
        return ra_dc_post_within(l->dc, url, args, timeout_ms, out, err, err_len);
    }
    if (!ra_tools_exists(tool)) {
        snprintf(err, err_len, "HTTP 404");
        return -1;
    }
    *out = ra_tools_call(tool, args);
    if (*out) return 0;
    snprintf(err, err_len, "HTTP 500");
    return -1;
}
