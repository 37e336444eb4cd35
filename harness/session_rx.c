/*
 * session_rx.c - what comes in: the transport callbacks of a session.
 *
 * Frames are decoded and recorded here, inside the callback, stamped with
 * CLOCK_MONOTONIC on arrival before anything else looks at them. A broken
 * frame (invalid JSON, binary, over the cap) is recorded as it came and
 * becomes a failed "frames" check on the turn it arrived in; the session goes
 * on, because a service that sends one bad frame may still finish the turn
 * and the report should show both facts.
 */
#include "session_int.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_open(void *user)
{
    ((sess_state *)user)->open = true;
}

static void on_close(void *user, ar_err why, int close_code, const char *detail)
{
    sess_state *st = user;
    st->closed = true;
    st->close_err = why;
    st->close_code = close_code;
    snprintf(st->close_detail, sizeof st->close_detail, "%s", detail ? detail : "closed");
}

/* Length of the well-formed UTF-8 sequence starting at s (RFC 3629), 0 if none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    size_t len = b < 0x80 ? 1 : b < 0xC2 ? 0 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF5 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    if ((b == 0xE0 && s[1] < 0xA0) || (b == 0xED && s[1] > 0x9F) || (b == 0xF0 && s[1] < 0x90) ||
        (b == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

static void frame_problem(sess_state *st, const ar_event *ev)
{
    st->bad_frames++;
    if (!st->checks) return;
    if (st->bad_frames > BAD_FRAME_CHECKS_MAX) return; /* the transcript has the rest */
    /* The excerpt goes into a check message, which is printed and written
     * into every report: bytes that are not UTF-8 text (a frame that is not
     * UTF-8, a character cut at 80 bytes) become '.', like control bytes. */
    char excerpt[96];
    size_t n = ev->raw_len < 80 ? ev->raw_len : 80;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof excerpt; i++) {
        const unsigned char *u = (const unsigned char *)ev->raw + i;
        size_t len = ev->raw_binary ? 0 : utf8_seq_len(u, n - i);
        if (len > 1) {
            memcpy(excerpt + k, u, len);
            k += len;
            i += len - 1;
            continue;
        }
        excerpt[k++] = (len == 0 || *u < 0x20 || *u == 0x7f) ? '.' : (char)*u;
    }
    excerpt[k] = '\0';
    ar_checks_add(st->checks, "frames", false, "frames: frame #%zu: %s; first bytes: \"%s\"%s",
                  st->rx_frames, ev->text ? ev->text : "undecodable", excerpt,
                  ev->raw_len > 80 ? "..." : "");
}

/* Protocols that name the tool only where the call starts (AG-UI's
 * TOOL_CALL_RESULT has just the call id): take the name from the turn's
 * tool_executing with the same call id. */
static void name_tool(sess_state *st, ar_event *ev)
{
    size_t n = ar_rec_count(st->rec, st->sid);
    for (size_t i = n; i-- > 0;) {
        const ar_event *e = ar_rec_get(st->rec, st->sid, i);
        if (e->turn != ev->turn) break;
        if (e->kind == AR_EV_TOOL_EXECUTING && e->call_id && e->tool &&
            !strcmp(e->call_id, ev->call_id)) {
            ev->tool = strdup(e->tool);
            return;
        }
    }
}

/*
 * decode.derive_started: protocols with no start events (LangGraph's stream,
 * the Agents SDK's first agent) still show which agent is running on every
 * frame. The first event that names an agent other than the last one named
 * in this turn is preceded by an agent_started for it, marked as derived
 * (type "agentrig.derived") so a reader of the transcript knows it was not
 * on the wire.
 */
static void derive_started(sess_state *st, const ar_event *ev)
{
    if (!st->pf->derive_started || st->turn == 0 || !ev->agent || ev->decode_error) return;
    bool same = !strcmp(st->last_agent, ev->agent);
    snprintf(st->last_agent, sizeof st->last_agent, "%s", ev->agent);
    if (same || ev->kind == AR_EV_AGENT_STARTED) return;
    ar_event d;
    ar_event_init(&d);
    d.kind = AR_EV_AGENT_STARTED;
    d.session = st->sid;
    d.turn = ev->turn;
    d.recv_us = ev->recv_us;
    d.type = ar_strdup("agentrig.derived");
    d.agent = ar_strdup(ev->agent);
    d.run_id = ev->run_id ? ar_strdup(ev->run_id) : NULL;
    d.text = ar_asprintf("derived: the first event of %s in this turn since another agent's "
                         "(the protocol sends no start event)",
                         ev->agent);
    if (ar_rec_add(st->rec, &d) != AR_OK) st->n_dropped++;
}

static void on_frame(void *user, const char *data, size_t len, bool binary, bool truncated,
                     size_t wire_len)
{
    sess_state *st = user;
    st->rx_frames++;
    ar_event ev;
    ar_event_init(&ev);
    ev.recv_us = ar_now_us();
    ev.session = st->sid;
    ev.turn = st->turn;
    if (binary || truncated) {
        ev.kind = AR_EV_ERROR;
        ev.decode_error = true;
        ev.raw = ar_strndup(data, len);
        ev.raw_len = ev.raw ? len : 0;
        ev.raw_binary = binary;
        ev.raw_truncated = truncated;
        ev.wire_len = wire_len;
        if (truncated)
            ev.text = ar_asprintf("%s frame of %zu bytes exceeds the %u-byte frame cap",
                                  binary ? "binary" : "text", wire_len, AR_FRAME_MAX_BYTES);
        else
            ev.text =
                ar_asprintf("binary frame of %zu bytes (the protocol is JSON text)", wire_len);
    } else {
        /* SSE: the event's name and id reach the decoder (@event, @id);
         * the connection knows them only while this callback runs. */
        ar_pf_meta meta;
        bool sse = ar_conn_sse_meta(st->conn, &meta.event, &meta.id);
        char *delta = NULL;
        ar_pf_decode_meta(st->pf, data, len, sse ? &meta : NULL, &ev, &delta);
        if (delta && st->turn > 0 && !st->terminal_seen)
            ar_buf_puts(&st->response, delta); /* capped: a runaway stream stops growing */
        free(delta);
        if (!ev.tool && ev.call_id && ev.kind == AR_EV_TOOL_COMPLETED) name_tool(st, &ev);
        derive_started(st, &ev);
    }
    st->conn_frames++;
    bool bad = ev.decode_error;
    bool terminal = st->turn > 0 && !st->terminal_seen && ar_event_is_terminal(&ev);
    ar_ev_kind kind = ev.kind;
    ar_event keep; /* for the problem message: ar_rec_add takes ev's strings */
    ar_event_init(&keep);
    if (bad) ar_event_copy(&keep, &ev);
    if (ar_rec_add(st->rec, &ev) == AR_OK) {
        if (terminal) {
            st->terminal_seen = true;
            st->terminal_index = (size_t)ev.seq;
        }
    } else {
        st->n_dropped++;
    }
    if (bad) frame_problem(st, &keep);
    ar_event_clear(&keep);
    st->turn_frames++;
    const ar_client_fault *cf = st->cf;
    if (cf && cf->kind == AR_CF_DISCONNECT && !st->terminal_seen &&
        ((cf->events && st->turn_frames >= (size_t)cf->events) ||
         (cf->has_kind_after && kind == cf->kind_after)))
        st->disconnect_now = true;
}

/* Records what agentrig itself did to the session (kind "fault"). */
void ar_sess_record_fault(sess_state *st, const char *type, const char *fmt, ...)
{
    ar_event ev;
    ar_event_init(&ev);
    ev.kind = AR_EV_FAULT;
    ev.session = st->sid;
    ev.turn = st->turn;
    ev.recv_us = ar_now_us();
    ev.type = strdup(type);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&ev.text, fmt, ap) < 0) ev.text = NULL;
    va_end(ap);
    if (ar_rec_add(st->rec, &ev) != AR_OK) st->n_dropped++;
}

static void on_stream_end(void *user, int http_status, ar_err why, const char *detail)
{
    sess_state *st = user;
    st->stream_ended = true;
    st->stream_status = http_status;
    st->stream_why = why;
    snprintf(st->stream_detail, sizeof st->stream_detail, "%s", detail ? detail : "");
}

/* Input that is no frame (an SSE garbage line, an event over the cap): kept
 * in the transcript as an undecodable event, and a failed "frames" check. */
static void on_bad_input(void *user, const char *raw, size_t len, const char *why)
{
    sess_state *st = user;
    st->rx_frames++;
    ar_event ev;
    ar_event_init(&ev);
    ev.recv_us = ar_now_us();
    ev.session = st->sid;
    ev.turn = st->turn;
    ev.kind = AR_EV_ERROR;
    ev.decode_error = true;
    ev.raw = ar_strndup(raw, len);
    ev.raw_len = ev.wire_len = ev.raw ? len : 0;
    ev.text = ar_strdup(why);
    ar_event keep;
    ar_event_init(&keep);
    ar_event_copy(&keep, &ev);
    if (ar_rec_add(st->rec, &ev) != AR_OK) st->n_dropped++;
    frame_problem(st, &keep);
    ar_event_clear(&keep);
}

const ar_conn_cb ar_sess_cb = {on_open, on_frame, on_close, on_stream_end, on_bad_input};
