/*
 * proxy_exchange.c - what the fault proxy does with one whole request, on
 * the thread of the connection that read it: the rules decide (in arrival
 * order, under the proxy's lock), then the action runs (answer, hold, reset,
 * delay, forward upstream through the toxics' shapes) and the hit is
 * reported.
 *
 * Why apart from proxy.c: proxy.c owns sockets and threads (listening,
 * accepting, the per-connection read loop, start and stop); this file owns
 * the HTTP semantics of a fault, which is where rules and toxics change and
 * where the proxy's behaviour is read and reviewed.
 */
#include "proxy_int.h"

#include <cJSON.h>
#include <errno.h>
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

#define PX_DETAIL_MAX_BYTES 1024
#define PX_MALFORMED_BODY "{\"result\": [1, 2,"

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

void ar_px_close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static int stop_fd(const px_conn *c)
{
    return c->p->stop_pipe[0];
}

void ar_px_report(ar_proxy *p, int rule, ar_px_action action, const char *method, const char *path,
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
            ar_px_close_fd(&c->ufd);
            continue;
        }
        if (rc == PX_IO_CUT) {
            ar_px_close_fd(&c->ufd);
            ar_buf_printf(&ex->detail, "%slimit_data toxic: request cut, connection closed",
                          ex->detail.len ? "; " : "");
            return rc;
        }
        const char *why = NULL;
        if (!rc) {
            ar_buf_reset(&c->uin);
            rc = px_http_read_head(c->ufd, &c->uin, resp, false, stop_fd(c), deadline_us,
                                   deadline_us, 0, &why);
            if (rc == PX_IO_CLOSED && reused && c->uin.len == 0) {
                ar_px_close_fd(&c->ufd);
                px_msg_clear(resp);
                continue;
            }
        }
        if (!rc)
            rc = px_http_read_body(c->ufd, &c->uin, resp, false, req->method, stop_fd(c),
                                   deadline_us, &why);
        if (rc) {
            ar_px_close_fd(&c->ufd);
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
        if (resp->close) ar_px_close_fd(&c->ufd);
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
void ar_px_handle(px_conn *c, const px_msg *req, int64_t at_us)
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
    ar_px_report(p, d.rule, act, req->method, req->target, ex.status, at_us,
                 ex.detail.len ? ex.detail.ptr : NULL, ex.turn);
    ar_buf_free(&ex.detail);
    if (!ex.keep && c->fd >= 0) ar_px_close_fd(&c->fd);
}

/* A request we refuse before the rules see it (400, 413, 431). */
void ar_px_refuse(px_conn *c, const px_msg *req, int status, const char *why, int64_t at_us)
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
    ar_px_report(p, -1, AR_PX_FORWARD, req->method, req->target, ex.status, at_us, ex.detail.ptr,
                 atomic_load(&p->turn));
    ar_buf_free(&ex.detail);
}
