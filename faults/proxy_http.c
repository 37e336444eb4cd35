/*
 * proxy_http.c - just enough HTTP/1.1 for a reverse proxy: read one request
 * or response (head, then a Content-Length, chunked or close-delimited body)
 * from a socket into a capped buffer, with the head split in place. Bodies are
 * decoded and held whole, because the fault actions (truncate, malformed,
 * throttle) and the body matchers need them; the caps keep that bounded.
 */
#include "proxy_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void px_msg_init(px_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->content_length = -1;
    ar_buf_init(&m->body, PX_BODY_MAX_BYTES);
}

void px_msg_clear(px_msg *m)
{
    if (!m) return;
    free(m->head);
    ar_buf_free(&m->body);
    px_msg_init(m);
}

const char *px_msg_header(const px_msg *m, const char *name)
{
    for (size_t i = 0; i < m->n_hdrs; i++)
        if (strcasecmp(m->hdrs[i].name, name) == 0) return m->hdrs[i].value;
    return NULL;
}

bool px_http_hop_by_hop(const char *name)
{
    static const char *const hop[] = {"connection",
                                      "keep-alive",
                                      "proxy-connection",
                                      "proxy-authenticate",
                                      "proxy-authorization",
                                      "te",
                                      "trailer",
                                      "transfer-encoding",
                                      "upgrade"};
    for (size_t i = 0; i < AR_ARRAY_LEN(hop); i++)
        if (strcasecmp(name, hop[i]) == 0) return true;
    return false;
}

const char *px_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return status < 300   ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Client Error"
                          : "Server Error";
}

/* Length of the head (terminator included) if buf holds a whole one, else 0. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n') continue;
        if (buf[i + 1] == '\n') return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* Token has a value among comma-separated list (case-insensitive). */
static bool has_token(const char *list, const char *tok)
{
    size_t tl = strlen(tok);
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *te = e;
        while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if ((size_t)(te - p) == tl && strncasecmp(p, tok, tl) == 0) return true;
        p = e;
    }
    return false;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Splits the head in place: start line, then header lines. */
static px_io_rc parse_head(px_msg *m, bool is_request, const char **why)
{
    char *save = NULL;
    char *line = strtok_r(m->head, "\n", &save);
    if (!line) return *why = "empty head", PX_IO_BAD;
    line = trim(line);
    if (is_request) {
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
            return *why = "malformed request line", PX_IO_BAD;
        *sp1 = *sp2 = '\0';
        m->method = line;
        m->target = sp1 + 1;
        m->minor_version = atoi(sp2 + 8);
        if (!m->method[0] || !m->target[0]) return *why = "malformed request line", PX_IO_BAD;
    } else {
        if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 || line[8] != ' ')
            return *why = "malformed status line", PX_IO_BAD;
        m->minor_version = line[7] - '0';
        m->status = atoi(line + 9);
        if (m->status < 100 || m->status > 999) return *why = "malformed status line", PX_IO_BAD;
        m->reason = line[12] == ' ' ? line + 13 : "";
    }
    bool keep_alive = false;
    while ((line = strtok_r(NULL, "\n", &save))) {
        line = trim(line);
        if (!*line) break;
        char *colon = strchr(line, ':');
        if (!colon || colon == line) return *why = "malformed header line", PX_IO_BAD;
        if (m->n_hdrs == PX_MAX_HEADERS) return *why = "too many header lines", PX_IO_TOOBIG;
        *colon = '\0';
        px_hdr *h = &m->hdrs[m->n_hdrs++];
        h->name = trim(line);
        h->value = trim(colon + 1);
        if (strcasecmp(h->name, "content-length") == 0) {
            char *end;
            errno = 0;
            long long cl = strtoll(h->value, &end, 10);
            if (errno || *end || cl < 0 || end == h->value)
                return *why = "invalid Content-Length", PX_IO_BAD;
            if (m->content_length >= 0 && m->content_length != cl)
                return *why = "conflicting Content-Length headers", PX_IO_BAD;
            m->content_length = cl;
        } else if (strcasecmp(h->name, "transfer-encoding") == 0) {
            if (has_token(h->value, "chunked")) m->chunked = true;
        } else if (strcasecmp(h->name, "connection") == 0) {
            if (has_token(h->value, "close")) m->close = true;
            if (has_token(h->value, "keep-alive")) keep_alive = true;
        } else if (strcasecmp(h->name, "expect") == 0) {
            if (has_token(h->value, "100-continue")) m->expect_continue = true;
        }
    }
    if (m->minor_version == 0 && !keep_alive) m->close = true;
    return PX_IO_OK;
}

/* Moves the first n bytes out of in. */
static void consume(ar_buf *in, size_t n)
{
    if (n >= in->len) {
        ar_buf_reset(in);
        return;
    }
    memmove(in->ptr, in->ptr + n, in->len - n);
    in->len -= n;
    in->ptr[in->len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/*
 * Decodes whole chunks from in starting at *pos into body. Returns OK when the
 * last chunk (and trailers) were read, TIMEOUT (meaning "need more") otherwise.
 */
static px_io_rc dechunk(ar_buf *in, size_t *pos, ar_buf *body, bool *in_trailers, const char **why)
{
    for (;;) {
        const char *p = in->ptr + *pos;
        size_t left = in->len - *pos;
        const char *nl = memchr(p, '\n', left);
        if (!nl) {
            if (left > 4096) return *why = "chunk size line too long", PX_IO_BAD;
            return PX_IO_TIMEOUT;
        }
        size_t line_len = (size_t)(nl - p) + 1;
        if (*in_trailers) {
            *pos += line_len;
            if (line_len <= 2 && (line_len == 1 || p[0] == '\r')) return PX_IO_OK;
            continue;
        }
        /* By hand, not strtoull: that takes "-1" (as 2^64 - 1, which
         * looked like a body over the cap: 413), " 1", "+1" and "0x1". The
         * size is hex digits, then optional whitespace, extensions or CRLF. */
        const char *end = p;
        uint64_t size = 0;
        bool too_big = false;
        for (; end < nl && hex_value(*end) >= 0; end++) {
            size = size * 16 + (uint64_t)hex_value(*end);
            if (size > PX_BODY_MAX_BYTES) too_big = true, size = PX_BODY_MAX_BYTES + 1;
        }
        if (end == p || (*end != '\r' && *end != '\n' && *end != ';' && *end != ' ' &&
                         *end != '\t'))
            return *why = "malformed chunk size", PX_IO_BAD;
        if (too_big) return *why = "body over 16 MiB", PX_IO_TOOBIG;
        if (size == 0) {
            *pos += line_len;
            *in_trailers = true;
            continue;
        }
        if (left < line_len + size + 1) return PX_IO_TIMEOUT;
        const char *data = p + line_len;
        const char *after = data + size;
        size_t crlf = (after[0] == '\r') ? 2 : 1;
        if (left < line_len + size + crlf) return PX_IO_TIMEOUT;
        if (after[crlf - 1] != '\n') return *why = "malformed chunk terminator", PX_IO_BAD;
        if (ar_buf_append(body, data, (size_t)size)) return *why = "body over 16 MiB", PX_IO_TOOBIG;
        *pos += line_len + size + crlf;
    }
}

px_io_rc px_http_read_head(int fd, ar_buf *in, px_msg *m, bool is_request, int stop_fd,
                           int64_t first_deadline_us, int64_t deadline_us, int64_t head_us,
                           const char **why)
{
    *why = NULL;
    size_t hl;
    px_io_rc rc;
    /* The head's own clock starts at its first byte: a client that trickles
     * one byte a second must not hold a connection for the full deadline. */
    if (head_us > 0 && in->len && ar_now_us() + head_us < deadline_us)
        deadline_us = ar_now_us() + head_us;
    while (!(hl = head_end(in->ptr ? in->ptr : "", in->len))) {
        if (in->len >= PX_HEAD_MAX_BYTES) return *why = "head over 64 KiB", PX_IO_TOOBIG;
        bool first = !in->len;
        rc = px_io_read_more(fd, in, stop_fd, first ? first_deadline_us : deadline_us);
        if (rc == PX_IO_TOOBIG) return *why = "head over 64 KiB", PX_IO_TOOBIG;
        if (rc == PX_IO_CLOSED && in->len) return *why = "connection closed mid-head", PX_IO_BAD;
        if (rc) return rc;
        if (first && head_us > 0 && ar_now_us() + head_us < deadline_us)
            deadline_us = ar_now_us() + head_us;
    }
    if (hl > PX_HEAD_MAX_BYTES) return *why = "head over 64 KiB", PX_IO_TOOBIG;
    m->head = ar_strndup(in->ptr, hl);
    if (!m->head) return *why = "out of memory", PX_IO_ERR;
    m->head_bytes = hl;
    if ((rc = parse_head(m, is_request, why))) return rc;
    consume(in, hl);
    return PX_IO_OK;
}

px_io_rc px_http_read_body(int fd, ar_buf *in, px_msg *m, bool is_request, const char *req_method,
                           int stop_fd, int64_t deadline_us, const char **why)
{
    *why = NULL;
    px_io_rc rc;
    bool no_body = false, to_close = false;
    if (is_request) {
        no_body = !m->chunked && m->content_length <= 0;
    } else {
        no_body = (req_method && strcasecmp(req_method, "HEAD") == 0) || m->status < 200 ||
                  m->status == 204 || m->status == 304;
        to_close = !no_body && !m->chunked && m->content_length < 0;
    }
    if (no_body) return PX_IO_OK;
    if (!m->chunked && m->content_length > PX_BODY_MAX_BYTES)
        return *why = "body over 16 MiB", PX_IO_TOOBIG;

    if (m->chunked) {
        size_t pos = 0;
        bool trailers = false;
        for (;;) {
            rc = dechunk(in, &pos, &m->body, &trailers, why);
            if (rc == PX_IO_OK) {
                consume(in, pos);
                return PX_IO_OK;
            }
            if (rc != PX_IO_TIMEOUT) return rc;
            /* Keep the input buffer small: drop the chunks already decoded. */
            consume(in, pos);
            pos = 0;
            rc = px_io_read_more(fd, in, stop_fd, deadline_us);
            if (rc == PX_IO_CLOSED) return *why = "connection closed mid-body", PX_IO_BAD;
            if (rc == PX_IO_TOOBIG) return *why = "chunk over the buffer cap", PX_IO_TOOBIG;
            if (rc) return rc;
        }
    }
    if (to_close) {
        /* Close-delimited: everything until EOF is the body. */
        for (;;) {
            if (in->len && ar_buf_append(&m->body, in->ptr, in->len))
                return *why = "body over 16 MiB", PX_IO_TOOBIG;
            ar_buf_reset(in);
            rc = px_io_read_more(fd, in, stop_fd, deadline_us);
            if (rc == PX_IO_CLOSED) {
                m->close = true;
                return PX_IO_OK;
            }
            if (rc) return rc;
        }
    }
    size_t want = (size_t)m->content_length;
    while (in->len < want) {
        rc = px_io_read_more(fd, in, stop_fd, deadline_us);
        if (rc == PX_IO_CLOSED) return *why = "connection closed mid-body", PX_IO_BAD;
        if (rc) return rc;
    }
    if (ar_buf_append(&m->body, in->ptr, want)) return *why = "body over 16 MiB", PX_IO_TOOBIG;
    consume(in, want);
    return PX_IO_OK;
}
