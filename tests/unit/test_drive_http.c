/*
 * test_drive_http.c - `http:` steps against a tiny HTTP server on a thread of
 * this test (127.0.0.1, port 0). The server echoes what it received, so the
 * tests assert that the method, headers and body arrived as the step said;
 * other paths return fixed bodies for asserts and captures, or misbehave
 * (too big, too slow). Every failure path pins its exact message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpstep.h"

/* The /login body, byte for byte: messages quote it. */
#define LOGIN_BODY "{\"token\":\"tok-123\",\"user\":{\"id\":42,\"name\":\"ana\"},\"ok\":true}"
#define TEXT_BODY "ticket=abc-77; expires=60"
#define REQ_MAX_BYTES (256u * 1024u)

typedef struct {
    int fd;
    int port;
    char base[64]; /* "http://127.0.0.1:PORT" */
    atomic_bool stop;
    atomic_int requests;
    pthread_t thread;
    ar_vars *vars;
} srv;

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return; /* the client gave up (cap, timeout): fine */
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     len, extra_headers ? extra_headers : "");
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

/* Echo: {"method", "path", "headers": {lowercased name: value}, "body"}. */
static void respond_echo(int fd, const char *req, size_t head_len, const char *body, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    const char *sp1 = strchr(req, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2) return;
    char *method = strndup(req, (size_t)(sp1 - req));
    char *path = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddStringToObject(o, "path", path);
    free(method);
    free(path);
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    const char *line = strstr(req, "\r\n") + 2;
    while (line < req + head_len) {
        const char *eol = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            char *name = strndup(line, (size_t)(colon - line));
            for (char *c = name; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            char *value = strndup(v, (size_t)(eol - v));
            cJSON_AddStringToObject(h, name, value);
            free(name);
            free(value);
        }
        line = eol + 2;
    }
    char *b = strndup(body, len);
    cJSON_AddStringToObject(o, "body", b);
    free(b);
    char *out = cJSON_PrintUnformatted(o);
    respond(fd, 200, "Content-Type: application/json\r\n", out, strlen(out));
    free(out);
    cJSON_Delete(o);
}

static void serve_one(srv *s, int fd)
{
    char *req = malloc(REQ_MAX_BYTES + 1);
    size_t len = 0;
    char *end = NULL;
    while (!end && len < REQ_MAX_BYTES) {
        ssize_t r = recv(fd, req + len, REQ_MAX_BYTES - len, 0);
        if (r <= 0) goto out;
        len += (size_t)r;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (!end) goto out;
    size_t head_len = (size_t)(end - req) + 2;
    size_t body_len = 0;
    for (const char *p = req; p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "Content-Length:", 15) == 0) body_len = strtoul(p + 15, NULL, 10);
    size_t want = head_len + 2 + body_len;
    while (len < want && len < REQ_MAX_BYTES) {
        ssize_t r = recv(fd, req + len, REQ_MAX_BYTES - len, 0);
        if (r <= 0) goto out;
        len += (size_t)r;
    }
    req[len] = '\0';
    atomic_fetch_add(&s->requests, 1);
    const char *path = strchr(req, ' ') + 1;
    const char *body = req + head_len + 2;

    if (strncmp(path, "/login ", 7) == 0) {
        respond(fd, 200, "Content-Type: application/json\r\nX-Ticket:  T-9 \r\n", LOGIN_BODY,
                strlen(LOGIN_BODY));
    } else if (strncmp(path, "/text ", 6) == 0) {
        respond(fd, 200, "Content-Type: text/plain\r\n", TEXT_BODY, strlen(TEXT_BODY));
    } else if (strncmp(path, "/status/", 8) == 0) {
        int code = atoi(path + 8);
        char b[64];
        snprintf(b, sizeof b, "{\"error\":\"denied\",\"code\":%d}", code);
        respond(fd, code, NULL, b, strlen(b));
    } else if (strncmp(path, "/big ", 5) == 0) {
        size_t n = AR_HTTP_BODY_MAX_BYTES + 1;
        char *b = malloc(n);
        memset(b, 'a', n);
        respond(fd, 200, NULL, b, n);
        free(b);
    } else if (strncmp(path, "/bighdr ", 8) == 0) {
        size_t n = 70 * 1024;
        char *b = malloc(n + 32);
        memcpy(b, "HTTP/1.1 200 OK\r\nX-Pad: ", 24);
        memset(b + 24, 'p', n);
        memcpy(b + 24 + n, "\r\n\r\n", 4);
        send_all(fd, b, 24 + n + 4);
        free(b);
    } else if (strncmp(path, "/slow ", 6) == 0) {
        /* Waits until the client hangs up (its timeout) or 3 s pass. */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, 3000);
        respond(fd, 200, NULL, "late", 4);
    } else {
        respond_echo(fd, req, head_len, body, body_len);
    }
out:
    free(req);
}

static void *srv_main(void *arg)
{
    srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        serve_one(s, c);
        close(c);
    }
    return NULL;
}

/* A loopback port nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static int setup(void **state)
{
    srv *s = calloc(1, sizeof *s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0) return -1;
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    s->vars = ar_vars_new();
    ar_vars_set(s->vars, "BASE", s->base);
    if (pthread_create(&s->thread, NULL, srv_main, s) != 0) return -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    srv *s = *state;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    ar_vars_free(s->vars);
    free(s);
    return 0;
}

/* Step builders: every string is copied, as the loader would own it. */
static void st_init(ar_http_step *st, const char *name, const char *method, const char *url)
{
    ar_http_step_init(st);
    st->name = name ? strdup(name) : NULL;
    st->method = method ? strdup(method) : NULL;
    st->url_tpl = strdup(url);
}

static void st_header(ar_http_step *st, const char *name, const char *value)
{
    st->headers = realloc(st->headers, (st->n_headers + 1) * sizeof *st->headers);
    st->headers[st->n_headers++] = (ar_http_header){strdup(name), strdup(value)};
}

static void st_capture(ar_http_step *st, const char *name, ar_http_from from, const char *expr,
                       int group)
{
    st->captures = realloc(st->captures, (st->n_captures + 1) * sizeof *st->captures);
    st->captures[st->n_captures++] = (ar_http_capture){strdup(name), from, strdup(expr), group};
}

static void st_status(ar_http_step *st, int code)
{
    st->status = realloc(st->status, (st->n_status + 1) * sizeof *st->status);
    st->status[st->n_status++] = code;
}

/* eq_json: the expected value as JSON text, or NULL for an exists check. */
static void st_json(ar_http_step *st, const char *pointer, const char *eq_json, bool exists)
{
    st->json_asserts =
        realloc(st->json_asserts, (st->n_json_asserts + 1) * sizeof *st->json_asserts);
    st->json_asserts[st->n_json_asserts++] =
        (ar_http_json_assert){strdup(pointer), eq_json ? cJSON_Parse(eq_json) : NULL, exists};
}

static void st_regex(ar_http_step *st, const char *pattern, bool negate)
{
    st->regex_asserts =
        realloc(st->regex_asserts, (st->n_regex_asserts + 1) * sizeof *st->regex_asserts);
    st->regex_asserts[st->n_regex_asserts++] = (ar_http_regex_assert){strdup(pattern), negate};
}

static void assert_check(const ar_http_result *r, size_t i, const char *name, bool passed,
                         const char *msg)
{
    if (i >= r->checks.n) fail_msg("expected check %zu, have %zu", i, r->checks.n);
    assert_string_equal(r->checks.items[i].name, name);
    assert_string_equal(r->checks.items[i].message, msg);
    assert_int_equal(r->checks.items[i].passed, passed);
}

/* Runs st and returns the echoed request, parsed (caller deletes). */
static cJSON *run_echo(srv *s, ar_http_step *st, ar_http_result *r)
{
    char err[512] = "";
    ar_err rc = ar_http_run(st, s->vars, r, err, sizeof err);
    if (rc != AR_OK) fail_msg("ar_http_run: %s (%s)", ar_strerror(rc), err);
    assert_int_equal(r->status, 200);
    cJSON *echo = cJSON_Parse(r->body);
    assert_non_null(echo);
    return echo;
}

static const char *echoed(const cJSON *echo, const char *pointer)
{
    const cJSON *v = cJSON_GetObjectItem(echo, pointer);
    if (!v && strncmp(pointer, "h:", 2) == 0)
        v = cJSON_GetObjectItem(cJSON_GetObjectItem(echo, "headers"), pointer + 2);
    if (!cJSON_IsString(v)) fail_msg("no '%s' in the echo", pointer);
    return v->valuestring;
}

static void get_sends_method_and_headers(void **state)
{
    srv *s = *state;
    ar_vars_set(s->vars, "tok", "s3cret");
    ar_http_step st;
    st_init(&st, NULL, NULL, "${BASE}/echo/a?x=1");
    st_header(&st, "X-Trace", "t-1");
    st_header(&st, "Authorization", "Bearer ${tok}");
    ar_http_result r;
    ar_http_result_init(&r);
    cJSON *echo = run_echo(s, &st, &r);
    assert_string_equal(echoed(echo, "method"), "GET");
    assert_string_equal(echoed(echo, "path"), "/echo/a?x=1");
    assert_string_equal(echoed(echo, "h:x-trace"), "t-1");
    assert_string_equal(echoed(echo, "h:authorization"), "Bearer s3cret");
    assert_string_equal(echoed(echo, "body"), "");
    assert_string_equal(r.method, "GET");
    char url[128];
    snprintf(url, sizeof url, "%s/echo/a?x=1", s->base);
    assert_string_equal(r.url, url);
    assert_true(r.duration_us > 0);
    assert_int_equal(r.body_len, strlen(r.body));
    /* No asserts listed: the status must be 2xx, and that is one check. */
    assert_int_equal(r.checks.n, 1);
    assert_check(&r, 0, "http.status", true, "http.status: 200 (expected 2xx)");
    cJSON_Delete(echo);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void post_sends_a_json_body_with_templates(void **state)
{
    srv *s = *state;
    ar_vars_set(s->vars, "who", "ana \"the\" admin");
    ar_http_step st;
    st_init(&st, "create", "POST", "${BASE}/threads");
    st.body_json = cJSON_Parse("{\"user\":\"${who}\",\"n\":3,\"nested\":{\"a\":[\"${who}\",true,"
                               "null],\"${who}\":\"key is no template\"}}");
    ar_http_result r;
    ar_http_result_init(&r);
    cJSON *echo = run_echo(s, &st, &r);
    assert_string_equal(echoed(echo, "method"), "POST");
    assert_string_equal(echoed(echo, "path"), "/threads");
    assert_string_equal(echoed(echo, "h:content-type"), "application/json");
    cJSON *got = cJSON_Parse(echoed(echo, "body"));
    cJSON *want = cJSON_Parse("{\"user\":\"ana \\\"the\\\" admin\",\"n\":3,\"nested\":{\"a\":["
                              "\"ana \\\"the\\\" admin\",true,null],\"${who}\":\"key is no "
                              "template\"}}");
    assert_true(cJSON_Compare(got, want, true));
    cJSON_Delete(got);
    cJSON_Delete(want);
    cJSON_Delete(echo);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);

    /* A raw body with its own Content-Type, and another method. */
    st_init(&st, NULL, "PUT", "${BASE}/raw");
    st.body_tpl = strdup("a=${who}&b=2");
    st_header(&st, "content-type", "text/plain");
    ar_http_result_init(&r);
    echo = run_echo(s, &st, &r);
    assert_string_equal(echoed(echo, "method"), "PUT");
    assert_string_equal(echoed(echo, "h:content-type"), "text/plain");
    assert_string_equal(echoed(echo, "body"), "a=ana \"the\" admin&b=2");
    cJSON_Delete(echo);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void captures_feed_a_later_step(void **state)
{
    srv *s = *state;
    char err[512] = "";
    ar_http_step login;
    st_init(&login, "login", "POST", "${BASE}/login");
    st_capture(&login, "token", AR_HTTP_FROM_JSON, "/token", -1);
    st_capture(&login, "uid", AR_HTTP_FROM_JSON, "/user/id", -1);
    st_capture(&login, "ticket", AR_HTTP_FROM_HEADER, "x-TICKET", -1);
    ar_http_result r;
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&login, s->vars, &r, err, sizeof err), AR_OK);
    assert_int_equal(r.checks.n, 4);
    assert_check(&r, 0, "http.status", true, "http.status (login): 200 (expected 2xx)");
    assert_check(&r, 1, "http.capture", true,
                 "http.capture (login): token from JSON pointer /token (7 bytes)");
    assert_check(&r, 2, "http.capture", true,
                 "http.capture (login): uid from JSON pointer /user/id (2 bytes)");
    assert_check(&r, 3, "http.capture", true,
                 "http.capture (login): ticket from header x-TICKET (3 bytes)");
    assert_string_equal(ar_vars_get(s->vars, "token"), "tok-123");
    assert_string_equal(ar_vars_get(s->vars, "uid"), "42");
    assert_string_equal(ar_vars_get(s->vars, "ticket"), "T-9");
    for (size_t i = 0; i < r.checks.n; i++)
        assert_null(strstr(r.checks.items[i].message, "tok-123"));
    ar_http_result_clear(&r);
    ar_http_step_clear(&login);

    ar_http_step text;
    st_init(&text, NULL, NULL, "${BASE}/text");
    st_capture(&text, "t", AR_HTTP_FROM_REGEX, "ticket=([a-z0-9-]+)", -1);
    st_capture(&text, "whole", AR_HTTP_FROM_REGEX, "expires=\\d+", -1);
    st_capture(&text, "pre", AR_HTTP_FROM_REGEX, "(\\w+)=(abc)", 2);
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&text, s->vars, &r, err, sizeof err), AR_OK);
    assert_int_equal(ar_checks_failed(&r.checks), 0);
    assert_check(&r, 1, "http.capture", true,
                 "http.capture: t from regex ticket=([a-z0-9-]+) (6 bytes)");
    assert_string_equal(ar_vars_get(s->vars, "t"), "abc-77");
    assert_string_equal(ar_vars_get(s->vars, "whole"), "expires=60");
    assert_string_equal(ar_vars_get(s->vars, "pre"), "abc");
    ar_http_result_clear(&r);
    ar_http_step_clear(&text);

    ar_http_step use;
    st_init(&use, NULL, "POST", "${BASE}/users/${uid}");
    st_header(&use, "Authorization", "Bearer ${token}");
    use.body_tpl = strdup("ticket=${ticket}&t=${t}");
    ar_http_result_init(&r);
    cJSON *echo = run_echo(s, &use, &r);
    assert_string_equal(echoed(echo, "path"), "/users/42");
    assert_string_equal(echoed(echo, "h:authorization"), "Bearer tok-123");
    assert_string_equal(echoed(echo, "body"), "ticket=T-9&t=abc-77");
    cJSON_Delete(echo);
    ar_http_result_clear(&r);
    ar_http_step_clear(&use);
}

static void asserts_pass_and_fail_with_messages(void **state)
{
    srv *s = *state;
    ar_vars_set(s->vars, "who", "bob");
    ar_vars_set(s->vars, "tk", "tok-1");
    ar_http_step st;
    st_init(&st, "login", "POST", "${BASE}/login");
    st_status(&st, 200);
    st_json(&st, "/user/id", "42", false);
    st_json(&st, "/user/name", "\"${who}\"", false);
    st_json(&st, "/ok", "true", false);
    st_json(&st, "/user/id", "\"42\"", false); /* types differ: a string is not a number */
    st_json(&st, "/token", NULL, true);
    st_json(&st, "/missing", NULL, true);
    st_json(&st, "/token", NULL, false);
    st_json(&st, "/nope", NULL, false);
    st_json(&st, "/user/email", "\"a@b\"", false);
    st_regex(&st, "tok-\\d+", false);
    st_regex(&st, "nomatch", false);
    st_regex(&st, "error", true);
    st_regex(&st, "${tk}", true); /* the value is a literal: "tok-1" is in "tok-123" */
    char err[512] = "";
    ar_http_result r;
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_OK);
    assert_int_equal(r.checks.n, 14);
    assert_check(&r, 0, "http.status", true, "http.status (login): 200 (expected 200)");
    assert_check(&r, 1, "http.json", true, "http.json (login): /user/id is 42");
    assert_check(&r, 2, "http.json", false,
                 "http.json (login): /user/name: expected \"bob\", observed \"ana\"");
    assert_check(&r, 3, "http.json", true, "http.json (login): /ok is true");
    assert_check(&r, 4, "http.json", false,
                 "http.json (login): /user/id: expected \"42\", observed 42");
    assert_check(&r, 5, "http.json", true, "http.json (login): /token exists (a string)");
    assert_check(&r, 6, "http.json", false,
                 "http.json (login): /missing: expected to exist, observed nothing");
    assert_check(&r, 7, "http.json", false,
                 "http.json (login): /token: expected not to exist, observed a string");
    assert_check(&r, 8, "http.json", true, "http.json (login): /nope does not exist");
    assert_check(&r, 9, "http.json", false,
                 "http.json (login): /user/email: expected \"a@b\", observed nothing");
    assert_check(&r, 10, "http.regex", true, "http.regex (login): /tok-\\d+/ matched");
    assert_check(&r, 11, "http.regex", false,
                 "http.regex (login): expected /nomatch/ to match, observed " LOGIN_BODY);
    assert_check(&r, 12, "http.regex", true,
                 "http.regex (login): /error/ did not match, as expected");
    assert_check(&r, 13, "http.regex", false,
                 "http.regex (login): expected /\\Qtok-1\\E/ not to match, observed " LOGIN_BODY);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);

    /* JSON asserts and captures over a body that is not JSON, and failed captures. */
    st_init(&st, NULL, NULL, "${BASE}/text");
    st_json(&st, "/x", NULL, true);
    st_capture(&st, "a", AR_HTTP_FROM_JSON, "/x", -1);
    st_capture(&st, "b", AR_HTTP_FROM_HEADER, "X-Missing", -1);
    st_capture(&st, "c", AR_HTTP_FROM_REGEX, "id=(\\d+)", -1);
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_OK);
    assert_int_equal(r.checks.n, 5);
    assert_check(&r, 1, "http.json", false,
                 "http.json: /x: expected to exist, observed nothing (the body is not JSON)");
    assert_check(&r, 2, "http.capture", false,
                 "http.capture: a: JSON pointer /x cannot apply: the body is not JSON");
    assert_check(&r, 3, "http.capture", false, "http.capture: b: no response header 'X-Missing'");
    assert_check(&r, 4, "http.capture", false,
                 "http.capture: c: /id=(\\d+)/ did not match the body " TEXT_BODY);
    assert_null(ar_vars_get(s->vars, "a"));
    assert_null(ar_vars_get(s->vars, "b"));
    assert_null(ar_vars_get(s->vars, "c"));
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);

    st_init(&st, NULL, NULL, "${BASE}/login");
    st_capture(&st, "d", AR_HTTP_FROM_JSON, "/user/phone", -1);
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_OK);
    assert_check(&r, 1, "http.capture", false,
                 "http.capture: d: JSON pointer /user/phone not found in the body");
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void status_lists_and_the_2xx_default(void **state)
{
    srv *s = *state;
    const struct {
        int codes[3];
        bool passed;
        const char *msg;
    } cases[] = {
        {{0},
         false,
         "http.status: expected 2xx, observed 401; body: {\"error\":\"denied\",\"code\":401}"},
        {{401}, true, "http.status: 401 (expected 401)"},
        {{200, 201},
         false,
         "http.status: expected one of [200, 201], observed 401; body: "
         "{\"error\":\"denied\",\"code\":401}"},
        {{403, 401}, true, "http.status: 401 (expected one of [403, 401])"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        ar_http_step st;
        st_init(&st, NULL, NULL, "${BASE}/status/401");
        for (size_t k = 0; k < 3 && cases[i].codes[k]; k++)
            st_status(&st, cases[i].codes[k]);
        char err[512] = "";
        ar_http_result r;
        ar_http_result_init(&r);
        /* A response arrived: AR_OK whatever the asserts say. */
        assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_OK);
        assert_int_equal(r.status, 401);
        assert_int_equal(r.checks.n, 1);
        assert_check(&r, 0, "http.status", cases[i].passed, cases[i].msg);
        ar_http_result_clear(&r);
        ar_http_step_clear(&st);
    }
}

static void undefined_variables_fail_before_sending(void **state)
{
    srv *s = *state;
    const struct {
        const char *url, *header, *body, *regex, *eq, *cap;
        const char *err;
    } cases[] = {
        {"${BASE}/x/${nope}", NULL, NULL, NULL, NULL, NULL, "url: undefined variable 'nope'"},
        {"${BASE}/x", "Bearer ${TOKEN_X}", NULL, NULL, NULL, NULL,
         "header 'Authorization': undefined variable 'TOKEN_X'"},
        {"${BASE}/x", NULL, "q=${q}", NULL, NULL, NULL, "body: undefined variable 'q'"},
        {"${BASE}/x", NULL, NULL, "a${z}", NULL, NULL, "asserts.regex[0]: undefined variable 'z'"},
        {"${BASE}/x", NULL, NULL, NULL, "\"${e}\"", NULL,
         "asserts.json[0] (/a): undefined variable 'e'"},
        {"${BASE}/x", NULL, NULL, NULL, NULL, "(${c})", "captures[0] (v): undefined variable 'c'"},
        {"${BASE}/x", NULL, NULL, "(", NULL, NULL,
         "asserts.regex[0]: cannot compile /(/ at offset 1: missing closing parenthesis"},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        ar_http_step st;
        st_init(&st, NULL, "POST", cases[i].url);
        if (cases[i].header) st_header(&st, "Authorization", cases[i].header);
        if (cases[i].body) st.body_tpl = strdup(cases[i].body);
        if (cases[i].regex) st_regex(&st, cases[i].regex, false);
        if (cases[i].eq) st_json(&st, "/a", cases[i].eq, false);
        if (cases[i].cap) st_capture(&st, "v", AR_HTTP_FROM_REGEX, cases[i].cap, -1);
        char err[512] = "";
        ar_http_result r;
        ar_http_result_init(&r);
        assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_EINVAL);
        assert_string_equal(err, cases[i].err);
        assert_int_equal(r.checks.n, 0);
        ar_http_result_clear(&r);
        ar_http_step_clear(&st);
    }
    /* The secret in a header value is never echoed into the message. */
    ar_vars_set(s->vars, "T", "s3cret\r\nX-Evil: 1");
    ar_http_step st;
    st_init(&st, NULL, NULL, "${BASE}/x");
    st_header(&st, "Authorization", "${T}");
    char err[512] = "";
    ar_http_result r;
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "header 'Authorization': the value holds a line break");
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
    assert_int_equal(atomic_load(&s->requests), 0);
}

static void responses_over_the_caps_fail(void **state)
{
    srv *s = *state;
    char want[256], err[512] = "";
    ar_http_step st;
    ar_http_result r;
    st_init(&st, NULL, NULL, "${BASE}/big");
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_ETOOBIG);
    snprintf(want, sizeof want, "GET %s/big: response body over the 1048576-byte cap", s->base);
    assert_string_equal(err, want);
    assert_int_equal(r.checks.n, 0);
    assert_null(r.body);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);

    st_init(&st, NULL, NULL, "${BASE}/bighdr");
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_ETOOBIG);
    snprintf(want, sizeof want, "GET %s/bighdr: response headers over the 65536-byte cap", s->base);
    assert_string_equal(err, want);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void connection_refused_names_the_request(void **state)
{
    (void)state;
    int port = closed_port();
    char url[64], want[128], err[512] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/login", port);
    ar_http_step st;
    st_init(&st, NULL, "POST", url);
    st.body_json = cJSON_Parse("{\"u\":\"a\"}");
    ar_http_result r;
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, NULL, &r, err, sizeof err), AR_ECONNECT);
    snprintf(want, sizeof want, "POST %s: Connection refused", url);
    assert_string_equal(err, want);
    assert_int_equal(r.status, 0);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void slow_response_times_out(void **state)
{
    srv *s = *state;
    char want[128], err[512] = "";
    ar_http_step st;
    st_init(&st, NULL, NULL, "${BASE}/slow");
    st.timeout_us = 200000;
    ar_http_result r;
    ar_http_result_init(&r);
    assert_int_equal(ar_http_run(&st, s->vars, &r, err, sizeof err), AR_ETIMEOUT);
    snprintf(want, sizeof want, "GET %s/slow: no response within 200.0ms", s->base);
    assert_string_equal(err, want);
    assert_true(r.duration_us >= 150000);
    assert_true(r.duration_us < 2000000);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void credentials_in_the_url_are_not_shown(void **state)
{
    srv *s = *state;
    char url[128], shown[128];
    snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%d/echo", s->port);
    snprintf(shown, sizeof shown, "http://***@127.0.0.1:%d/echo", s->port);
    ar_http_step st;
    st_init(&st, NULL, NULL, url);
    ar_http_result r;
    ar_http_result_init(&r);
    cJSON *echo = run_echo(s, &st, &r);
    assert_string_equal(echoed(echo, "h:authorization"), "Basic dXNlcjpwdw==");
    assert_string_equal(r.url, shown);
    cJSON_Delete(echo);
    ar_http_result_clear(&r);
    ar_http_step_clear(&st);
}

static void load_time_check_names_the_field(void **state)
{
    (void)state;
    char err[512];
    ar_http_step st;

    st_init(&st, "x", "GE T", "http://h/");
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "method: 'GE T' is not an HTTP method");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "ftp://h/");
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "url: 'ftp://h/' is not an http:// or https:// URL");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "${BASE}/ok");
    st_header(&st, "Bad Name", "v");
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "headers[0]: 'Bad Name' is not a header name");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "http://h/");
    st_status(&st, 200);
    st_status(&st, 99);
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "asserts.status: 99 is not an HTTP status (100..599)");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "http://h/");
    st_json(&st, "token", NULL, true);
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "asserts.json[0]: 'token' is not a JSON pointer");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "http://h/");
    st_regex(&st, "ok", false);
    st_regex(&st, "a)", false);
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "asserts.regex[1]: cannot compile /a)/ at offset 1: unmatched "
                             "closing parenthesis");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "http://h/");
    st_capture(&st, "tok", AR_HTTP_FROM_REGEX, "t=(\\d+)", 2);
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "captures[0] (tok): group 2 but the pattern has 1");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "http://h/");
    st_capture(&st, "tok", AR_HTTP_FROM_JSON, "/a~2", -1);
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "captures[0] (tok): '/a~2' is not a JSON pointer");
    ar_http_step_clear(&st);

    st_init(&st, "x", NULL, "http://h/");
    st.body_tpl = strdup("a");
    st.body_json = cJSON_CreateObject();
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_EINVAL);
    assert_string_equal(err, "body: both a JSON body and a raw body");
    ar_http_step_clear(&st);

    /* A full, valid step passes; templates are left for run time. */
    st_init(&st, "login", "POST", "${BASE}/login");
    st_header(&st, "Authorization", "Bearer ${T}");
    st.body_json = cJSON_Parse("{\"a\":\"${b}\"}");
    st_status(&st, 200);
    st_json(&st, "/token", NULL, true);
    st_regex(&st, "${x}(", false);
    st_capture(&st, "tok", AR_HTTP_FROM_REGEX, "t=(\\d+)", -1);
    st_capture(&st, "h", AR_HTTP_FROM_HEADER, "X-Ticket", -1);
    assert_int_equal(ar_http_step_check(&st, err, sizeof err), AR_OK);
    ar_http_step_clear(&st);
    ar_http_step_clear(NULL);
    ar_http_result_clear(NULL);
    assert_string_equal(ar_http_from_name(AR_HTTP_FROM_HEADER), "header");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* The tests talk to 127.0.0.1 directly, whatever proxy the shell sets. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(get_sends_method_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(post_sends_a_json_body_with_templates, setup, teardown),
        cmocka_unit_test_setup_teardown(captures_feed_a_later_step, setup, teardown),
        cmocka_unit_test_setup_teardown(asserts_pass_and_fail_with_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(status_lists_and_the_2xx_default, setup, teardown),
        cmocka_unit_test_setup_teardown(undefined_variables_fail_before_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(responses_over_the_caps_fail, setup, teardown),
        cmocka_unit_test(connection_refused_names_the_request),
        cmocka_unit_test_setup_teardown(slow_response_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(credentials_in_the_url_are_not_shown, setup, teardown),
        cmocka_unit_test(load_time_check_names_the_field),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
