/*
 * depclient.c - libcurl client with one retry (see depclient.h).
 *
 * Errors are reduced to short, stable strings because they end up in
 * tool_completed events and in the final answer, where tests match them.
 */
#include "depclient.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ra_dc {
    CURL *curl;
    struct curl_slist *headers;
    long timeout_ms;
};

ra_dc *ra_dc_new(long timeout_ms)
{
    ra_dc *dc = calloc(1, sizeof(*dc));
    if (!dc) return NULL;
    dc->curl = curl_easy_init();
    dc->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (dc->headers) dc->headers = curl_slist_append(dc->headers, "Expect:");
    if (!dc->curl || !dc->headers) {
        ra_dc_free(dc);
        return NULL;
    }
    dc->timeout_ms = timeout_ms;
    return dc;
}

void ra_dc_free(ra_dc *dc)
{
    if (!dc) return;
    if (dc->curl) curl_easy_cleanup(dc->curl);
    curl_slist_free_all(dc->headers);
    free(dc);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    ra_sb *sb = userdata;
    size_t n = size * nmemb;
    /* Returning less than n makes curl fail with CURLE_WRITE_ERROR: the cap. */
    return ra_sb_append(sb, ptr, n) ? n : 0;
}

int ra_dc_post(ra_dc *dc, const char *url, const cJSON *body, cJSON **out, char *err,
               size_t err_len)
{
    return ra_dc_post_within(dc, url, body, dc->timeout_ms, out, err, err_len);
}

int ra_dc_post_within(ra_dc *dc, const char *url, const cJSON *body, long timeout_ms, cJSON **out,
                      char *err, size_t err_len)
{
    *out = NULL;
    char *payload = cJSON_PrintUnformatted(body);
    if (!payload) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    ra_sb reply;
    ra_sb_init(&reply, RA_DC_REPLY_MAX_BYTES);
    CURL *c = dc->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, dc->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    free(payload);
    int ret = -1;
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, err_len, "timeout after %ld ms", timeout_ms);
    } else if (rc == CURLE_WRITE_ERROR && reply.overflow) {
        snprintf(err, err_len, "reply too large");
    } else if (rc != CURLE_OK) {
        snprintf(err, err_len, "connection failed: %s", curl_easy_strerror(rc));
    } else if (status < 200 || status > 299) {
        snprintf(err, err_len, "HTTP %ld", status);
    } else {
        cJSON *j = cJSON_ParseWithLength(reply.ptr ? reply.ptr : "", reply.len);
        if (cJSON_IsObject(j)) {
            *out = j;
            ret = 0;
        } else {
            cJSON_Delete(j);
            snprintf(err, err_len, "invalid JSON reply");
        }
    }
    ra_sb_free(&reply);
    return ret;
}

int ra_dc_post_retry(ra_dc *dc, const char *url, const cJSON *body, cJSON **out, int *attempts,
                     char *err, size_t err_len)
{
    *attempts = 1;
    if (ra_dc_post(dc, url, body, out, err, err_len) == 0) return 0;
    *attempts = 2;
    if (ra_dc_post(dc, url, body, out, err, err_len) == 0) return 0;
    size_t n = strlen(err);
    snprintf(err + n, err_len > n ? err_len - n : 0, " after 2 attempts");
    return -1;
}
