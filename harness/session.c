/*
 * session.c - one scenario, one persistent connection, turn after turn.
 *
 * This is the synchronous driver used by `agentrig run` and `chaos`: the
 * calling worker thread owns the loop and services it until the turn's
 * terminal event, the turn's deadline, the connection's end or SIGINT,
 * whichever comes first. The session drives and records; it does not judge:
 * the mode runs the validators afterwards (validators/judge.c) over what was
 * recorded. Receiving, connecting and sending live in session_rx.c,
 * session_conn.c and session_tx.c.
 */
#include "session_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "httpstep.h"


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

/* A thread id unique to this run: "ar-<random>-<session>[-t<turn>]", or a
 * random (version 4) UUID for services that demand one (`thread_ids: uuid`). */
static char *make_thread_id(const ar_profile *pf, uint32_t index, uint32_t turn)
{
    static const char hex[] = "0123456789abcdef";
    char rnd[33];
    uint64_t x = (uint64_t)ar_wall_us() ^ ((uint64_t)getpid() << 32) ^
                 ((uint64_t)index * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)turn << 48);
    size_t n = pf && pf->uuid_thread_ids ? 32 : 8;
    for (size_t i = 0; i < n; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 29;
        rnd[i] = hex[(x >> 7) & 15];
    }
    rnd[n] = '\0';
    if (n == 32) {
        rnd[12] = '4';                        /* version 4 */
        rnd[16] = hex[8 | ((x >> 3) & 3)];    /* variant 10xx */
        return ar_asprintf("%.8s-%.4s-%.4s-%.4s-%.12s", rnd, rnd + 8, rnd + 12, rnd + 16,
                           rnd + 20);
    }
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
        ar_checks_append(&tr->checks, c);
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
            ar_sess_record_fault(st, "client_fault", "slow_reader: stopped reading for %s", d);
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
    /* On a WebSocket nothing marks the end of what a turn sends: a frame that
     * trails the terminal one by a few ms would be counted as the next
     * turn's, and a protocol without run ids (the Agents SDK's) could not
     * tell. So the turn keeps listening until the service has been quiet for
     * WS_TAIL_QUIET_US (at most WS_TAIL_MAX_US); the turn's own time still
     * ends at its terminal event. */
    int64_t tail_end = ar_now_us() + WS_TAIL_MAX_US;
    while (st->pf->transport == AR_PF_WS && st->terminal_seen && !st->closed &&
           !atomic_load(cfg->stop) && ar_now_us() < tail_end) {
        size_t before = st->turn_frames;
        int64_t quiet_until = ar_now_us() + WS_TAIL_QUIET_US;
        while (st->turn_frames == before && !st->closed && ar_now_us() < quiet_until)
            ar_loop_step(loop, quiet_until - ar_now_us());
        if (st->turn_frames == before) break;
    }
    /* An SSE response ends after its terminal event; reading it to the end
     * catches events sent after the terminal one (nothing_after_terminal)
     * and frees the connection for the next turn's request. */
    int64_t grace = ar_now_us() + SSE_TAIL_US;
    while (st->pf->transport == AR_PF_SSE && st->terminal_seen && !st->stream_ended &&
           !st->closed && ar_now_us() < grace && !atomic_load(cfg->stop))
        ar_loop_step(loop, STEP_MAX_US);
}

/* Where the session's target and thread come from; false when it cannot run. */
static bool sess_begin(sess_state *st)
{
    const ar_sess_cfg *cfg = st->cfg;
    const ar_scenario *scn = st->scn;
    ar_session_result *out = st->out;
    char err[512];
    if (!out->turns || !st->vars || !st->history) {
        set_error(out, AR_ENOMEM, ar_strdup("out of memory"));
        return false;
    }
    out->n_turns = scn->n_turns;
    for (size_t k = 0; k < scn->n_turns; k++) {
        out->turns[k].index = (uint32_t)(k + 1);
        ar_checks_init(&out->turns[k].checks);
    }
    if (ar_rec_open(cfg->rec, scn->name, &st->sid) != AR_OK) {
        set_error(out, AR_ENOMEM, ar_strdup("could not open a recorder session"));
        return false;
    }
    out->rec_session = st->sid;
    if (cfg->on_session) cfg->on_session(cfg->hook_user, st->sid);

    /* Target: --target, else the scenario's, else the embedded refagent. */
    if (cfg->target_override) {
        out->target = ar_strdup(cfg->target_override);
    } else if (scn->target_tpl) {
        if (ar_tpl_expand(scn->target_tpl, st->vars, AR_TPL_PLAIN, &out->target, err,
                          sizeof err)) {
            set_error(out, AR_EINVAL, ar_asprintf("%s: target: %s", scn->file, err));
            return false;
        }
    } else if (cfg->default_target) {
        out->target = ar_strdup(cfg->default_target);
    } else {
        set_error(out, AR_EINTERNAL, ar_strdup("no target and no embedded refagent"));
        return false;
    }
    if (scn->thread_id_tpl) {
        if (ar_tpl_expand(scn->thread_id_tpl, st->vars, AR_TPL_PLAIN, &out->thread_id, err,
                          sizeof err)) {
            set_error(out, AR_EINVAL, ar_asprintf("%s: thread_id: %s", scn->file, err));
            return false;
        }
    } else {
        out->thread_id = make_thread_id(st->pf, st->index, 0);
    }
    st->checks = scn->n_turns ? &out->turns[0].checks : NULL;
    st->connect_budget_us =
        scn->n_turns ? ar_scn_turn_timeout_us(scn, &scn->turns[0]) : CONNECT_TIMEOUT_MAX_US;
    if (st->connect_budget_us > CONNECT_TIMEOUT_MAX_US) st->connect_budget_us = CONNECT_TIMEOUT_MAX_US;
    ar_vars_set(st->vars, "thread_id", out->thread_id);
    st->thread_id = out->thread_id;
    return true;
}

/*
 * Makes sure there is a connection for turn tr: the first one (opened before
 * the first message, not the first step, since http: steps may log in
 * first), or a new one on the same thread after a client fault closed it.
 */
static bool sess_connected(sess_state *st, ar_turn_result *tr)
{
    char err[512];
    if (!st->ever_connected) {
        ar_err crc = ar_sess_connect_wait(st->loop, st->cfg, st->scn, st, st->out->target,
                                          st->vars, st->connect_budget_us, &st->conn, err,
                                          sizeof err);
        if (crc) {
            set_error(st->out, crc, ar_strdup(err));
            return false;
        }
        st->ever_connected = true;
    }
    if (st->conn) return true;
    int64_t t0 = ar_now_us();
    ar_err crc = ar_sess_connect_wait(st->loop, st->cfg, st->scn, st, st->out->target, st->vars,
                                      st->connect_budget_us, &st->conn, err, sizeof err);
    tr->ran = true;
    tr->start_us = tr->end_us = ar_now_us();
    tr->first_event = ar_rec_count(st->rec, st->sid);
    if (crc) {
        ar_checks_add(&tr->checks, "completed", false, "completed: could not reconnect: %s", err);
        return false;
    }
    ar_sess_record_fault(st, "reconnect", "reconnected on thread %s in %.1fms", st->thread_id,
                         (double)(ar_now_us() - t0) / 1e3);
    return true;
}

/*
 * The client fault `disconnect`: drop the connection mid-turn and reconnect
 * at once on the same thread; the next turns show whether the service kept
 * the conversation. Returns false when the session cannot go on.
 */
static bool sess_resume(sess_state *st, ar_turn_result *tr)
{
    char err[512];
    size_t seen = st->turn_frames;
    ar_sess_record_fault(st, "client_fault", "disconnect: closed the connection after %zu events",
                         seen);
    ar_conn_close(st->conn);
    st->conn = NULL;
    tr->end_us = ar_now_us();
    tr->n_events = ar_rec_count(st->rec, st->sid) - tr->first_event;
    int64_t t0 = ar_now_us();
    ar_err crc = ar_sess_connect_wait(st->loop, st->cfg, st->scn, st, st->out->target, st->vars,
                                      st->connect_budget_us, &st->conn, err, sizeof err);
    if (crc) {
        ar_checks_add(&tr->checks, "completed", false,
                      "completed: disconnected after %zu events (client fault), then "
                      "could not reconnect: %s",
                      seen, err);
        return false;
    }
    char took[32];
    ar_fmt_duration(ar_now_us() - t0, took, sizeof took);
    ar_sess_record_fault(st, "reconnect", "reconnected on thread %s in %s", st->thread_id, took);
    ar_checks_add(&tr->checks, "completed", true,
                  "completed: disconnected by agentrig after %zu events (client fault), "
                  "reconnected on the same thread in %s",
                  seen, took);
    return true;
}

/*
 * `end: [{stream_end: true}]`: the service ends a run by ending its response
 * (LangGraph's Agent Server sends no end event). Only a clean end counts (a
 * 2xx response whose body ended without a transfer error); the turn's
 * terminal event is then its last agent_completed, and a turn without one
 * did not complete.
 */
static void sess_stream_end(sess_state *st, const ar_turn_result *tr)
{
    if (!st->pf->end_on_stream_end || !st->stream_ended || st->stream_why != AR_OK ||
        st->stream_status < 200 || st->stream_status > 299)
        return;
    for (size_t i = tr->n_events; i-- > 0;) {
        const ar_event *ev = ar_rec_get(st->rec, st->sid, tr->first_event + i);
        if (ev && ev->kind == AR_EV_AGENT_COMPLETED && ev->turn == st->turn) {
            st->terminal_seen = true;
            st->terminal_index = tr->first_event + i;
            return;
        }
    }
}

/* The turn reached its terminal event: leave it for the judge, which says
 * whether that ending was the expected one ("completed", "outcome"). */
static void sess_turn_done(sess_state *st, const ar_turn *t, ar_turn_result *tr)
{
    const ar_event *term = ar_rec_get(st->rec, st->sid, st->terminal_index);
    tr->end_us = term->recv_us;
    finish_turn(t, st, tr, st->vars, st->thread_id);
    const char *resp = turn_response(st, term);
    ar_sess_push_message(st->history, "assistant", resp ? resp : "");
}

/*
 * The turn did not reach its terminal event. Returns true only when the
 * session goes on: a service that closed cleanly after a bad frame from a
 * client fault did what it should, and the next turn reconnects.
 */
static bool sess_turn_failed(sess_state *st, const ar_turn *t, ar_turn_result *tr, ar_err send_rc)
{
    const ar_client_fault *cf = &t->client_fault;
    ar_session_result *out = st->out;
    char last[300], limit[32];
    describe_last(st, tr, last, sizeof last);
    ar_fmt_duration(ar_scn_turn_timeout_us(st->scn, t), limit, sizeof limit);
    tr->end_us = ar_now_us();
    if (st->closed && st->conn_frames == 0 && !ar_sess_sends_bad_frame(cf)) {
        /* Accepted, then closed without a word (a rejected token, say):
         * the service could not be used at all. */
        set_error(out, AR_ECONNECT,
                  ar_asprintf("%s: the service closed the connection before answering: %s",
                              out->target, st->close_detail));
        return false;
    }
    if (st->stream_ended && send_rc == AR_OK) {
        if (st->stream_why != AR_OK)
            ar_checks_add(&tr->checks, "completed", false, "completed: %s; %s", st->stream_detail,
                          last);
        else
            ar_checks_add(&tr->checks, "completed", false,
                          "completed: the stream ended without a terminal event after %zu "
                          "events; %s",
                          tr->n_events, last);
        return false;
    }
    if (st->closed && ar_sess_sends_bad_frame(cf) && clean_close(st->close_code)) {
        ar_checks_add(&tr->checks, "completed", true,
                      "completed: the service closed the connection cleanly after the %s "
                      "(%s)",
                      ar_cf_kind_name(cf->kind), st->close_detail);
        ar_conn_close(st->conn);
        st->conn = NULL; /* the next turn reconnects */
        return true;
    }
    if (send_rc != AR_OK)
        ar_checks_add(&tr->checks, "completed", false, "completed: could not send the message: %s",
                      ar_strerror(send_rc));
    else if (atomic_load(st->cfg->stop))
        ar_checks_add(&tr->checks, "completed", false, "completed: interrupted; %s", last);
    else if (st->closed)
        ar_checks_add(&tr->checks, "completed", false,
                      "completed: connection closed mid-turn (%s) after %zu events; %s",
                      st->close_detail, tr->n_events, last);
    else
        ar_checks_add(&tr->checks, "completed", false, "completed: no agent_completed within %s; %s",
                      limit, last);
    return false;
}

/*
 * A turn whose connection templates expand differently from the open
 * connection's (a profile URL with ${thread_id}, and a new thread) needs a
 * new connection: every template is expanded per turn, never once per
 * session. False with a failed "send" or "completed" check when it cannot.
 */
static bool sess_conn_for_turn(sess_state *st, const ar_turn *t, ar_turn_result *tr)
{
    char err[512];
    char *key = ar_sess_conn_key(st, st->out->target, st->vars, err, sizeof err);
    if (!key) {
        tr->ran = true;
        tr->first_event = ar_rec_count(st->rec, st->sid);
        ar_checks_add(&tr->checks, "send", false, "send: %s:%d:%d: %s", st->scn->file, t->loc.line,
                      t->loc.col, err);
        return false;
    }
    bool same = st->conn_key && !strcmp(key, st->conn_key);
    free(key);
    if (same) return true;
    ar_conn_close(st->conn);
    st->conn = NULL;
    ar_err crc = ar_sess_connect_wait(st->loop, st->cfg, st->scn, st, st->out->target, st->vars,
                                      st->connect_budget_us, &st->conn, err, sizeof err);
    if (crc == AR_OK) return true;
    tr->ran = true;
    tr->start_us = tr->end_us = ar_now_us();
    tr->first_event = ar_rec_count(st->rec, st->sid);
    ar_checks_add(&tr->checks, "completed", false,
                  "completed: could not open the connection this turn's templates ask for: %s",
                  err);
    return false;
}

/* The turn's thread and the variables its templates see. A new thread is a
 * new conversation: ${messages} starts empty again. */
static void sess_turn_vars(sess_state *st, const ar_turn *t, size_t k)
{
    if (t->new_thread) {
        free(st->turn_thread);
        st->turn_thread = make_thread_id(st->pf, st->index, (uint32_t)(k + 1));
        st->thread_id = st->turn_thread;
        cJSON_Delete(st->history);
        st->history = cJSON_CreateArray();
    }
    char turn_no[24];
    snprintf(turn_no, sizeof turn_no, "%zu", k + 1);
    ar_vars_set(st->vars, "thread_id", st->thread_id);
    ar_vars_set(st->vars, "turn", turn_no);
}

/* Drives turn k: send, wait, and say how it ended. False: the session stops. */
static bool sess_turn(sess_state *st, size_t k)
{
    const ar_scenario *scn = st->scn;
    const ar_turn *t = &scn->turns[k];
    const ar_client_fault *cf = &t->client_fault;
    ar_turn_result *tr = &st->out->turns[k];
    char err[512];
    if (t->http) return run_http_step(st, t, tr, st->vars);
    sess_turn_vars(st, t, k);
    if (!st->history) {
        ar_checks_add(&tr->checks, "harness", false, "harness: out of memory");
        return false;
    }
    if (!sess_connected(st, tr) || !sess_conn_for_turn(st, t, tr)) return false;
    st->turn = (uint32_t)(k + 1);
    char *msg = NULL;
    /* The user's message joins the conversation before it is sent, so a
     * stateless protocol's ${messages} carries it. */
    char *peek = NULL;
    if (ar_tpl_expand(t->message_tpl, st->vars, AR_TPL_PLAIN, &peek, err, sizeof err) == AR_OK)
        ar_sess_push_message(st->history, "user", peek);
    free(peek);
    char *frame = ar_sess_build_message(
        scn, t, st, st->vars, st->history,
        cf->kind == AR_CF_SEND_UNKNOWN_TYPE ? "agentrig.unknown_type" : NULL, &msg, err, sizeof err);
    tr->ran = true;
    st->checks = &tr->checks;
    if (!frame) {
        ar_checks_add(&tr->checks, "send", false, "send: %s:%d:%d: %s", scn->file, t->loc.line,
                      t->loc.col, err);
        tr->first_event = ar_rec_count(st->rec, st->sid);
        return false;
    }
    tr->message = msg;
    st->terminal_seen = false;
    st->stream_ended = false;
    st->last_agent[0] = '\0';
    st->bad_frames = 0; /* the frames check lists at most BAD_FRAME_CHECKS_MAX per turn */
    ar_buf_reset(&st->response);
    st->turn_frames = 0;
    st->disconnect_now = false;
    st->cf = cf;
    if (st->cfg->on_turn) st->cfg->on_turn(st->cfg->hook_user, st->turn);
    ar_sess_record_turn_sent(st, cf, frame); /* before the turn's events: no check sees it */
    tr->first_event = ar_rec_count(st->rec, st->sid);
    tr->start_us = ar_now_us();
    ar_err rc = ar_sess_send_turn(st->conn, st, cf, frame);
    free(frame);
    if (rc == AR_OK)
        await_turn(st->loop, st->cfg, st, st->conn, cf,
                   tr->start_us + ar_scn_turn_timeout_us(scn, t));
    st->cf = NULL;
    if (st->disconnect_now) return sess_resume(st, tr);
    tr->n_events = ar_rec_count(st->rec, st->sid) - tr->first_event;
    if (!st->terminal_seen && rc == AR_OK) sess_stream_end(st, tr);
    if (st->terminal_seen) {
        sess_turn_done(st, t, tr);
        return true;
    }
    return sess_turn_failed(st, t, tr, rc);
}

void ar_sess_run(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn, uint32_t index,
                 ar_session_result *out)
{
    memset(out, 0, sizeof *out);
    out->scn = scn;
    out->start_wall_us = ar_wall_us();
    out->start_us = ar_now_us();
    out->turns = calloc(scn->n_turns ? scn->n_turns : 1, sizeof *out->turns);
    sess_state st = {.rec = cfg->rec,
                     .pf = scn->profile,
                     .loop = loop,
                     .cfg = cfg,
                     .scn = scn,
                     .out = out,
                     .index = index,
                     .vars = cfg->vars ? ar_vars_clone(cfg->vars) : ar_vars_new(),
                     .history = cJSON_CreateArray()};
    ar_buf_init(&st.response, AR_FRAME_MAX_BYTES);
    if (sess_begin(&st)) {
        for (size_t k = 0; k < scn->n_turns; k++)
            if (atomic_load(cfg->stop) || !sess_turn(&st, k)) break;
    }
    free(st.turn_thread);
    free(st.conn_key);
    free(st.conn_desc);
    ar_buf_free(&st.response);
    cJSON_Delete(st.history);
    if (st.conn) {
        ar_conn_close(st.conn);
        ar_loop_step(loop, 0); /* let the close frame go out; the loop frees the rest */
    }
    if (st.n_dropped && out->n_turns)
        ar_checks_add(&out->turns[0].post_checks, "recorder", false,
                      "recorder: %llu events could not be recorded (session cap reached)",
                      (unsigned long long)st.n_dropped);
    out->duration_us = ar_now_us() - out->start_us;
    ar_session_result_settle(out);
    ar_vars_free(st.vars);
}
