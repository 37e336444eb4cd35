/*
 * httpstep.c - the model of an `http:` step: init and clear, the load-time
 * check (ar_http_step_check) and names, plus the message helpers and regex
 * compilation that loading and running both use.
 *
 * Why apart from httpstep_run.c: the scenario loader needs to build and
 * check steps without sending anything; executing them (libcurl, asserts,
 * captures) lives in httpstep_run.c.
 */
#include "httpstep_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *ar_http_from_name(ar_http_from from)
{
    switch (from) {
    case AR_HTTP_FROM_JSON:
        return "json";
    case AR_HTTP_FROM_REGEX:
        return "regex";
    case AR_HTTP_FROM_HEADER:
        return "header";
    }
    return "?";
}

void ar_http_step_init(ar_http_step *step)
{
    memset(step, 0, sizeof *step);
}

void ar_http_step_clear(ar_http_step *step)
{
    if (!step) return;
    free(step->name);
    free(step->method);
    free(step->url_tpl);
    for (size_t i = 0; i < step->n_headers; i++) {
        free(step->headers[i].name);
        free(step->headers[i].value_tpl);
    }
    free(step->headers);
    cJSON_Delete(step->body_json);
    free(step->body_tpl);
    for (size_t i = 0; i < step->n_captures; i++) {
        free(step->captures[i].name);
        free(step->captures[i].expr);
    }
    free(step->captures);
    free(step->status);
    for (size_t i = 0; i < step->n_json_asserts; i++) {
        free(step->json_asserts[i].pointer);
        cJSON_Delete(step->json_asserts[i].eq);
    }
    free(step->json_asserts);
    for (size_t i = 0; i < step->n_regex_asserts; i++)
        free(step->regex_asserts[i].pattern_tpl);
    free(step->regex_asserts);
    ar_http_step_init(step);
}

void ar_http_result_init(ar_http_result *r)
{
    memset(r, 0, sizeof *r);
    ar_checks_init(&r->checks);
}

void ar_http_result_clear(ar_http_result *r)
{
    if (!r) return;
    free(r->method);
    free(r->url);
    free(r->body);
    ar_checks_free(&r->checks);
    ar_http_result_init(r);
}

/* Writes s into out (out_len > 4) as one line: control bytes become spaces;
 * longer than max bytes is cut on a UTF-8 boundary and ends with "...". */
void ar_http_excerpt(char *out, size_t out_len, const char *s, size_t len, size_t max)
{
    if (max > out_len - 4) max = out_len - 4;
    size_t n = len;
    bool cut = n > max;
    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20u || c == 0x7Fu) ? ' ' : (char)c;
    }
    strcpy(out + n, cut ? "..." : "");
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!is_tchar(*s)) return false;
    return true;
}

/* Syntax of an RFC 6901 pointer: "" or "/..." with '~' only before 0 or 1. */
static bool pointer_ok(const char *p)
{
    if (!p) return false;
    if (*p && *p != '/') return false;
    for (; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1') return false;
    return true;
}

/*
 * Compiles pattern, or returns NULL with the reason in err ("cannot compile
 * /x(/ at offset 2: ..."). Bytes that are not UTF-8 in a body then simply do
 * not match, instead of failing the whole match.
 */
pcre2_code *ar_http_regex_compile(const char *pattern, char *err, size_t err_len)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR why[256];
        pcre2_get_error_message(code, why, sizeof why);
        char pat[PATTERN_QUOTE_BYTES + 4];
        ar_http_excerpt(pat, sizeof pat, pattern, strlen(pattern), PATTERN_QUOTE_BYTES);
        snprintf(err, err_len, "cannot compile /%s/ at offset %zu: %s", pat, (size_t)off,
                 (const char *)why);
    }
    return re;
}

uint32_t ar_http_regex_groups(const pcre2_code *re)
{
    uint32_t n = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
    return n;
}

ar_err ar_http_step_check(const ar_http_step *step, char *err, size_t err_len)
{
    char why[512];
    if (step->method && !is_token(step->method)) {
        snprintf(err, err_len, "method: '%.40s' is not an HTTP method", step->method);
        return AR_EINVAL;
    }
    if (!step->url_tpl || !*step->url_tpl) {
        snprintf(err, err_len, "url: missing");
        return AR_EINVAL;
    }
    if (!ar_tpl_has_vars(step->url_tpl) && strncasecmp(step->url_tpl, "http://", 7) != 0 &&
        strncasecmp(step->url_tpl, "https://", 8) != 0) {
        snprintf(err, err_len, "url: '%.200s' is not an http:// or https:// URL", step->url_tpl);
        return AR_EINVAL;
    }
    for (size_t i = 0; i < step->n_headers; i++) {
        if (!is_token(step->headers[i].name)) {
            snprintf(err, err_len, "headers[%zu]: '%.60s' is not a header name", i,
                     step->headers[i].name ? step->headers[i].name : "");
            return AR_EINVAL;
        }
    }
    if (step->body_json && step->body_tpl) {
        snprintf(err, err_len, "body: both a JSON body and a raw body");
        return AR_EINVAL;
    }
    if (step->timeout_us < 0) {
        snprintf(err, err_len, "timeout: negative");
        return AR_EINVAL;
    }
    for (size_t i = 0; i < step->n_status; i++) {
        if (step->status[i] < 100 || step->status[i] > 599) {
            snprintf(err, err_len, "asserts.status: %d is not an HTTP status (100..599)",
                     step->status[i]);
            return AR_EINVAL;
        }
    }
    for (size_t i = 0; i < step->n_json_asserts; i++) {
        const ar_http_json_assert *a = &step->json_asserts[i];
        if (!pointer_ok(a->pointer)) {
            snprintf(err, err_len, "asserts.json[%zu]: '%.100s' is not a JSON pointer", i,
                     a->pointer ? a->pointer : "");
            return AR_EINVAL;
        }
    }
    for (size_t i = 0; i < step->n_regex_asserts; i++) {
        const char *p = step->regex_asserts[i].pattern_tpl;
        if (!p) {
            snprintf(err, err_len, "asserts.regex[%zu]: missing pattern", i);
            return AR_EINVAL;
        }
        if (ar_tpl_has_vars(p)) continue;
        pcre2_code *re = ar_http_regex_compile(p, why, sizeof why);
        if (!re) {
            snprintf(err, err_len, "asserts.regex[%zu]: %s", i, why);
            return AR_EINVAL;
        }
        pcre2_code_free(re);
    }
    for (size_t i = 0; i < step->n_captures; i++) {
        const ar_http_capture *c = &step->captures[i];
        const char *name = c->name ? c->name : "";
        if (!*name) {
            snprintf(err, err_len, "captures[%zu]: missing name", i);
            return AR_EINVAL;
        }
        if (!c->expr) {
            snprintf(err, err_len, "captures[%zu] (%.60s): missing %s", i, name,
                     c->from == AR_HTTP_FROM_JSON    ? "pointer"
                     : c->from == AR_HTTP_FROM_REGEX ? "pattern"
                                                     : "header name");
            return AR_EINVAL;
        }
        if (c->from == AR_HTTP_FROM_JSON && !pointer_ok(c->expr)) {
            snprintf(err, err_len, "captures[%zu] (%.60s): '%.100s' is not a JSON pointer", i, name,
                     c->expr);
            return AR_EINVAL;
        }
        if (c->from == AR_HTTP_FROM_HEADER && !is_token(c->expr)) {
            snprintf(err, err_len, "captures[%zu] (%.60s): '%.60s' is not a header name", i, name,
                     c->expr);
            return AR_EINVAL;
        }
        if (c->from == AR_HTTP_FROM_REGEX && !ar_tpl_has_vars(c->expr)) {
            pcre2_code *re = ar_http_regex_compile(c->expr, why, sizeof why);
            if (!re) {
                snprintf(err, err_len, "captures[%zu] (%.60s): %s", i, name, why);
                return AR_EINVAL;
            }
            uint32_t groups = ar_http_regex_groups(re);
            pcre2_code_free(re);
            if (c->group > (int)groups) {
                snprintf(err, err_len, "captures[%zu] (%.60s): group %d but the pattern has %u", i,
                         name, c->group, groups);
                return AR_EINVAL;
            }
        }
    }
    return AR_OK;
}
