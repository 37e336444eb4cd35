/*
 * sse_conn.c - the HTTP + Server-Sent-Events transport on libcurl's multi
 * interface, serviced by the loop's thread like the WebSocket side.
 *
 * A "connection" is an endpoint plus options; each ar_conn_send is one HTTP
 * request whose response is read as an event stream while it arrives: curl
 * hands each read to the parser (sse.c), and every event becomes one frame
 * at once - the body is never buffered whole, since an agent's answer may
 * stream for minutes and the test measures when each event arrived.
 *
 * The status and Content-Type are judged when the response head is complete,
 * before any body byte is parsed: an error page is not an event stream, so
 * its first 4 KiB are kept for the message instead. A stream that drops after
 * a good head may be retried once with Last-Event-ID (opts->reconnect), which
 * is what EventSource does and what resumable services expect.
 *
 * curl forbids multi calls from inside its callbacks, and the session may
 * close or send from inside on_frame, so: close only marks a connection
 * detached while we are inside curl or the step (it is freed when the step
 * unwinds), and a send made inside curl is queued and started after
 * curl_multi_perform returns.
 */
#include "loop_int.h"

#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "sse.h"

#define SSE_QUEUE_MAX 8         /* requests waiting behind the one in flight */
#define ERR_BODY_MAX_BYTES 4096 /* of an error page kept for the message */
#define ERR_QUOTE_BYTES 512     /* of that body quoted in the message */
#define RETRY_DELAY_MAX_MS 5000 /* a service's `retry:` is honoured up to this */
#define CONNECT_TIMEOUT_DEFAULT_US (10 * 1000000LL)

typedef struct {
    char *body;
    size_t len;
} sse_req;

typedef enum {
    RESP_NONE,       /* no complete response head yet */
    RESP_STREAM,     /* 2xx text/event-stream: the body is parsed */
    RESP_BAD_STATUS, /* >= 400: the body is kept for the message */
    RESP_BAD_TYPE    /* not an event stream: likewise */
} resp_state;

typedef struct sse_conn sse_conn;

typedef struct {
    CURLM *multi;
    sse_conn *conns;
    int busy;           /* > 0 inside a step, pause or open: close defers the free */
    int in_curl;        /* > 0 inside curl: no multi calls, sends wait in the queue */
    uint64_t delivered; /* user callbacks made: a step returns once this moves */
} sse_loop;

struct sse_conn {
    ar_conn base; /* first: ar_conn* and sse_conn* convert both ways */
    sse_loop *sl;
    char *url;
    char *method;
    char **hdr_lines; /* "Name: value", ready for curl */
    size_t n_hdr_lines;
    bool has_accept, has_ctype, has_expect;
    size_t max_event_bytes;
    bool reconnect;
    long connect_timeout_ms;
    const ar_conn_cb *cb;
    void *user;
    bool detached; /* ar_conn_close called: no more callbacks, free when safe */
    bool paused;
    ar_sse_parser *parser;
    sse_req q[SSE_QUEUE_MAX];
    size_t q_head, q_n;
    sse_req cur;     /* the request being answered, kept for a reconnect */
    bool cur_active; /* cur is in flight or waiting for its reconnect */
    CURL *easy;
    struct curl_slist *req_hdrs;
    int status;
    resp_state resp;
    char ctype[128];
    ar_buf err_body;
    char errbuf[CURL_ERROR_SIZE];
    char *drop_detail;   /* set while the reconnect runs: why the first stream dropped */
    char *retry_id;      /* the Last-Event-ID of that reconnect */
    int64_t retry_at_us; /* > 0: start the reconnect at this time (CLOCK_MONOTONIC) */
    /* While on_frame runs: the event's `event:` name and the last event ID
     * (borrowed from the parser), for ar_conn_sse_meta. */
    const char *cur_event, *cur_id;
    bool in_event;
    sse_conn *next;
};

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static sse_loop *loop_sse(ar_loop *l, char *err, size_t err_len)
{
    if (l->sse) return l->sse;
    sse_loop *sl = calloc(1, sizeof *sl);
    if (sl) sl->multi = curl_multi_init();
    if (!sl || !sl->multi) {
        free(sl);
        snprintf(err, err_len, "could not create the HTTP client (out of memory)");
        return NULL;
    }
    l->sse = sl;
    return sl;
}

/*
 * For messages: at most max bytes of text, cut back to a UTF-8 boundary,
 * control bytes shown as spaces, "..." when cut. The report formats are
 * JSON and XML, so the quote must stay valid text.
 */
static void quote_text(const char *s, size_t len, size_t max, char *out, size_t out_len)
{
    bool cut = len > max;
    size_t n = cut ? max : len;
    if (cut)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < out_len; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    if (cut && o + 3 < out_len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static void deliver_end(sse_conn *c, int status, ar_err why, const char *detail)
{
    if (c->detached || !c->cb || !c->cb->on_stream_end) return;
    c->sl->delivered++;
    c->cb->on_stream_end(c->user, status, why, detail);
}

static void deliver_bad(sse_conn *c, const char *raw, size_t len, const char *why)
{
    if (c->detached || !c->cb || !c->cb->on_bad_input) return;
    c->sl->delivered++;
    c->cb->on_bad_input(c->user, raw, len, why);
}

static void parsed_event(void *user, const char *type, const char *data, size_t len, const char *id)
{
    sse_conn *c = user;
    if (c->detached || !c->cb || !c->cb->on_frame) return;
    c->sl->delivered++;
    c->cur_event = type;
    c->cur_id = id;
    c->in_event = true;
    c->cb->on_frame(c->user, data, len, false, false, len);
    /* c outlives the callback even when it closed c: close defers the free
     * while the loop is busy. */
    c->in_event = false;
    c->cur_event = c->cur_id = NULL;
}

static bool sse_meta(const ar_conn *base, const char **event, const char **id)
{
    const sse_conn *c = (const sse_conn *)base;
    if (!c->in_event) return false;
    *event = c->cur_event;
    *id = c->cur_id;
    return true;
}

static void parsed_garbage(void *user, const char *line, size_t len)
{
    sse_conn *c = user;
    char q[128], why[160];
    quote_text(line, len, 100, q, sizeof q);
    snprintf(why, sizeof why, "not an SSE field: '%s'", q);
    deliver_bad(c, line, len, why);
}

static void parsed_oversize(void *user, const char *first, size_t len, size_t total)
{
    sse_conn *c = user;
    char why[128];
    snprintf(why, sizeof why, "event over the %zu-byte cap (%zu bytes so far)", c->max_event_bytes,
             total);
    deliver_bad(c, first, len, why);
}

static const ar_sse_cb parser_cb = {parsed_event, parsed_garbage, parsed_oversize};

static bool media_type_is_sse(const char *ctype)
{
    size_t n = strcspn(ctype, ";");
    while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    return n == strlen("text/event-stream") && strncasecmp(ctype, "text/event-stream", n) == 0;
}

/* curl calls this per header line, for every response (1xx included). */
static size_t header_cb(char *buf, size_t size, size_t n, void *userdata)
{
    sse_conn *c = userdata;
    size_t len = size * n, l = len;
    while (l > 0 && (buf[l - 1] == '\r' || buf[l - 1] == '\n'))
        l--;
    if (l >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', l);
        c->status = 0;
        for (size_t i = sp ? (size_t)(sp - buf) + 1 : l; i < l && buf[i] >= '0' && buf[i] <= '9';
             i++)
            c->status = c->status < 1000 ? c->status * 10 + (buf[i] - '0') : c->status;
        c->ctype[0] = '\0';
        c->resp = RESP_NONE;
    } else if (c->resp != RESP_NONE) {
        /* trailers */
    } else if (l == 0) {
        if (c->status >= 100 && c->status < 200) return len; /* the real answer follows */
        if (c->status >= 400)
            c->resp = RESP_BAD_STATUS;
        else if (c->status < 200 || c->status > 299 || !media_type_is_sse(c->ctype))
            c->resp = RESP_BAD_TYPE;
        else
            c->resp = RESP_STREAM;
    } else if (l > 13 && strncasecmp(buf, "content-type:", 13) == 0) {
        const char *v = buf + 13, *e = buf + l;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t vn = (size_t)(e - v) < sizeof c->ctype - 1 ? (size_t)(e - v) : sizeof c->ctype - 1;
        memcpy(c->ctype, v, vn);
        c->ctype[vn] = '\0';
    }
    return len;
}

static size_t write_cb(char *ptr, size_t size, size_t n, void *userdata)
{
    sse_conn *c = userdata;
    size_t len = size * n;
    if (c->detached) return 0; /* aborts the transfer */
    if (c->resp == RESP_BAD_STATUS || c->resp == RESP_BAD_TYPE) {
        size_t room = c->err_body.max_bytes - c->err_body.len;
        (void)ar_buf_append(&c->err_body, ptr, len < room ? len : room);
        return len < room ? len : 0; /* enough of an error page: stop reading it */
    }
    if (c->paused) return CURL_WRITEFUNC_PAUSE; /* curl keeps this chunk for later */
    ar_sse_feed(c->parser, ptr, len);
    return c->detached ? 0 : len;
}

static char *header_line(const char *name, const char *value)
{
    /* curl drops "Name:" with nothing after it; "Name;" sends it empty. */
    return value[0] ? ar_asprintf("%s: %s", name, value) : ar_asprintf("%s;", name);
}

static struct curl_slist *build_headers(const sse_conn *c, bool body, const char *last_id)
{
    struct curl_slist *h = NULL, *t;
    char *lid = NULL;
    const char *fixed[3] = {c->has_accept ? NULL : "Accept: text/event-stream",
                            c->has_ctype || !body ? NULL : "Content-Type: application/json",
                            /* curl would wait for a 100 Continue before large bodies */
                            c->has_expect ? NULL : "Expect:"};
    for (size_t i = 0; i < c->n_hdr_lines; i++) {
        if (!(t = curl_slist_append(h, c->hdr_lines[i]))) goto fail;
        h = t;
    }
    for (size_t i = 0; i < AR_ARRAY_LEN(fixed); i++) {
        if (!fixed[i]) continue;
        if (!(t = curl_slist_append(h, fixed[i]))) goto fail;
        h = t;
    }
    if (last_id) {
        lid = header_line("Last-Event-ID", last_id);
        if (!lid || !(t = curl_slist_append(h, lid))) goto fail;
        h = t;
        free(lid);
    }
    return h;
fail:
    free(lid);
    curl_slist_free_all(h);
    return NULL;
}

/* Starts cur (again, with Last-Event-ID, when last_id is set). AR_OK or AR_ENOMEM. */
static ar_err start_transfer(sse_conn *c, const char *last_id)
{
    bool get = strcasecmp(c->method, "GET") == 0 && c->cur.len == 0;
    c->req_hdrs = build_headers(c, !get, last_id);
    c->easy = curl_easy_init();
    if (!c->req_hdrs || !c->easy) goto fail;
    c->status = 0;
    c->resp = RESP_NONE;
    c->ctype[0] = '\0';
    c->errbuf[0] = '\0';
    ar_buf_reset(&c->err_body);
    ar_sse_reset(c->parser, last_id != NULL);
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "agentrig/" AR_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->req_hdrs);
    /* A proxy's CONNECT answer is not the service's response head. */
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    /* No CURLOPT_TIMEOUT: a stream lasts as long as the agent works; the
     * session has its own deadlines. Keepalive notices a vanished peer. */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    if (get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->cur.len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->cur.body);
        if (strcmp(c->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    }
    if (curl_multi_add_handle(c->sl->multi, e) != CURLM_OK) goto fail;
    return AR_OK;
fail:
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
    curl_slist_free_all(c->req_hdrs);
    c->req_hdrs = NULL;
    return AR_ENOMEM;
}

static void finish_request(sse_conn *c)
{
    free(c->cur.body);
    c->cur = (sse_req){NULL, 0};
    c->cur_active = false;
    free(c->drop_detail);
    c->drop_detail = NULL;
    free(c->retry_id);
    c->retry_id = NULL;
    c->retry_at_us = 0;
}

/* Starts what is due on c: its reconnect, or the next queued request. */
static void start_due(sse_conn *c)
{
    if (c->detached || c->easy || c->sl->in_curl) return;
    const char *last_id = NULL;
    if (c->cur_active) {
        if (!c->retry_at_us || ar_now_us() < c->retry_at_us) return;
        c->retry_at_us = 0;
        last_id = c->retry_id;
    } else {
        if (!c->q_n) return;
        c->cur = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % SSE_QUEUE_MAX;
        c->q_n--;
        c->cur_active = true;
    }
    if (start_transfer(c, last_id) != AR_OK) {
        finish_request(c);
        deliver_end(c, 0, AR_ENOMEM, "could not start the HTTP request (out of memory)");
    }
}

static bool is_connect_failure(CURLcode r)
{
    return r == CURLE_COULDNT_CONNECT || r == CURLE_COULDNT_RESOLVE_HOST ||
           r == CURLE_COULDNT_RESOLVE_PROXY || r == CURLE_OPERATION_TIMEDOUT ||
           r == CURLE_SSL_CONNECT_ERROR || r == CURLE_PEER_FAILED_VERIFICATION ||
           r == CURLE_SSL_CACERT_BADFILE || r == CURLE_UNSUPPORTED_PROTOCOL;
}

/* The outcome of the transfer that just ended, before any reconnect logic. */
static ar_err judge(sse_conn *c, CURLcode res, char *detail, size_t len)
{
    const char *cerr = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
    char body[ERR_QUOTE_BYTES + 8];
    if (c->resp == RESP_BAD_STATUS || c->resp == RESP_BAD_TYPE) {
        quote_text(c->err_body.ptr ? c->err_body.ptr : "", c->err_body.len, ERR_QUOTE_BYTES, body,
                   sizeof body);
        const char *shown = body[0] ? body : "(empty body)";
        if (c->resp == RESP_BAD_STATUS)
            snprintf(detail, len, "HTTP %d before the stream: %s", c->status, shown);
        else if (c->ctype[0])
            snprintf(detail, len,
                     "HTTP %d before the stream: Content-Type '%s', expected text/event-stream: %s",
                     c->status, c->ctype, shown);
        else
            snprintf(detail, len,
                     "HTTP %d before the stream: no Content-Type, expected text/event-stream: %s",
                     c->status, shown);
        return AR_EPROTO;
    }
    if (c->resp == RESP_NONE) {
        if (is_connect_failure(res)) {
            snprintf(detail, len, "could not connect to %s: %s", c->url, cerr);
            return AR_ECONNECT;
        }
        snprintf(detail, len, "no HTTP response from %s: %s", c->url,
                 res == CURLE_OK ? "the response head never ended" : cerr);
        return AR_ECLOSED;
    }
    if (res == CURLE_OK) {
        snprintf(detail, len, "stream ended");
        return AR_OK;
    }
    snprintf(detail, len, "stream dropped: %s", cerr);
    return AR_ECLOSED;
}

static void transfer_done(sse_conn *c, CURLcode res)
{
    char detail[1024];
    ar_err why = judge(c, res, detail, sizeof detail);
    bool dropped = why == AR_ECLOSED && c->resp == RESP_STREAM;
    curl_multi_remove_handle(c->sl->multi, c->easy);
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
    curl_slist_free_all(c->req_hdrs);
    c->req_hdrs = NULL;
    if (c->detached) return;

    const char *last_id = ar_sse_last_event_id(c->parser);
    if (c->drop_detail) {
        /* This was the reconnect. */
        char second[1024];
        snprintf(second, sizeof second, "%s", detail);
        if (why == AR_OK) {
            snprintf(detail, sizeof detail,
                     "stream ended (after a reconnect with Last-Event-ID %s; %s)", c->retry_id,
                     c->drop_detail);
        } else {
            snprintf(detail, sizeof detail, "%s; reconnect with Last-Event-ID %s failed: %.600s",
                     c->drop_detail, c->retry_id, second);
            why = AR_ECLOSED;
        }
    } else if (dropped && c->reconnect && last_id[0]) {
        c->drop_detail = strdup(detail);
        c->retry_id = strdup(last_id);
        if (c->drop_detail && c->retry_id) {
            int64_t delay_ms = ar_sse_retry_ms(c->parser);
            if (delay_ms < 0) delay_ms = 0;
            if (delay_ms > RETRY_DELAY_MAX_MS) delay_ms = RETRY_DELAY_MAX_MS;
            c->retry_at_us = ar_now_us() + delay_ms * 1000 + 1; /* > 0 marks it due */
            start_due(c);
            return;
        }
    } else if (dropped && c->reconnect) {
        size_t n = strlen(detail);
        snprintf(detail + n, sizeof detail - n, " (not retried: the stream sent no event id)");
    }
    int status = c->status;
    if (why == AR_OK) {
        const char *pending;
        size_t n = ar_sse_finish(c->parser, &pending);
        if (n) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "the stream ended inside an event: %zu bytes after the last blank line "
                     "were not dispatched",
                     n);
            deliver_bad(c, pending, n, msg);
        }
    }
    finish_request(c);
    deliver_end(c, status, why, detail);
    start_due(c);
}

static void conn_release(sse_conn *c)
{
    sse_loop *sl = c->sl;
    for (sse_conn **pp = &sl->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (c->easy) {
        curl_multi_remove_handle(sl->multi, c->easy);
        curl_easy_cleanup(c->easy);
    }
    curl_slist_free_all(c->req_hdrs);
    for (size_t i = 0; i < c->q_n; i++)
        free(c->q[(c->q_head + i) % SSE_QUEUE_MAX].body);
    free(c->cur.body);
    free(c->drop_detail);
    free(c->retry_id);
    for (size_t i = 0; i < c->n_hdr_lines; i++)
        free(c->hdr_lines[i]);
    free(c->hdr_lines);
    ar_buf_free(&c->err_body);
    ar_sse_free(c->parser);
    free(c->url);
    free(c->method);
    free(c);
}

/* Frees the connections closed while it was not safe to. */
static void sweep(sse_loop *sl)
{
    if (sl->busy) return;
    sse_conn **pp = &sl->conns;
    while (*pp) {
        sse_conn *c = *pp;
        if (c->detached)
            conn_release(c); /* unlinks c: *pp is now its successor */
        else
            pp = &c->next;
    }
}

static void perform(sse_loop *sl)
{
    int running;
    sl->in_curl++;
    curl_multi_perform(sl->multi, &running);
    sl->in_curl--;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(sl->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        CURLcode res = m->data.result; /* m is invalid once its handle is removed */
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv) transfer_done((sse_conn *)priv, res);
    }
    for (sse_conn *c = sl->conns; c; c = c->next)
        start_due(c);
}

/* Microseconds until the earliest reconnect is due, or max_us. */
static int64_t until_retry_us(const sse_loop *sl, int64_t max_us)
{
    int64_t now = ar_now_us();
    for (const sse_conn *c = sl->conns; c; c = c->next) {
        if (c->detached || !c->retry_at_us || c->easy) continue;
        int64_t d = c->retry_at_us > now ? c->retry_at_us - now : 0;
        if (d < max_us) max_us = d;
    }
    return max_us;
}

bool ar_sse_loop_active(const ar_loop *l)
{
    /* Any connection, idle ones too: the session waits for frames right
     * after a send, and a send may still be queued. */
    const sse_loop *sl = l->sse;
    return sl && sl->conns;
}

void ar_sse_loop_step(ar_loop *l, int64_t max_wait_us)
{
    sse_loop *sl = l->sse;
    if (!sl) return;
    sl->busy++;
    uint64_t before = sl->delivered;
    perform(sl);
    if (sl->delivered == before) {
        int64_t wait_us = until_retry_us(sl, max_wait_us < 0 ? 0 : max_wait_us);
        int64_t ms = (wait_us + 999) / 1000;
        curl_multi_poll(sl->multi, NULL, 0, ms > INT_MAX ? INT_MAX : (int)ms, NULL);
        perform(sl);
    }
    sl->busy--;
    sweep(sl);
}

void ar_sse_loop_free(ar_loop *l)
{
    sse_loop *sl = l->sse;
    if (!sl) return;
    for (sse_conn *c = sl->conns; c; c = c->next)
        c->detached = true;
    sl->busy = 0;
    sweep(sl);
    curl_multi_cleanup(sl->multi);
    free(sl);
    l->sse = NULL;
}

static ar_err sse_send(ar_conn *base, const char *data, size_t len, bool binary)
{
    sse_conn *c = (sse_conn *)base;
    (void)binary; /* an HTTP body is bytes either way */
    if (c->detached) return AR_ECLOSED;
    if (c->q_n == SSE_QUEUE_MAX) return AR_ETOOBIG;
    char *body = malloc(len + 1);
    if (!body) return AR_ENOMEM;
    if (len) memcpy(body, data, len);
    body[len] = '\0';
    c->q[(c->q_head + c->q_n) % SSE_QUEUE_MAX] = (sse_req){body, len};
    c->q_n++;
    start_due(c);
    return AR_OK;
}

static void sse_pause(ar_conn *base, bool paused)
{
    sse_conn *c = (sse_conn *)base;
    sse_loop *sl = c->sl;
    c->paused = paused;
    if (!c->easy || c->detached) return;
    /* Resuming may hand buffered data to write_cb, and so to the callbacks,
     * right here. */
    sl->busy++;
    sl->in_curl++;
    curl_easy_pause(c->easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    sl->in_curl--;
    sl->busy--;
    sweep(sl);
}

static void sse_close(ar_conn *base)
{
    sse_conn *c = (sse_conn *)base;
    c->detached = true;
    c->cb = NULL;
    c->user = NULL;
    sweep(c->sl);
}

static const ar_conn_ops sse_ops = {sse_send, sse_pause, sse_close, sse_meta};

static bool url_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
              (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static bool header_ok(const char *name, const char *value, char *err, size_t err_len)
{
    if (!name[0] || name[strcspn(name, ": \t\r\n")]) {
        snprintf(err, err_len, "'%s' is not an HTTP header name", name);
        return false;
    }
    if (value[strcspn(value, "\r\n")]) {
        snprintf(err, err_len, "the value of header '%s' contains a line break", name);
        return false;
    }
    return true;
}

ar_conn *ar_sse_open(ar_loop *loop, const char *url, const ar_sse_opts *opts, const ar_conn_cb *cb,
                     void *user, char *err, size_t err_len)
{
    static const ar_sse_opts defaults = {0};
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    /* Loops are made on several threads, and curl's global init must run once. */
    pthread_once(&once, global_init);
    if (!opts) opts = &defaults;
    if (!url_ok(url)) {
        snprintf(err, err_len, "'%s' is not an SSE URL (http://host:port/path or https://...)",
                 url);
        return NULL;
    }
    for (size_t i = 0; i < opts->n_headers; i++)
        if (!header_ok(opts->headers[2 * i], opts->headers[2 * i + 1], err, err_len)) return NULL;
    sse_loop *sl = loop_sse(loop, err, err_len);
    if (!sl) return NULL;
    sse_conn *c = calloc(1, sizeof *c);
    if (!c) goto oom;
    c->base.ops = &sse_ops;
    c->sl = sl;
    c->url = strdup(url);
    c->method = strdup(opts->method && opts->method[0] ? opts->method : "POST");
    c->max_event_bytes = opts->max_event_bytes ? opts->max_event_bytes : AR_FRAME_MAX_BYTES;
    c->reconnect = opts->reconnect;
    int64_t ct_us =
        opts->connect_timeout_us > 0 ? opts->connect_timeout_us : CONNECT_TIMEOUT_DEFAULT_US;
    c->connect_timeout_ms = (long)((ct_us + 999) / 1000);
    c->cb = cb;
    c->user = user;
    ar_buf_init(&c->err_body, ERR_BODY_MAX_BYTES);
    c->parser = ar_sse_new(c->max_event_bytes, &parser_cb, c);
    c->hdr_lines = opts->n_headers ? calloc(opts->n_headers, sizeof *c->hdr_lines) : NULL;
    if (!c->url || !c->method || !c->parser || (opts->n_headers && !c->hdr_lines)) goto oom;
    for (size_t i = 0; i < opts->n_headers; i++) {
        const char *name = opts->headers[2 * i];
        if (!(c->hdr_lines[i] = header_line(name, opts->headers[2 * i + 1]))) goto oom;
        c->n_hdr_lines++;
        c->has_accept |= strcasecmp(name, "Accept") == 0;
        c->has_ctype |= strcasecmp(name, "Content-Type") == 0;
        c->has_expect |= strcasecmp(name, "Expect") == 0;
    }
    c->next = sl->conns;
    sl->conns = c;
    /* No handshake: the "connection" is ready; requests connect on send. */
    sl->busy++;
    if (cb && cb->on_open) cb->on_open(user);
    sl->busy--;
    return &c->base;
oom:
    if (c) conn_release(c); /* not linked yet: it only frees */
    snprintf(err, err_len, "out of memory");
    return NULL;
}
