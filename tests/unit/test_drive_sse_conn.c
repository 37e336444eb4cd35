/*
 * The SSE transport against a tiny HTTP server on a thread of this test
 * (127.0.0.1, port 0, raw sockets, one response script per request), so
 * each wire behaviour - streaming with pauses, an error page, a drop, a
 * reconnect - is exact and needs nothing installed. Numeric hosts only: no
 * resolver thread in the picture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "profile.h"
#include "transport.h"

#define MAX_REQ 4

typedef struct {
    int status;        /* 0: never answer this request */
    const char *ctype; /* NULL: no Content-Type header */
    const char *parts[6];
    int pause_ms; /* before each part after the first */
    bool gate;    /* after the first part, wait until the client opens the gate */
    bool drop;    /* close without ending the chunked body */
    bool plain;   /* Content-Length body instead of chunks (error pages) */
} resp;

typedef struct {
    int lfd;
    int port;
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    resp script[MAX_REQ];
    char *req[MAX_REQ]; /* what each request looked like, head and body */
    int n_req;
    bool gate_open;
    bool gate_timed_out;
    bool finished; /* the last response was written and closed */
    bool stop;
} server;

static void write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* One send per chunk, so a small chunk reaches the client in one read. */
static void write_chunk(int fd, const char *s)
{
    char *c = ar_asprintf("%zx\r\n%s\r\n", strlen(s), s);
    write_all(fd, c, strlen(c));
    free(c);
}

static char *read_request(int fd)
{
    ar_buf b;
    ar_buf_init(&b, 1 << 20);
    char tmp[4096];
    size_t need = 0;
    for (;;) {
        if (!need && b.ptr) {
            char *end = strstr(b.ptr, "\r\n\r\n");
            if (end) {
                char *cl = strcasestr(b.ptr, "\r\nContent-Length:");
                need =
                    (size_t)(end + 4 - b.ptr) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
            }
        }
        if (need && b.len >= need) break;
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r <= 0) break;
        ar_buf_append(&b, tmp, (size_t)r);
    }
    return ar_buf_take(&b);
}

static void answer(server *s, int fd, const resp *r)
{
    char head[512];
    if (r->plain) {
        size_t len = 0;
        for (int i = 0; r->parts[i]; i++)
            len += strlen(r->parts[i]);
        snprintf(head, sizeof head,
                 "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 r->status, r->ctype ? "Content-Type: " : "", r->ctype ? r->ctype : "",
                 r->ctype ? "\r\n" : "", len);
        write_all(fd, head, strlen(head));
        for (int i = 0; r->parts[i]; i++)
            write_all(fd, r->parts[i], strlen(r->parts[i]));
        return;
    }
    snprintf(head, sizeof head,
             "HTTP/1.1 %d X\r\n%s%s%sTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n",
             r->status, r->ctype ? "Content-Type: " : "", r->ctype ? r->ctype : "",
             r->ctype ? "\r\n" : "");
    write_all(fd, head, strlen(head));
    for (int i = 0; r->parts[i]; i++) {
        if (i > 0 && r->pause_ms) usleep((useconds_t)r->pause_ms * 1000);
        write_chunk(fd, r->parts[i]);
        if (i == 0 && r->gate) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 5;
            pthread_mutex_lock(&s->mu);
            while (!s->gate_open && !s->gate_timed_out)
                if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
                    s->gate_timed_out = true;
            pthread_mutex_unlock(&s->mu);
        }
    }
    if (!r->drop) write_all(fd, "0\r\n\r\n", 5);
}

static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        struct pollfd pf = {.fd = s->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0) continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        char *req = read_request(fd);
        pthread_mutex_lock(&s->mu);
        int i = s->n_req < MAX_REQ ? s->n_req++ : MAX_REQ - 1;
        free(s->req[i]);
        s->req[i] = req;
        resp r = s->script[i];
        pthread_mutex_unlock(&s->mu);
        if (r.status) answer(s, fd, &r);
        shutdown(fd, SHUT_RDWR);
        close(fd);
        pthread_mutex_lock(&s->mu);
        s->finished = true;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static server *server_start(const resp *script, size_t n)
{
    server *s = calloc(1, sizeof *s);
    s->lfd = listen_any(&s->port);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (size_t i = 0; i < n; i++)
        s->script[i] = script[i];
    pthread_create(&s->thr, NULL, serve, s);
    return s;
}

static void server_stop(server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    s->gate_open = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thr, NULL);
    close(s->lfd);
    for (int i = 0; i < MAX_REQ; i++)
        free(s->req[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int server_requests(server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_req;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The client side: every callback leaves a line in log. */
typedef struct {
    server *srv;
    ar_conn *conn;
    ar_buf log;
    int opens;
    int frames;
    int ends;
    int last_status;
    ar_err last_why;
    char last_detail[2048];
    bool first_frame_before_server_finished;
    bool close_on_first_frame;
    int callbacks_after_close;
    bool closed;
    const ar_profile *pf; /* set: decode each frame with the SSE meta, log the outcome */
} client;

static void log_text(client *c, const char *tag, const char *s, size_t n)
{
    ar_buf_puts(&c->log, tag);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            ar_buf_puts(&c->log, "\\n");
        else
            ar_buf_append(&c->log, &s[i], 1);
    ar_buf_puts(&c->log, "\n");
}

static void on_open(void *user)
{
    client *c = user;
    c->opens++;
}

static void on_frame(void *user, const char *data, size_t len, bool binary, bool truncated,
                     size_t wire_len)
{
    client *c = user;
    if (c->closed) c->callbacks_after_close++;
    assert_false(binary);
    assert_false(truncated);
    assert_int_equal(wire_len, len);
    if (c->frames++ == 0 && c->srv) {
        pthread_mutex_lock(&c->srv->mu);
        c->first_frame_before_server_finished = !c->srv->finished;
        c->srv->gate_open = true;
        pthread_cond_broadcast(&c->srv->cv);
        pthread_mutex_unlock(&c->srv->mu);
    }
    log_text(c, "F ", data, len);
    if (c->pf) {
        ar_pf_meta m;
        assert_true(ar_conn_sse_meta(c->conn, &m.event, &m.id));
        ar_event ev;
        ar_event_init(&ev);
        ar_pf_decode_meta(c->pf, data, len, &m, &ev, NULL);
        ar_buf_printf(&c->log, "E %s %s -> %s %s %s%s\n", m.event ? m.event : "-",
                      m.id ? m.id : "-", ar_ev_kind_name(ev.kind), ev.type ? ev.type : "-",
                      ev.agent ? ev.agent : "-", ev.decode_error ? " (decode error)" : "");
        ar_event_clear(&ev);
    }
    if (c->close_on_first_frame) {
        ar_conn_close(c->conn);
        c->closed = true;
    }
}

static void on_close(void *user, ar_err why, int code, const char *detail)
{
    (void)why;
    (void)code;
    (void)detail;
    fail_msg("SSE never calls on_close");
    (void)user;
}

static void on_stream_end(void *user, int status, ar_err why, const char *detail)
{
    client *c = user;
    if (c->closed) c->callbacks_after_close++;
    c->ends++;
    c->last_status = status;
    c->last_why = why;
    snprintf(c->last_detail, sizeof c->last_detail, "%s", detail);
    ar_buf_printf(&c->log, "END %d %s\n", status, ar_strerror(why));
}

static void on_bad_input(void *user, const char *raw, size_t len, const char *why)
{
    client *c = user;
    if (c->closed) c->callbacks_after_close++;
    log_text(c, "BAD ", raw, len);
    ar_buf_printf(&c->log, "WHY %s\n", why);
}

static const ar_conn_cb cbs = {on_open, on_frame, on_close, on_stream_end, on_bad_input};

static void client_init(client *c, server *s)
{
    memset(c, 0, sizeof *c);
    c->srv = s;
    ar_buf_init(&c->log, 1 << 20);
}

/* Steps the loop until want stream ends were seen, for at most 10 s. */
static void run_until_ends(ar_loop *l, client *c, int want)
{
    int64_t deadline = ar_now_us() + 10 * 1000000;
    while (c->ends < want && ar_now_us() < deadline)
        ar_loop_step(l, 200 * 1000);
    assert_int_equal(c->ends, want);
}

static ar_loop *loop_new(void)
{
    char err[256];
    ar_loop *l = ar_loop_new(false, err, sizeof err);
    assert_non_null(l);
    return l;
}

static ar_conn *open_sse(ar_loop *l, server *s, client *c, const ar_sse_opts *opts)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/sse", s->port);
    ar_conn *conn = ar_sse_open(l, url, opts, &cbs, c, err, sizeof err);
    if (!conn) fail_msg("ar_sse_open: %s", err);
    c->conn = conn;
    return conn;
}

static const char *body =
    "{\"threadId\":\"t1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void streams_events_as_they_arrive(void **state)
{
    (void)state;
    resp script[] = {{.status = 200,
                      .ctype = "text/event-stream; charset=utf-8",
                      .parts = {"id: 1\ndata: {\"n\":1}\n\n", ": keepalive\n\n",
                                "data: two\ndata: lines\n\n", "event: x\r\ndata: 3\r\n\r\n"},
                      .pause_ms = 30,
                      .gate = true}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    const char *hdrs[] = {"X-Token", "abc", "X-Empty", ""};
    ar_sse_opts o = {.headers = hdrs, .n_headers = 2};
    ar_conn *conn = open_sse(l, s, &c, &o);
    assert_int_equal(c.opens, 1); /* before ar_sse_open returned */
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    /* Steps return as soon as something arrives: with 3 s allowed per step,
     * the whole stream (about 0.1 s of pauses) must not take several. */
    int64_t t0 = ar_now_us();
    while (c.ends < 1 && ar_now_us() - t0 < 10 * 1000000)
        ar_loop_step(l, 3 * 1000000);
    assert_true(ar_now_us() - t0 < 2500 * 1000);
    assert_string_equal(c.log.ptr, "F {\"n\":1}\nF two\\nlines\nF 3\nEND 200 ok\n");
    assert_int_equal(c.last_why, AR_OK);
    assert_string_equal(c.last_detail, "stream ended");
    /* Streaming: the first frame was delivered while the server was still
     * holding the response open, waiting for exactly that. */
    assert_true(c.first_frame_before_server_finished);
    pthread_mutex_lock(&s->mu);
    assert_false(s->gate_timed_out);
    pthread_mutex_unlock(&s->mu);
    assert_int_equal(server_requests(s), 1);
    const char *req = s->req[0];
    assert_memory_equal(req, "POST /sse HTTP/1.1\r\n", 20);
    assert_non_null(strstr(req, "\r\nAccept: text/event-stream\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(req, "\r\nX-Token: abc\r\n"));
    assert_non_null(strstr(req, "\r\nX-Empty:"));
    assert_null(strstr(req, "Last-Event-ID"));
    assert_null(strstr(req, "Expect:"));
    assert_string_equal(strstr(req, "\r\n\r\n") + 4, body);
    ar_conn_close(conn);
    assert_false(c.callbacks_after_close);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void requests_queue_one_after_another(void **state)
{
    (void)state;
    resp script[] = {
        {.status = 200, .ctype = "text/event-stream", .parts = {"data: one\n\n"}},
        {.status = 200, .ctype = "text/event-stream", .parts = {"data: two\n\n"}},
    };
    server *s = server_start(script, 2);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    const char *hdrs[] = {"accept", "application/x-ndjson, text/event-stream", "Content-Type",
                          "application/vnd.test+json"};
    ar_sse_opts o = {.headers = hdrs, .n_headers = 2, .method = "PUT"};
    ar_conn *conn = open_sse(l, s, &c, &o);
    assert_int_equal(ar_conn_send(conn, "first", 5), AR_OK);
    assert_int_equal(ar_conn_send(conn, "second", 6), AR_OK);
    run_until_ends(l, &c, 2);
    assert_string_equal(c.log.ptr, "F one\nEND 200 ok\nF two\nEND 200 ok\n");
    assert_int_equal(server_requests(s), 2);
    /* Given headers replace ours, whatever their case. */
    assert_memory_equal(s->req[0], "PUT /sse HTTP/1.1\r\n", 19);
    assert_null(strstr(s->req[0], "Accept: text/event-stream"));
    assert_non_null(strstr(s->req[0], "\r\naccept: application/x-ndjson, text/event-stream\r\n"));
    assert_null(strstr(s->req[0], "application/json"));
    assert_string_equal(strstr(s->req[0], "\r\n\r\n") + 4, "first");
    assert_string_equal(strstr(s->req[1], "\r\n\r\n") + 4, "second");
    /* The queue is bounded. */
    for (int i = 0; i < 9; i++)
        assert_int_equal(ar_conn_send(conn, "x", 1), AR_OK);
    assert_int_equal(ar_conn_send(conn, "x", 1), AR_ETOOBIG);
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void http_error_before_the_stream(void **state)
{
    (void)state;
    resp script[] = {{.status = 500,
                      .ctype = "text/html",
                      .parts = {"<html>\n<b>boom</b>\n</html>\n"},
                      .plain = true}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_int_equal(c.frames, 0);
    assert_int_equal(c.last_status, 500);
    assert_int_equal(c.last_why, AR_EPROTO);
    assert_string_equal(c.last_detail, "HTTP 500 before the stream: <html> <b>boom</b> </html>");
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void long_error_page_is_cut(void **state)
{
    (void)state;
    static char page[20000];
    memset(page, 'e', sizeof page - 1);
    resp script[] = {{.status = 404, .ctype = NULL, .parts = {page}, .plain = true},
                     {.status = 401, .ctype = "application/json", .plain = true}};
    server *s = server_start(script, 2);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    char want[700];
    snprintf(want, sizeof want, "HTTP 404 before the stream: %.*s...", 512, page);
    assert_string_equal(c.last_detail, want);
    assert_int_equal(c.last_why, AR_EPROTO);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 2);
    assert_string_equal(c.last_detail, "HTTP 401 before the stream: (empty body)");
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void wrong_content_type_before_the_stream(void **state)
{
    (void)state;
    resp script[] = {{.status = 200, .ctype = "text/html", .parts = {"<p>hi</p>"}, .plain = true},
                     {.status = 200, .ctype = NULL, .parts = {"data: x\n\n"}, .plain = true}};
    server *s = server_start(script, 2);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_int_equal(c.frames, 0);
    assert_int_equal(c.last_status, 200);
    assert_int_equal(c.last_why, AR_EPROTO);
    assert_string_equal(c.last_detail, "HTTP 200 before the stream: Content-Type 'text/html', "
                                       "expected text/event-stream: <p>hi</p>");
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 2);
    assert_int_equal(c.frames, 0);
    assert_string_equal(c.last_detail, "HTTP 200 before the stream: no Content-Type, expected "
                                       "text/event-stream: data: x");
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

#define CURL_PARTIAL "transfer closed with outstanding read data remaining"

/* LangGraph-style stream: the type and the agent are in the `event:` line,
 * not the data; metadata and the final `data: null` are ignored. The name
 * and id reach the decoder through ar_conn_sse_meta, inside on_frame only. */
static void event_names_and_ids_reach_the_decoder(void **state)
{
    (void)state;
    static const char yaml[] =
        "name: lg\n"
        "transport: sse\n"
        "send: {q: '${message}'}\n"
        "decode:\n"
        "  type: {from: '@event', regex: '^([a-z]+)'}\n"
        "  events: {updates: agent_started, values: {kind: agent_completed, root: true}}\n"
        "  ignore: [{event: metadata}, {event: end}]\n"
        "  fields: {agent: [{from: '@event', regex: '^[a-z]+\\|([^:|]+)'}, '@key']}\n"
        "  end: [{kind: agent_completed, root: true}]\n";
    ar_profile *pf = NULL;
    char err[256];
    if (ar_pf_load_string(yaml, strlen(yaml), "lg.yaml", &pf, err, sizeof err)) fail_msg("%s", err);
    resp script[] = {{.status = 200,
                      .ctype = "text/event-stream",
                      .parts = {"event: metadata\ndata: {\"run_id\":\"r-1\"}\n\n",
                                "event: updates|Data:06b4294c\nid: 3\n"
                                "data: {\"Data\":{\"messages\":[]}}\n\n",
                                "event: updates\ndata: {\"Supervisor\":{}}\n\n",
                                "event: values\ndata: {}\n\n",
                                "event: end\ndata: null\n\ndata: {\"no\":\"name\"}\n\n"}}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    c.pf = pf;
    ar_conn *conn = open_sse(l, s, &c, NULL);
    const char *ev_name, *id;
    assert_false(ar_conn_sse_meta(conn, &ev_name, &id)); /* outside on_frame */
    assert_null(ev_name);
    assert_false(ar_conn_sse_meta(NULL, &ev_name, &id));
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr,
                        "F {\"run_id\":\"r-1\"}\n"
                        "E metadata - -> other metadata -\n"
                        "F {\"Data\":{\"messages\":[]}}\n"
                        "E updates|Data:06b4294c 3 -> agent_started updates Data\n"
                        "F {\"Supervisor\":{}}\n"
                        "E updates 3 -> agent_started updates Supervisor\n"
                        "F {}\n"
                        "E values 3 -> agent_completed values -\n"
                        "F null\n"
                        "E end 3 -> other end -\n"
                        "F {\"no\":\"name\"}\n"
                        "E - 3 -> other - -\n"
                        "END 200 ok\n");
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
    ar_pf_free(pf);
}

static void drop_without_reconnect(void **state)
{
    (void)state;
    resp script[] = {{.status = 200,
                      .ctype = "text/event-stream",
                      .parts = {"id: 5\ndata: a\n\n", "data: part"},
                      .drop = true}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr, "F a\nEND 200 connection closed\n");
    assert_int_equal(c.last_why, AR_ECLOSED);
    assert_string_equal(c.last_detail, "stream dropped: " CURL_PARTIAL);
    assert_int_equal(server_requests(s), 1);
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void drop_then_reconnect_with_last_event_id(void **state)
{
    (void)state;
    resp script[] = {
        {.status = 200,
         .ctype = "text/event-stream",
         .parts = {"retry: 150\nid: 5\ndata: a\n\n", "data: pa"},
         .drop = true},
        {.status = 200, .ctype = "text/event-stream", .parts = {"id: 6\ndata: b\n\n"}},
    };
    server *s = server_start(script, 2);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_sse_opts o = {.reconnect = true};
    ar_conn *conn = open_sse(l, s, &c, &o);
    int64_t t0 = ar_now_us();
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_true(ar_now_us() - t0 >= 150 * 1000); /* the service's retry: was honoured */
    assert_string_equal(c.log.ptr, "F a\nF b\nEND 200 ok\n");
    assert_string_equal(c.last_detail, "stream ended (after a reconnect with Last-Event-ID 5; "
                                       "stream dropped: " CURL_PARTIAL ")");
    assert_int_equal(server_requests(s), 2);
    assert_null(strstr(s->req[0], "Last-Event-ID"));
    assert_non_null(strstr(s->req[1], "\r\nLast-Event-ID: 5\r\n"));
    assert_string_equal(strstr(s->req[1], "\r\n\r\n") + 4, body); /* the same request again */
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void reconnect_that_fails_too(void **state)
{
    (void)state;
    resp script[] = {
        {.status = 200,
         .ctype = "text/event-stream",
         .parts = {"id: ev-9\ndata: a\n\n"},
         .drop = true},
        {.status = 503, .ctype = "text/plain", .parts = {"busy"}, .plain = true},
    };
    server *s = server_start(script, 2);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_sse_opts o = {.reconnect = true};
    ar_conn *conn = open_sse(l, s, &c, &o);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr, "F a\nEND 503 connection closed\n");
    assert_string_equal(c.last_detail, "stream dropped: " CURL_PARTIAL "; reconnect with "
                                       "Last-Event-ID ev-9 failed: HTTP 503 before the stream: "
                                       "busy");
    assert_int_equal(server_requests(s), 2);
    assert_non_null(strstr(s->req[1], "\r\nLast-Event-ID: ev-9\r\n"));
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void no_reconnect_without_an_event_id(void **state)
{
    (void)state;
    resp script[] = {
        {.status = 200, .ctype = "text/event-stream", .parts = {"data: a\n\n"}, .drop = true},
        {.status = 200, .ctype = "text/event-stream", .parts = {"data: never\n\n"}},
    };
    server *s = server_start(script, 2);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_sse_opts o = {.reconnect = true};
    ar_conn *conn = open_sse(l, s, &c, &o);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr, "F a\nEND 200 connection closed\n");
    assert_string_equal(c.last_detail, "stream dropped: " CURL_PARTIAL
                                       " (not retried: the stream sent no event id)");
    assert_int_equal(server_requests(s), 1);
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void garbage_oversize_and_unterminated_input(void **state)
{
    (void)state;
    static char big[200];
    memset(big, 'z', sizeof big);
    memcpy(big, "data: ", 6);
    memcpy(big + sizeof big - 3, "\n\n", 3);
    resp script[] = {{.status = 200,
                      .ctype = "TEXT/Event-Stream",
                      .parts = {"hello there\n", big, "data: ok\n\n", "data: half"}}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_sse_opts o = {.max_event_bytes = 32};
    ar_conn *conn = open_sse(l, s, &c, &o);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr,
                        "BAD hello there\n"
                        "WHY not an SSE field: 'hello there'\n"
                        "BAD zzzzzzzzzzzzzzzzzzzzzzzzzz\n"
                        "WHY event over the 32-byte cap (197 bytes so far)\n"
                        "F ok\n"
                        "BAD data: half\n"
                        "WHY the stream ended inside an event: 10 bytes after the last blank "
                        "line were not dispatched\n"
                        "END 200 ok\n");
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void no_response_at_all(void **state)
{
    (void)state;
    resp script[] = {{.status = 0}}; /* reads the request, closes without a word */
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    char want[256];
    snprintf(want, sizeof want,
             "no HTTP response from http://127.0.0.1:%d/sse: Empty reply from "
             "server",
             s->port);
    assert_string_equal(c.last_detail, want);
    assert_int_equal(c.last_why, AR_ECLOSED);
    assert_int_equal(c.last_status, 0);
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void get_without_a_body(void **state)
{
    (void)state;
    resp script[] = {{.status = 200, .ctype = "text/event-stream", .parts = {"data: g\n\n"}}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_sse_opts o = {.method = "GET"};
    ar_conn *conn = open_sse(l, s, &c, &o);
    assert_int_equal(ar_conn_send(conn, "", 0), AR_OK);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr, "F g\nEND 200 ok\n");
    assert_int_equal(server_requests(s), 1);
    assert_memory_equal(s->req[0], "GET /sse HTTP/1.1\r\n", 19);
    assert_null(strstr(s->req[0], "Content-Type"));
    assert_non_null(strstr(s->req[0], "\r\nAccept: text/event-stream\r\n"));
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void connection_refused(void **state)
{
    (void)state;
    int port;
    int fd = listen_any(&port);
    close(fd); /* nothing listens there now */
    ar_loop *l = loop_new();
    client c;
    client_init(&c, NULL);
    char url[128], err[256], want[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/sse", port);
    ar_conn *conn = ar_sse_open(l, url, NULL, &cbs, &c, err, sizeof err);
    assert_non_null(conn);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    run_until_ends(l, &c, 1);
    assert_int_equal(c.last_why, AR_ECONNECT);
    assert_int_equal(c.last_status, 0);
    snprintf(want, sizeof want, "could not connect to %s: Failed to connect to 127.0.0.1 port %d",
             url, port);
    assert_memory_equal(c.last_detail, want, strlen(want));
    assert_non_null(strstr(c.last_detail, "Couldn't connect to server"));
    ar_conn_close(conn);
    ar_loop_free(l);
    ar_buf_free(&c.log);
}

static void rejects_what_it_cannot_use(void **state)
{
    (void)state;
    ar_loop *l = loop_new();
    client c;
    client_init(&c, NULL);
    char err[256];
    const char *bad[] = {"ws://127.0.0.1/x", "http://", "127.0.0.1:80/sse", "ftp://h/x", ""};
    for (size_t i = 0; i < AR_ARRAY_LEN(bad); i++) {
        assert_null(ar_sse_open(l, bad[i], NULL, &cbs, &c, err, sizeof err));
        char want[128];
        snprintf(want, sizeof want, "'%s' is not an SSE URL (http://host:port/path or https://...)",
                 bad[i]);
        assert_string_equal(err, want);
    }
    const char *h1[] = {"X-Evil", "a\r\nHost: other"};
    ar_sse_opts o = {.headers = h1, .n_headers = 1};
    assert_null(ar_sse_open(l, "http://127.0.0.1:1/", &o, &cbs, &c, err, sizeof err));
    assert_string_equal(err, "the value of header 'X-Evil' contains a line break");
    const char *h2[] = {"Bad Name", "v"};
    o.headers = h2;
    assert_null(ar_sse_open(l, "http://127.0.0.1:1/", &o, &cbs, &c, err, sizeof err));
    assert_string_equal(err, "'Bad Name' is not an HTTP header name");
    assert_int_equal(c.opens, 0);
    ar_loop_free(l);
    ar_buf_free(&c.log);
}

static void close_inside_a_callback_stops_everything(void **state)
{
    (void)state;
    resp script[] = {{.status = 200,
                      .ctype = "text/event-stream",
                      .parts = {"data: 1\n\ndata: 2\n\nbogus\n\n", "data: 3\n\n"},
                      .pause_ms = 50}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    c.close_on_first_frame = true;
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    int64_t deadline = ar_now_us() + 3 * 1000000;
    while (!c.closed && ar_now_us() < deadline)
        ar_loop_step(l, 100 * 1000);
    assert_true(c.closed);
    /* Closed from inside curl: freed once the step unwound, so the loop has
     * nothing left, and nothing more is called back. */
    ar_loop_step(l, 10 * 1000);
    for (int i = 0; i < 5; i++)
        ar_loop_step(l, 50 * 1000);
    assert_string_equal(c.log.ptr, "F 1\n");
    assert_int_equal(c.callbacks_after_close, 0);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void pause_holds_frames_back(void **state)
{
    (void)state;
    resp script[] = {{.status = 200,
                      .ctype = "text/event-stream",
                      .parts = {"data: 1\n\n", "data: 2\n\n"},
                      .pause_ms = 10}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, s);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    ar_conn_pause(conn, true);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    int64_t until = ar_now_us() + 300 * 1000;
    while (ar_now_us() < until)
        ar_loop_step(l, 50 * 1000);
    assert_int_equal(c.frames, 0);
    assert_int_equal(server_requests(s), 1);
    ar_conn_pause(conn, false);
    run_until_ends(l, &c, 1);
    assert_string_equal(c.log.ptr, "F 1\nF 2\nEND 200 ok\n");
    ar_conn_close(conn);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void loop_is_active_while_a_connection_is_open(void **state)
{
    (void)state;
    resp script[] = {
        {.status = 200, .ctype = "text/event-stream", .parts = {"data: 1\n\n"}, .gate = true}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, NULL); /* no gate opening: the response stays open */
    ar_conn *conn = open_sse(l, s, &c, NULL);
    /* Idle is active too: the session steps the loop right after a send. */
    int64_t t0 = ar_now_us();
    ar_loop_step(l, 100 * 1000);
    assert_true(ar_now_us() - t0 >= 90 * 1000); /* it waited, as a step should */
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    int64_t deadline = ar_now_us() + 3 * 1000000;
    while (c.frames < 1 && ar_now_us() < deadline)
        ar_loop_step(l, 100 * 1000);
    assert_int_equal(c.frames, 1);
    /* Closing with the transfer in flight, outside any callback: released at
     * once, no stream end reported, and freeing the loop is clean. */
    ar_conn_close(conn);
    ar_loop_step(l, 10 * 1000);
    assert_int_equal(c.ends, 0);
    ar_loop_free(l);
    server_stop(s);
    ar_buf_free(&c.log);
}

static void loop_free_with_a_transfer_in_flight(void **state)
{
    (void)state;
    resp script[] = {
        {.status = 200, .ctype = "text/event-stream", .parts = {"data: 1\n\n"}, .gate = true}};
    server *s = server_start(script, 1);
    ar_loop *l = loop_new();
    client c;
    client_init(&c, NULL);
    ar_conn *conn = open_sse(l, s, &c, NULL);
    assert_int_equal(ar_conn_send(conn, body, strlen(body)), AR_OK);
    int64_t deadline = ar_now_us() + 3 * 1000000;
    while (c.frames < 1 && ar_now_us() < deadline)
        ar_loop_step(l, 100 * 1000);
    assert_int_equal(c.frames, 1);
    ar_loop_free(l); /* frees the connection too, without calling back */
    assert_int_equal(c.ends, 0);
    server_stop(s);
    ar_buf_free(&c.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streams_events_as_they_arrive),
        cmocka_unit_test(requests_queue_one_after_another),
        cmocka_unit_test(http_error_before_the_stream),
        cmocka_unit_test(long_error_page_is_cut),
        cmocka_unit_test(wrong_content_type_before_the_stream),
        cmocka_unit_test(event_names_and_ids_reach_the_decoder),
        cmocka_unit_test(drop_without_reconnect),
        cmocka_unit_test(drop_then_reconnect_with_last_event_id),
        cmocka_unit_test(reconnect_that_fails_too),
        cmocka_unit_test(no_reconnect_without_an_event_id),
        cmocka_unit_test(garbage_oversize_and_unterminated_input),
        cmocka_unit_test(no_response_at_all),
        cmocka_unit_test(get_without_a_body),
        cmocka_unit_test(connection_refused),
        cmocka_unit_test(rejects_what_it_cannot_use),
        cmocka_unit_test(close_inside_a_callback_stops_everything),
        cmocka_unit_test(pause_holds_frames_back),
        cmocka_unit_test(loop_is_active_while_a_connection_is_open),
        cmocka_unit_test(loop_free_with_a_transfer_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
