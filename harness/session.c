/*
 * session.c - one scenario, one persistent connection, turn after turn.
 *
 * This is the synchronous driver used by `agentrig run`: the calling worker
 * thread owns the loop and services it until the turn's terminal event, the
 * turn's deadline, the connection's end or SIGINT, whichever comes first.
 * Frames are decoded and recorded in the transport callback, stamped with
 * CLOCK_MONOTONIC at arrival, so validation work never delays a timestamp.
 *
 * A broken frame (invalid JSON, binary, over the cap) is recorded as it came
 * and becomes a failed "frames" check on the turn it arrived in; the session
 * goes on, because a service that sends one bad frame may still finish the
 * turn and the report should show both facts.
 */
#include "session.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "event.h"
#include "template.h"
#include "../validators/validator.h"

#define CONNECT_TIMEOUT_MAX_US (30 * 1000000LL)
#define STEP_MAX_US (100 * 1000LL)
#define BAD_FRAME_CHECKS_MAX 3

typedef struct {
    ar_rec *rec;
    uint32_t sid;
    size_t n_recorded;
    uint64_t n_dropped;
    uint32_t turn;          /* turn being driven; 0 before the first send */
    bool open;
    bool closed;
    ar_err close_err;
    char close_detail[200];
    bool terminal_seen;
    size_t terminal_index;  /* recorder index of the terminal event */
    ar_checks *checks;      /* where frame problems are reported */
    size_t bad_frames;
} sess_state;

static void on_open(void *user)
{
    ((sess_state *)user)->open = true;
}

static void on_close(void *user, ar_err why, const char *detail)
{
    sess_state *st = user;
    st->closed = true;
    st->close_err = why;
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
    ar_checks_add(st->checks, "frames", false, "frames: frame #%zu: %s; first bytes: \"%s\"%s", index + 1,
                  ev->text ? ev->text : "undecodable", excerpt, ev->raw_len > 80 ? "..." : "");
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
            ev.text = ar_asprintf("binary frame of %zu bytes (the protocol is JSON text)",
                                  wire_len);
    } else {
        ar_event_decode_native(data, len, &ev);
    }
    bool bad = ev.decode_error;
    bool terminal = st->turn > 0 && !st->terminal_seen && ar_event_is_terminal(&ev);
    size_t index = st->n_recorded;
    ar_event keep; /* for the problem message: ar_rec_add takes ev's strings */
    ar_event_init(&keep);
    if (bad) ar_event_copy(&keep, &ev);
    if (ar_rec_add(st->rec, &ev) == AR_OK) {
        st->n_recorded++;
        if (terminal) {
            st->terminal_seen = true;
            st->terminal_index = index;
        }
    } else {
        st->n_dropped++;
    }
    if (bad) frame_problem(st, &keep, index);
    ar_event_clear(&keep);
}

static const ar_conn_cb sess_cb = {on_open, on_frame, on_close};

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

static char *build_message(const ar_turn *t, const char *thread_id, const ar_vars *vars,
                           char **expanded_msg, char *err, size_t err_len)
{
    char *msg = NULL;
    if (ar_tpl_expand(t->message_tpl, vars, AR_TPL_PLAIN, &msg, err, err_len)) return NULL;
    cJSON *frame = cJSON_CreateObject();
    cJSON_AddStringToObject(frame, "type", "user_message");
    cJSON_AddStringToObject(frame, "thread_id", thread_id);
    cJSON_AddStringToObject(frame, "message", msg);
    if (t->context) {
        cJSON *ctx = cJSON_Duplicate(t->context, 1);
        if (!ctx || expand_json(ctx, vars, err, err_len)) {
            cJSON_Delete(ctx);
            cJSON_Delete(frame);
            free(msg);
            return NULL;
        }
        cJSON_AddItemToObject(frame, "context", ctx);
    }
    char *out = cJSON_PrintUnformatted(frame);
    cJSON_Delete(frame);
    *expanded_msg = msg;
    return out;
}

static void describe_last(const sess_state *st, const ar_turn_result *tr, char *out, size_t len)
{
    if (st->n_recorded == tr->first_event) {
        snprintf(out, len, "no events at all");
        return;
    }
    const ar_event *last = ar_rec_get(st->rec, st->sid, st->n_recorded - 1);
    char d[200];
    ar_event_describe(last, tr->start_us, d, sizeof d);
    snprintf(out, len, "last event: %s", d);
}

static void judge_turn(const ar_turn *t, sess_state *st, ar_turn_result *tr, ar_vars *vars,
                       const char *thread_id)
{
    size_t n = tr->n_events;
    const ar_event **evs = calloc(n ? n : 1, sizeof *evs);
    const ar_event **prev = calloc(tr->first_event ? tr->first_event : 1, sizeof *prev);
    if (!evs || !prev) {
        ar_checks_add(&tr->checks, "harness", false, "harness: out of memory while validating");
        free(evs);
        free(prev);
        return;
    }
    for (size_t i = 0; i < n; i++) evs[i] = ar_rec_get(st->rec, st->sid, tr->first_event + i);
    for (size_t i = 0; i < tr->first_event; i++) prev[i] = ar_rec_get(st->rec, st->sid, i);
    const ar_event *terminal = ar_rec_get(st->rec, st->sid, st->terminal_index);
    ar_turn_obs obs = {
        .events = evs,
        .n_events = n,
        .terminal = terminal,
        .start_us = tr->start_us,
        .end_us = tr->end_us,
        .response = terminal->text,
        .vars = vars,
        .prev_events = prev,
        .n_prev_events = tr->first_event,
    };
    ar_val_turn(&t->expect, &obs, &tr->checks);
    for (size_t c = 0; c < t->n_captures; c++)
        ar_capture_take(&t->captures[c], terminal, thread_id, vars, &tr->checks);
    free(evs);
    free(prev);
}

static char *make_thread_id(uint32_t index, uint32_t turn)
{
    static const char hex[] = "0123456789abcdef";
    char rnd[9];
    uint64_t x = (uint64_t)ar_wall_us() ^ ((uint64_t)getpid() << 32) ^ ((uint64_t)index * 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < 8; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        rnd[i] = hex[x & 15];
    }
    rnd[8] = '\0';
    return turn ? ar_asprintf("ar-%s-%u-t%u", rnd, index, turn) : ar_asprintf("ar-%s-%u", rnd, index);
}

static void set_error(ar_session_result *out, ar_err code, char *msg)
{
    out->outcome = AR_OUT_ERROR;
    out->error_code = code;
    free(out->error);
    out->error = msg;
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
    sess_state st = {.rec = cfg->rec};
    ar_conn *conn = NULL;
    char err[512];
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
    conn = ar_ws_connect(loop, out->target, &sess_cb, &st, err, sizeof err);
    if (!conn) {
        set_error(out, AR_EINVAL, ar_asprintf("target %s: %s", out->target, err));
        goto done;
    }
    int64_t connect_budget = scn->n_turns ? ar_scn_turn_timeout_us(scn, &scn->turns[0])
                                          : CONNECT_TIMEOUT_MAX_US;
    if (connect_budget > CONNECT_TIMEOUT_MAX_US) connect_budget = CONNECT_TIMEOUT_MAX_US;
    int64_t connect_deadline = ar_now_us() + connect_budget;
    while (!st.open && !st.closed && !atomic_load(cfg->stop) && ar_now_us() < connect_deadline)
        ar_loop_step(loop, STEP_MAX_US);
    if (!st.open) {
        char when[32];
        ar_fmt_duration(connect_budget, when, sizeof when);
        if (atomic_load(cfg->stop))
            set_error(out, AR_EINTERNAL, ar_strdup("interrupted while connecting"));
        else if (st.closed)
            set_error(out, AR_ECONNECT,
                      ar_asprintf("could not connect to %s: %s", out->target, st.close_detail));
        else
            set_error(out, AR_ECONNECT,
                      ar_asprintf("could not connect to %s: no handshake within %s", out->target,
                                  when));
        goto done;
    }

    const char *thread_id = out->thread_id;
    char *turn_thread = NULL;
    for (size_t k = 0; k < scn->n_turns; k++) {
        const ar_turn *t = &scn->turns[k];
        ar_turn_result *tr = &out->turns[k];
        if (atomic_load(cfg->stop)) {
            break;
        }
        if (t->new_thread) {
            free(turn_thread);
            turn_thread = make_thread_id(index, (uint32_t)(k + 1));
            thread_id = turn_thread;
        }
        char *msg = NULL;
        char *frame = build_message(t, thread_id, vars, &msg, err, sizeof err);
        tr->ran = true;
        st.checks = &tr->checks;
        if (!frame) {
            ar_checks_add(&tr->checks, "send", false, "send: %s:%d:%d: %s", scn->file, t->loc.line,
                          t->loc.col, err);
            tr->first_event = st.n_recorded;
            break;
        }
        tr->message = msg;
        st.turn = (uint32_t)(k + 1);
        st.terminal_seen = false;
        tr->first_event = st.n_recorded;
        tr->start_us = ar_now_us();
        ar_err rc = ar_conn_send(conn, frame, strlen(frame));
        free(frame);
        int64_t timeout = ar_scn_turn_timeout_us(scn, t);
        int64_t deadline = tr->start_us + timeout;
        while (rc == AR_OK && !st.terminal_seen && !st.closed && !atomic_load(cfg->stop)) {
            int64_t left = deadline - ar_now_us();
            if (left <= 0) break;
            ar_loop_step(loop, left < STEP_MAX_US ? left : STEP_MAX_US);
        }
        if (st.terminal_seen) ar_loop_step(loop, 0); /* frames that trail the terminal one */
        tr->n_events = st.n_recorded - tr->first_event;
        char last[300];
        describe_last(&st, tr, last, sizeof last);
        char limit[32];
        ar_fmt_duration(timeout, limit, sizeof limit);
        if (st.terminal_seen) {
            const ar_event *term = ar_rec_get(st.rec, st.sid, st.terminal_index);
            tr->end_us = term->recv_us;
            char took[32];
            ar_fmt_duration(tr->end_us - tr->start_us, took, sizeof took);
            if (term->kind == AR_EV_ERROR)
                ar_checks_add(&tr->checks, "completed", false,
                              "completed: the turn ended with an error event after %s: %s", took,
                              term->text ? term->text : "(no message)");
            else
                ar_checks_add(&tr->checks, "completed", true, "completed: agent_completed after %s (%zu events)",
                              took, tr->n_events);
            judge_turn(t, &st, tr, vars, thread_id);
            continue;
        }
        tr->end_us = ar_now_us();
        if (rc != AR_OK)
            ar_checks_add(&tr->checks, "completed", false, "completed: could not send the message: %s",
                          ar_strerror(rc));
        else if (atomic_load(cfg->stop))
            ar_checks_add(&tr->checks, "completed", false, "completed: interrupted; %s", last);
        else if (st.closed)
            ar_checks_add(&tr->checks, "completed", false,
                          "completed: connection closed mid-turn (%s) after %zu events; %s", st.close_detail,
                          tr->n_events, last);
        else
            ar_checks_add(&tr->checks, "completed", false, "completed: no agent_completed within %s; %s",
                          limit, last);
        break;
    }
    free(turn_thread);

done:
    if (conn) {
        ar_conn_close(conn);
        ar_loop_step(loop, 0); /* let the close frame go out; the loop frees the rest */
    }
    if (st.n_dropped && out->n_turns)
        ar_checks_add(&out->turns[0].checks, "recorder", false,
                      "recorder: %llu events could not be recorded (session cap reached)",
                      (unsigned long long)st.n_dropped);
    out->duration_us = ar_now_us() - out->start_us;
    ar_session_result_settle(out);
    ar_vars_free(vars);
}
