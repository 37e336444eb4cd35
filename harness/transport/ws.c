/*
 * ws.c - the WebSocket client transport on libwebsockets (4.1).
 *
 * One lws context per ar_loop, serviced only by the thread that owns it.
 * lws may hand a message over in several RECEIVE callbacks (fragments, and
 * its own rx buffer size), so frames are reassembled here up to
 * AR_FRAME_MAX_BYTES; past the cap we keep counting but stop storing, and
 * deliver the truncated frame once so the caller records an honest error
 * instead of the harness growing without bound. Pings are answered by lws.
 * Writes happen only on WRITEABLE, one frame per callback.
 */
#include "loop_int.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#define SENDQ_MAX 8 /* a session sends one frame per turn; bench holds thousands of these */

typedef struct {
    char *data; /* LWS_PRE bytes of headroom, then the payload */
    size_t len;
    bool binary;
} qframe;

struct ws_conn {
    ar_conn base; /* first: ar_conn* and ws_conn* convert both ways */
    ar_loop *loop;
    bool tls;
    int port;
    struct lws *wsi;
    const ar_conn_cb *cb;
    void *user;
    bool detached; /* ar_conn_close called: no more callbacks, free when gone */
    bool gone;     /* the socket is closed (or never opened) */
    bool notified; /* on_close was called */
    ar_buf rx;
    size_t rx_wire;
    bool rx_binary;
    qframe q[SENDQ_MAX];
    size_t q_head;
    size_t q_n;
    char *host;
    char *path;
    char close_detail[160];
    int close_code;
    int64_t ping_every_us; /* keepalive: a ping every this long; 0: none */
    bool ping_due;         /* the timer fired: send a ping on the next WRITEABLE */
    char **headers; /* handshake headers (name, value, ...), copied at connect: lws asks later */
    size_t n_headers;
    char *subprotocols;
    ws_conn *next; /* the loop's list, so ar_loop_free can release everything */
};

static void conn_release(ws_conn *c)
{
    ar_loop *l = c->loop;
    for (ws_conn **pp = &l->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    for (size_t i = 0; i < c->q_n; i++)
        free(c->q[(c->q_head + i) % SENDQ_MAX].data);
    ar_buf_free(&c->rx);
    for (size_t i = 0; i < c->n_headers; i++)
        free(c->headers[i]);
    free(c->headers);
    free(c->subprotocols);
    free(c->host);
    free(c->path);
    free(c);
}

static void conn_gone(ws_conn *c, ar_err why, const char *detail)
{
    c->wsi = NULL;
    c->gone = true;
    if (c->detached) {
        conn_release(c);
        return;
    }
    if (!c->notified && c->cb && c->cb->on_close) {
        c->notified = true;
        c->cb->on_close(c->user, why, c->close_code, detail);
    }
}

/*
 * The offset of the first byte that does not start a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF, no sequence cut short by the end), or len when all is well.
 */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3
                              : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (!n || (n == 2 && b < 0xC2) || (n == 4 && b > 0xF4) || i + n > len) return i;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        unsigned char b1 = n > 1 ? s[i + 1] : 0;
        if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) ||
            (b == 0xF4 && b1 > 0x8F))
            return i; /* overlong, a surrogate, or past U+10FFFF */
        i += n;
    }
    return len;
}

static void deliver_frame(ws_conn *c, struct lws *wsi)
{
    bool truncated = c->rx_wire > c->rx.len;
    const char *data = c->rx.ptr ? c->rx.ptr : "";
    /* RFC 6455 section 8.1: a text frame is UTF-8. One that is not is the
     * service's mistake, reported like any broken frame (recorded as it came,
     * a failed "frames" check) rather than by failing the connection, so the
     * report also shows whether the service went on to finish the turn. A
     * truncated frame is already reported as over the cap. */
    size_t bad = c->rx_binary || truncated ? c->rx.len : utf8_bad_at((const void *)data, c->rx.len);
    if (bad < c->rx.len && !c->detached && c->cb && c->cb->on_bad_input) {
        char why[96];
        snprintf(why, sizeof why, "text frame is not valid UTF-8 at byte %zu", bad);
        c->cb->on_bad_input(c->user, data, c->rx.len, why);
    } else if (!c->detached && c->cb && c->cb->on_frame) {
        c->cb->on_frame(c->user, data, c->rx.len, c->rx_binary, truncated, c->rx_wire);
    }
    ar_buf_reset(&c->rx);
    c->rx_wire = 0;
    (void)wsi;
}

/*
 * Why the connection dropped when no close frame says so. lws 4.1 finds a
 * service's protocol violation (a reserved bit, an unknown opcode, a control
 * frame over 125 bytes), logs it, drops the connection, and no callback or
 * API says which. close_detail_for tells the two sides apart by the socket.
 * The precise reason is only in lws's log, and lws formats every log line
 * into one static buffer (LWS_MAX_SMP 1): reading it with several loops on
 * several threads is a data race (ThreadSanitizer sees it), so the log is
 * read only with AGENTRIG_LWS_DEBUG=1. Then the last violation logged on
 * this thread is kept for the connection's CLIENT_CLOSED callback, which lws
 * calls on the same thread within the read that found it; ar_loop_step
 * forgets it before each service, so it cannot outlive that read.
 */
static _Thread_local const char *ws_violation;

static const struct {
    const char *log; /* what lws 4.1.6 logs (lib/roles/ws/client-parser-ws.c) */
    const char *says;
} ws_violations[] = {
    {"illegal rsv bits", "frame with a reserved bit (RSV1, RSV2 or RSV3) set, no extension agreed"},
    {"illegal opcode", "frame with an unknown opcode"},
    {"Control frame asking for extended length", "control frame (ping, pong or close) longer "
                                                 "than 125 bytes"},
    {"control msg can't be fragmented", "fragmented control frame"},
    {"disordered continuation", "continuation frame with no message to continue"},
    {"owed us a FIN", "new message before the last fragment of the previous one"},
    {"b63 of length must be zero", "frame length with its most significant bit set"},
};

static void ws_log_emit(int level, const char *line)
{
    for (size_t i = 0; i < AR_ARRAY_LEN(ws_violations); i++)
        if (strstr(line, ws_violations[i].log)) ws_violation = ws_violations[i].says;
    if (level & (LLL_ERR | LLL_WARN | LLL_NOTICE)) lwsl_emit_stderr(level, line);
}

/*
 * The service closed the TCP connection, or this side did: a socket whose
 * peer is still there (nothing to read yet, or bytes lws never read) was
 * closed here, by lws.
 */
static void close_detail_for(ws_conn *c, struct lws *wsi)
{
    const char *v = ws_violation;
    ws_violation = NULL;
    if (c->close_detail[0]) return; /* the service's close frame says it */
    int fd = lws_get_socket_fd(wsi);
    char b;
    ssize_t r = fd >= 0 ? recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) : 0;
    bool peer_open = r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (v)
        snprintf(c->close_detail, sizeof c->close_detail,
                 "agentrig closed the connection: %s (RFC 6455 forbids it)", v);
    else if (peer_open)
        snprintf(c->close_detail, sizeof c->close_detail,
                 "agentrig closed the connection: the service broke the WebSocket protocol "
                 "(AGENTRIG_LWS_DEBUG=1 says how)");
}

/*
 * lws reports a failed connect as "Unable to connect", whatever the cause, and
 * errno is gone by the time we hear of it. A user needs "connection refused"
 * or "timed out", so after a failure below TLS we try one plain TCP connect
 * (bounded to 1 s) to learn the reason. It costs nothing on the success path,
 * and only blocks this loop's thread when the target is already failing.
 */
static void tcp_probe(const char *host, int port, char *out, size_t out_len)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, portstr, &hints, &ai);
    if (g != 0) {
        snprintf(out, out_len, "cannot resolve host '%s': %s", host, gai_strerror(g));
        return;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int r = poll(&pf, 1, 1000);
            socklen_t len = sizeof err;
            if (r == 0)
                err = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
    }
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    if (err)
        snprintf(out, out_len, "%s", strerror(err));
    else
        out[0] = '\0'; /* TCP works now: the failure was above it */
}

static void explain_failure(const ws_conn *c, const char *lws_detail, char *out, size_t out_len)
{
    if (c->tls && strstr(lws_detail, "SSL")) {
        snprintf(out, out_len, "TLS handshake failed (%s)", lws_detail);
        return;
    }
    char why[160];
    tcp_probe(c->host, c->port, why, sizeof why);
    if (why[0])
        snprintf(out, out_len, "%s", why);
    else
        snprintf(out, out_len, "%s (a plain TCP connection to %s:%d works)", lws_detail, c->host,
                 c->port);
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    ws_conn *c = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        if (!c) break;
        char detail[200];
        explain_failure(c, in ? (const char *)in : "connection failed", detail, sizeof detail);
        lws_set_opaque_user_data(wsi, NULL);
        conn_gone(c, AR_ECONNECT, detail);
        break;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c) break;
        if (c->ping_every_us) lws_set_timer_usecs(wsi, c->ping_every_us);
        if (!c->detached && c->cb && c->cb->on_open) c->cb->on_open(c->user);
        if (c->q_n || c->detached) lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!c || c->detached) break;
        if (lws_is_first_fragment(wsi)) {
            ar_buf_reset(&c->rx);
            c->rx_wire = 0;
            c->rx_binary = lws_frame_is_binary(wsi);
        }
        c->rx_wire += len;
        size_t room = c->rx.max_bytes - c->rx.len;
        size_t take = len < room ? len : room;
        if (take && ar_buf_append(&c->rx, in, take) != AR_OK) {
            /* Out of memory: keep counting so the frame is reported as cut. */
        }
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
            deliver_frame(c, wsi);
        break;
    }
    case LWS_CALLBACK_TIMER: /* keepalive: pings go out only on WRITEABLE */
        if (!c || c->detached) break;
        c->ping_due = true;
        lws_callback_on_writable(wsi);
        lws_set_timer_usecs(wsi, c->ping_every_us);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!c) return -1;
        if (c->detached) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
            return -1;
        }
        if (c->ping_due) {
            unsigned char ping[LWS_PRE + 8];
            c->ping_due = false;
            if (lws_write(wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0) return -1;
            if (c->q_n) lws_callback_on_writable(wsi);
            break;
        }
        if (!c->q_n) break;
        qframe *f = &c->q[c->q_head];
        int n = lws_write(wsi, (unsigned char *)f->data + LWS_PRE, f->len,
                          f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        free(f->data);
        c->q_head = (c->q_head + 1) % SENDQ_MAX;
        c->q_n--;
        if (n < (int)f->len) return -1;
        if (c->q_n) lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        if (!c) break;
        unsigned char **p = in, *end = *p + len;
        for (size_t i = 0; i + 1 < c->n_headers; i += 2) {
            char name[256];
            snprintf(name, sizeof name, "%s:", c->headers[i]);
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                            (const unsigned char *)c->headers[i + 1],
                                            (int)strlen(c->headers[i + 1]), p, end))
                return -1;
        }
        break;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c) {
            const unsigned char *b = in;
            int code = len >= 2 ? (b[0] << 8) | b[1] : 1005;
            c->close_code = code;
            snprintf(c->close_detail, sizeof c->close_detail,
                     "closed by the service with code %d%s%.*s", code, len > 2 ? ": " : "",
                     len > 2 ? (int)(len - 2) : 0, len > 2 ? (const char *)b + 2 : "");
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (!c) break;
        lws_set_opaque_user_data(wsi, NULL);
        close_detail_for(c, wsi);
        conn_gone(c, AR_ECLOSED,
                  c->close_detail[0] ? c->close_detail : "connection closed by the service");
        break;
    default:
        break;
    }
    return 0;
}

/* rx_buffer_size is per connection in lws; frames are reassembled here
 * anyway (up to AR_FRAME_MAX_BYTES), so a small one saves memory per session:
 * at 5,000 sessions each KiB here is 5 MB. */
static const struct lws_protocols client_protocols[] = {
    {"agentrig", ws_callback, 0, 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws logs to stderr by default; our own reports say what matters.
 * AGENTRIG_LWS_DEBUG=1 brings its errors, warnings and notices back, and
 * reads its info lines for the protocol violation (see ws_violation). */
static void set_lws_log_level(void)
{
    bool debug = getenv("AGENTRIG_LWS_DEBUG") != NULL;
    lws_set_log_level(debug ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO : 0,
                      debug ? ws_log_emit : NULL);
}

ar_loop *ar_loop_new(bool tls, char *err, size_t err_len)
{
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    pthread_once(&log_once, set_lws_log_level); /* loops are made on several threads */
    ar_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.gid = -1;
    info.uid = -1;
    info.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    l->tls = tls;
    info.timeout_secs = 20;
    l->ctx = lws_create_context(&info);
    if (!l->ctx) {
        snprintf(err, err_len, "could not create the WebSocket client context");
        free(l);
        return NULL;
    }
    return l;
}

static void free_headers(ar_loop *l)
{
    for (size_t i = 0; i < l->n_headers; i++)
        free(l->headers[i]);
    free(l->headers);
    l->headers = NULL;
    l->n_headers = 0;
}

void ar_loop_set_ping(ar_loop *l, int64_t every_us)
{
    int64_t s = every_us <= 0 ? 0 : (every_us + 999999) / 1000000;
    l->ping_every_s = (int)(s > 3600 ? 3600 : s);
}

ar_err ar_loop_set_subprotocols(ar_loop *l, const char *list)
{
    free(l->subprotocols);
    l->subprotocols = NULL;
    if (list && !(l->subprotocols = strdup(list))) return AR_ENOMEM;
    return AR_OK;
}

ar_err ar_loop_set_headers(ar_loop *l, const char *const *pairs, size_t n)
{
    free_headers(l);
    if (!n) return AR_OK;
    l->headers = calloc(2 * n, sizeof *l->headers);
    if (!l->headers) return AR_ENOMEM;
    for (size_t i = 0; i < 2 * n; i++) {
        l->headers[i] = strdup(pairs[i]);
        if (!l->headers[i]) {
            l->n_headers = i;
            free_headers(l);
            return AR_ENOMEM;
        }
    }
    l->n_headers = 2 * n;
    return AR_OK;
}

void ar_loop_free(ar_loop *l)
{
    if (!l) return;
    ar_sse_loop_free(l);
    free_headers(l);
    free(l->subprotocols);
    for (ws_conn *c = l->conns; c; c = c->next)
        c->detached = true;
    lws_context_destroy(l->ctx);
    while (l->conns)
        conn_release(l->conns);
    free(l);
}

/*
 * The wake timer bounds how long one step may block. When it is already ripe
 * as lws_service starts, lws runs it before polling and would then poll with
 * no timer left (lws's own idle timer is 30 s), so it also cancels the
 * service wait, which makes that poll return at once.
 */
static void wake_cb(lws_sorted_usec_list_t *sul)
{
    ar_loop *l = (ar_loop *)((char *)sul - offsetof(ar_loop, wake));
    lws_cancel_service(l->ctx);
}

void ar_loop_step(ar_loop *l, int64_t max_wait_us)
{
    if (max_wait_us < 0) max_wait_us = 0;
    /* A loop drives one kind of connection at a time in practice (a session
     * is WebSocket or SSE); SSE transfers are serviced by curl's own poll. */
    if (ar_sse_loop_active(l)) {
        ar_sse_loop_step(l, max_wait_us);
        return;
    }
    lws_sul_schedule(l->ctx, 0, &l->wake, wake_cb, max_wait_us);
    ws_violation = NULL;
    lws_service(l->ctx, 0);
    lws_sul_cancel(&l->wake);
}

bool ar_url_split(const char *url, bool *tls, char **host, int *port, char **path)
{
    const char *p;
    if (strncmp(url, "ws://", 5) == 0) {
        *tls = false;
        p = url + 5;
    } else if (strncmp(url, "wss://", 6) == 0) {
        *tls = true;
        p = url + 6;
    } else {
        return false;
    }
    const char *slash = strchr(p, '/');
    const char *hend = slash ? slash : p + strlen(p);
    const char *colon = NULL;
    if (*p == '[') { /* [::1]:port */
        const char *rb = memchr(p, ']', (size_t)(hend - p));
        if (!rb) return false;
        colon = (rb + 1 < hend && rb[1] == ':') ? rb + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(hend - p));
    }
    const char *nend = colon ? colon : hend;
    if (nend == p) return false;
    int prt = *tls ? 443 : 80;
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (end != hend || v <= 0 || v > 65535) return false;
        prt = (int)v;
    }
    if (*p == '[') {
        *host = ar_strndup(p + 1, (size_t)(nend - p - 2));
    } else {
        *host = ar_strndup(p, (size_t)(nend - p));
    }
    *path = strdup(slash ? slash : "/");
    *port = prt;
    return *host && *path;
}

static ar_err ws_send(ar_conn *base, const char *data, size_t len, bool binary);
static void ws_pause(ar_conn *base, bool paused);
static void ws_close(ar_conn *base);
static const ar_conn_ops ws_ops = {ws_send, ws_pause, ws_close, NULL};

ar_conn *ar_ws_connect(ar_loop *l, const char *url, const ar_conn_cb *cb, void *user, char *err,
                       size_t err_len)
{
    ws_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    bool tls;
    int port;
    if (!ar_url_split(url, &tls, &c->host, &port, &c->path)) {
        snprintf(err, err_len, "'%s' is not a WebSocket URL (ws://host:port/path or wss://...)",
                 url);
        free(c->host);
        free(c->path);
        free(c);
        return NULL;
    }
    if (tls && !l->tls) {
        snprintf(err, err_len, "'%s' needs TLS, but this run was started without it", url);
        free(c->host);
        free(c->path);
        free(c);
        return NULL;
    }
    c->base.ops = &ws_ops;
    if (l->n_headers && (c->headers = calloc(l->n_headers, sizeof *c->headers))) {
        for (size_t i = 0; i < l->n_headers; i++)
            c->headers[i] = strdup(l->headers[i]);
        c->n_headers = l->n_headers;
    }
    c->subprotocols = ar_strdup(l->subprotocols);
    c->loop = l;
    c->tls = tls;
    c->port = port;
    c->cb = cb;
    c->user = user;
    ar_buf_init(&c->rx, AR_FRAME_MAX_BYTES);
    c->next = l->conns;
    l->conns = c;

    /* Resolve first: lws 4.1 reports a DNS failure only as a failed connect. */
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(c->host, portstr, &hints, &ai);
    if (g != 0) {
        char detail[200];
        snprintf(detail, sizeof detail, "cannot resolve host '%s': %s", c->host, gai_strerror(g));
        conn_gone(c, AR_ECONNECT, detail);
        return &c->base;
    }
    freeaddrinfo(ai);

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = l->ctx;
    ci.address = c->host;
    ci.port = port;
    ci.path = c->path;
    ci.host = c->host;
    ci.origin = c->host;
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.ietf_version_or_minus_one = -1;
    ci.protocol = c->subprotocols;       /* Sec-WebSocket-Protocol, NULL: none */
    c->ping_every_us = (int64_t)l->ping_every_s * 1000000;
    ci.local_protocol_name = "agentrig"; /* our callback, whatever the service speaks */
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci)) {
        /* lws has already reported CONNECTION_ERROR through the callback when
         * it got that far; otherwise say so here. */
        if (!c->gone) conn_gone(c, AR_ECONNECT, "could not start the connection");
    }
    return &c->base;
}

static void ws_pause(ar_conn *base, bool paused)
{
    ws_conn *c = (ws_conn *)base;
    if (c->wsi) lws_rx_flow_control(c->wsi, paused ? 0 : 1);
}

static ar_err ws_send(ar_conn *base, const char *data, size_t len, bool binary)
{
    ws_conn *c = (ws_conn *)base;
    if (c->gone || c->detached) return AR_ECLOSED;
    if (c->q_n == SENDQ_MAX) return AR_ETOOBIG;
    char *buf = malloc(LWS_PRE + len + 1);
    if (!buf) return AR_ENOMEM;
    memcpy(buf + LWS_PRE, data, len);
    c->q[(c->q_head + c->q_n) % SENDQ_MAX] = (qframe){buf, len, binary};
    c->q_n++;
    if (c->wsi) lws_callback_on_writable(c->wsi);
    return AR_OK;
}

static void ws_close(ar_conn *base)
{
    ws_conn *c = (ws_conn *)base;
    if (c->gone) {
        conn_release(c);
        return;
    }
    c->detached = true;
    if (c->wsi) lws_callback_on_writable(c->wsi);
}
