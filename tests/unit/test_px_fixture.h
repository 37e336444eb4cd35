/*
 * test_px_fixture.h - what the fault proxy tests share: a tiny upstream HTTP
 * server on a loopback thread (keep-alive; Content-Length, chunked and
 * close-delimited replies, chosen by path), a libcurl client that measures
 * what it got, and a collector for the proxy's hits.
 *
 * The upstream answers by what the path contains:
 *   /chunked...  200, chunked body FX_CHUNKED_BODY
 *   /close...    200, close-delimited body FX_CLOSE_BODY
 *   /big         200, FX_BIG_BYTES of a repeating pattern
 *   /echo...     201, the request body back, X-Echo-Len
 *   /slow...     waits FX_SLOW_MS, then the default answer
 *   /status/NNN  status NNN, the default body
 *   anything else: 200 {"ok":true,"path":"<path>"} with X-Custom: abc
 */
#ifndef TEST_PX_FIXTURE_H
#define TEST_PX_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
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

#define FX_CHUNKED_BODY "hello, chunked world"
#define FX_CLOSE_BODY "closed-delimited body"
#define FX_BIG_BYTES (100 * 1024)
#define FX_SLOW_MS 400
#define FX_MAX_CONNS 64

typedef struct {
    int lfd;
    int port;
    pthread_t th;
    atomic_bool stop;
    atomic_int accepted;
    atomic_int requests;
    pthread_mutex_t mu;
    char last_head[8192];
    size_t last_body_len;
    pthread_t conn_th[FX_MAX_CONNS];
    int conn_fd[FX_MAX_CONNS];
    int n_conns;
} fx_up;

typedef struct {
    fx_up *up;
    int fd;
} fx_up_conn;

/* Reads until the buffer holds n bytes, EOF, or the server stops. */
static inline bool fx_read_more(fx_up *u, int fd, char *buf, size_t *len, size_t cap)
{
    while (!atomic_load(&u->stop)) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0) continue;
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n <= 0) return false;
        *len += (size_t)n;
        return true;
    }
    return false;
}

static inline void fx_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        c += w;
        n -= (size_t)w;
    }
}

static inline void *fx_up_conn_main(void *arg)
{
    fx_up_conn *uc = arg;
    fx_up *u = uc->up;
    int fd = uc->fd;
    free(uc);
    size_t cap = 4 * 1024 * 1024;
    char *buf = malloc(cap);
    size_t len = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4)))
            if (len == cap || !fx_read_more(u, fd, buf, &len, cap)) goto out;
        size_t hl = (size_t)(end - buf) + 4;
        size_t cl = 0;
        char *clh = strcasestr(buf, "\r\ncontent-length:");
        if (clh && clh < end) cl = strtoul(clh + 17, NULL, 10);
        while (len < hl + cl)
            if (len == cap || !fx_read_more(u, fd, buf, &len, cap)) goto out;
        char path[256] = "";
        sscanf(buf, "%*s %255s", path);
        pthread_mutex_lock(&u->mu);
        size_t keep = hl < sizeof(u->last_head) ? hl : sizeof(u->last_head) - 1;
        memcpy(u->last_head, buf, keep);
        u->last_head[keep] = '\0';
        u->last_body_len = cl;
        pthread_mutex_unlock(&u->mu);
        atomic_fetch_add(&u->requests, 1);
        const char *body_in = buf + hl;
        char head[512];
        if (strstr(path, "/chunked")) {
            static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Transfer-Encoding: chunked\r\nX-Custom: chunky\r\n\r\n"
                                    "5\r\nhello\r\n7\r\n, chunk\r\n8;ext=1\r\ned world\r\n"
                                    "0\r\nX-Trailer: t\r\n\r\n";
            fx_send(fd, r, sizeof(r) - 1);
        } else if (strstr(path, "/close")) {
            snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n%s",
                     FX_CLOSE_BODY);
            fx_send(fd, head, strlen(head));
            goto out;
        } else if (strstr(path, "/big")) {
            char *big = malloc(FX_BIG_BYTES);
            for (size_t i = 0; i < FX_BIG_BYTES; i++)
                big[i] = (char)('a' + i % 26);
            int n = snprintf(head, sizeof(head),
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: %d\r\n\r\n",
                             FX_BIG_BYTES);
            fx_send(fd, head, (size_t)n);
            fx_send(fd, big, FX_BIG_BYTES);
            free(big);
        } else if (strstr(path, "/echo")) {
            int n = snprintf(head, sizeof(head),
                             "HTTP/1.1 201 Created\r\nContent-Type: application/octet-stream\r\n"
                             "X-Echo-Len: %zu\r\nContent-Length: %zu\r\n\r\n",
                             cl, cl);
            fx_send(fd, head, (size_t)n);
            fx_send(fd, body_in, cl);
        } else {
            int status = 200;
            if (strncmp(path, "/status/", 8) == 0) status = atoi(path + 8);
            if (strstr(path, "/slow")) {
                for (int i = 0; i < FX_SLOW_MS / 10 && !atomic_load(&u->stop); i++)
                    usleep(10000);
            }
            char body[400];
            int bl = snprintf(body, sizeof(body), "{\"ok\":true,\"path\":\"%s\"}", path);
            int n = snprintf(head, sizeof(head),
                             "HTTP/1.1 %d Custom Reason\r\nContent-Type: application/json\r\n"
                             "X-Custom: abc\r\nContent-Length: %d\r\n\r\n",
                             status, bl);
            fx_send(fd, head, (size_t)n);
            fx_send(fd, body, (size_t)bl);
        }
        memmove(buf, buf + hl + cl, len - hl - cl);
        len -= hl + cl;
    }
out:
    free(buf);
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

static inline void *fx_up_main(void *arg)
{
    fx_up *u = arg;
    while (!atomic_load(&u->stop)) {
        struct pollfd pf = {.fd = u->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0) continue;
        int fd = accept(u->lfd, NULL, NULL);
        if (fd < 0) continue;
        if (u->n_conns == FX_MAX_CONNS) {
            close(fd);
            continue;
        }
        atomic_fetch_add(&u->accepted, 1);
        fx_up_conn *uc = malloc(sizeof(*uc));
        uc->up = u;
        uc->fd = fd;
        u->conn_fd[u->n_conns] = fd;
        pthread_create(&u->conn_th[u->n_conns++], NULL, fx_up_conn_main, uc);
    }
    for (int i = 0; i < u->n_conns; i++) {
        pthread_join(u->conn_th[i], NULL);
        close(u->conn_fd[i]);
    }
    return NULL;
}

/* A listening socket on 127.0.0.1:0; returns the fd and the port in *port. */
static inline int fx_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t sl = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    *port = ntohs(a.sin_port);
    return fd;
}

static inline fx_up *fx_up_start(void)
{
    fx_up *u = calloc(1, sizeof(*u));
    pthread_mutex_init(&u->mu, NULL);
    u->lfd = fx_listen(&u->port);
    pthread_create(&u->th, NULL, fx_up_main, u);
    return u;
}

static inline void fx_up_stop(fx_up *u)
{
    atomic_store(&u->stop, true);
    pthread_join(u->th, NULL);
    close(u->lfd);
    pthread_mutex_destroy(&u->mu);
    free(u);
}

/* A port nobody listens on (bound, then closed). */
static inline int fx_dead_port(void)
{
    int port;
    int fd = fx_listen(&port);
    close(fd);
    return port;
}

/* --- hits --------------------------------------------------------------- */

#define FX_MAX_HITS 256

typedef struct {
    int rule;
    ar_px_action action;
    int status;
    char method[16];
    char path[256];
    char detail[512];
    char name[64];
    uint32_t turn;
    int64_t took_us;
} fx_hit;

typedef struct {
    pthread_mutex_t mu;
    int n;
    fx_hit h[FX_MAX_HITS];
} fx_hits;

static inline void fx_on_hit(void *user, const ar_px_hit *hit)
{
    fx_hits *hs = user;
    pthread_mutex_lock(&hs->mu);
    if (hs->n < FX_MAX_HITS) {
        fx_hit *h = &hs->h[hs->n++];
        h->rule = hit->rule;
        h->action = hit->action;
        h->status = hit->status;
        snprintf(h->method, sizeof(h->method), "%s", hit->method);
        snprintf(h->path, sizeof(h->path), "%s", hit->path);
        snprintf(h->detail, sizeof(h->detail), "%s", hit->detail ? hit->detail : "");
        snprintf(h->name, sizeof(h->name), "%s", hit->name ? hit->name : "");
        h->turn = hit->turn;
        h->took_us = hit->took_us;
    }
    pthread_mutex_unlock(&hs->mu);
}

/*
 * Hits are reported by the proxy's connection threads in the order they
 * finish, which need not be the order of the requests; tests that send
 * several requests look a hit up by what it says instead of by position.
 * Waits until n hits arrived, returns the first whose path is `path` (or any
 * path, when NULL) and whose status is `status` (or any, when 0).
 */
static inline fx_hit fx_hit_wait(fx_hits *hs, int i);
static inline fx_hit fx_hit_find(fx_hits *hs, int n, const char *path, int status)
{
    fx_hit_wait(hs, n - 1);
    pthread_mutex_lock(&hs->mu);
    for (int i = 0; i < hs->n; i++)
        if ((!path || !strcmp(hs->h[i].path, path)) && (!status || hs->h[i].status == status)) {
            fx_hit h = hs->h[i];
            pthread_mutex_unlock(&hs->mu);
            return h;
        }
    pthread_mutex_unlock(&hs->mu);
    fail_msg("no hit with path %s and status %d among %d", path ? path : "*", status, n);
    return (fx_hit){0};
}

/* Waits (up to 5 s) until n hits arrived; returns a copy of hit i. */
static inline fx_hit fx_hit_wait(fx_hits *hs, int i)
{
    for (int t = 0; t < 500; t++) {
        pthread_mutex_lock(&hs->mu);
        int n = hs->n;
        pthread_mutex_unlock(&hs->mu);
        if (n > i) break;
        usleep(10000);
    }
    pthread_mutex_lock(&hs->mu);
    assert_true(hs->n > i);
    fx_hit h = hs->h[i];
    pthread_mutex_unlock(&hs->mu);
    return h;
}

/* --- the proxy under test ------------------------------------------------- */

typedef struct {
    fx_up *up;
    ar_proxy *px;
    fx_hits hits;
    char upstream[128];
} fx_env;

/* Starts an upstream and a proxy in front of it with these rules (copied). */
static inline fx_env *fx_start(const ar_px_rule *rules, size_t n, uint64_t seed)
{
    fx_env *e = calloc(1, sizeof(*e));
    pthread_mutex_init(&e->hits.mu, NULL);
    e->up = fx_up_start();
    snprintf(e->upstream, sizeof(e->upstream), "http://127.0.0.1:%d", e->up->port);
    ar_px_cfg cfg = {.upstream = e->upstream,
                     .rules = rules,
                     .n_rules = n,
                     .seed = seed,
                     .on_hit = fx_on_hit,
                     .user = &e->hits};
    char err[256] = "";
    ar_err rc = ar_px_start(&cfg, &e->px, err, sizeof(err));
    if (rc) fprintf(stderr, "ar_px_start: %s\n", err);
    assert_int_equal(rc, AR_OK);
    return e;
}

static inline void fx_stop(fx_env *e)
{
    ar_px_stop(e->px);
    fx_up_stop(e->up);
    pthread_mutex_destroy(&e->hits.mu);
    free(e);
}

/* --- the client --------------------------------------------------------------- */

typedef struct {
    CURLcode rc;
    long status;
    char *body;
    size_t body_len;
    char headers[8192];
    size_t headers_len;
    int writes;
    int64_t took_us;
    long connects;
    curl_off_t content_length;
    char err[CURL_ERROR_SIZE];
} fx_resp;

static inline size_t fx_on_body(char *p, size_t sz, size_t n, void *ud)
{
    fx_resp *r = ud;
    r->body = realloc(r->body, r->body_len + sz * n + 1);
    memcpy(r->body + r->body_len, p, sz * n);
    r->body_len += sz * n;
    r->body[r->body_len] = '\0';
    r->writes++;
    return sz * n;
}

static inline size_t fx_on_header(char *p, size_t sz, size_t n, void *ud)
{
    fx_resp *r = ud;
    size_t len = sz * n;
    if (r->headers_len + len < sizeof(r->headers)) {
        memcpy(r->headers + r->headers_len, p, len);
        r->headers_len += len;
        r->headers[r->headers_len] = '\0';
    }
    return len;
}

static inline void fx_resp_free(fx_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/*
 * One request on handle h (NULL: a fresh handle). body NULL: GET (or method).
 * Returns the response; free it with fx_resp_free.
 */
static inline fx_resp fx_req(CURL *h, const char *url, const char *method, const char *body,
                             size_t body_len, struct curl_slist *hdrs, long timeout_ms)
{
    fx_resp r;
    memset(&r, 0, sizeof(r));
    r.body = calloc(1, 1);
    CURL *c = h ? h : curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fx_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r.err);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    int64_t t0 = ar_now_us();
    r.rc = curl_easy_perform(c);
    r.took_us = ar_now_us() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.connects);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r.content_length);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (!h) curl_easy_cleanup(c);
    return r;
}

/* GET ar_px_url(px) + path with a fresh handle and a 5 s timeout. */
static inline fx_resp fx_get(fx_env *e, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", ar_px_url(e->px), path);
    return fx_req(NULL, url, NULL, NULL, 0, NULL, 5000);
}

static inline fx_resp fx_post(fx_env *e, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", ar_px_url(e->px), path);
    return fx_req(NULL, url, NULL, body, strlen(body), NULL, 5000);
}

/* Sends raw bytes to the proxy and returns what came back until close (owned). */
static inline char *fx_raw(fx_env *e, const char *bytes, size_t n)
{
    int port = atoi(strrchr(ar_px_url(e->px), ':') + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    fx_send(fd, bytes, n);
    size_t cap = 65536, len = 0;
    char *out = calloc(1, cap + 1);
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 5000) <= 0) break;
        ssize_t r = recv(fd, out + len, cap - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        if (len == cap) break;
    }
    close(fd);
    return out;
}

static inline ar_px_rule fx_rule(ar_px_action action, const char *path_regex)
{
    ar_px_rule r;
    ar_px_rule_init(&r);
    r.action = action;
    r.path_regex = path_regex ? strdup(path_regex) : NULL;
    return r;
}

#endif
