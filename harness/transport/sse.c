/*
 * sse.c - the Server-Sent-Events parser (see sse.h for why it is incremental
 * and capped).
 *
 * The input is cut into lines as it arrives; only the current line and the
 * current event's data are held, and their sum never exceeds the cap, so a
 * service that streams one endless event costs us max_event_bytes, not its
 * size. Comment lines and the rest of an oversize event are skipped without
 * storing anything. A CR may be the last byte of one read and its LF the
 * first of the next, hence after_cr; the BOM may be split the same way.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"

typedef enum {
    LINE_START,   /* no byte of the current line seen yet */
    LINE_STORE,   /* a field line: bytes are kept in p->line */
    LINE_COMMENT, /* starts with ':': bytes are dropped */
    LINE_SKIP     /* part of an oversize event: bytes are dropped */
} line_mode;

struct ar_sse_parser {
    const ar_sse_cb *cb;
    void *user;
    size_t max_bytes;
    ar_buf data; /* each data line's value plus '\n', as the spec builds it */
    bool has_data;
    ar_buf line;
    line_mode mode;
    bool skipping_event; /* over the cap: drop lines until the next blank one */
    bool after_cr;       /* the last byte fed was a CR: an LF next is its pair */
    unsigned bom_seen;   /* bytes of a leading BOM matched so far */
    bool bom_done;
    char *type; /* the event type buffer, NULL when empty */
    char *last_id;
    int64_t retry_ms;
    ar_buf scratch; /* previews and pending data handed to callers */
};

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

ar_sse_parser *ar_sse_new(size_t max_event_bytes, const ar_sse_cb *cb, void *user)
{
    ar_sse_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->last_id = strdup("");
    if (!p->last_id) {
        free(p);
        return NULL;
    }
    p->cb = cb;
    p->user = user;
    p->max_bytes = max_event_bytes ? max_event_bytes : AR_FRAME_MAX_BYTES;
    /* +1: the '\n' the spec appends after the last data line. */
    ar_buf_init(&p->data, p->max_bytes + 1);
    ar_buf_init(&p->line, p->max_bytes + 1);
    ar_buf_init(&p->scratch, 2 * p->max_bytes + 2);
    p->retry_ms = -1;
    return p;
}

void ar_sse_free(ar_sse_parser *p)
{
    if (!p) return;
    ar_buf_free(&p->data);
    ar_buf_free(&p->line);
    ar_buf_free(&p->scratch);
    free(p->type);
    free(p->last_id);
    free(p);
}

static void clear_event(ar_sse_parser *p)
{
    ar_buf_reset(&p->data);
    p->has_data = false;
    free(p->type);
    p->type = NULL;
}

void ar_sse_reset(ar_sse_parser *p, bool keep_last_id)
{
    clear_event(p);
    ar_buf_reset(&p->line);
    p->mode = LINE_START;
    p->skipping_event = false;
    p->after_cr = false;
    p->bom_seen = 0;
    p->bom_done = false;
    if (!keep_last_id) {
        p->last_id[0] = '\0';
        p->retry_ms = -1;
    }
}

const char *ar_sse_last_event_id(const ar_sse_parser *p)
{
    return p->last_id;
}

int64_t ar_sse_retry_ms(const ar_sse_parser *p)
{
    return p->retry_ms;
}

/* Appends up to the scratch cap, dropping what does not fit. */
static void scratch_add(ar_sse_parser *p, const char *s, size_t n, size_t limit)
{
    size_t room = limit > p->scratch.len ? limit - p->scratch.len : 0;
    if (n > room) n = room;
    if (n) (void)ar_buf_append(&p->scratch, s, n);
}

/*
 * The preview of an oversize event reads like the frame it would have been:
 * the data lines so far, then the current line without its "data:" prefix
 * when it is a data line (the line may be part in p->line, part in s). It
 * holds only what fitted under the cap, so it does not depend on where the
 * reads happened to end.
 */
static void oversize(ar_sse_parser *p, const char *s, size_t n)
{
    size_t total = p->data.len + p->line.len + n;
    ar_buf_reset(&p->scratch);
    scratch_add(p, p->data.ptr, p->data.len, AR_SSE_PREVIEW_BYTES);
    size_t fit = p->max_bytes > p->data.len ? p->max_bytes - p->data.len : 0;
    char head[6];
    size_t hn = 0;
    for (size_t i = 0; i < p->line.len && hn < sizeof head; i++)
        head[hn++] = p->line.ptr[i];
    for (size_t i = 0; i < n && hn < sizeof head; i++)
        head[hn++] = s[i];
    size_t skip = 0;
    if (hn >= 5 && memcmp(head, "data:", 5) == 0) skip = hn >= 6 && head[5] == ' ' ? 6 : 5;
    /* Raw line bytes [skip, fit) go into the preview: p->line first, then s. */
    size_t from_line_end = p->line.len < fit ? p->line.len : fit;
    if (skip < from_line_end)
        scratch_add(p, p->line.ptr + skip, from_line_end - skip, AR_SSE_PREVIEW_BYTES);
    if (fit > p->line.len) {
        size_t s_from = skip > p->line.len ? skip - p->line.len : 0;
        size_t s_to = fit - p->line.len < n ? fit - p->line.len : n;
        if (s_from < s_to) scratch_add(p, s + s_from, s_to - s_from, AR_SSE_PREVIEW_BYTES);
    }
    clear_event(p);
    ar_buf_reset(&p->line);
    p->skipping_event = true;
    p->mode = LINE_SKIP;
    if (p->cb->on_oversize)
        p->cb->on_oversize(p->user, p->scratch.ptr ? p->scratch.ptr : "", p->scratch.len, total);
}

static void line_bytes(ar_sse_parser *p, const char *s, size_t n)
{
    if (p->mode == LINE_START)
        p->mode = p->skipping_event ? LINE_SKIP : s[0] == ':' ? LINE_COMMENT : LINE_STORE;
    if (p->mode != LINE_STORE) return;
    if (p->data.len + p->line.len + n > p->max_bytes ||
        ar_buf_append(&p->line, s, n) != AR_OK) /* out of memory: cannot hold it either */
        oversize(p, s, n);
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static void dispatch(ar_sse_parser *p)
{
    if (!p->has_data) {
        clear_event(p);
        return;
    }
    p->data.len--; /* the '\n' after the last data line */
    p->data.ptr[p->data.len] = '\0';
    if (p->cb->on_event)
        p->cb->on_event(p->user, p->type, p->data.ptr, p->data.len,
                        p->last_id[0] ? p->last_id : NULL);
    clear_event(p);
}

static void field_line(ar_sse_parser *p, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    size_t vlen = colon ? len - name_len - 1 : 0;
    if (vlen && *val == ' ') {
        val++;
        vlen--;
    }
    if (name_is(line, name_len, "data")) {
        /* Fits: data + line was within the cap and the value is shorter than
         * the line by at least "data:". */
        if (ar_buf_append(&p->data, val, vlen) != AR_OK || ar_buf_append(&p->data, "\n", 1)) return;
        p->has_data = true;
    } else if (name_is(line, name_len, "event")) {
        free(p->type);
        p->type = vlen ? ar_strndup(val, vlen) : NULL;
    } else if (name_is(line, name_len, "id")) {
        if (memchr(val, '\0', vlen)) return; /* the spec ignores such ids */
        char *id = ar_strndup(val, vlen);
        if (!id) return;
        free(p->last_id);
        p->last_id = id;
    } else if (name_is(line, name_len, "retry")) {
        int64_t ms = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (val[i] < '0' || val[i] > '9') return;
            if (ms < INT64_MAX / 20) ms = ms * 10 + (val[i] - '0');
        }
        if (vlen) p->retry_ms = ms;
    } else if (p->cb->on_garbage) {
        p->cb->on_garbage(p->user, line, len);
    }
}

static void end_line(ar_sse_parser *p)
{
    switch (p->mode) {
    case LINE_START: /* a blank line */
        if (p->skipping_event) {
            p->skipping_event = false;
            clear_event(p);
        } else {
            dispatch(p);
        }
        break;
    case LINE_STORE:
        field_line(p, p->line.ptr, p->line.len);
        break;
    case LINE_COMMENT:
    case LINE_SKIP:
        break;
    }
    ar_buf_reset(&p->line);
    p->mode = LINE_START;
}

static void feed_text(ar_sse_parser *p, const char *s, size_t len)
{
    const char *end = s + len;
    while (s < end) {
        if (p->after_cr) {
            p->after_cr = false;
            if (*s == '\n') {
                s++;
                continue;
            }
        }
        const char *eol = s;
        while (eol < end && *eol != '\r' && *eol != '\n')
            eol++;
        if (eol > s) line_bytes(p, s, (size_t)(eol - s));
        if (eol == end) break;
        p->after_cr = *eol == '\r';
        end_line(p);
        s = eol + 1;
    }
}

void ar_sse_feed(ar_sse_parser *p, const char *bytes, size_t len)
{
    const char *s = bytes, *end = bytes + len;
    while (!p->bom_done && s < end) {
        if ((unsigned char)*s == bom[p->bom_seen]) {
            s++;
            if (++p->bom_seen == sizeof bom) p->bom_done = true;
            continue;
        }
        p->bom_done = true;
        /* Not a BOM after all: the bytes held back are text. */
        feed_text(p, (const char *)bom, p->bom_seen);
    }
    if (s < end) feed_text(p, s, (size_t)(end - s));
}

size_t ar_sse_finish(ar_sse_parser *p, const char **pending)
{
    ar_buf_reset(&p->scratch);
    size_t limit = p->scratch.max_bytes;
    if (p->has_data) scratch_add(p, p->data.ptr, p->data.len, limit);
    if (!p->bom_done && p->bom_seen) /* the stream was only part of a BOM */
        scratch_add(p, (const char *)bom, p->bom_seen, limit);
    if (p->mode == LINE_STORE) scratch_add(p, p->line.ptr, p->line.len, limit);
    size_t n = p->scratch.len;
    if (pending) *pending = p->scratch.ptr ? p->scratch.ptr : "";
    ar_sse_reset(p, true);
    return n;
}
