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
#define PX_WRITE_US (60LL * 1000000) /* for a client to take a response */
#define PX_DEFAULT_UPSTREAM_US (30LL * 1000000)
#define PX_IN_MAX_BYTES (PX_HEAD_MAX_BYTES + PX_BODY_MAX_BYTES + 64 * 1024)
#define PX_DETAIL_MAX_BYTES 1024
#define PX_MALFORMED_BODY "{\"result\": [1, 2,"

typedef struct px_conn {
    struct ar_proxy *p;
    int fd;  /* client */
    int ufd; /* upstream, kept alive across requests; -1 when not connected */
    ar_buf in;
    ar_buf uin;
    ar_buf out;
    pthread_t th;
    atomic_bool done;
    struct px_conn *next;
} px_conn;

struct ar_proxy {
    ar_px_rule *rules;
    size_t n_rules;
    /* Schedule state, under mu: decisions are made in arrival order. */
    uint64_t *matched;
    px_rng *sched_rng;
    px_rng *tox_rng;
    _Atomic uint64_t *fired;
    _Atomic uint64_t requests;
    _Atomic uint32_t turn;
    ar_px_hit_fn on_hit;
    void *user;
    int64_t upstream_timeout_us;
    struct sockaddr_storage up_addr;
    socklen_t up_addr_len;
    char up_hostport[280];
    char *up_base;
    int listen_fd;
    int stop_pipe[2];
    pthread_t accept_th;
    bool accept_started;
    pthread_mutex_t mu;
    px_conn *conns; /* under mu */
    int n_conns;    /* under mu */
    char url[300];
};

/* What the rules decided for one request. */
typedef struct {
    int rule;
    px_shape up;
    px_shape down;
} px_decision;

/* One request in flight: what the hit will say. */
typedef struct {
    px_conn *c;
    const px_msg *req;
    int64_t at_us;
    uint32_t turn;
    int status;
    ar_buf detail;
    bool keep;
} px_ex;

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static int stop_fd(const px_conn *c)
{
    return c->p->stop_pipe[0];
}

static void report(ar_proxy *p, int rule, ar_px_action action, const char *method, const char *path,
                   int status, int64_t at_us, const char *detail, uint32_t turn)
{
    if (!p->on_hit) return;
    ar_px_hit h = {
        .rule = rule,
        .name = rule >= 0 ? p->rules[rule].name : NULL,
        .action = action,
        .method = method ? method : "",
        .path = path ? path : "",
        .status = status,
        .at_us = at_us,
        .took_us = ar_now_us() - at_us,
        .detail = detail,
        .turn = turn,
    };
    p->on_hit(p->user, &h);
}

/* --- rules: decisions in arrival order --------------------------------- */

static bool schedule_fires(ar_proxy *p, size_t i)
{
    const ar_px_rule *r = &p->rules[i];
    uint64_t m = ++p->matched[i];
    switch (r->schedule) {
    case AR_PX_ALL:
        return true;
    case AR_PX_FIRST_N:
        return m <= (uint64_t)r->n;
    case AR_PX_AFTER_N:
        return m > (uint64_t)r->n;
    case AR_PX_EVERY_K:
        return m % (uint64_t)r->n == 0;
    case AR_PX_PROBABILITY:
        return px_rng_unit(&p->sched_rng[i]) < r->p;
    }
    return false;
}

static void decide(ar_proxy *p, px_req_view *v, px_decision *d)
{
    d->rule = -1;
    px_shape_init(&d->up);
    px_shape_init(&d->down);
    if (!p->n_rules) return;
    /* Matching is pure, so it runs outside the lock; only counting is ordered. */
    bool stack_match[64];
    bool *match = p->n_rules <= 64 ? stack_match : calloc(p->n_rules, sizeof(bool));
    if (!match) return;
    for (size_t i = 0; i < p->n_rules; i++)
        match[i] = px_rule_matches(&p->rules[i], v);
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n_rules; i++) {
        if (!match[i] || !schedule_fires(p, i)) continue;
        d->rule = (int)i;
        atomic_fetch_add(&p->fired[i], 1);
        const ar_px_rule *r = &p->rules[i];
        px_rng *tr = &p->tox_rng[i];
        px_rng_seed(&d->up.rng, px_rng_next(tr));
        px_rng_seed(&d->down.rng, px_rng_next(tr));
        for (size_t t = 0; t < r->n_toxics; t++) {
            const ar_tox *x = &r->toxics[t];
            /* Always draw, so one toxic's toxicity does not shift the others' draws. */
            double u = px_rng_unit(tr);
            if (u < x->toxicity) px_shape_add(x->upstream ? &d->up : &d->down, x, tr);
        }
        break;
    }
    pthread_mutex_unlock(&p->mu);
    if (match != stack_match) free(match);
}

/* --- answering the client ----------------------------------------------- */

/* Holds the client until it closes, until_us passes (0: no limit) or the proxy stops. */
static const char *hold(px_conn *c, int64_t until_us)
{
    char tmp[4096];
    for (;;) {
        px_io_rc rc = px_io_wait(c->fd, POLLIN, stop_fd(c), until_us);
        if (rc == PX_IO_TIMEOUT) return "held until its deadline, then closed";
        if (rc == PX_IO_STOP) return "held until the proxy stopped";
        if (rc) return "held until a socket error";
        ssize_t n = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return "held until the client gave up";
    }
}

static void reset_client(px_conn *c)
{
    px_io_reset(c->fd);
    c->fd = -1;
}

/*
 * Sends a built response through the downstream shape, honouring the
 * timeout and reset_peer toxics. Sets ex->status when the head went out.
 */
static void deliver(px_ex *ex, px_decision *d, const char *bytes, size_t n, int status)
{
    px_conn *c = ex->c;
    px_shape *down = &d->down;
    if (down->timeout) {
        int64_t until = down->timeout_ms ? ar_now_us() + down->timeout_ms * 1000 : 0;
        ar_buf_printf(&ex->detail, "%stimeout toxic: %s", ex->detail.len ? "; " : "",
                      hold(c, until));
        ex->keep = false;
        return;
    }
    bool reset = down->reset || d->up.reset;
    int64_t reset_ms = down->reset ? down->reset_ms : d->up.reset_ms;
    if (reset && reset_ms == 0) {
        reset_client(c);
        ar_buf_printf(&ex->detail, "%sreset_peer toxic: reset", ex->detail.len ? "; " : "");
        ex->keep = false;
        return;
    }
    int64_t limit = down->limit_bytes;
    px_io_rc rc = px_shape_write(down, c->fd, bytes, n, stop_fd(c), ar_now_us() + PX_WRITE_US);
    if (rc == PX_IO_OK || rc == PX_IO_CUT) ex->status = status;
    if (rc == PX_IO_CUT)
        ar_buf_printf(&ex->detail, "%slimit_data toxic: closed after %lld of %zu bytes",
                      ex->detail.len ? "; " : "", (long long)limit, n);
    if (rc) {
        ex->keep = false;
        return;
    }
    if (reset) {
        hold(c, ex->at_us + reset_ms * 1000);
        reset_client(c);
        ar_buf_printf(&ex->detail, "%sreset_peer toxic: reset after %lldms",
                      ex->detail.len ? "; " : "", (long long)reset_ms);
        ex->keep = false;
    }
}

/* Our own answer (respond action, 502/504, 4xx): a complete response with a body. */
static void answer(px_ex *ex, px_decision *d, int status, const char *body, bool close_after)
{
    px_conn *c = ex->c;
    size_t len = strlen(body);
    const char *ctype = (body[0] == '{' || body[0] == '[') ? "application/json" : "text/plain";
    if (close_after) ex->keep = false;
    ar_buf_reset(&c->out);
    ar_buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                  status, px_http_reason(status), ctype, len,
                  ex->keep ? "" : "Connection: close\r\n");
    bool head_only = ex->req && ex->req->method && strcasecmp(ex->req->method, "HEAD") == 0;
    if (!head_only) ar_buf_append(&c->out, body, len);
    deliver(ex, d, c->out.ptr, c->out.len, status);
}

static char *error_body(const char *error, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    if (detail) cJSON_AddStringToObject(o, "detail", detail);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void answer_error(px_ex *ex, px_decision *d, int status, const char *detail)
{
    char *body = error_body(px_http_reason(status), detail);
    answer(ex, d, status, body ? body : "{}", status != 502 && status != 504);
    free(body);
}

/* --- the upstream -------------------------------------------------------- */

static px_io_rc up_connect(px_conn *c, int64_t deadline_us, int *err_status, ar_buf *why)
{
    ar_proxy *p = c->p;
    int fd = socket(p->up_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        ar_buf_printf(why, "upstream %s: socket: %s", p->up_hostport, strerror(errno));
        *err_status = 502;
        return PX_IO_ERR;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int e = 0;
    if (connect(fd, (struct sockaddr *)&p->up_addr, p->up_addr_len) < 0) {
        e = errno;
        if (e == EINPROGRESS) {
            px_io_rc rc = px_io_wait(fd, POLLOUT, stop_fd(c), deadline_us);
            if (rc) {
                close(fd);
                if (rc == PX_IO_TIMEOUT) {
                    char t[32];
                    px_fmt_us(p->upstream_timeout_us, t, sizeof(t));
                    ar_buf_printf(why, "upstream %s: connect timed out after %s", p->up_hostport,
                                  t);
                    *err_status = 504;
                }
                return rc;
            }
            socklen_t el = sizeof(e);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) e = errno;
        }
    }
    if (e) {
        close(fd);
        if (e == ECONNREFUSED)
            ar_buf_printf(why, "upstream %s refused: %s", p->up_hostport, strerror(e));
        else
            ar_buf_printf(why, "upstream %s unreachable: %s", p->up_hostport, strerror(e));
        *err_status = 502;
        return PX_IO_ERR;
    }
    c->ufd = fd;
    return PX_IO_OK;
}

static void build_upstream_request(px_conn *c, const px_msg *req)
{
    ar_proxy *p = c->p;
    const char *target = req->target;
    /* absolute-form ("http://host/x"), from clients that think we are a forward proxy */
    if (strncasecmp(target, "http://", 7) == 0) {
        const char *slash = strchr(target + 7, '/');
        target = slash ? slash : "/";
    }
    ar_buf *o = &c->out;
    ar_buf_reset(o);
    ar_buf_printf(o, "%s %s%s HTTP/1.1\r\nHost: %s\r\n", req->method, p->up_base, target,
                  p->up_hostport);
    for (size_t i = 0; i < req->n_hdrs; i++) {
        const char *n = req->hdrs[i].name;
        if (px_http_hop_by_hop(n) || strcasecmp(n, "host") == 0 ||
            strcasecmp(n, "content-length") == 0 || strcasecmp(n, "expect") == 0)
            continue;
        ar_buf_printf(o, "%s: %s\r\n", n, req->hdrs[i].value);
    }
    if (req->chunked || req->content_length >= 0)
        ar_buf_printf(o, "Content-Length: %zu\r\n", req->body.len);
    ar_buf_puts(o, "\r\n");
    ar_buf_append(o, req->body.ptr, req->body.len);
}

/*
 * Sends the request upstream (through the upstream shape) and reads the
 * response into resp. On failure *err_status is 502/504 with why filled, or
 * 0 when a toxic or the proxy stopping ended the exchange.
 */
static px_io_rc exchange(px_ex *ex, px_decision *d, int64_t deadline_us, px_msg *resp,
                         int *err_status, bool *deadline_is_reset)
{
    px_conn *c = ex->c;
    ar_proxy *p = c->p;
    const px_msg *req = ex->req;
    *err_status = 0;
    *deadline_is_reset = false;
    int64_t up_deadline = ar_now_us() + p->upstream_timeout_us;
    if (deadline_us && deadline_us < up_deadline)
        *deadline_is_reset = true;
    else
        deadline_us = up_deadline;
    build_upstream_request(c, req);
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = c->ufd >= 0;
        px_io_rc rc;
        if (!reused && (rc = up_connect(c, deadline_us, err_status, &ex->detail))) return rc;
        rc = px_shape_write(&d->up, c->ufd, c->out.ptr, c->out.len, stop_fd(c), deadline_us);
        if (rc == PX_IO_CLOSED && reused && px_shape_plain(&d->up)) {
            close_fd(&c->ufd);
            continue;
        }
        if (rc == PX_IO_CUT) {
            close_fd(&c->ufd);
            ar_buf_printf(&ex->detail, "%slimit_data toxic: request cut, connection closed",
                          ex->detail.len ? "; " : "");
            return rc;
        }
        const char *why = NULL;
        if (!rc) {
            ar_buf_reset(&c->uin);
            rc = px_http_read_head(c->ufd, &c->uin, resp, false, stop_fd(c), deadline_us,
                                   deadline_us, &why);
            if (rc == PX_IO_CLOSED && reused && c->uin.len == 0) {
                close_fd(&c->ufd);
                px_msg_clear(resp);
                continue;
            }
        }
        if (!rc)
            rc = px_http_read_body(c->ufd, &c->uin, resp, false, req->method, stop_fd(c),
                                   deadline_us, &why);
        if (rc) {
            close_fd(&c->ufd);
            if (rc == PX_IO_STOP || (rc == PX_IO_TIMEOUT && *deadline_is_reset)) return rc;
            char t[32];
            px_fmt_us(p->upstream_timeout_us, t, sizeof(t));
            *err_status = rc == PX_IO_TIMEOUT ? 504 : 502;
            if (rc == PX_IO_TIMEOUT)
                ar_buf_printf(&ex->detail, "upstream %s did not answer within %s", p->up_hostport,
                              t);
            else if (rc == PX_IO_CLOSED)
                ar_buf_printf(&ex->detail, "upstream %s closed the connection without a response",
                              p->up_hostport);
            else if (rc == PX_IO_TOOBIG)
                ar_buf_printf(&ex->detail, "upstream %s response too big: %s", p->up_hostport,
                              why ? why : "over the cap");
            else if (rc == PX_IO_BAD)
                ar_buf_printf(&ex->detail, "upstream %s sent a malformed response: %s",
                              p->up_hostport, why ? why : "?");
            else
                ar_buf_printf(&ex->detail, "upstream %s: %s", p->up_hostport, strerror(errno));
            return rc;
        }
        if (resp->close) close_fd(&c->ufd);
        return PX_IO_OK;
    }
    *err_status = 502;
    ar_buf_printf(&ex->detail, "upstream %s closed the connection without a response",
                  p->up_hostport);
    return PX_IO_CLOSED;
}

static bool no_body_status(const px_msg *req, int status)
{
    return strcasecmp(req->method, "HEAD") == 0 || status < 200 || status == 204 || status == 304;
}

/* The upstream's response, as it was (less hop-by-hop headers), with body replaced by body. */
static void build_response(px_ex *ex, const px_msg *resp, size_t content_length)
{
    ar_buf *o = &ex->c->out;
    bool bodyless = no_body_status(ex->req, resp->status);
    ar_buf_reset(o);
    ar_buf_printf(o, "HTTP/1.1 %d %s\r\n", resp->status, resp->reason);
    for (size_t i = 0; i < resp->n_hdrs; i++) {
        const char *n = resp->hdrs[i].name;
        if (px_http_hop_by_hop(n)) continue;
        if (!bodyless && strcasecmp(n, "content-length") == 0) continue;
        ar_buf_printf(o, "%s: %s\r\n", n, resp->hdrs[i].value);
    }
    if (!bodyless) ar_buf_printf(o, "Content-Length: %zu\r\n", content_length);
    if (!ex->keep) ar_buf_puts(o, "Connection: close\r\n");
    ar_buf_puts(o, "\r\n");
}

static void forward(px_ex *ex, px_decision *d, const ar_px_rule *r)
{
    px_conn *c = ex->c;
    ar_px_action act = r ? r->action : AR_PX_FORWARD;
    int64_t reset_at = 0;
    /* reset_peer with a timeout: the reset may come before the upstream answers. */
    if (d->up.reset && d->up.reset_ms) reset_at = ex->at_us + d->up.reset_ms * 1000;
    if (d->down.reset && d->down.reset_ms) reset_at = ex->at_us + d->down.reset_ms * 1000;
    px_msg resp;
    px_msg_init(&resp);
    int err_status;
    bool by_reset;
    px_io_rc rc = exchange(ex, d, reset_at, &resp, &err_status, &by_reset);
    if (rc) {
        px_msg_clear(&resp);
        if (rc == PX_IO_TIMEOUT && by_reset) {
            reset_client(c);
            ar_buf_printf(&ex->detail, "%sreset_peer toxic: reset before the upstream answered",
                          ex->detail.len ? "; " : "");
            ex->keep = false;
        } else if (err_status) {
            answer_error(ex, d, err_status, ex->detail.ptr);
        } else {
            ex->keep = false;
        }
        return;
    }
    if (resp.close) ex->keep = false;
    const char *body = resp.body.ptr ? resp.body.ptr : "";
    size_t len = resp.body.len, send_len = len, cl = len;
    bool bodyless = no_body_status(ex->req, resp.status);
    if (!bodyless && act == AR_PX_TRUNCATE) {
        ex->keep = false;
        size_t cut = (size_t)r->truncate_bytes;
        /* Always drop at least one byte, so the fault is observable. */
        if (len > 0 && cut >= len) cut = len - 1;
        if (cut > len) cut = len;
        send_len = cut;
        ar_buf_printf(&ex->detail, "%struncated body at %zu of %zu bytes",
                      ex->detail.len ? "; " : "", cut, len);
    } else if (!bodyless && act == AR_PX_MALFORMED) {
        body = PX_MALFORMED_BODY;
        send_len = cl = strlen(PX_MALFORMED_BODY);
        ar_buf_printf(&ex->detail, "%sreplaced the %zu-byte body with malformed JSON",
                      ex->detail.len ? "; " : "", len);
    } else if (act == AR_PX_THROTTLE) {
        if (d->down.rate_bytes_per_s == 0 || r->bytes_per_s < d->down.rate_bytes_per_s)
            d->down.rate_bytes_per_s = r->bytes_per_s;
        ar_buf_printf(&ex->detail, "%sthrottled to %lld B/s", ex->detail.len ? "; " : "",
                      (long long)r->bytes_per_s);
    }
    if (bodyless) send_len = 0;
    build_response(ex, &resp, cl);
    ar_buf_append(&c->out, body, send_len);
    deliver(ex, d, c->out.ptr, c->out.len, resp.status);
    px_msg_clear(&resp);
}

/* Runs the decision for one whole request. */
static void handle(px_conn *c, const px_msg *req, int64_t at_us)
{
    ar_proxy *p = c->p;
    px_ex ex = {.c = c, .req = req, .at_us = at_us, .keep = !req->close};
    ar_buf_init(&ex.detail, PX_DETAIL_MAX_BYTES);
    atomic_fetch_add(&p->requests, 1);
    px_req_view v = {.msg = req, .turn = atomic_load(&p->turn)};
    ex.turn = v.turn;
    px_decision d;
    decide(p, &v, &d);
    cJSON_Delete(v.json);
    const ar_px_rule *r = d.rule >= 0 ? &p->rules[d.rule] : NULL;
    ar_px_action act = r ? r->action : AR_PX_FORWARD;
    if (!px_shape_plain(&d.up) || !px_shape_plain(&d.down)) {
        px_shape_describe(&d.up, "upstream toxics", &ex.detail);
        px_shape_describe(&d.down, "downstream toxics", &ex.detail);
        /* These end the connection; say so in the head ("Connection: close"). */
        if (d.down.limit_bytes >= 0 || d.up.limit_bytes >= 0 || d.down.reset || d.up.reset)
            ex.keep = false;
    }

    if (d.up.timeout) {
        int64_t until = d.up.timeout_ms ? ar_now_us() + d.up.timeout_ms * 1000 : 0;
        ar_buf_printf(&ex.detail, "; timeout toxic: %s", hold(c, until));
        ex.keep = false;
    } else if (d.up.reset && d.up.reset_ms == 0) {
        reset_client(c);
        ar_buf_puts(&ex.detail, "; reset_peer toxic: reset before forwarding");
        ex.keep = false;
    } else {
        switch (act) {
        case AR_PX_RESPOND: {
            int status = r->status ? r->status : 500;
            char *def = NULL;
            if (!r->body) {
                char msg[128];
                snprintf(msg, sizeof(msg), "injected by the agentrig fault proxy (%s)",
                         r->name ? r->name : "rule");
                def = error_body(px_http_reason(status), msg);
            }
            ar_buf_printf(&ex.detail, "%sresponded %d", ex.detail.len ? "; " : "", status);
            answer(&ex, &d, status, r->body ? r->body : def ? def : "{}", false);
            free(def);
            break;
        }
        case AR_PX_HANG: {
            int64_t until = r->hang_us ? ar_now_us() + r->hang_us : 0;
            ar_buf_printf(&ex.detail, "%s%s", ex.detail.len ? "; " : "", hold(c, until));
            ex.keep = false;
            break;
        }
        case AR_PX_RESET:
            reset_client(c);
            ar_buf_printf(&ex.detail, "%sreset the connection", ex.detail.len ? "; " : "");
            ex.keep = false;
            break;
        case AR_PX_DELAY: {
            char t[32];
            px_fmt_us(r->delay_us, t, sizeof(t));
            ar_buf_printf(&ex.detail, "%sdelayed %s", ex.detail.len ? "; " : "", t);
            if (!px_io_sleep(stop_fd(c), r->delay_us)) {
                ex.keep = false;
                break;
            }
            forward(&ex, &d, r);
            break;
        }
        default:
            forward(&ex, &d, r);
            break;
        }
    }
    report(p, d.rule, act, req->method, req->target, ex.status, at_us,
           ex.detail.len ? ex.detail.ptr : NULL, ex.turn);
    ar_buf_free(&ex.detail);
    if (!ex.keep && c->fd >= 0) close_fd(&c->fd);
}

/* A request we refuse before the rules see it (400, 413, 431). */
static void refuse(px_conn *c, const px_msg *req, int status, const char *why, int64_t at_us)
{
    ar_proxy *p = c->p;
    atomic_fetch_add(&p->requests, 1);
    px_ex ex = {.c = c, .req = NULL, .at_us = at_us, .keep = false};
    ar_buf_init(&ex.detail, PX_DETAIL_MAX_BYTES);
    ar_buf_printf(&ex.detail, "request refused: %s", why);
    px_decision d;
    px_shape_init(&d.up);
    px_shape_init(&d.down);
    answer_error(&ex, &d, status, ex.detail.ptr);
    report(p, -1, AR_PX_FORWARD, req->method, req->target, ex.status, at_us, ex.detail.ptr,
           atomic_load(&p->turn));
    ar_buf_free(&ex.detail);
}

static void *conn_main(void *arg)
{
    px_conn *c = arg;
    ar_proxy *p = c->p;
    set_nonblock(c->fd);
    while (c->fd >= 0) {
        px_msg req;
        px_msg_init(&req);
        const char *why = NULL;
        int64_t now = ar_now_us();
        px_io_rc rc = px_http_read_head(c->fd, &c->in, &req, true, p->stop_pipe[0],
                                        now + PX_IDLE_US, now + PX_IDLE_US + PX_READ_US, &why);
        int64_t at_us = ar_now_us();
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
            handle(c, &req, at_us);
        } else if (rc == PX_IO_TOOBIG || rc == PX_IO_BAD) {
            int status = rc == PX_IO_BAD ? 400
                         : strstr(why ? why : "", "head")   ? 431
                         : strstr(why ? why : "", "header") ? 431
                                                            : 413;
            refuse(c, &req, status, why ? why : "bad request", at_us);
            close_fd(&c->fd);
        } else {
            close_fd(&c->fd);
        }
        px_msg_clear(&req);
    }
    close_fd(&c->ufd);
    atomic_store(&c->done, true);
    return NULL;
}

/* --- accepting ----------------------------------------------------------- */

static void conn_free(px_conn *c)
{
    close_fd(&c->fd);
    close_fd(&c->ufd);
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
    report(p, -1, AR_PX_FORWARD, "", "", 503, ar_now_us(), detail, atomic_load(&p->turn));
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
