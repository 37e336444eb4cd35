/*
 * session.c - one scenario, one persistent connection, turn after turn.
 *
 * This is the synchronous driver used by `agentrig run`: the calling worker
 * thread owns the loop and services it until the turn's terminal event, the
 * turn's deadline, the connection's end or SIGINT, whichever comes first.
 * Frames are decoded and recorded in the transport callback, stamped with
 * CLOCK_MONOTONIC at arrival. The session drives and records; it does not
 * judge: the mode runs the validators afterwards (validators/judge.c) over
 * what was recorded, so no validation work can delay a timestamp.
 *
 * A broken frame (invalid JSON, binary, over the cap) is recorded as it came
 * and becomes a failed "frames" check on the turn it arrived in; the session
 * goes on, because a service that sends one bad frame may still finish the
 * turn and the report should show both facts.
 */
#include "session.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "httpstep.h"
#include "profile.h"
#include "event.h"
#include "template.h"

#define CONNECT_TIMEOUT_MAX_US (30 * 1000000LL)
#define STEP_MAX_US (100 * 1000LL)
#define BAD_FRAME_CHECKS_MAX 3
#define SSE_TAIL_US (2 * 1000000LL)

typedef struct {
    ar_rec *rec;
    uint32_t sid;
    uint64_t n_dropped;
    uint32_t turn; /* turn being driven; 0 before the first send */
    bool open;
    bool closed;
    ar_err close_err;
    int close_code;
    char close_detail[200];
    bool terminal_seen;
    size_t terminal_index; /* recorder index of the terminal event */
    ar_checks *checks;     /* where frame problems are reported */
    size_t bad_frames;
    size_t turn_frames;        /* frames the service sent in this turn */
    const ar_client_fault *cf; /* this turn's client fault, or NULL */
    bool disconnect_now;       /* the disconnect_after condition was reached */
    const ar_profile *pf;      /* how frames are decoded and turns sent */
    ar_buf response;           /* this turn's response, from deltas (profiles with deltas) */
    size_t conn_frames;        /* frames since the connection (re)opened */
    bool stream_ended;         /* SSE: this turn's response stream ended */
    int stream_status;
    ar_err stream_why;
    char stream_detail[300];
} sess_state;

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

static void frame_problem(sess_state *st, const ar_event *ev, size_t index)
{
    st->bad_frames++;
    if (!st->checks) return;
    if (st->bad_frames > BAD_FRAME_CHECKS_MAX) return; /* the transcript has the rest */
    char excerpt[96];
    size_t n = ev->raw_len < 80 ? ev->raw_len : 80;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof excerpt; i++) {
        unsigned char ch = (unsigned char)ev->raw[i];
        excerpt[k++] = (ev->raw_binary || ch < 0x20 || ch == 0x7f) ? '.' : (char)ch;
    }
    excerpt[k] = '\0';
    ar_checks_add(st->checks, "frames", false, "frames: frame #%zu: %s; first bytes: \"%s\"%s",
                  index + 1, ev->text ? ev->text : "undecodable", excerpt,
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

static void on_frame(void *user, const char *data, size_t len, bool binary, bool truncated,
                     size_t wire_len)
{
    sess_state *st = user;
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
        char *delta = NULL;
        ar_pf_decode(st->pf, data, len, &ev, &delta);
        if (delta && st->turn > 0 && !st->terminal_seen)
            ar_buf_puts(&st->response, delta); /* capped: a runaway stream stops growing */
        free(delta);
        if (!ev.tool && ev.call_id && ev.kind == AR_EV_TOOL_COMPLETED) name_tool(st, &ev);
    }
    st->conn_frames++;
    bool bad = ev.decode_error;
    bool terminal = st->turn > 0 && !st->terminal_seen && ar_event_is_terminal(&ev);
    ar_ev_kind kind = ev.kind;
    ar_event keep; /* for the problem message: ar_rec_add takes ev's strings */
    ar_event_init(&keep);
    if (bad) ar_event_copy(&keep, &ev);
    size_t index = 0;
    if (ar_rec_add(st->rec, &ev) == AR_OK) {
        index = (size_t)ev.seq;
        if (terminal) {
            st->terminal_seen = true;
            st->terminal_index = index;
        }
    } else {
        st->n_dropped++;
    }
    if (bad) frame_problem(st, &keep, index);
    ar_event_clear(&keep);
    st->turn_frames++;
    const ar_client_fault *cf = st->cf;
    if (cf && cf->kind == AR_CF_DISCONNECT && !st->terminal_seen &&
        ((cf->events && st->turn_frames >= (size_t)cf->events) ||
         (cf->has_kind_after && kind == cf->kind_after)))
        st->disconnect_now = true;
}

/* Records what agentrig itself did to the session (kind "fault"). */
static void record_fault(sess_state *st, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void record_fault(sess_state *st, const char *type, const char *fmt, ...)
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
    size_t index = 0;
    if (ar_rec_add(st->rec, &ev) == AR_OK)
        index = (size_t)ev.seq;
    else
        st->n_dropped++;
    frame_problem(st, &keep, index);
    ar_event_clear(&keep);
}

static const ar_conn_cb sess_cb = {on_open, on_frame, on_close, on_stream_end, on_bad_input};

/* Expands ${} in every string inside a JSON value, in place. */
static ar_err expand_json(cJSON *node, const ar_vars *vars, char *err, size_t err_len)
{
    if (cJSON_IsString(node)) {
        char *s;
        ar_err rc = ar_tpl_expand(node->valuestring, vars, AR_TPL_PLAIN, &s, err, err_len);
        if (rc) return rc;
        cJSON_free(node->valuestring);
        node->valuestring = cJSON_malloc(strlen(s) + 1);
        if (!node->valuestring) {
            free(s);
            return AR_ENOMEM;
        }
        strcpy(node->valuestring, s);
        free(s);
        return AR_OK;
    }
    for (cJSON *c = node->child; c; c = c->next) {
        ar_err rc = expand_json(c, vars, err, err_len);
        if (rc) return rc;
    }
    return AR_OK;
}

/*
 * The frame (or SSE request body) for a turn, from the profile's send
 * template: ${message}, ${thread_id}, ${turn}, ${target}, captures and the
 * environment; ${context} and ${messages} as JSON values. A directive field
 * and the unknown-type client fault are applied to the built object.
 */
static char *build_message(const ar_scenario *scn, const ar_turn *t, sess_state *st, ar_vars *vars,
                           const cJSON *history, const char *type, char **expanded_msg, char *err,
                           size_t err_len)
{
    char *msg = NULL, *directive = NULL;
    const ar_directive *d = t->directive.value_tpl ? &t->directive : &scn->directive;
    if (ar_tpl_expand(t->message_tpl, vars, AR_TPL_PLAIN, &msg, err, err_len)) return NULL;
    if (d->value_tpl && d->field &&
        ar_tpl_expand(d->value_tpl, vars, AR_TPL_PLAIN, &directive, err, err_len)) {
        free(msg);
        return NULL;
    }
    cJSON *ctx = NULL;
    if (t->context) {
        ctx = cJSON_Duplicate(t->context, 1);
        if (!ctx || expand_json(ctx, vars, err, err_len)) {
            cJSON_Delete(ctx);
            free(msg);
            free(directive);
            return NULL;
        }
    }
    ar_vars_set(vars, "message", msg);
    char *out = ar_pf_build_send(st->pf, st->pf->send, vars, ctx, history, err, err_len);
    cJSON_Delete(ctx);
    if (out && (directive || type)) {
        cJSON *frame = cJSON_Parse(out);
        free(out);
        out = NULL;
        if (cJSON_IsObject(frame)) {
            if (directive) {
                cJSON_DeleteItemFromObjectCaseSensitive(frame, d->field);
                cJSON_AddStringToObject(frame, d->field, directive);
            }
            if (type) {
                cJSON_DeleteItemFromObjectCaseSensitive(frame, "type");
                cJSON_AddStringToObject(frame, "type", type);
            }
            out = cJSON_PrintUnformatted(frame);
        }
        cJSON_Delete(frame);
        if (!out) snprintf(err, err_len, "the profile's send template is not a JSON object");
    }
    free(directive);
    if (!out) {
        free(msg);
        return NULL;
    }
    *expanded_msg = msg;
    return out;
}

/*
 * What to put on the wire for a turn with a "send_*" client fault: a raw
 * text frame, a binary frame, a frame over the service's cap, or the normal
 * frame (*binary false, returned NULL: use the normal message).
 */
static char *fault_frame(const ar_client_fault *cf, const char *normal, size_t *len, bool *binary)
{
    *binary = false;
    switch (cf->kind) {
    case AR_CF_SEND_RAW:
        *len = strlen(cf->raw);
        return strdup(cf->raw);
    case AR_CF_SEND_BINARY: {
        char *b = malloc((size_t)cf->bytes);
        if (!b) return NULL;
        for (int64_t i = 0; i < cf->bytes; i++)
            b[i] = (char)(i * 151 + 7); /* not UTF-8 text */
        *len = (size_t)cf->bytes;
        *binary = true;
        return b;
    }
    case AR_CF_SEND_OVERSIZED: {
        /* The normal message with a padding field, so it is valid JSON that
         * is simply too large: the size is the fault, nothing else. */
        size_t n = strlen(normal), want = (size_t)cf->bytes;
        size_t pad = want > n + 14 ? want - n - 14 : 1;
        char *b = malloc(n + pad + 16);
        if (!b) return NULL;
        size_t k = (size_t)snprintf(b, n + 16, "%.*s,\"padding\":\"", (int)(n - 1), normal);
        memset(b + k, 'x', pad);
        memcpy(b + k + pad, "\"}", 3);
        *len = k + pad + 2;
        return b;
    }
    default:
        return NULL;
    }
}

static void describe_last(const sess_state *st, const ar_turn_result *tr, char *out, size_t len)
{
    size_t n = ar_rec_count(st->rec, st->sid);
    if (n == tr->first_event) {
        snprintf(out, len, "no events at all");
        return;
    }
    const ar_event *last = ar_rec_get(st->rec, st->sid, n - 1);
    char d[200];
    ar_event_describe(last, tr->start_us, d, sizeof d);
    snprintf(out, len, "last event: %s", d);
}

/* The turn's response text: its deltas when the profile streams them, else
 * the terminal event's text. Borrowed. */
static const char *turn_response(const sess_state *st, const ar_event *terminal)
{
    if (st->pf->n_delta_types) return st->response.ptr ? st->response.ptr : "";
    return terminal ? terminal->text : NULL;
}

/*
 * Leaves what the judge needs in tr (the session itself judges nothing), then
 * takes the turn's captures, whose checks follow the validators' in reports.
 */
static void finish_turn(const ar_turn *t, sess_state *st, ar_turn_result *tr, ar_vars *vars,
                        const char *thread_id)
{
    const ar_event *terminal = ar_rec_get(st->rec, st->sid, st->terminal_index);
    const char *response = turn_response(st, terminal);
    tr->judge = true;
    tr->terminal_index = st->terminal_index;
    tr->response = response ? ar_strdup(response) : NULL;
    tr->vars = ar_vars_clone(vars);
    if (!tr->vars || (response && !tr->response)) {
        tr->judge = false;
        ar_checks_add(&tr->checks, "harness", false, "harness: out of memory while recording");
    }
    for (size_t c = 0; c < t->n_captures; c++)
        ar_capture_take(&t->captures[c], terminal, response, thread_id, vars, &tr->post_checks);
}

static char *make_thread_id(uint32_t index, uint32_t turn)
{
    static const char hex[] = "0123456789abcdef";
    char rnd[9];
    uint64_t x = (uint64_t)ar_wall_us() ^ ((uint64_t)getpid() << 32) ^
                 ((uint64_t)index * 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < 8; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        rnd[i] = hex[x & 15];
    }
    rnd[8] = '\0';
    return turn ? ar_asprintf("ar-%s-%u-t%u", rnd, index, turn)
                : ar_asprintf("ar-%s-%u", rnd, index);
}

static void set_error(ar_session_result *out, ar_err code, char *msg)
{
    out->outcome = AR_OUT_ERROR;
    out->error_code = code;
    free(out->error);
    out->error = msg;
}

/* Appends ?name=value&... (values URL-escaped) to url. Owned result. */
static char *with_query(const char *url, const ar_profile *pf, const ar_vars *vars, char *err,
                        size_t err_len)
{
    ar_buf b;
    ar_buf_init(&b, 64 * 1024);
    ar_buf_puts(&b, url);
    for (size_t i = 0; i < pf->n_query; i++) {
        char *v;
        if (ar_tpl_expand(pf->query_tpls[i], vars, AR_TPL_PLAIN, &v, err, err_len)) {
            ar_buf_free(&b);
            return NULL;
        }
        ar_buf_puts(&b, (i == 0 && !strchr(url, '?')) ? "?" : "&");
        ar_buf_puts(&b, pf->query_names[i]);
        ar_buf_puts(&b, "=");
        for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
            if (isalnum(*c) || strchr("-._~", *c))
                ar_buf_append(&b, c, 1);
            else
                ar_buf_printf(&b, "%%%02X", *c);
        }
        free(v);
    }
    return ar_buf_take(&b);
}

/*
 * Sets up what the profile asks of the connection (URL, headers,
 * subprotocols) and opens it: a WebSocket, or an SSE "connection" whose
 * requests are the turns. Template errors are the scenario's (AR_EINVAL).
 */
static ar_err open_conn(ar_loop *loop, const ar_scenario *scn, sess_state *st, const char *target,
                        ar_vars *vars, ar_conn **conn, char *why, size_t why_len)
{
    const ar_profile *pf = st->pf;
    char err[256];
    char *url = NULL, *full = NULL, *sub = NULL;
    const char **hdrs = calloc(2 * (pf->n_headers + 1) + 1, sizeof *hdrs);
    char **vals = calloc(pf->n_headers + 2, sizeof *vals);
    size_t nh = 0;
    ar_err rc = AR_EINVAL;
    *conn = NULL;
    if (!hdrs || !vals) {
        rc = AR_ENOMEM;
        goto out;
    }
    ar_vars_set(vars, "target", target);
    if (pf->url_tpl && ar_tpl_expand(pf->url_tpl, vars, AR_TPL_PLAIN, &url, err, sizeof err)) {
        snprintf(why, why_len, "protocol %s: url: %s", pf->name, err);
        goto out;
    }
    if (!(full = with_query(url ? url : target, pf, vars, err, sizeof err))) {
        snprintf(why, why_len, "protocol %s: query: %s", pf->name, err);
        goto out;
    }
    for (size_t i = 0; i < pf->n_headers; i++) {
        if (ar_tpl_expand(pf->header_tpls[i], vars, AR_TPL_PLAIN, &vals[i], err, sizeof err)) {
            snprintf(why, why_len, "protocol %s: header %s: %s", pf->name, pf->header_names[i],
                     err);
            goto out;
        }
        hdrs[2 * nh] = pf->header_names[i];
        hdrs[2 * nh + 1] = vals[i];
        nh++;
    }
    if (scn->directive.header) {
        if (ar_tpl_expand(scn->directive.value_tpl, vars, AR_TPL_PLAIN, &vals[pf->n_headers], err,
                          sizeof err)) {
            snprintf(why, why_len, "%s: fault_directive: %s", scn->file, err);
            goto out;
        }
        hdrs[2 * nh] = scn->directive.header;
        hdrs[2 * nh + 1] = vals[pf->n_headers];
        nh++;
    }
    if (pf->subprotocol_tpl &&
        ar_tpl_expand(pf->subprotocol_tpl, vars, AR_TPL_PLAIN, &sub, err, sizeof err)) {
        snprintf(why, why_len, "protocol %s: subprotocols: %s", pf->name, err);
        goto out;
    }
    st->open = st->closed = false;
    st->close_code = 0;
    st->close_detail[0] = '\0';
    st->conn_frames = 0;
    if (pf->transport == AR_PF_SSE) {
        ar_sse_opts so = {.headers = hdrs, .n_headers = nh, .reconnect = pf->sse_reconnect};
        *conn = ar_sse_open(loop, full, &so, &sess_cb, st, err, sizeof err);
    } else {
        ar_loop_set_headers(loop, hdrs, nh);
        ar_loop_set_subprotocols(loop, sub);
        ar_loop_set_ping(loop, pf->ping_every_us);
        *conn = ar_ws_connect(loop, full, &sess_cb, st, err, sizeof err);
        ar_loop_set_headers(loop, NULL, 0);
        ar_loop_set_subprotocols(loop, NULL);
        ar_loop_set_ping(loop, 0);
    }
    if (!*conn) {
        snprintf(why, why_len, "target %s: %s", target, err);
        goto out;
    }
    rc = AR_OK;
out:
    for (size_t i = 0; vals && i < pf->n_headers + 1; i++)
        free(vals[i]);
    free(vals);
    free(hdrs);
    free(url);
    free(full);
    free(sub);
    return rc;
}

/* Runs the profile's handshake: wait for frames, send frames, capture. */
static ar_err handshake(ar_loop *loop, const ar_sess_cfg *cfg, sess_state *st, ar_conn *conn,
                        ar_vars *vars, size_t seen, int64_t deadline, char *why, size_t why_len)
{
    const ar_profile *pf = st->pf;
    for (size_t i = 0; i < pf->n_handshake; i++) {
        const ar_pf_step *step = &pf->handshake[i];
        char err[256];
        if (step->kind == AR_PF_HS_SEND) {
            char *frame = ar_pf_build_send(pf, step->frame, vars, NULL, NULL, err, sizeof err);
            if (!frame) {
                snprintf(why, why_len, "protocol %s: handshake step %zu: %s", pf->name, i + 1, err);
                return AR_EINVAL;
            }
            ar_err rc = ar_conn_send(conn, frame, strlen(frame));
            free(frame);
            if (rc) {
                snprintf(why, why_len, "handshake step %zu: could not send: %s", i + 1,
                         ar_strerror(rc));
                return AR_ECONNECT;
            }
            continue;
        }
        for (;;) {
            size_t n = ar_rec_count(st->rec, st->sid);
            for (; seen < n; seen++) {
                const ar_event *ev = ar_rec_get(st->rec, st->sid, seen);
                if (ev->kind == AR_EV_FAULT || !ev->raw) continue;
                if (!ar_pf_frame_matches(pf, ev->raw, ev->raw_len, step->type,
                                         step->has_when ? &step->when : NULL))
                    continue;
                for (size_t c = 0; c < step->n_caps; c++) {
                    char *v = ar_pf_frame_value(ev->raw, ev->raw_len, step->cap_pointers[c]);
                    if (!v) {
                        snprintf(why, why_len,
                                 "handshake step %zu: capture '%s': %s not found in the frame",
                                 i + 1, step->cap_names[c], step->cap_pointers[c]);
                        return AR_EPROTO;
                    }
                    ar_vars_set(vars, step->cap_names[c], v);
                    free(v);
                }
                seen++;
                goto next_step;
            }
            if (st->closed) {
                snprintf(why, why_len,
                         "the service closed the connection during the handshake (%s)",
                         st->close_detail);
                return AR_ECONNECT;
            }
            int64_t left = deadline - ar_now_us();
            if (left <= 0 || atomic_load(cfg->stop)) {
                snprintf(why, why_len, "handshake step %zu: no frame %s%s within the deadline",
                         i + 1, step->type ? "of type " : "matching its condition",
                         step->type ? step->type : "");
                return AR_ETIMEOUT;
            }
            ar_loop_step(loop, left < STEP_MAX_US ? left : STEP_MAX_US);
        }
    next_step:;
    }
    return AR_OK;
}

/*
 * Opens the session's connection, waits for it, and runs the profile's
 * handshake. On failure returns the error and writes why into why (the
 * connection, if any, is released).
 */
static ar_err connect_wait(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn,
                           sess_state *st, const char *url, ar_vars *vars, int64_t budget_us,
                           ar_conn **conn, char *why, size_t why_len)
{
    /* Frames from here on count for the handshake: a service may greet in the
     * same read as the upgrade, before the handshake starts waiting. */
    size_t first = ar_rec_count(st->rec, st->sid);
    ar_err rc = open_conn(loop, scn, st, url, vars, conn, why, why_len);
    if (rc) return rc;
    int64_t deadline = ar_now_us() + budget_us;
    while (!st->open && !st->closed && !atomic_load(cfg->stop) && ar_now_us() < deadline)
        ar_loop_step(loop, STEP_MAX_US);
    if (st->open) {
        rc = handshake(loop, cfg, st, *conn, vars, first, deadline, why, why_len);
        if (rc == AR_OK) return AR_OK;
        ar_conn_close(*conn);
        *conn = NULL;
        return rc == AR_EINVAL ? AR_EINVAL : AR_ECONNECT;
    }
    rc = AR_ECONNECT;
    if (atomic_load(cfg->stop)) {
        snprintf(why, why_len, "interrupted while connecting");
        rc = AR_EINTERNAL;
    } else if (st->closed) {
        snprintf(why, why_len, "could not connect to %s: %s", url, st->close_detail);
    } else {
        char when[32];
        ar_fmt_duration(budget_us, when, sizeof when);
        snprintf(why, why_len, "could not connect to %s: no handshake within %s", url, when);
    }
    ar_conn_close(*conn);
    *conn = NULL;
    return rc;
}

/*
 * Runs an http: step: its checks become the turn's, and the exchange is
 * recorded in the transcript (an "other" event of type "http"). Returns false
 * when the session cannot go on (the request failed, or an assert did: a
 * failed login makes the turns after it meaningless).
 */
static bool run_http_step(sess_state *st, const ar_turn *t, ar_turn_result *tr, ar_vars *vars)
{
    ar_http_result res;
    ar_http_result_init(&res);
    char err[512];
    tr->ran = true;
    tr->first_event = ar_rec_count(st->rec, st->sid);
    tr->start_us = ar_now_us();
    ar_err rc = ar_http_run(t->http, vars, &res, err, sizeof err);
    tr->end_us = ar_now_us();
    ar_event ev;
    ar_event_init(&ev);
    ev.kind = AR_EV_OTHER;
    ev.session = st->sid;
    ev.turn = (uint32_t)tr->index;
    ev.recv_us = tr->end_us;
    ev.type = strdup("http");
    ev.status = rc == AR_OK && !ar_checks_failed(&res.checks) ? AR_ST_OK : AR_ST_ERROR;
    ev.text = rc == AR_OK ? ar_asprintf("%s %s -> %ld (%.1fms)", res.method ? res.method : "GET",
                                        res.url ? res.url : "?", res.status,
                                        (double)res.duration_us / 1e3)
                          : ar_strdup(err);
    if (res.body) {
        ev.raw = ar_strndup(res.body, res.body_len);
        ev.raw_len = ev.wire_len = ev.raw ? res.body_len : 0;
    }
    if (ar_rec_add(st->rec, &ev) != AR_OK) st->n_dropped++;
    tr->n_events = ar_rec_count(st->rec, st->sid) - tr->first_event;
    tr->message = ar_asprintf("http %s", t->http->name ? t->http->name : "step");
    bool ok = rc == AR_OK;
    if (!ok) ar_checks_add(&tr->checks, "http", false, "http: %s", err);
    for (size_t i = 0; i < res.checks.n; i++) {
        const ar_check *c = &res.checks.items[i];
        ar_checks_add(&tr->checks, c->name, c->passed, "%s", c->message);
        ok = ok && c->passed;
    }
    ar_http_result_clear(&res);
    return ok;
}

/* A clean close is one a service sends on purpose for a bad frame. */
static bool clean_close(int code)
{
    return code == 1000 || code == 1001 || code == 1002 || code == 1003 || code == 1007 ||
           code == 1008 || code == 1009;
}

static bool sends_bad_frame(const ar_client_fault *cf)
{
    return cf->kind == AR_CF_SEND_RAW || cf->kind == AR_CF_SEND_BINARY ||
           cf->kind == AR_CF_SEND_OVERSIZED || cf->kind == AR_CF_SEND_UNKNOWN_TYPE;
}

/* Sends the turn's frame (or what its client fault sends instead). */
static ar_err send_turn(ar_conn *conn, sess_state *st, const ar_client_fault *cf, const char *frame)
{
    if (!sends_bad_frame(cf)) return ar_conn_send(conn, frame, strlen(frame));
    if (cf->kind == AR_CF_SEND_UNKNOWN_TYPE) {
        record_fault(st, "client_fault", "unknown_type: sent the message with an unknown \"type\"");
        return ar_conn_send(conn, frame, strlen(frame));
    }
    size_t len = 0;
    bool binary;
    char *bad = fault_frame(cf, frame, &len, &binary);
    if (!bad) return AR_ENOMEM;
    record_fault(st, "client_fault", "%s: sent a %s frame of %zu bytes instead of the message",
                 ar_cf_kind_name(cf->kind), binary ? "binary" : "text", len);
    ar_err rc = ar_conn_send_frame(conn, bad, len, binary);
    free(bad);
    return rc;
}

/* Waits for the turn to end: terminal event, close, deadline, SIGINT, or
 * the disconnect client fault. The slow-reader fault pauses reading once the
 * first frame has come. */
static void await_turn(ar_loop *loop, const ar_sess_cfg *cfg, sess_state *st, ar_conn *conn,
                       const ar_client_fault *cf, int64_t deadline)
{
    bool paused_once = false;
    while (!st->terminal_seen && !st->closed && !st->disconnect_now && !st->stream_ended &&
           !atomic_load(cfg->stop)) {
        int64_t left = deadline - ar_now_us();
        if (left <= 0) break;
        if (cf->kind == AR_CF_SLOW_READER && !paused_once && st->turn_frames > 0) {
            paused_once = true;
            char d[32];
            ar_fmt_duration(cf->pause_us, d, sizeof d);
            record_fault(st, "client_fault", "slow_reader: stopped reading for %s", d);
            ar_conn_pause(conn, true);
            int64_t until = ar_now_us() + cf->pause_us;
            while (ar_now_us() < until && !atomic_load(cfg->stop) && !st->closed)
                ar_loop_step(loop,
                             until - ar_now_us() < STEP_MAX_US ? until - ar_now_us() : STEP_MAX_US);
            ar_conn_pause(conn, false);
            continue;
        }
        ar_loop_step(loop, left < STEP_MAX_US ? left : STEP_MAX_US);
    }
    if (st->terminal_seen) ar_loop_step(loop, 0); /* frames that trail the terminal one */
    /* An SSE response ends after its terminal event; reading it to the end
     * catches events sent after the terminal one (nothing_after_terminal)
     * and frees the connection for the next turn's request. */
    int64_t grace = ar_now_us() + SSE_TAIL_US;
    while (st->pf->transport == AR_PF_SSE && st->terminal_seen && !st->stream_ended &&
           !st->closed && ar_now_us() < grace && !atomic_load(cfg->stop))
        ar_loop_step(loop, STEP_MAX_US);
}

/* Appends {"id", "role", "content"} to the conversation. */
static void push_message(cJSON *history, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "msg-%d", cJSON_GetArraySize(history) + 1);
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(history, m);
}

void ar_sess_run(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn, uint32_t index,
                 ar_session_result *out)
{
    memset(out, 0, sizeof *out);
    out->scn = scn;
    out->start_wall_us = ar_wall_us();
    out->start_us = ar_now_us();
    out->turns = calloc(scn->n_turns ? scn->n_turns : 1, sizeof *out->turns);
    ar_vars *vars = ar_vars_new();
    sess_state st = {.rec = cfg->rec, .pf = scn->profile};
    ar_buf_init(&st.response, AR_FRAME_MAX_BYTES);
    cJSON *history = cJSON_CreateArray(); /* the conversation so far, for ${messages} */
    ar_conn *conn = NULL;
    char err[512];
    char *turn_thread = NULL;
    if (!out->turns || !vars) {
        set_error(out, AR_ENOMEM, ar_strdup("out of memory"));
        goto done;
    }
    out->n_turns = scn->n_turns;
    for (size_t k = 0; k < scn->n_turns; k++) {
        out->turns[k].index = (uint32_t)(k + 1);
        ar_checks_init(&out->turns[k].checks);
    }
    if (ar_rec_open(cfg->rec, scn->name, &st.sid) != AR_OK) {
        set_error(out, AR_ENOMEM, ar_strdup("could not open a recorder session"));
        goto done;
    }
    out->rec_session = st.sid;
    if (cfg->on_session) cfg->on_session(cfg->hook_user, st.sid);

    /* Target: --target, else the scenario's, else the embedded refagent. */
    if (cfg->target_override) {
        out->target = ar_strdup(cfg->target_override);
    } else if (scn->target_tpl) {
        if (ar_tpl_expand(scn->target_tpl, NULL, AR_TPL_PLAIN, &out->target, err, sizeof err)) {
            set_error(out, AR_EINVAL, ar_asprintf("%s: target: %s", scn->file, err));
            goto done;
        }
    } else if (cfg->default_target) {
        out->target = ar_strdup(cfg->default_target);
    } else {
        set_error(out, AR_EINTERNAL, ar_strdup("no target and no embedded refagent"));
        goto done;
    }
    if (scn->thread_id_tpl) {
        if (ar_tpl_expand(scn->thread_id_tpl, NULL, AR_TPL_PLAIN, &out->thread_id, err,
                          sizeof err)) {
            set_error(out, AR_EINVAL, ar_asprintf("%s: thread_id: %s", scn->file, err));
            goto done;
        }
    } else {
        out->thread_id = make_thread_id(index, 0);
    }
    st.checks = scn->n_turns ? &out->turns[0].checks : NULL;
    int64_t connect_budget =
        scn->n_turns ? ar_scn_turn_timeout_us(scn, &scn->turns[0]) : CONNECT_TIMEOUT_MAX_US;
    if (connect_budget > CONNECT_TIMEOUT_MAX_US) connect_budget = CONNECT_TIMEOUT_MAX_US;
    ar_vars_set(vars, "thread_id", out->thread_id);
    ar_err crc = AR_OK;
    /* The connection opens before the first message, not before the first
     * turn: http: steps (a login) may provide what the profile needs. */
    bool ever_connected = false;

    const char *thread_id = out->thread_id;
    for (size_t k = 0; k < scn->n_turns; k++) {
        const ar_turn *t = &scn->turns[k];
        const ar_client_fault *cf = &t->client_fault;
        ar_turn_result *tr = &out->turns[k];
        if (atomic_load(cfg->stop)) break;
        if (t->http) {
            if (!run_http_step(&st, t, tr, vars)) break;
            continue;
        }
        if (!ever_connected) {
            crc = connect_wait(loop, cfg, scn, &st, out->target, vars, connect_budget, &conn, err,
                               sizeof err);
            if (crc) {
                set_error(out, crc, ar_strdup(err));
                break;
            }
            ever_connected = true;
        }
        if (!conn) { /* an earlier client fault closed it: same thread, new connection */
            int64_t t0 = ar_now_us();
            crc = connect_wait(loop, cfg, scn, &st, out->target, vars, connect_budget, &conn, err,
                               sizeof err);
            tr->ran = true;
            tr->start_us = tr->end_us = ar_now_us();
            tr->first_event = ar_rec_count(st.rec, st.sid);
            if (crc) {
                ar_checks_add(&tr->checks, "completed", false, "completed: could not reconnect: %s",
                              err);
                break;
            }
            record_fault(&st, "reconnect", "reconnected on thread %s in %.1fms", thread_id,
                         (double)(ar_now_us() - t0) / 1e3);
        }
        if (t->new_thread) {
            free(turn_thread);
            turn_thread = make_thread_id(index, (uint32_t)(k + 1));
            thread_id = turn_thread;
        }
        char *msg = NULL;
        char turn_no[24];
        snprintf(turn_no, sizeof turn_no, "%zu", k + 1);
        ar_vars_set(vars, "thread_id", thread_id);
        ar_vars_set(vars, "turn", turn_no);
        /* The user's message joins the conversation before it is sent, so a
         * stateless protocol's ${messages} carries it. */
        char *peek = NULL;
        if (ar_tpl_expand(t->message_tpl, vars, AR_TPL_PLAIN, &peek, err, sizeof err) == AR_OK)
            push_message(history, "user", peek);
        free(peek);
        char *frame =
            build_message(scn, t, &st, vars, history,
                          cf->kind == AR_CF_SEND_UNKNOWN_TYPE ? "agentrig.unknown_type" : NULL,
                          &msg, err, sizeof err);
        tr->ran = true;
        st.checks = &tr->checks;
        if (!frame) {
            ar_checks_add(&tr->checks, "send", false, "send: %s:%d:%d: %s", scn->file, t->loc.line,
                          t->loc.col, err);
            tr->first_event = ar_rec_count(st.rec, st.sid);
            break;
        }
        tr->message = msg;
        st.turn = (uint32_t)(k + 1);
        st.terminal_seen = false;
        st.stream_ended = false;
        ar_buf_reset(&st.response);
        st.turn_frames = 0;
        st.disconnect_now = false;
        st.cf = cf;
        if (cfg->on_turn) cfg->on_turn(cfg->hook_user, st.turn);
        tr->first_event = ar_rec_count(st.rec, st.sid);
        tr->start_us = ar_now_us();
        ar_err rc = send_turn(conn, &st, cf, frame);
        free(frame);
        int64_t timeout = ar_scn_turn_timeout_us(scn, t);
        if (rc == AR_OK) await_turn(loop, cfg, &st, conn, cf, tr->start_us + timeout);
        st.cf = NULL;
        char last[300];
        describe_last(&st, tr, last, sizeof last);
        char limit[32];
        ar_fmt_duration(timeout, limit, sizeof limit);

        if (st.disconnect_now) {
            /* The client fault: drop the connection mid-turn, reconnect at
             * once on the same thread; the next turns show whether the
             * service kept the conversation. */
            size_t seen = st.turn_frames;
            record_fault(&st, "client_fault", "disconnect: closed the connection after %zu events",
                         seen);
            ar_conn_close(conn);
            conn = NULL;
            tr->end_us = ar_now_us();
            tr->n_events = ar_rec_count(st.rec, st.sid) - tr->first_event;
            int64_t t0 = ar_now_us();
            crc = connect_wait(loop, cfg, scn, &st, out->target, vars, connect_budget, &conn, err,
                               sizeof err);
            if (crc) {
                ar_checks_add(&tr->checks, "completed", false,
                              "completed: disconnected after %zu events (client fault), then "
                              "could not reconnect: %s",
                              seen, err);
                break;
            }
            char took[32];
            ar_fmt_duration(ar_now_us() - t0, took, sizeof took);
            record_fault(&st, "reconnect", "reconnected on thread %s in %s", thread_id, took);
            ar_checks_add(&tr->checks, "completed", true,
                          "completed: disconnected by agentrig after %zu events (client fault), "
                          "reconnected on the same thread in %s",
                          seen, took);
            continue;
        }
        tr->n_events = ar_rec_count(st.rec, st.sid) - tr->first_event;
        if (st.terminal_seen) {
            const ar_event *term = ar_rec_get(st.rec, st.sid, st.terminal_index);
            tr->end_us = term->recv_us;
            char took[32];
            ar_fmt_duration(tr->end_us - tr->start_us, took, sizeof took);
            if (term->kind == AR_EV_ERROR && sends_bad_frame(cf))
                ar_checks_add(&tr->checks, "completed", true,
                              "completed: the service answered the %s with an error event after "
                              "%s: %s",
                              ar_cf_kind_name(cf->kind), took,
                              term->text ? term->text : "(no message)");
            else if (term->kind == AR_EV_ERROR)
                ar_checks_add(&tr->checks, "completed", false,
                              "completed: the turn ended with an error event after %s: %s", took,
                              term->text ? term->text : "(no message)");
            else
                ar_checks_add(&tr->checks, "completed", true,
                              "completed: agent_completed after %s (%zu events)", took,
                              tr->n_events);
            finish_turn(t, &st, tr, vars, thread_id);
            const char *resp = turn_response(&st, term);
            push_message(history, "assistant", resp ? resp : "");
            continue;
        }
        tr->end_us = ar_now_us();
        if (st.closed && st.conn_frames == 0 && !sends_bad_frame(cf)) {
            /* Accepted, then closed without a word (a rejected token, say):
             * the service could not be used at all. */
            set_error(out, AR_ECONNECT,
                      ar_asprintf("%s: the service closed the connection before answering: %s",
                                  out->target, st.close_detail));
            break;
        }
        if (st.stream_ended && !st.terminal_seen && rc == AR_OK) {
            if (st.stream_why != AR_OK)
                ar_checks_add(&tr->checks, "completed", false, "completed: %s; %s",
                              st.stream_detail, last);
            else
                ar_checks_add(&tr->checks, "completed", false,
                              "completed: the stream ended without a terminal event after %zu "
                              "events; %s",
                              tr->n_events, last);
            break;
        }
        if (st.closed && sends_bad_frame(cf) && clean_close(st.close_code)) {
            ar_checks_add(&tr->checks, "completed", true,
                          "completed: the service closed the connection cleanly after the %s "
                          "(%s)",
                          ar_cf_kind_name(cf->kind), st.close_detail);
            ar_conn_close(conn);
            conn = NULL; /* the next turn reconnects */
            continue;
        }
        if (rc != AR_OK)
            ar_checks_add(&tr->checks, "completed", false,
                          "completed: could not send the message: %s", ar_strerror(rc));
        else if (atomic_load(cfg->stop))
            ar_checks_add(&tr->checks, "completed", false, "completed: interrupted; %s", last);
        else if (st.closed)
            ar_checks_add(&tr->checks, "completed", false,
                          "completed: connection closed mid-turn (%s) after %zu events; %s",
                          st.close_detail, tr->n_events, last);
        else
            ar_checks_add(&tr->checks, "completed", false,
                          "completed: no agent_completed within %s; %s", limit, last);
        break;
    }

done:
    free(turn_thread);
    ar_buf_free(&st.response);
    cJSON_Delete(history);
    if (conn) {
        ar_conn_close(conn);
        ar_loop_step(loop, 0); /* let the close frame go out; the loop frees the rest */
    }
    if (st.n_dropped && out->n_turns)
        ar_checks_add(&out->turns[0].post_checks, "recorder", false,
                      "recorder: %llu events could not be recorded (session cap reached)",
                      (unsigned long long)st.n_dropped);
    out->duration_us = ar_now_us() - out->start_us;
    ar_session_result_settle(out);
    ar_vars_free(vars);
}
