/*
 * proxy_io.c - socket I/O for the fault proxy: every wait is a poll() that
 * also watches the stop pipe (so ar_px_stop never waits on a held request),
 * and writes go through a "shape", the folded form of Toxiproxy-style toxics
 * and the throttle action, which decides how fast and in what pieces bytes
 * leave.
 */
#include "proxy_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

px_io_rc px_io_wait(int fd, short events, int stop_fd, int64_t deadline_us)
{
    for (;;) {
        struct pollfd pf[2] = {{.fd = stop_fd, .events = POLLIN}, {.fd = fd, .events = events}};
        int timeout_ms = -1;
        if (deadline_us > 0) {
            int64_t left_us = deadline_us - ar_now_us();
            if (left_us <= 0) return PX_IO_TIMEOUT;
            timeout_ms = (int)((left_us + 999) / 1000);
        }
        int n = poll(pf, fd >= 0 ? 2 : 1, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            return PX_IO_ERR;
        }
        if (pf[0].revents) return PX_IO_STOP;
        if (n == 0) continue; /* re-check the deadline (poll rounds) */
        if (fd >= 0 && pf[1].revents) return PX_IO_OK;
    }
}

bool px_io_sleep(int stop_fd, int64_t us)
{
    if (us <= 0) return true;
    return px_io_wait(-1, 0, stop_fd, ar_now_us() + us) == PX_IO_TIMEOUT;
}

px_io_rc px_io_read_more(int fd, ar_buf *b, int stop_fd, int64_t deadline_us)
{
    char tmp[64 * 1024];
    for (;;) {
        size_t room = b->max_bytes - b->len;
        if (room == 0) return PX_IO_TOOBIG;
        ssize_t n = recv(fd, tmp, room < sizeof(tmp) ? room : sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) return ar_buf_append(b, tmp, (size_t)n) ? PX_IO_TOOBIG : PX_IO_OK;
        if (n == 0) return PX_IO_CLOSED;
        if (errno == EINTR) continue;
        if (errno == ECONNRESET) return PX_IO_CLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return PX_IO_ERR;
        px_io_rc rc = px_io_wait(fd, POLLIN, stop_fd, deadline_us);
        if (rc) return rc;
    }
}

px_io_rc px_io_write_all(int fd, const void *p, size_t n, int stop_fd, int64_t deadline_us)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            s += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) return PX_IO_CLOSED;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return PX_IO_ERR;
        px_io_rc rc = px_io_wait(fd, POLLOUT, stop_fd, deadline_us);
        if (rc) return rc;
    }
    return PX_IO_OK;
}

void px_fmt_us(int64_t us, char *out, size_t out_len)
{
    if (us > 0 && us % 1000000 == 0)
        snprintf(out, out_len, "%llds", (long long)(us / 1000000));
    else if (us > 0 && us % 1000 == 0)
        snprintf(out, out_len, "%lldms", (long long)(us / 1000));
    else
        ar_fmt_duration(us, out, out_len);
}

void px_io_reset(int fd)
{
    if (fd < 0) return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

void px_shape_init(px_shape *s)
{
    memset(s, 0, sizeof(*s));
    s->limit_bytes = -1;
}

void px_shape_add(px_shape *s, const ar_tox *t, px_rng *jitter_rng)
{
    switch (t->kind) {
    case AR_TOX_LATENCY: {
        int64_t ms = t->latency_ms;
        /* Toxiproxy's jitter: uniform in [-jitter, +jitter] around latency. */
        if (t->jitter_ms > 0)
            ms += (int64_t)(px_rng_next(jitter_rng) % (uint64_t)(2 * t->jitter_ms + 1)) -
                  t->jitter_ms;
        if (ms > 0) s->latency_us += ms * 1000;
        break;
    }
    case AR_TOX_TIMEOUT:
        s->timeout = true;
        s->timeout_ms = t->timeout_ms;
        break;
    case AR_TOX_RESET_PEER:
        s->reset = true;
        s->reset_ms = t->timeout_ms;
        break;
    case AR_TOX_SLICER:
        s->slice_avg = t->average_size;
        s->slice_var = t->size_variation;
        s->slice_delay_us = t->delay_us;
        break;
    case AR_TOX_LIMIT_DATA:
        if (s->limit_bytes < 0 || t->bytes < s->limit_bytes) s->limit_bytes = t->bytes;
        break;
    case AR_TOX_BANDWIDTH: {
        /* Toxiproxy's KB is 1000 bytes. */
        int64_t r = t->rate_kbps * 1000;
        if (s->rate_bytes_per_s == 0 || r < s->rate_bytes_per_s) s->rate_bytes_per_s = r;
        break;
    }
    case AR_TOX_NONE:
        break;
    }
}

bool px_shape_plain(const px_shape *s)
{
    return s->latency_us == 0 && s->slice_avg == 0 && s->rate_bytes_per_s == 0 &&
           s->limit_bytes < 0 && !s->timeout && !s->reset;
}

void px_shape_describe(const px_shape *s, const char *stream, ar_buf *b)
{
    if (px_shape_plain(s)) return;
    ar_buf_printf(b, "%s%s:", b->len ? "; " : "", stream);
    if (s->latency_us) ar_buf_printf(b, " latency %lldms", (long long)(s->latency_us / 1000));
    if (s->timeout) ar_buf_printf(b, " timeout %lldms", (long long)s->timeout_ms);
    if (s->reset) ar_buf_printf(b, " reset_peer %lldms", (long long)s->reset_ms);
    if (s->slice_avg)
        ar_buf_printf(b, " slicer %lld+-%lld/%lldus", (long long)s->slice_avg,
                      (long long)s->slice_var, (long long)s->slice_delay_us);
    if (s->limit_bytes >= 0) ar_buf_printf(b, " limit_data %lld", (long long)s->limit_bytes);
    if (s->rate_bytes_per_s) ar_buf_printf(b, " rate %lldB/s", (long long)s->rate_bytes_per_s);
}

px_io_rc px_shape_write(px_shape *s, int fd, const void *p, size_t n, int stop_fd,
                        int64_t deadline_us)
{
    if (s->latency_us && !px_io_sleep(stop_fd, s->latency_us)) return PX_IO_STOP;
    bool cut = false;
    if (s->limit_bytes >= 0) {
        if ((int64_t)n >= s->limit_bytes) {
            n = (size_t)s->limit_bytes;
            cut = true;
        }
        s->limit_bytes -= (int64_t)n;
    }
    if (s->slice_avg == 0 && s->rate_bytes_per_s == 0) {
        px_io_rc rc = px_io_write_all(fd, p, n, stop_fd, deadline_us);
        return rc ? rc : cut ? PX_IO_CUT : PX_IO_OK;
    }
    /* Paced: pieces of the slicer's size, or ~20 ms worth of the rate. */
    const char *c = p;
    size_t sent = 0;
    int64_t t0 = ar_now_us();
    while (sent < n) {
        size_t piece;
        if (s->slice_avg) {
            int64_t v = s->slice_var
                            ? (int64_t)(px_rng_next(&s->rng) % (uint64_t)(2 * s->slice_var + 1)) -
                                  s->slice_var
                            : 0;
            piece = (size_t)(s->slice_avg + v);
        } else {
            piece = (size_t)(s->rate_bytes_per_s / 50);
        }
        if (piece < 1) piece = 1;
        if (piece > n - sent) piece = n - sent;
        px_io_rc rc = px_io_write_all(fd, c + sent, piece, stop_fd, deadline_us);
        if (rc) return rc;
        sent += piece;
        if (sent == n) break;
        int64_t wait_us = s->slice_delay_us;
        if (s->rate_bytes_per_s) {
            int64_t due_us = t0 + (int64_t)((double)sent * 1e6 / (double)s->rate_bytes_per_s);
            int64_t rate_wait_us = due_us - ar_now_us();
            if (rate_wait_us > wait_us) wait_us = rate_wait_us;
        }
        if (wait_us > 0 && !px_io_sleep(stop_fd, wait_us)) return PX_IO_STOP;
    }
    return cut ? PX_IO_CUT : PX_IO_OK;
}
