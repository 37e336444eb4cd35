/*
 * httpstep.h - `http:` steps in a scenario: plain HTTP requests run before or
 * between turns (log in, create a thread, fetch a WebSocket ticket), whose
 * captured values later turns and the protocol profile use as ${name}.
 *
 * The model is plain data filled by the scenario loader; ar_http_run executes
 * one step with libcurl. A step blocks the session's thread (steps run between
 * turns, when nothing else is in flight on that session). Redirects are not
 * followed, so a 302 is what the status assert sees.
 *
 * Ownership: every pointer reachable from an ar_http_step is owned by it and
 * freed by ar_http_step_clear; strings documented as templates may hold ${...}
 * and are expanded at run time (captures first, then the environment).
 *
 * Secrets: header values (Authorization, cookies) and captured values are
 * never written into messages or checks; the URL is, with any user:password
 * replaced by "***".
 *
 * scenario.h holds steps as `struct ar_http_step *` with a forward
 * declaration, so the scenario model does not depend on libcurl's users.
 */
#ifndef AR_HTTPSTEP_H
#define AR_HTTPSTEP_H

#include "ar.h"
#include "checks.h"
#include "template.h"

struct cJSON;

/* Response caps: over either one the step fails with AR_ETOOBIG. */
#define AR_HTTP_BODY_MAX_BYTES (1024u * 1024u)
#define AR_HTTP_HEADERS_MAX_BYTES (64u * 1024u)
/* Used when a step's timeout_us is 0. */
#define AR_HTTP_DEFAULT_TIMEOUT_US (30 * 1000000LL)

typedef struct {
    char *name;      /* header name, as sent (not a template) */
    char *value_tpl; /* template */
} ar_http_header;

typedef enum {
    AR_HTTP_FROM_JSON = 0, /* RFC 6901 pointer into the response body parsed as JSON */
    AR_HTTP_FROM_REGEX,    /* PCRE2 pattern over the response body */
    AR_HTTP_FROM_HEADER    /* a response header, name matched case-insensitively */
} ar_http_from;

/* "json", "regex", "header"; "?" for out-of-range values. */
const char *ar_http_from_name(ar_http_from from);

typedef struct {
    char *name; /* the variable set on success */
    ar_http_from from;
    /* JSON: the pointer ("/token"); REGEX: the pattern (a template, values
     * inserted as literals); HEADER: the header name ("X-Ticket"). */
    char *expr;
    /* REGEX: the group to take; -1 means 1 when the pattern has a group, else 0. */
    int group;
} ar_http_capture;

typedef struct {
    char *pointer; /* RFC 6901, into the response body parsed as JSON */
    /* When non-NULL: the value at pointer must equal this (a string, number,
     * bool or null; compared by type and value; a string is a template). When
     * NULL: the pointer must resolve (exists = true) or must not (false). */
    struct cJSON *eq;
    bool exists;
} ar_http_json_assert;

typedef struct {
    char *pattern_tpl; /* PCRE2 over the response body; ${} values inserted as literals */
    bool negate;       /* the pattern must not match */
} ar_http_regex_assert;

typedef struct ar_http_step {
    char *name;    /* for reports ("login"); may be NULL */
    char *method;  /* "GET", "POST", ...; NULL means GET */
    char *url_tpl; /* template; http:// or https:// */
    ar_http_header *headers;
    size_t n_headers;
    /* The body: at most one of these. body_json is sent as JSON (string values
     * are templates; keys are not) with Content-Type: application/json unless
     * a header sets one; body_tpl is sent as it is after expansion. */
    struct cJSON *body_json;
    char *body_tpl;
    int64_t timeout_us; /* whole request; 0 = AR_HTTP_DEFAULT_TIMEOUT_US */
    ar_http_capture *captures;
    size_t n_captures;
    /* asserts.status: any of these codes; none listed means any 2xx. */
    int *status;
    size_t n_status;
    ar_http_json_assert *json_asserts;
    size_t n_json_asserts;
    ar_http_regex_assert *regex_asserts;
    size_t n_regex_asserts;
} ar_http_step;

/* Zeroes every field. */
void ar_http_step_init(ar_http_step *step);
/* Frees everything the step owns and re-initialises it. NULL-safe. */
void ar_http_step_clear(ar_http_step *step);

/*
 * Load-time checks a loader can run before any socket opens: the method is an
 * HTTP token, the URL template (when it has no ${}) starts with http:// or
 * https://, header names are tokens, at most one body, JSON pointers are
 * well-formed, every regex without ${} compiles, status codes are 100..599,
 * and capture groups exist. Returns AR_OK or AR_EINVAL with the first problem
 * in err, naming the field: "captures[1] (token): cannot compile /(/ at offset
 * 1: missing closing parenthesis". Borrows step.
 */
ar_err ar_http_step_check(const ar_http_step *step, char *err, size_t err_len);

/* What one executed step found. Everything is owned; clear with ar_http_result_clear. */
typedef struct {
    char *method;        /* as sent */
    char *url;           /* expanded, with any user:password replaced by "***" */
    long status;         /* 0 when no response arrived */
    int64_t duration_us; /* CLOCK_MONOTONIC, request start to last byte or failure */
    char *body;          /* the response body (at most AR_HTTP_BODY_MAX_BYTES), NUL-terminated; */
    size_t body_len;     /* NULL when there was no response */
    /* http.status, http.json, http.regex, http.capture: one per assert and
     * per capture, passing or failing. Empty when the request failed. */
    ar_checks checks;
} ar_http_result;

void ar_http_result_init(ar_http_result *r);
void ar_http_result_clear(ar_http_result *r); /* NULL-safe; re-initialises */

/*
 * Runs one step: expands its templates with vars (captures, then the
 * environment), sends the request, evaluates the asserts, and sets each
 * capture that could be taken into vars. Borrows step; vars is updated in
 * place (may be NULL: nothing is captured, templates see only the
 * environment); out must be initialised and receives the result.
 *
 * Returns AR_OK when a response arrived, whatever the asserts found (failed
 * asserts and captures are failed checks in out->checks). Otherwise err says
 * what and where, never with a header value:
 *   AR_EINVAL   "url: undefined variable 'API'", "header 'Authorization':
 *               undefined variable 'TOKEN'", "body: ...", a regex that does
 *               not compile after expansion
 *   AR_ECONNECT "POST http://127.0.0.1:1/login: Connection refused"
 *   AR_ETIMEOUT "GET http://127.0.0.1:8080/slow: no response within 200ms"
 *   AR_ETOOBIG  "GET http://127.0.0.1:8080/big: response body over the
 *               1048576-byte cap" (or the 65536-byte header cap)
 *   AR_EIO      any other transfer failure, with curl's reason
 *   AR_ENOMEM
 */
ar_err ar_http_run(const ar_http_step *step, ar_vars *vars, ar_http_result *out, char *err,
                   size_t err_len);

#endif
