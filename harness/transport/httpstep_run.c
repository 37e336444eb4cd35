/*
 * httpstep_run.c - executing `http:` steps (ar_http_run) with libcurl's easy
 * interface; the step model and its load-time check are httpstep.c.
 *
 * Every template of a step is expanded and every regex compiled before the
 * request is sent: an undefined variable in an assert must not leave a login
 * half done on the service. The response is read into capped buffers (a
 * misbehaving service gets a recorded error, never unbounded memory), then
 * asserts and captures run over it, each one producing a check, so a report
 * says which assert failed and with what, not merely that a step failed.
 *
 * Header values and captured values are treated as secrets (tokens, cookies,
 * tickets): no message ever contains them. The URL is shown, minus any
 * user:password.
 */
#include "httpstep_int.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonptr.h"

/* How much of a body or a value a check message quotes (patterns: httpstep_int.h). */
#define BODY_QUOTE_BYTES 200
#define VALUE_QUOTE_BYTES 60
#define MSG_BYTES 1024

/* The value as JSON text for a message, cut to VALUE_QUOTE_BYTES. */
static void json_excerpt(char *out, size_t out_len, const cJSON *v)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    if (s)
        ar_http_excerpt(out, out_len, s, strlen(s), VALUE_QUOTE_BYTES);
    else
        snprintf(out, out_len, "%s", v ? "(unprintable)" : "nothing");
    free(s);
}

/*
 * Everything a step needs at run time, expanded and compiled before the
 * request is sent. Owned; freed by prep_free.
 */
typedef struct {
    const char *method;
    char *url;
    char *shown_url; /* url without user:password */
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    cJSON **json_eq;    /* per json assert: the expected value, templates expanded */
    pcre2_code **regex; /* per regex assert */
    char **regex_src;   /* per regex assert: the expanded pattern, for messages */
    pcre2_code **cap_re;
    char **cap_src;
} prep;

static void prep_free(prep *p)
{
    free(p->url);
    free(p->shown_url);
    curl_slist_free_all(p->headers);
    free(p->body);
}

static void prep_free_asserts(prep *p, const ar_http_step *s)
{
    for (size_t i = 0; p->json_eq && i < s->n_json_asserts; i++)
        cJSON_Delete(p->json_eq[i]);
    for (size_t i = 0; p->regex && i < s->n_regex_asserts; i++)
        pcre2_code_free(p->regex[i]);
    for (size_t i = 0; p->regex_src && i < s->n_regex_asserts; i++)
        free(p->regex_src[i]);
    for (size_t i = 0; p->cap_re && i < s->n_captures; i++)
        pcre2_code_free(p->cap_re[i]);
    for (size_t i = 0; p->cap_src && i < s->n_captures; i++)
        free(p->cap_src[i]);
    free(p->json_eq);
    free(p->regex);
    free(p->regex_src);
    free(p->cap_re);
    free(p->cap_src);
}

/* Replaces the user:password of a URL with "***"; owned. */
static char *redact_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (!scheme) return ar_strdup(url);
    const char *host = scheme + 3;
    size_t auth_len = strcspn(host, "/?#");
    const char *at = memchr(host, '@', auth_len);
    if (!at) return ar_strdup(url);
    return ar_asprintf("%.*s***%s", (int)(host - url), url, at);
}

/* A copy of v with every string value expanded; NULL with err set on failure. */
static cJSON *expand_json(const cJSON *v, const ar_vars *vars, char *err, size_t err_len)
{
    if (cJSON_IsString(v)) {
        char *s = NULL;
        if (ar_tpl_expand(v->valuestring, vars, AR_TPL_PLAIN, &s, err, err_len) != AR_OK)
            return NULL;
        cJSON *out = cJSON_CreateString(s);
        free(s);
        if (!out) snprintf(err, err_len, "out of memory");
        return out;
    }
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) {
        cJSON *out = cJSON_Duplicate(v, false);
        if (!out) snprintf(err, err_len, "out of memory");
        return out;
    }
    cJSON *out = cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!out) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    const cJSON *child;
    cJSON_ArrayForEach(child, v)
    {
        cJSON *c = expand_json(child, vars, err, err_len);
        if (!c) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_IsArray(v))
            cJSON_AddItemToArray(out, c);
        else
            cJSON_AddItemToObject(out, child->string, c);
    }
    return out;
}

/* Expands a pattern template (values as literals) and compiles it. */
static pcre2_code *prep_regex(const char *tpl, const ar_vars *vars, char **src, char *err,
                              size_t err_len)
{
    if (ar_tpl_expand(tpl, vars, AR_TPL_REGEX, src, err, err_len) != AR_OK) return NULL;
    return ar_http_regex_compile(*src, err, err_len);
}

static ar_err prepare(const ar_http_step *s, const ar_vars *vars, prep *p, char *err,
                      size_t err_len)
{
    char why[512];
    p->method = s->method && *s->method ? s->method : "GET";
    if (!s->url_tpl) {
        snprintf(err, err_len, "url: missing");
        return AR_EINVAL;
    }
    if (ar_tpl_expand(s->url_tpl, vars, AR_TPL_PLAIN, &p->url, why, sizeof why) != AR_OK) {
        snprintf(err, err_len, "url: %s", why);
        return AR_EINVAL;
    }
    p->shown_url = redact_url(p->url);
    if (!p->shown_url) return AR_ENOMEM;

    bool has_ctype = false;
    for (size_t i = 0; i < s->n_headers; i++) {
        const ar_http_header *h = &s->headers[i];
        char *value = NULL;
        if (ar_tpl_expand(h->value_tpl ? h->value_tpl : "", vars, AR_TPL_PLAIN, &value, why,
                          sizeof why) != AR_OK) {
            snprintf(err, err_len, "header '%s': %s", h->name, why);
            return AR_EINVAL;
        }
        /* A CR or LF in a value would smuggle in a header of its own. */
        if (strpbrk(value, "\r\n")) {
            free(value);
            snprintf(err, err_len, "header '%s': the value holds a line break", h->name);
            return AR_EINVAL;
        }
        /* "Name;" is curl's spelling of a header with an empty value. */
        char *line = *value ? ar_asprintf("%s: %s", h->name, value) : ar_asprintf("%s;", h->name);
        free(value);
        struct curl_slist *l = line ? curl_slist_append(p->headers, line) : NULL;
        free(line);
        if (!l) return AR_ENOMEM;
        p->headers = l;
        if (strcasecmp(h->name, "Content-Type") == 0) has_ctype = true;
    }

    if (s->body_json) {
        cJSON *body = expand_json(s->body_json, vars, why, sizeof why);
        if (!body) {
            snprintf(err, err_len, "body: %s", why);
            return AR_EINVAL;
        }
        p->body = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        if (!p->body) return AR_ENOMEM;
        if (!has_ctype) {
            struct curl_slist *l = curl_slist_append(p->headers, "Content-Type: application/json");
            if (!l) return AR_ENOMEM;
            p->headers = l;
        }
    } else if (s->body_tpl) {
        if (ar_tpl_expand(s->body_tpl, vars, AR_TPL_PLAIN, &p->body, why, sizeof why) != AR_OK) {
            snprintf(err, err_len, "body: %s", why);
            return AR_EINVAL;
        }
    }
    if (p->body) {
        p->body_len = strlen(p->body);
        /* Without this curl holds a large body for up to a second waiting
         * for "100 Continue", which would show up as step latency. */
        struct curl_slist *l = curl_slist_append(p->headers, "Expect:");
        if (!l) return AR_ENOMEM;
        p->headers = l;
    }

    p->json_eq = calloc(s->n_json_asserts + 1, sizeof *p->json_eq);
    p->regex = calloc(s->n_regex_asserts + 1, sizeof *p->regex);
    p->regex_src = calloc(s->n_regex_asserts + 1, sizeof *p->regex_src);
    p->cap_re = calloc(s->n_captures + 1, sizeof *p->cap_re);
    p->cap_src = calloc(s->n_captures + 1, sizeof *p->cap_src);
    if (!p->json_eq || !p->regex || !p->regex_src || !p->cap_re || !p->cap_src) return AR_ENOMEM;
    for (size_t i = 0; i < s->n_json_asserts; i++) {
        const ar_http_json_assert *a = &s->json_asserts[i];
        if (!a->eq) continue;
        p->json_eq[i] = expand_json(a->eq, vars, why, sizeof why);
        if (!p->json_eq[i]) {
            snprintf(err, err_len, "asserts.json[%zu] (%.100s): %s", i, a->pointer, why);
            return AR_EINVAL;
        }
    }
    for (size_t i = 0; i < s->n_regex_asserts; i++) {
        p->regex[i] =
            prep_regex(s->regex_asserts[i].pattern_tpl, vars, &p->regex_src[i], why, sizeof why);
        if (!p->regex[i]) {
            snprintf(err, err_len, "asserts.regex[%zu]: %s", i, why);
            return AR_EINVAL;
        }
    }
    for (size_t i = 0; i < s->n_captures; i++) {
        const ar_http_capture *c = &s->captures[i];
        if (c->from != AR_HTTP_FROM_REGEX) continue;
        p->cap_re[i] = prep_regex(c->expr, vars, &p->cap_src[i], why, sizeof why);
        if (!p->cap_re[i]) {
            snprintf(err, err_len, "captures[%zu] (%s): %s", i, c->name, why);
            return AR_EINVAL;
        }
    }
    return AR_OK;
}

/* What the transfer callbacks fill. */
typedef struct {
    ar_buf body;
    ar_buf headers; /* the last response's header lines, as received */
    bool body_over;
    bool headers_over;
} xfer;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    if (ar_buf_append(&x->body, data, size * n) != AR_OK) {
        x->body_over = true;
        return 0;
    }
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    /* A new status line starts a new response (after a 100 Continue, say):
     * captures read the final one's headers. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) ar_buf_reset(&x->headers);
    if (ar_buf_append(&x->headers, data, len) != AR_OK) {
        x->headers_over = true;
        return 0;
    }
    return len;
}

/* The last header called name in the block (owned, trimmed), or NULL. */
static char *header_value(const char *block, const char *name)
{
    size_t name_len = strlen(name);
    char *found = NULL;
    for (const char *line = block; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1, *end = line + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            free(found);
            found = ar_strndup(v, (size_t)(end - v));
        }
        line = eol ? eol + 1 : NULL;
    }
    return found;
}

/* Adds a check named kind whose message starts "kind (step name): ". */
static void add_check(ar_checks *out, const ar_http_step *s, const char *kind, bool passed,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_check(ar_checks *out, const ar_http_step *s, const char *kind, bool passed,
                      const char *fmt, ...)
{
    char msg[MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->name && *s->name)
        (void)ar_checks_add(out, kind, passed, "%s (%.60s): %s", kind, s->name, msg);
    else
        (void)ar_checks_add(out, kind, passed, "%s: %s", kind, msg);
}

static void check_status(const ar_http_step *s, ar_http_result *r)
{
    char want[256] = "2xx";
    bool ok = r->status >= 200 && r->status <= 299;
    if (s->n_status) {
        ok = false;
        size_t at = 0;
        if (s->n_status > 1) at += (size_t)snprintf(want, sizeof want, "one of [");
        for (size_t i = 0; i < s->n_status && at < sizeof want - 16; i++) {
            ok = ok || r->status == s->status[i];
            at +=
                (size_t)snprintf(want + at, sizeof want - at, "%s%d", i ? ", " : "", s->status[i]);
        }
        if (s->n_status > 1 && at < sizeof want - 2) snprintf(want + at, sizeof want - at, "]");
    }
    if (ok) {
        add_check(&r->checks, s, "http.status", true, "%ld (expected %s)", r->status, want);
        return;
    }
    char body[BODY_QUOTE_BYTES + 4];
    ar_http_excerpt(body, sizeof body, r->body ? r->body : "", r->body_len, BODY_QUOTE_BYTES);
    add_check(&r->checks, s, "http.status", false, "expected %s, observed %ld; body: %s", want,
              r->status, *body ? body : "(empty)");
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    return "an object";
}

static void check_json(const ar_http_step *s, const prep *p, const cJSON *doc, ar_http_result *r)
{
    for (size_t i = 0; i < s->n_json_asserts; i++) {
        const ar_http_json_assert *a = &s->json_asserts[i];
        const cJSON *v = doc ? ar_json_pointer_get(doc, a->pointer) : NULL;
        const char *none = doc ? "nothing" : "nothing (the body is not JSON)";
        char obs[VALUE_QUOTE_BYTES + 4], exp[VALUE_QUOTE_BYTES + 4];
        if (p->json_eq[i]) {
            json_excerpt(exp, sizeof exp, p->json_eq[i]);
            bool ok = v && cJSON_Compare(v, p->json_eq[i], true);
            if (ok) {
                add_check(&r->checks, s, "http.json", true, "%s is %s", a->pointer, exp);
            } else {
                if (v) json_excerpt(obs, sizeof obs, v);
                add_check(&r->checks, s, "http.json", false, "%s: expected %s, observed %s",
                          a->pointer, exp, v ? obs : none);
            }
        } else if (a->exists) {
            if (v)
                add_check(&r->checks, s, "http.json", true, "%s exists (%s)", a->pointer,
                          json_type_name(v));
            else
                add_check(&r->checks, s, "http.json", false, "%s: expected to exist, observed %s",
                          a->pointer, none);
        } else {
            /* The value is not quoted: an unexpected member may well be a secret. */
            if (v)
                add_check(&r->checks, s, "http.json", false,
                          "%s: expected not to exist, observed %s", a->pointer, json_type_name(v));
            else
                add_check(&r->checks, s, "http.json", true, "%s does not exist", a->pointer);
        }
    }
}

/* Runs re over subject; returns the match count (>0), 0 for no match, <0 on error. */
static int regex_run(pcre2_code *re, const char *subject, size_t len, pcre2_match_data **md)
{
    *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!*md) return -1;
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, len, 0, 0, *md, NULL);
    return rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

static void regex_error(int rc, char *out, size_t out_len)
{
    PCRE2_UCHAR why[256];
    if (pcre2_get_error_message(rc, why, sizeof why) < 0) snprintf((char *)why, sizeof why, "?");
    snprintf(out, out_len, "%s", (const char *)why);
}

static void check_regex(const ar_http_step *s, const prep *p, ar_http_result *r)
{
    const char *body = r->body ? r->body : "";
    char bq[BODY_QUOTE_BYTES + 4], pat[PATTERN_QUOTE_BYTES + 4];
    ar_http_excerpt(bq, sizeof bq, body, r->body_len, BODY_QUOTE_BYTES);
    for (size_t i = 0; i < s->n_regex_asserts; i++) {
        bool negate = s->regex_asserts[i].negate;
        ar_http_excerpt(pat, sizeof pat, p->regex_src[i], strlen(p->regex_src[i]),
                        PATTERN_QUOTE_BYTES);
        pcre2_match_data *md = NULL;
        int rc = regex_run(p->regex[i], body, r->body_len, &md);
        pcre2_match_data_free(md);
        if (rc < 0) {
            char why[256];
            regex_error(rc, why, sizeof why);
            add_check(&r->checks, s, "http.regex", false, "/%s/ could not run over the body: %s",
                      pat, why);
        } else if ((rc > 0) != negate) {
            add_check(&r->checks, s, "http.regex", true, "/%s/ %s", pat,
                      negate ? "did not match, as expected" : "matched");
        } else {
            add_check(&r->checks, s, "http.regex", false, "expected /%s/ %sto match, observed %s",
                      pat, negate ? "not " : "", *bq ? bq : "an empty body");
        }
    }
}

/* The value capture i takes (owned), or NULL with a failed check. */
static char *capture_value(const ar_http_step *s, const prep *p, size_t i, const cJSON *doc,
                           const xfer *x, ar_http_result *r)
{
    const ar_http_capture *c = &s->captures[i];
    if (c->from == AR_HTTP_FROM_HEADER) {
        char *v = header_value(x->headers.ptr, c->expr);
        if (!v)
            add_check(&r->checks, s, "http.capture", false, "%s: no response header '%s'", c->name,
                      c->expr);
        return v;
    }
    if (c->from == AR_HTTP_FROM_JSON) {
        const cJSON *v = doc ? ar_json_pointer_get(doc, c->expr) : NULL;
        if (!v) {
            add_check(&r->checks, s, "http.capture", false, "%s: JSON pointer %s %s", c->name,
                      c->expr,
                      doc ? "not found in the body" : "cannot apply: the body is not JSON");
            return NULL;
        }
        char *out = cJSON_IsString(v) ? ar_strdup(v->valuestring) : cJSON_PrintUnformatted(v);
        if (!out) add_check(&r->checks, s, "http.capture", false, "%s: out of memory", c->name);
        return out;
    }
    const char *body = r->body ? r->body : "";
    char pat[PATTERN_QUOTE_BYTES + 4];
    ar_http_excerpt(pat, sizeof pat, p->cap_src[i], strlen(p->cap_src[i]), PATTERN_QUOTE_BYTES);
    uint32_t groups = ar_http_regex_groups(p->cap_re[i]);
    int group = c->group >= 0 ? c->group : groups > 0 ? 1 : 0;
    if (group > (int)groups) {
        add_check(&r->checks, s, "http.capture", false, "%s: /%s/ has no group %d", c->name, pat,
                  group);
        return NULL;
    }
    pcre2_match_data *md = NULL;
    int rc = regex_run(p->cap_re[i], body, r->body_len, &md);
    char *out = NULL;
    if (rc > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (group < rc && ov[2 * group] != PCRE2_UNSET)
            out = ar_strndup(body + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
        else
            add_check(&r->checks, s, "http.capture", false,
                      "%s: /%s/ matched but group %d is unset", c->name, pat, group);
    } else if (rc == 0) {
        char bq[BODY_QUOTE_BYTES + 4];
        ar_http_excerpt(bq, sizeof bq, body, r->body_len, BODY_QUOTE_BYTES);
        add_check(&r->checks, s, "http.capture", false, "%s: /%s/ did not match the body %s",
                  c->name, pat, *bq ? bq : "(empty)");
    } else {
        char why[256];
        regex_error(rc, why, sizeof why);
        add_check(&r->checks, s, "http.capture", false, "%s: /%s/ could not run over the body: %s",
                  c->name, pat, why);
    }
    pcre2_match_data_free(md);
    return out;
}

static void take_captures(const ar_http_step *s, const prep *p, const cJSON *doc, const xfer *x,
                          ar_vars *vars, ar_http_result *r)
{
    for (size_t i = 0; i < s->n_captures; i++) {
        const ar_http_capture *c = &s->captures[i];
        char *v = capture_value(s, p, i, doc, x, r);
        if (!v) continue;
        const char *what = c->from == AR_HTTP_FROM_REGEX  ? "regex"
                           : c->from == AR_HTTP_FROM_JSON ? "JSON pointer"
                                                          : "header";
        const char *src = c->from == AR_HTTP_FROM_REGEX ? p->cap_src[i] : c->expr;
        char shown[PATTERN_QUOTE_BYTES + 4];
        ar_http_excerpt(shown, sizeof shown, src, strlen(src), PATTERN_QUOTE_BYTES);
        /* The value itself is never shown: captures are tokens and tickets. */
        if (vars && ar_vars_set(vars, c->name, v) != AR_OK)
            add_check(&r->checks, s, "http.capture", false, "%s: out of memory", c->name);
        else
            add_check(&r->checks, s, "http.capture", true, "%s from %s %s (%zu bytes)", c->name,
                      what, shown, strlen(v));
        free(v);
    }
}

/* Turns a failed transfer into an error code and a message naming the request. */
static ar_err transfer_error(CURLcode rc, CURL *c, const xfer *x, const prep *p, int64_t timeout_us,
                             const char *curl_err, char *err, size_t err_len)
{
    const char *m = p->method;
    const char *u = p->shown_url;
    if (x->body_over) {
        snprintf(err, err_len, "%s %s: response body over the %u-byte cap", m, u,
                 AR_HTTP_BODY_MAX_BYTES);
        return AR_ETOOBIG;
    }
    if (x->headers_over) {
        snprintf(err, err_len, "%s %s: response headers over the %u-byte cap", m, u,
                 AR_HTTP_HEADERS_MAX_BYTES);
        return AR_ETOOBIG;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        char d[32];
        ar_fmt_duration(timeout_us, d, sizeof d);
        snprintf(err, err_len, "%s %s: no response within %s", m, u, d);
        return AR_ETIMEOUT;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        long os_errno = 0;
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
        if (rc == CURLE_COULDNT_CONNECT && os_errno)
            snprintf(err, err_len, "%s %s: %s", m, u, strerror((int)os_errno));
        else
            snprintf(err, err_len, "%s %s: %s", m, u,
                     *curl_err ? curl_err : curl_easy_strerror(rc));
        return AR_ECONNECT;
    }
    snprintf(err, err_len, "%s %s: %s", m, u, *curl_err ? curl_err : curl_easy_strerror(rc));
    return rc == CURLE_OUT_OF_MEMORY ? AR_ENOMEM : AR_EIO;
}

static void set_options(CURL *c, const prep *p, xfer *x, int64_t timeout_us, char *curl_err)
{
    long timeout_ms = (long)((timeout_us + 999) / 1000);
    curl_easy_setopt(c, CURLOPT_URL, p->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "agentrig/" AR_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
    if (strcmp(p->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(p->method, "GET") != 0 || p->body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, p->method);
    if (p->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len);
    }
}

ar_err ar_http_run(const ar_http_step *step, ar_vars *vars, ar_http_result *out, char *err,
                   size_t err_len)
{
    prep p = {0};
    xfer x;
    ar_buf_init(&x.body, AR_HTTP_BODY_MAX_BYTES);
    ar_buf_init(&x.headers, AR_HTTP_HEADERS_MAX_BYTES);
    x.body_over = x.headers_over = false;
    CURL *c = NULL;
    cJSON *doc = NULL;
    char curl_err[CURL_ERROR_SIZE] = "";
    int64_t timeout_us = step->timeout_us > 0 ? step->timeout_us : AR_HTTP_DEFAULT_TIMEOUT_US;

    ar_err rc = prepare(step, vars, &p, err, err_len);
    if (rc != AR_OK) {
        if (rc == AR_ENOMEM) snprintf(err, err_len, "out of memory");
        goto out;
    }
    out->method = ar_strdup(p.method);
    out->url = ar_strdup(p.shown_url);
    c = curl_easy_init();
    if (!out->method || !out->url || !c) {
        snprintf(err, err_len, "out of memory");
        rc = AR_ENOMEM;
        goto out;
    }
    set_options(c, &p, &x, timeout_us, curl_err);
    int64_t t0 = ar_now_us();
    CURLcode cc = curl_easy_perform(c);
    out->duration_us = ar_now_us() - t0;
    if (cc != CURLE_OK) {
        rc = transfer_error(cc, c, &x, &p, timeout_us, curl_err, err, err_len);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body_len = x.body.len;
    out->body = ar_buf_take(&x.body);
    if (!out->body) {
        snprintf(err, err_len, "out of memory");
        rc = AR_ENOMEM;
        goto out;
    }
    doc = cJSON_ParseWithLength(out->body, out->body_len);
    check_status(step, out);
    check_json(step, &p, doc, out);
    check_regex(step, &p, out);
    take_captures(step, &p, doc, &x, vars, out);

out:
    cJSON_Delete(doc);
    curl_easy_cleanup(c);
    prep_free_asserts(&p, step);
    prep_free(&p);
    ar_buf_free(&x.body);
    ar_buf_free(&x.headers);
    return rc;
}
