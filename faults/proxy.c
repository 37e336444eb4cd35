/*
 * proxy.c - the fault proxy's server: an accept thread and one thread per
 * client connection (capped at PX_MAX_CONNS), each owning one keep-alive
 * connection to the upstream. A request is read whole, the rules decide under
 * one lock in arrival order (so a seed reproduces the same decisions), and
 * the action runs on the connection's own thread, where holding a request
 * costs nothing but that thread.
 *
 * Why threads and blocking-style code rather than an event loop: faults are
 * mostly about time (delays, hangs, pacing), which read naturally as sleeps;
 * every sleep and wait polls the stop pipe (proxy_io.c), so stopping stays
 * prompt, and the connection cap bounds the thread count.
 *
 * This file is the sockets-and-threads half: the listener, the per-connection
 * read loop, start and stop. What happens to a request once it is read whole
 * is proxy_exchange.c.
 */
#include "proxy_int.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PX_IDLE_US (300LL * 1000000) /* a keep-alive client may stay quiet this long */
#define PX_READ_US (60LL * 1000000)  /* to finish a request once it started */
#define PX_DEFAULT_UPSTREAM_US (30LL * 1000000)
#define PX_DEFAULT_HEAD_US (10LL * 1000000)
#define PX_IN_MAX_BYTES (PX_HEAD_MAX_BYTES + PX_BODY_MAX_BYTES + 64 * 1024)

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void *conn_main(void *arg)
{
    px_conn *c = arg;
    ar_proxy *p = c->p;
    set_nonblock(c->fd);
    bool fresh = true; /* a client connects to send a request: it gets head_us, not the idle time */
    while (c->fd >= 0) {
        px_msg req;
        px_msg_init(&req);
        const char *why = NULL;
        int64_t now = ar_now_us();
        int64_t first_us = now + (fresh ? p->head_us : PX_IDLE_US);
        px_io_rc rc = px_http_read_head(c->fd, &c->in, &req, true, p->stop_pipe[0], first_us,
                                        first_us + PX_READ_US, p->head_us, &why);
        fresh = false;
        int64_t at_us = ar_now_us();
        if (rc == PX_IO_TIMEOUT && c->in.len) {
            rc = PX_IO_BAD;
            why = "request head not complete in time";
        }
        if (rc == PX_IO_OK && !req.chunked && req.content_length > PX_BODY_MAX_BYTES) {
            rc = PX_IO_TOOBIG;
            why = "body over 16 MiB";
        }
        if (rc == PX_IO_OK && req.expect_continue) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            rc = px_io_write_all(c->fd, cont, sizeof(cont) - 1, p->stop_pipe[0],
                                 at_us + PX_WRITE_US);
        }
        if (rc == PX_IO_OK)
            rc = px_http_read_body(c->fd, &c->in, &req, true, NULL, p->stop_pipe[0],
                                   at_us + PX_READ_US, &why);
        if (rc == PX_IO_OK) {
            ar_px_handle(c, &req, at_us);
        } else if (rc == PX_IO_TOOBIG || rc == PX_IO_BAD) {
            int status = rc == PX_IO_BAD ? (strstr(why ? why : "", "in time") ? 408 : 400)
                         : strstr(why ? why : "", "head")   ? 431
                         : strstr(why ? why : "", "header") ? 431
                                                            : 413;
            ar_px_refuse(c, &req, status, why ? why : "bad request", at_us);
            ar_px_close_fd(&c->fd);
        } else {
            ar_px_close_fd(&c->fd);
        }
        px_msg_clear(&req);
    }
    ar_px_close_fd(&c->ufd);
    atomic_store(&c->done, true);
    return NULL;
}

/* --- accepting ----------------------------------------------------------- */

static void conn_free(px_conn *c)
{
    ar_px_close_fd(&c->fd);
    ar_px_close_fd(&c->ufd);
    ar_buf_free(&c->in);
    ar_buf_free(&c->uin);
    ar_buf_free(&c->out);
    free(c);
}

/* Joins the connection threads that finished (all of them when all is set). */
static void reap(ar_proxy *p, bool all)
{
    px_conn *done = NULL;
    pthread_mutex_lock(&p->mu);
    px_conn **pp = &p->conns;
    while (*pp) {
        px_conn *c = *pp;
        if (all || atomic_load(&c->done)) {
            *pp = c->next;
            c->next = done;
            done = c;
            p->n_conns--;
        } else {
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&p->mu);
    while (done) {
        px_conn *c = done;
        done = c->next;
        pthread_join(c->th, NULL);
        conn_free(c);
    }
}

static void too_many(ar_proxy *p, int fd)
{
    static const char msg[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Content-Length: 53\r\nConnection: close\r\n\r\n"
        "{\"error\":\"fault proxy: too many concurrent connections\"}";
    ssize_t w = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;
    close(fd);
    atomic_fetch_add(&p->requests, 1);
    char detail[96];
    snprintf(detail, sizeof(detail), "connection refused with 503: over %d concurrent connections",
             PX_MAX_CONNS);
    ar_px_report(p, -1, AR_PX_FORWARD, "", "", 503, ar_now_us(), detail, atomic_load(&p->turn));
}

static void *accept_main(void *arg)
{
    ar_proxy *p = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (;;) {
        struct pollfd pf[2] = {{.fd = p->stop_pipe[0], .events = POLLIN},
                               {.fd = p->listen_fd, .events = POLLIN}};
        int n = poll(pf, 2, 200);
        if (n < 0 && errno != EINTR) break;
        if (pf[0].revents) break;
        reap(p, false);
        if (n <= 0 || !pf[1].revents) continue;
        int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        pthread_mutex_lock(&p->mu);
        bool full = p->n_conns >= PX_MAX_CONNS;
        pthread_mutex_unlock(&p->mu);
        if (full) {
            too_many(p, fd);
            continue;
        }
        px_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->p = p;
        c->fd = fd;
        c->ufd = -1;
        ar_buf_init(&c->in, PX_IN_MAX_BYTES);
        ar_buf_init(&c->uin, PX_IN_MAX_BYTES);
        ar_buf_init(&c->out, PX_IN_MAX_BYTES);
        atomic_init(&c->done, false);
        pthread_mutex_lock(&p->mu);
        if (pthread_create(&c->th, &attr, conn_main, c) != 0) {
            pthread_mutex_unlock(&p->mu);
            conn_free(c);
            continue;
        }
        c->next = p->conns;
        p->conns = c;
        p->n_conns++;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------ */

static ar_err fail(char *err, size_t err_len, ar_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ar_err fail(char *err, size_t err_len, ar_err e, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return e;
}

/* Splits "http://host[:port][/base]" and resolves host. */
static ar_err parse_upstream(ar_proxy *p, const char *url, char *err, size_t err_len)
{
    if (!url || strncasecmp(url, "http://", 7) != 0)
        return fail(err, err_len, AR_EINVAL, "upstream must be an http:// URL (got '%s')",
                    url ? url : "");
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    size_t auth_len = slash ? (size_t)(slash - h) : strlen(h);
    char host[256], port[16] = "80";
    if (auth_len == 0 || auth_len >= sizeof(host))
        return fail(err, err_len, AR_EINVAL, "upstream '%s' has no host", url);
    char auth[256];
    memcpy(auth, h, auth_len);
    auth[auth_len] = '\0';
    char *colon;
    if (auth[0] == '[') {
        char *rb = strchr(auth, ']');
        if (!rb) return fail(err, err_len, AR_EINVAL, "upstream '%s': unclosed '['", url);
        *rb = '\0';
        snprintf(host, sizeof(host), "%s", auth + 1);
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = strrchr(auth, ':');
        if (colon) *colon = '\0';
        snprintf(host, sizeof(host), "%s", auth);
    }
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (*end || v < 1 || v > 65535)
            return fail(err, err_len, AR_EINVAL, "upstream '%s': bad port", url);
        snprintf(port, sizeof(port), "%ld", v);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai || !ai)
        return fail(err, err_len, AR_ECONNECT, "upstream '%s': cannot resolve %s: %s", url, host,
                    gai_strerror(gai));
    memcpy(&p->up_addr, ai->ai_addr, ai->ai_addrlen);
    p->up_addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(p->up_hostport, sizeof(p->up_hostport), "%s%s%s:%s", strchr(host, ':') ? "[" : "",
             host, strchr(host, ':') ? "]" : "", port);
    const char *base = slash ? slash : "";
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    p->up_base = ar_strndup(base, bl);
    if (!p->up_base) return AR_ENOMEM;
    return AR_OK;
}

static ar_err open_listener(ar_proxy *p, const ar_px_cfg *cfg, char *err, size_t err_len)
{
    const char *host = cfg->listen_host ? cfg->listen_host : "127.0.0.1";
    char port[16];
    snprintf(port, sizeof(port), "%d", cfg->listen_port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai || !ai)
        return fail(err, err_len, AR_EINVAL, "listen address %s:%d: %s", host, cfg->listen_port,
                    gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return fail(err, err_len, AR_EIO, "cannot listen on %s:%d: %s", host, cfg->listen_port,
                    strerror(e));
    }
    freeaddrinfo(ai);
    p->listen_fd = fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    bool v6 = strchr(host, ':') != NULL;
    snprintf(p->url, sizeof(p->url), "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", bound);
    return AR_OK;
}

static void proxy_free(ar_proxy *p)
{
    for (size_t i = 0; i < p->n_rules; i++)
        ar_px_rule_clear(&p->rules[i]);
    free(p->rules);
    free(p->matched);
    free(p->sched_rng);
    free(p->tox_rng);
    free((void *)p->fired);
    free(p->up_base);
    if (p->listen_fd >= 0) close(p->listen_fd);
    if (p->stop_pipe[0] >= 0) close(p->stop_pipe[0]);
    if (p->stop_pipe[1] >= 0) close(p->stop_pipe[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

ar_err ar_px_start(const ar_px_cfg *cfg, ar_proxy **out, char *err, size_t err_len)
{
    *out = NULL;
    ar_proxy *p = calloc(1, sizeof(*p));
    if (!p) return fail(err, err_len, AR_ENOMEM, "out of memory");
    p->listen_fd = p->stop_pipe[0] = p->stop_pipe[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    p->on_hit = cfg->on_hit;
    p->user = cfg->user;
    p->upstream_timeout_us =
        cfg->upstream_timeout_us > 0 ? cfg->upstream_timeout_us : PX_DEFAULT_UPSTREAM_US;
    atomic_init(&p->requests, 0);
    atomic_init(&p->turn, 0);
    ar_err e;
    p->head_us = cfg->head_timeout_us;
    const char *env = getenv("AGENTRIG_PROXY_HEAD_TIMEOUT");
    if (p->head_us <= 0 && env && (ar_parse_duration(env, &p->head_us) || p->head_us <= 0)) {
        e = fail(err, err_len, AR_EINVAL,
                 "AGENTRIG_PROXY_HEAD_TIMEOUT='%s' is not a duration above 0 (e.g. 10s)", env);
        goto out;
    }
    if (p->head_us <= 0) p->head_us = PX_DEFAULT_HEAD_US;
    if ((e = parse_upstream(p, cfg->upstream, err, err_len))) goto out;
    size_t n = cfg->n_rules;
    if (n) {
        p->rules = calloc(n, sizeof(*p->rules));
        p->matched = calloc(n, sizeof(*p->matched));
        p->sched_rng = calloc(n, sizeof(*p->sched_rng));
        p->tox_rng = calloc(n, sizeof(*p->tox_rng));
        p->fired = calloc(n, sizeof(*p->fired));
        if (!p->rules || !p->matched || !p->sched_rng || !p->tox_rng || !p->fired) {
            e = fail(err, err_len, AR_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if ((e = ar_px_rule_copy(&p->rules[i], &cfg->rules[i]))) {
            fail(err, err_len, e, "out of memory");
            goto out;
        }
        p->n_rules = i + 1;
        if ((e = ar_px_rule_compile(&p->rules[i], err, err_len))) goto out;
        atomic_init(&p->fired[i], 0);
        /* Independent streams per rule: one rule's traffic never shifts another's draws. */
        uint64_t base = cfg->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1));
        px_rng_seed(&p->sched_rng[i], base);
        px_rng_seed(&p->tox_rng[i], base ^ 0xd1b54a32d192ed03ULL);
    }
    if (pipe2(p->stop_pipe, O_CLOEXEC) < 0) {
        e = fail(err, err_len, AR_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    if ((e = open_listener(p, cfg, err, err_len))) goto out;
    if (pthread_create(&p->accept_th, NULL, accept_main, p) != 0) {
        e = fail(err, err_len, AR_EINTERNAL, "cannot start the proxy thread");
        goto out;
    }
    p->accept_started = true;
    *out = p;
    return AR_OK;
out:
    proxy_free(p);
    return e;
}

const char *ar_px_url(const ar_proxy *p)
{
    return p->url;
}

void ar_px_set_turn(ar_proxy *p, uint32_t turn)
{
    atomic_store(&p->turn, turn);
}

uint64_t ar_px_fired(const ar_proxy *p, size_t rule)
{
    if (rule >= p->n_rules) return 0;
    return atomic_load(&((ar_proxy *)p)->fired[rule]);
}

uint64_t ar_px_requests(const ar_proxy *p)
{
    return atomic_load(&((ar_proxy *)p)->requests);
}

void ar_px_stop(ar_proxy *p)
{
    if (!p) return;
    char b = 1;
    ssize_t w = write(p->stop_pipe[1], &b, 1);
    (void)w;
    if (p->accept_started) pthread_join(p->accept_th, NULL);
    reap(p, true);
    proxy_free(p);
}
