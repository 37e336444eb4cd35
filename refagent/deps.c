/*
 * deps.c - the HTTP/1.1 dependency server (see deps.h).
 *
 * One thread, one poll() loop over non-blocking sockets: handlers are pure
 * computations (model.c, tools.c) that take microseconds, so a thread per
 * connection would buy nothing. A self-pipe wakes the loop for shutdown.
 * Requests are handled in arrival order per connection, which keeps
 * pipelined requests correct without extra bookkeeping.
 */
#include "deps.h"
#include "model.h"
#include "tools.h"
#include "util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define RA_DEPS_OUT_MAX_BYTES (8u * 1024u * 1024u)

typedef struct {
    int fd;
    ra_sb in;
    ra_sb out;
    int close_after; /* close once `out` is flushed */
    int allow_get;   /* the 405 being written is for a GET-only path */
} dconn;

struct ra_deps {
    int listen_fd;
    int wake[2];
    int port;
    pthread_t thread;
    const ra_stats *stats; /* NULL: all zero */
    dconn *conns[RA_DEPS_MAX_CONNS];
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Internal Server Error";
    }
}

static void respond(dconn *c, int status, const char *body, int keep_alive)
{
    size_t len = strlen(body);
    ra_sb_printf(&c->out,
                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "%sConnection: %s\r\n\r\n",
                 status, reason_phrase(status), len,
                 status != 405  ? ""
                 : c->allow_get ? "Allow: GET\r\n"
                                : "Allow: POST\r\n",
                 keep_alive ? "keep-alive" : "close");
    ra_sb_append(&c->out, body, len);
    if (!keep_alive) c->close_after = 1;
}

static void respond_error(dconn *c, int status, const char *msg, int keep_alive)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *s = cJSON_PrintUnformatted(o);
    respond(c, status, s ? s : "{}", keep_alive);
    free(s);
    cJSON_Delete(o);
}

static void respond_json(dconn *c, cJSON *obj, int keep_alive)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    if (s)
        respond(c, 200, s, keep_alive);
    else
        respond_error(c, 500, "out of memory", keep_alive);
    free(s);
}

/* GET /stats: the WebSocket server's live counters, for benchmarks that must
 * compare what refagent sent with what a client recorded. */
static void respond_stats(ra_deps *d, dconn *c, int keep_alive)
{
    uint64_t sent = d->stats ? atomic_load(&((ra_stats *)d->stats)->events_sent) : 0;
    uint64_t turns = d->stats ? atomic_load(&((ra_stats *)d->stats)->turns_completed) : 0;
    int64_t conns = d->stats ? atomic_load(&((ra_stats *)d->stats)->connections) : 0;
    char body[160];
    snprintf(body, sizeof(body),
             "{\"events_sent\":%" PRIu64 ",\"turns_completed\":%" PRIu64 ",\"connections\":%" PRId64
             "}",
             sent, turns, conns);
    respond(c, 200, body, keep_alive);
}

static void route_request(ra_deps *d, dconn *c, const char *method, const char *path,
                          const char *body, size_t body_len, int keep_alive)
{
    int is_model = strcmp(path, "/v1/complete") == 0;
    int is_tool = strncmp(path, "/tools/", 7) == 0;
    if (strcmp(path, "/health") == 0) {
        respond(c, 200, "{\"ok\":true}", keep_alive);
        return;
    }
    if (strcmp(path, "/stats") == 0) {
        if (strcmp(method, "GET") == 0)
            respond_stats(d, c, keep_alive);
        else {
            c->allow_get = 1;
            respond_error(c, 405, "use GET", keep_alive);
            c->allow_get = 0;
        }
        return;
    }
    if (!is_model && !is_tool) {
        respond_error(c, 404, "not found", keep_alive);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        respond_error(c, 405, "use POST", keep_alive);
        return;
    }
    const char *name = path + 7;
    if (is_tool && !ra_tools_exists(name)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unknown tool '%.64s'", name);
        respond_error(c, 404, msg, keep_alive);
        return;
    }
    cJSON *req = cJSON_ParseWithLength(body, body_len);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        respond_error(c, 400, "body must be a JSON object", keep_alive);
        return;
    }
    cJSON *reply;
    char err[160] = "";
    if (is_model)
        reply = ra_model_complete(req, err, sizeof(err));
    else
        reply = ra_tools_call(name, req);
    if (reply)
        respond_json(c, reply, keep_alive);
    else
        respond_error(c, is_model ? 400 : 500, err[0] ? err : "out of memory", keep_alive);
    cJSON_Delete(reply);
    cJSON_Delete(req);
}

/* Finds a header's value in the header block; copies it into out. */
static int header_value(const char *hdrs, const char *name, char *out, size_t out_len)
{
    size_t n = strlen(name);
    for (const char *p = strstr(hdrs, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= out_len) len = out_len - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Handles every complete request in c->in. Returns 0, or -1 to drop the connection. */
static int process_input(ra_deps *d, dconn *c)
{
    while (!c->close_after) {
        char *end = strstr(c->in.ptr ? c->in.ptr : "", "\r\n\r\n");
        if (!end) {
            if (c->in.len > RA_DEPS_HEADER_MAX_BYTES)
                respond_error(c, 431, "request header too large", 0);
            return 0;
        }
        size_t hdr_len = (size_t)(end - c->in.ptr) + 4;
        if (hdr_len > RA_DEPS_HEADER_MAX_BYTES) {
            respond_error(c, 431, "request header too large", 0);
            return 0;
        }
        char method[16], path[256], version[16];
        *end = '\0';
        int ok = sscanf(c->in.ptr, "%15s %255s %15s", method, path, version) == 3 &&
                 strncmp(version, "HTTP/1.", 7) == 0;
        char val[64];
        int keep_alive = ok && strcmp(version, "HTTP/1.1") == 0;
        if (header_value(c->in.ptr, "Connection", val, sizeof(val)))
            keep_alive =
                strcasecmp(val, "close") != 0 && (keep_alive || strcasecmp(val, "keep-alive") == 0);
        long body_len = 0;
        if (ok && header_value(c->in.ptr, "Content-Length", val, sizeof(val))) {
            char *e = NULL;
            body_len = strtol(val, &e, 10);
            if (e == val || *e != '\0' || body_len < 0) ok = 0;
        }
        int chunked = header_value(c->in.ptr, "Transfer-Encoding", val, sizeof(val));
        *end = '\r';
        if (!ok || chunked) {
            respond_error(c, 400,
                          chunked ? "chunked bodies are not supported" : "malformed request", 0);
            return 0;
        }
        if ((unsigned long)body_len > RA_DEPS_BODY_MAX_BYTES) {
            respond_error(c, 413, "body too large", 0);
            return 0;
        }
        if (c->in.len < hdr_len + (size_t)body_len) return 0;
        /* The body is not NUL-terminated inside `in`; cJSON gets its length. */
        route_request(d, c, method, path, c->in.ptr + hdr_len, (size_t)body_len, keep_alive);
        ra_sb_consume(&c->in, hdr_len + (size_t)body_len);
        if (c->out.overflow) return -1;
    }
    return 0;
}

static void conn_close(ra_deps *d, int i)
{
    dconn *c = d->conns[i];
    close(c->fd);
    ra_sb_free(&c->in);
    ra_sb_free(&c->out);
    free(c);
    d->conns[i] = NULL;
}

static void accept_all(ra_deps *d)
{
    for (;;) {
        int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int slot = -1;
        for (int i = 0; i < RA_DEPS_MAX_CONNS && slot < 0; i++) {
            if (!d->conns[i]) slot = i;
        }
        dconn *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            close(fd); /* at the connection cap: the client sees a reset and retries */
            continue;
        }
        c->fd = fd;
        ra_sb_init(&c->in, RA_DEPS_HEADER_MAX_BYTES + RA_DEPS_BODY_MAX_BYTES + 1);
        ra_sb_init(&c->out, RA_DEPS_OUT_MAX_BYTES);
        d->conns[slot] = c;
    }
}

/* Reads what is available; returns -1 when the connection must be dropped. */
static int conn_read(ra_deps *d, dconn *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            if (c->close_after) continue; /* an error reply is pending: discard the rest */
            if (!ra_sb_append(&c->in, buf, (size_t)n)) return -1;
            if (process_input(d, c) < 0) return -1;
            continue;
        }
        if (n == 0) return c->out.len > 0 ? (c->close_after = 1, 0) : -1;
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
}

static int conn_write(dconn *c)
{
    while (c->out.len > 0) {
        ssize_t n = send(c->fd, c->out.ptr, c->out.len, MSG_NOSIGNAL);
        if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        ra_sb_consume(&c->out, (size_t)n);
    }
    return c->close_after ? -1 : 0;
}

static void *deps_main(void *arg)
{
    ra_deps *d = arg;
    struct pollfd pfds[RA_DEPS_MAX_CONNS + 2];
    int idx[RA_DEPS_MAX_CONNS + 2];
    for (;;) {
        int n = 0;
        pfds[n++] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
        pfds[n++] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
        for (int i = 0; i < RA_DEPS_MAX_CONNS; i++) {
            if (!d->conns[i]) continue;
            short ev = d->conns[i]->close_after ? 0 : POLLIN;
            if (d->conns[i]->out.len > 0) ev |= POLLOUT;
            idx[n] = i;
            pfds[n++] = (struct pollfd){.fd = d->conns[i]->fd, .events = ev};
        }
        if (poll(pfds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pfds[0].revents) break;
        if (pfds[1].revents & POLLIN) accept_all(d);
        for (int k = 2; k < n; k++) {
            dconn *c = d->conns[idx[k]];
            short re = pfds[k].revents;
            if (!c || !re) continue;
            int rc = 0;
            if (re & (POLLIN | POLLHUP | POLLERR)) rc = conn_read(d, c);
            if (rc == 0 && c->out.len > 0) rc = conn_write(c);
            if (rc < 0) conn_close(d, idx[k]);
        }
    }
    return NULL;
}

ra_deps *ra_deps_start(int port, const ra_stats *stats, char *err, size_t err_len)
{
    ra_deps *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    d->stats = stats;
    d->wake[0] = d->wake[1] = -1;
    d->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (d->listen_fd < 0 ||
        setsockopt(d->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(d->listen_fd, 128) < 0 ||
        getsockname(d->listen_fd, (struct sockaddr *)&sa, &sl) < 0 ||
        pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        snprintf(err, err_len, "deps server on 127.0.0.1:%d: %s", port, strerror(errno));
        goto fail;
    }
    d->port = ntohs(sa.sin_port);
    if (pthread_create(&d->thread, NULL, deps_main, d) != 0) {
        snprintf(err, err_len, "deps server: cannot start its thread");
        goto fail;
    }
    return d;
fail:
    if (d->listen_fd >= 0) close(d->listen_fd);
    if (d->wake[0] >= 0) {
        close(d->wake[0]);
        close(d->wake[1]);
    }
    free(d);
    return NULL;
}

int ra_deps_port(const ra_deps *d)
{
    return d->port;
}

void ra_deps_stop(ra_deps *d)
{
    if (!d) return;
    ssize_t w = write(d->wake[1], "x", 1);
    (void)w;
    pthread_join(d->thread, NULL);
    for (int i = 0; i < RA_DEPS_MAX_CONNS; i++) {
        if (d->conns[i]) conn_close(d, i);
    }
    close(d->listen_fd);
    close(d->wake[0]);
    close(d->wake[1]);
    free(d);
}
