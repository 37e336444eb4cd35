/*
 * bench_worker.c - the hot path of `agentrig bench`: the virtual users' state
 * machine and the worker thread that drives them on its own event loop. Kept
 * apart from the setup and the reports so that what runs per frame can be
 * read on its own; bench.c's header comment has the design.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "bench_int.h"

#define DRAIN_US (5 * 1000000LL)
#define TICK_US (10 * 1000LL)
/*
 * libwebsockets 4.1 passes its wait to poll() in whole milliseconds, so a
 * wait under 1 ms becomes poll(0) and the loop spins until the time is up
 * (at 500 arrivals/s that was most of a core, taken from the service under
 * test on a shared machine). Arrivals due within the next millisecond are
 * therefore started now and waits are rounded down to whole milliseconds; an
 * arrival started early gets its actual start as its intended start, so the
 * corrected latencies are never below the raw ones.
 */
#define POLL_GRAIN_US 1000LL
#define CONNECT_BACKOFF_US (100 * 1000LL)

static void vu_finish(vu *v, bool ok, ar_fail_kind why);
static void bench_send_turn(vu *v);

static void vu_on_open(void *user)
{
    vu *v = user;
    worker *w = v->w;
    int64_t now = ar_now_us();
    ar_hist_record(w->m.trend[AR_M_CONNECT_TIME],
                   now - v->connect_us > 0 ? now - v->connect_us : 1);
    v->state = VU_TURN;
    v->turn = 0;
    bench_send_turn(v); /* the first turn goes out right away */
}

static int agent_slot(worker *w, const char *name)
{
    if (!name) return -1;
    ar_agent_stats *a = ar_metrics_agent(&w->m, name);
    return a ? (int)(a - w->m.agents) : -1;
}

static void vu_on_frame(void *user, const char *data, size_t len, bool binary, bool truncated,
                        size_t wire_len)
{
    vu *v = user;
    worker *w = v->w;
    (void)wire_len;
    if (v->state != VU_TURN) return;
    int64_t now = ar_now_us();
    ar_metrics *m = &w->m;
    m->events++;
    if (binary || truncated) {
        m->events_by_kind[AR_EV_ERROR]++;
        vu_finish(v, false, AR_FAIL_PROTOCOL);
        return;
    }
    ar_event ev;
    ar_event_init(&ev);
    ar_pf_decode(w->pf, data, len, &ev, NULL);
    m->events_by_kind[ev.kind]++;
    if (w->tf) {
        cJSON *line = cJSON_CreateObject();
        char sid[48];
        snprintf(sid, sizeof sid, "%d-%llu", w->id, (unsigned long long)v->session_no);
        cJSON_AddStringToObject(line, "session", sid);
        cJSON_AddNumberToObject(line, "turn", v->turn + 1);
        cJSON_AddNumberToObject(line, "t_us", (double)(now - v->started_us));
        cJSON_AddStringToObject(line, "kind", ar_ev_kind_name(ev.kind));
        cJSON_AddStringToObject(line, "raw", ev.raw ? ev.raw : "");
        char *txt = cJSON_PrintUnformatted(line);
        if (txt) fprintf(w->tf, "%s\n", txt);
        free(txt);
        cJSON_Delete(line);
    }
    int64_t since = now - v->turn_start_us;
    ar_hist_record(m->trend[AR_M_EVENT_LATENCY + ev.kind], since > 0 ? since : 1);
    if (!v->first_event_seen) {
        v->first_event_seen = true;
        ar_hist_record(m->trend[AR_M_TIME_TO_FIRST_EVENT], since > 0 ? since : 1);
    } else if (now - v->last_event_us > v->max_gap_us) {
        v->max_gap_us = now - v->last_event_us;
    }
    v->last_event_us = now;
    if (ev.kind == AR_EV_TOOL_EXECUTING && !v->first_tool_seen) {
        v->first_tool_seen = true;
        ar_hist_record(m->trend[AR_M_TIME_TO_FIRST_TOOL], since > 0 ? since : 1);
    }
    if (ev.kind == AR_EV_AGENT_STARTED && ev.agent) {
        int a = agent_slot(w, ev.agent);
        if (a >= 0) m->agents[a].executions++;
        if (v->n_runs < RUNS_PER_VU && ev.run_id) {
            vu_run *r = &v->runs[v->n_runs++];
            snprintf(r->run_id, sizeof r->run_id, "%s", ev.run_id);
            r->agent = a;
            r->at_us = now;
        }
    } else if (ev.kind == AR_EV_AGENT_COMPLETED && ev.run_id) {
        for (int i = 0; i < v->n_runs; i++)
            if (!strcmp(v->runs[i].run_id, ev.run_id) && v->runs[i].agent >= 0) {
                ar_agent_stats *a = &m->agents[v->runs[i].agent];
                if (ev.status == AR_ST_ERROR)
                    a->errors++;
                else
                    a->ok++;
                ar_hist_record(a->duration,
                               now - v->runs[i].at_us > 0 ? now - v->runs[i].at_us : 1);
                v->runs[i] = v->runs[--v->n_runs];
                break;
            }
    }
    if (ev.tokens_in > 0 && ev.terminal) m->tokens_in += ev.tokens_in;
    if (ev.tokens_out > 0 && ev.terminal) m->tokens_out += ev.tokens_out;
    if (ev.cost_usd > 0 && ev.terminal) m->cost_usd += ev.cost_usd;
    bool bad = ev.decode_error, terminal = ev.terminal,
         error_end = terminal && ev.kind == AR_EV_ERROR;
    int64_t server_us = ev.server_duration_us;
    ar_event_clear(&ev);
    if (bad) {
        vu_finish(v, false, AR_FAIL_PROTOCOL);
        return;
    }
    if (!terminal) return;
    /* The turn ended. */
    int64_t raw = now - v->turn_start_us;
    int64_t lag = v->started_us - v->intended_us; /* CO correction: the session's start lag */
    ar_hist_record(m->trend[AR_M_TURN_DURATION_RAW], raw > 0 ? raw : 1);
    ar_hist_record(m->trend[AR_M_TURN_DURATION], raw + lag > 0 ? raw + lag : 1);
    ar_hist_record(m->trend[AR_M_MAX_EVENT_GAP], v->max_gap_us > 0 ? v->max_gap_us : 1);
    if (server_us >= 0) {
        int64_t over = raw - server_us;
        ar_hist_record(m->trend[AR_M_HARNESS_OVERHEAD], over > 0 ? over : 1);
    }
    if (error_end) {
        m->turns_failed++;
        vu_finish(v, false, AR_FAIL_ERROR_EVENT);
        return;
    }
    m->turns_completed++;
    v->turn++;
    if (v->turn >= w->scn->n_turns) {
        vu_finish(v, true, AR_FAIL_CONNECT);
        return;
    }
    bench_send_turn(v);
}

static void vu_on_close(void *user, ar_err why, int close_code, const char *detail)
{
    vu *v = user;
    (void)close_code;
    (void)detail;
    if (v->state == VU_IDLE || v->state == VU_CLOSING) return;
    v->w->m.turns_failed += v->state == VU_TURN;
    vu_finish(v, false, why == AR_ECONNECT ? AR_FAIL_CONNECT : AR_FAIL_DISCONNECTED);
}

static const ar_conn_cb vu_cb = {vu_on_open, vu_on_frame, vu_on_close, NULL, NULL};

static void bench_send_turn(vu *v)
{
    worker *w = v->w;
    const ar_turn *t = &w->scn->turns[v->turn];
    char tid[48], turn_no[16];
    snprintf(tid, sizeof tid, "bench-%d-%llu", w->id, (unsigned long long)v->session_no);
    snprintf(turn_no, sizeof turn_no, "%u", v->turn + 1);
    /* --var and --env-file values first; the built-ins win over them. */
    ar_vars *vars = w->vars ? ar_vars_clone(w->vars) : ar_vars_new();
    if (!vars) vars = ar_vars_new();
    ar_vars_set(vars, "thread_id", tid);
    ar_vars_set(vars, "turn", turn_no);
    ar_vars_set(vars, "message", w->frames_tpl[v->turn]);
    char err[128];
    char *frame = ar_pf_build_send(w->pf, w->pf->send, vars, t->context, NULL, err, sizeof err);
    ar_vars_free(vars);
    v->turn_start_us = ar_now_us();
    v->last_event_us = v->turn_start_us;
    v->max_gap_us = 0;
    v->first_event_seen = v->first_tool_seen = false;
    v->deadline_us = v->turn_start_us + ar_scn_turn_timeout_us(w->scn, t);
    if (!frame || ar_conn_send(v->conn, frame, strlen(frame)) != AR_OK) {
        free(frame);
        vu_finish(v, false, AR_FAIL_DISCONNECTED);
        return;
    }
    free(frame);
}

static void vu_finish(vu *v, bool ok, ar_fail_kind why)
{
    worker *w = v->w;
    ar_metrics *m = &w->m;
    int64_t now = ar_now_us();
    if (ok) {
        m->sessions_completed++;
        ar_hist_record(m->trend[AR_M_SESSION_DURATION], now - v->intended_us);
        ar_hist_record(m->trend[AR_M_SESSION_DURATION_RAW], now - v->started_us);
        atomic_fetch_add(&w->completed, 1);
    } else {
        m->sessions_failed++;
        m->failed_by[why]++;
        atomic_fetch_add(&w->failed, 1);
        /* A target that refuses at once would otherwise be hammered by a
         * tight reconnect loop; back off a little before this VU's next try. */
        if (why == AR_FAIL_CONNECT) v->not_before_us = now + CONNECT_BACKOFF_US;
    }
    v->state = VU_CLOSING; /* no callbacks matter after this */
    ar_conn_close(v->conn);
    v->conn = NULL;
    v->state = VU_IDLE;
    v->n_runs = 0;
    if (w->open_model) w->idle[w->n_idle++] = v;
    atomic_fetch_sub(&w->active, 1);
}

static void vu_start(worker *w, vu *v, int64_t intended_us)
{
    char err[256];
    v->w = w;
    v->session_no = w->m.sessions_started++;
    v->intended_us = intended_us;
    v->started_us = v->connect_us = ar_now_us();
    v->state = VU_CONNECTING;
    v->deadline_us = v->started_us + ar_scn_turn_timeout_us(w->scn, &w->scn->turns[0]);
    atomic_fetch_add(&w->active, 1);
    v->conn = ar_ws_connect(w->loop, w->url, &vu_cb, v, err, sizeof err);
    if (!v->conn) {
        snprintf(w->err, sizeof w->err, "%s", err);
        vu_finish(v, false, AR_FAIL_CONNECT);
    }
}

/* The closed model's VU target for this thread at time t (stages ramp). */
static long closed_target(const ar_scenario *s, long vus, int64_t t, int n_threads, int id)
{
    double total = (double)vus;
    if (s->n_stages) {
        double from = 0;
        int64_t at = 0;
        total = s->stages[s->n_stages - 1].target;
        for (size_t i = 0; i < s->n_stages; i++) {
            const ar_stage *sg = &s->stages[i];
            if (t < at + sg->duration_us) {
                double f = sg->duration_us ? (double)(t - at) / (double)sg->duration_us : 1;
                total = from + (sg->target - from) * f;
                break;
            }
            at += sg->duration_us;
            from = sg->target;
        }
    }
    long n = (long)floor(total);
    return n / n_threads + (id < n % n_threads ? 1 : 0);
}

static void publish(worker *w)
{
    pthread_mutex_lock(&w->snap_mu);
    ar_metrics_reset(&w->snap);
    ar_metrics_add(&w->snap, &w->m);
    pthread_mutex_unlock(&w->snap_mu);
}

void *ar_bench_worker_main(void *arg)
{
    worker *w = arg;
    int64_t next_publish = ar_now_us() + 1000000, next_tick = 0;
    bool draining = false;
    int64_t drain_until = 0;
    for (;;) {
        int64_t now = ar_now_us(), rel = now - w->t0_us;
        bool stopping = atomic_load(w->stop) || atomic_load(w->abort_run) || now >= w->end_us ||
                        (!w->open_model && w->iterations_left == 0) ||
                        (w->open_model && w->next_arrival_us < 0);
        if (stopping && !draining) {
            draining = true;
            drain_until = now + DRAIN_US;
        }
        if (!draining) {
            if (w->open_model) {
                while (w->next_arrival_us >= 0 && w->next_arrival_us < rel + POLL_GRAIN_US) {
                    vu *free_vu = w->n_idle ? w->idle[--w->n_idle] : NULL;
                    int64_t intended = w->t0_us + w->next_arrival_us;
                    if (free_vu)
                        vu_start(w, free_vu, intended < now ? intended : now);
                    else
                        w->m.dropped++;
                    /* this thread takes every n_threads-th arrival */
                    int64_t t;
                    w->next_arrival_us = -1;
                    for (int k = 0; k < w->n_threads; k++)
                        if (!ar_arr_next(&w->arr, &t))
                            break;
                        else if (k == w->n_threads - 1)
                            w->next_arrival_us = t;
                }
            } else {
                long want = closed_target(w->scn, w->target_vus, rel, w->n_threads, w->id);
                for (size_t i = 0; i < w->n_vus && (long)i < want; i++) {
                    if (w->vus[i].state != VU_IDLE || w->iterations_left == 0 ||
                        now < w->vus[i].not_before_us)
                        continue;
                    vu_start(w, &w->vus[i], now);
                    if (w->iterations_left > 0) w->iterations_left--;
                }
            }
        } else if (atomic_load(&w->active) == 0 || now >= drain_until) {
            break;
        }
        if (now >= next_tick) { /* deadlines, every 10 ms */
            next_tick = now + TICK_US;
            for (size_t i = 0; i < w->n_vus; i++) {
                vu *v = &w->vus[i];
                if (v->state == VU_IDLE || now < v->deadline_us) continue;
                if (v->state == VU_TURN) w->m.turns_failed++;
                vu_finish(v, false, v->state == VU_CONNECTING ? AR_FAIL_CONNECT : AR_FAIL_TIMEOUT);
            }
        }
        if (now >= next_publish) {
            next_publish = now + 1000000;
            publish(w);
        }
        int64_t wait = TICK_US;
        if (w->open_model && !draining && w->next_arrival_us >= 0) {
            int64_t until = w->t0_us + w->next_arrival_us - ar_now_us();
            if (until < wait) wait = until > 0 ? until / POLL_GRAIN_US * POLL_GRAIN_US : 0;
        }
        ar_loop_step(w->loop, wait);
    }
    /* What is still open after the drain is abandoned, not failed. */
    for (size_t i = 0; i < w->n_vus; i++)
        if (w->vus[i].state != VU_IDLE) {
            w->vus[i].state = VU_CLOSING;
            ar_conn_close(w->vus[i].conn);
            w->vus[i].conn = NULL;
            w->vus[i].state = VU_IDLE;
            atomic_fetch_sub(&w->active, 1);
        }
    ar_loop_step(w->loop, 0);
    publish(w);
    atomic_store(&w->done, true);
    return NULL;
}
