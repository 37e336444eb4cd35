/*
 * bench.c - `agentrig bench`: load against an agent service, with honest
 * latency figures.
 *
 * --threads workers each own one event loop and a share of the virtual users
 * (VUs). A VU is a state machine driven by its connection's callbacks:
 * connect, then turn after turn on the one connection, then close, then (in
 * the closed model) start over. Frames are decoded with the scenario's
 * profile and feed the worker's own metrics (harness/metrics.c); nothing is
 * kept per event and nothing is shared on the hot path. Once a second each
 * worker copies its metrics into a snapshot (one mutex, taken by it once a
 * second) for progress and abort thresholds; the final figures are the exact
 * merge of the workers' metrics after join.
 *
 * Open model (--rate): arrival i has an intended start time from the arrival
 * scheduler; a session that starts late (no free VU, or a busy loop) has its
 * latencies measured from the intended time (wrk2's coordinated-omission
 * correction), the raw figures kept beside them; an arrival with no free VU
 * (--max-vus) is counted as dropped, not silently delayed.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "arrival.h"
#include "metrics.h"
#include "profile.h"
#include "refproc.h"
#include "scenario.h"
#include "template.h"
#include "transport.h"
#include "report.h"
#include "text.h"
#include "cli.h"
#include "opts.h"
#include "runners.h"

#define THREADS_MAX 64
#define VUS_MAX 100000
#define DRAIN_US (5 * 1000000LL)
#define RUNS_PER_VU 8
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

typedef struct {
    ar_opts c; /* what every mode takes */
    long vus;
    int64_t duration_us;
    long iterations; /* total sessions; 0: bounded by duration */
    double rate;     /* arrivals per second; 0: closed model */
    long max_vus;
    long threads;
    const char *json;
    const char **thresholds; /* "metric=expr" */
    size_t n_thresholds;
} bench_opts;

enum {
    OPT_VUS = 1000,
    OPT_DURATION,
    OPT_ITERATIONS,
    OPT_RATE,
    OPT_MAX_VUS,
    OPT_THREADS,
    OPT_JSON,
    OPT_THRESHOLD,
};

static const ar_cli_opt own_opts[] = {
    {"vus", required_argument, OPT_VUS, "N",
     "virtual users, each a session at a time (closed model; default 10)"},
    {"duration", required_argument, OPT_DURATION, "T", "how long to start sessions (default 10s)"},
    {"iterations", required_argument, OPT_ITERATIONS, "N",
     "stop after N sessions in all (closed model) instead of a duration"},
    {"rate", required_argument, OPT_RATE, "R/s",
     "open model: start R sessions per second (CO-corrected latencies)"},
    {"max-vus", required_argument, OPT_MAX_VUS, "M",
     "open model: at most M sessions at once; arrivals beyond are dropped (default 1000)"},
    {"threads", required_argument, OPT_THREADS, "K", "worker threads (default: CPU cores)"},
    {"threshold", required_argument, OPT_THRESHOLD, "M=EXPR",
     "a threshold in k6's grammar, e.g. 'turn_duration=p(95)<15s' (repeatable)"},
    {"json", required_argument, OPT_JSON, "FILE",
     "JSON report with full histograms (default: DIR/bench.json)"},
};

static const ar_opts_help bench_help[] = {
    {"target", "drive this service (default: the scenario's, else refagent)"},
    {"junit", "JUnit, one testcase per threshold (default: DIR/bench-junit.xml)"},
    {"transcripts", "also write every frame, one JSONL file per worker thread (off by default: a\n"
                    "load test keeps no events in memory and writes none unless asked)"},
    {"refagent", "refagent binary for the embedded service"},
    {"refagent-arg", "extra argument for the embedded refagent (repeatable); bench starts it with\n"
                     "--think-ms=0 --deps=inline first, so later arguments override those"},
    {"quiet", "no progress and no summary"},
    {"no-color", "no colour (NO_COLOR works too)"},
    {NULL, NULL},
};

static const ar_opts_mode bench_mode = {
    .name = "bench",
    .usage = "usage: agentrig bench [options] SCENARIO\n"
             "\n"
             "Runs the scenario's turns as multi-turn sessions under load: closed model\n"
             "(--vus N, or ramping 'stages:' of VUs) or open model (--rate R/s, or ramping\n"
             "'stages:' of rates), and reports latency percentiles, throughput, per-agent\n"
             "statistics and threshold verdicts (docs/metrics.md, docs/thresholds.md).\n"
             "\n",
    .exit_codes = "\nexit codes: 0 all thresholds passed, 1 a threshold failed, 2 usage or\n"
                  "configuration error, 3 the service could not be reached, 130 interrupted.\n",
    .own = own_opts,
    .n_own = AR_ARRAY_LEN(own_opts),
    .takes = 0,
    .help = bench_help,
};

static int usage_error(const char *fmt, const char *arg)
{
    return ar_opts_usage(&bench_mode, fmt, arg);
}

static int own_opt(int c, const char *optarg, void *user)
{
    bench_opts *o = user;
    switch (c) {
    case OPT_VUS:
        if (!ar_cli_parse_long(optarg, 1, VUS_MAX, &o->vus))
            return usage_error("--vus must be a whole number from 1 to 100000 (got '%s')", optarg);
        return 0;
    case OPT_DURATION:
        if (ar_parse_duration(optarg, &o->duration_us) || o->duration_us <= 0)
            return usage_error("--duration must be a positive duration like 30s (got '%s')",
                               optarg);
        return 0;
    case OPT_ITERATIONS:
        if (!ar_cli_parse_long(optarg, 1, 1000000000L, &o->iterations))
            return usage_error("--iterations must be a whole number, 1 or more (got '%s')",
                               optarg);
        return 0;
    case OPT_RATE: {
        char *end;
        errno = 0;
        double r = strtod(optarg, &end);
        if (errno || end == optarg || !(r > 0) || r > 1e6 || (*end && strcmp(end, "/s") != 0))
            return usage_error("--rate must be arrivals per second above 0, like 50/s (got '%s')",
                               optarg);
        o->rate = r;
        return 0;
    }
    case OPT_MAX_VUS:
        if (!ar_cli_parse_long(optarg, 1, VUS_MAX, &o->max_vus))
            return usage_error("--max-vus must be a whole number from 1 to 100000 (got '%s')",
                               optarg);
        return 0;
    case OPT_THREADS:
        if (!ar_cli_parse_long(optarg, 1, THREADS_MAX, &o->threads))
            return usage_error("--threads must be a whole number from 1 to 64 (got '%s')", optarg);
        return 0;
    case OPT_JSON:
        o->json = optarg;
        return 0;
    default: /* OPT_THRESHOLD */
        if (!strchr(optarg, '='))
            return usage_error(
                "--threshold takes METRIC=EXPR, e.g. 'turn_duration=p(95)<15s' (got '%s')", optarg);
        return ar_cli_push(&o->thresholds, &o->n_thresholds, optarg) ? 0 : AR_EXIT_INFRA;
    }
}

static int parse_opts(int argc, char **argv, bench_opts *o, int *first)
{
    /* The embedded refagent's benchmark defaults come first, so that
     * --refagent-arg values after them override them. */
    if (!ar_cli_push(&o->c.refagent_args, &o->c.n_refagent_args, "--think-ms=0") ||
        !ar_cli_push(&o->c.refagent_args, &o->c.n_refagent_args, "--deps=inline"))
        return AR_EXIT_INFRA;
    int rc = ar_opts_parse(&bench_mode, argc, argv, &o->c, own_opt, o, first);
    if (rc) return rc;
    if (*first >= argc) return usage_error("%s", "no scenario given");
    if (*first + 1 < argc)
        return usage_error("one scenario file at a time (got '%s' too)", argv[*first + 1]);
    return 0;
}

/* One threshold: metric, expression, parsed. */
typedef struct {
    char *metric;
    ar_threshold thr;
    bool abort_on_fail;
    int64_t delay_abort_us;
} bench_thr;

typedef enum { VU_IDLE = 0, VU_CONNECTING, VU_TURN, VU_CLOSING } vu_state;

struct worker;

typedef struct {
    char run_id[24];
    int agent; /* index in the worker's metrics agent table, -1 none */
    int64_t at_us;
} vu_run;

/* A virtual user. Small on purpose: thousands live at once. */
typedef struct {
    struct worker *w;
    vu_state state;
    ar_conn *conn;
    uint64_t session_no;
    uint32_t turn;       /* 0-based turn being driven */
    int64_t intended_us; /* when the session should have started */
    int64_t started_us;  /* when it did */
    int64_t connect_us;
    int64_t turn_start_us;
    int64_t last_event_us;
    int64_t max_gap_us;
    int64_t deadline_us;
    bool first_event_seen, first_tool_seen, failed;
    int64_t not_before_us; /* closed model: after a failed connect, wait before retrying */
    vu_run runs[RUNS_PER_VU];
    int n_runs;
} vu;

typedef struct worker {
    int id;
    pthread_t th;
    const ar_scenario *scn;
    const ar_profile *pf;
    const char *url;
    char **frames_tpl; /* per turn: the message text, expanded once */
    ar_loop *loop;
    vu *vus;
    size_t n_vus; /* slots owned */
    ar_metrics m;
    ar_metrics snap; /* published once a second under snap_mu */
    pthread_mutex_t snap_mu;
    atomic_long active;
    atomic_long completed;
    atomic_long failed;
    /* closed model */
    long target_vus;      /* this thread's share now */
    long iterations_left; /* -1: unbounded */
    /* open model */
    ar_arr arr;
    bool open_model;
    int64_t next_arrival_us; /* relative to t0; -1: no more */
    vu **idle;               /* the VUs free for the next arrival (a stack) */
    size_t n_idle;
    uint64_t arrival_no;
    int n_threads;
    int64_t t0_us, end_us;
    const atomic_int *stop;
    atomic_int *abort_run;
    atomic_bool done; /* the thread finished (main polls it for progress) */
    FILE *tf;         /* --transcripts: this worker's JSONL file, or NULL */
    char err[256];
} worker;

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
    ar_vars *vars = ar_vars_new();
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

static void *worker_main(void *arg)
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

/* The open-file limit must hold the sessions; raise it if the hard limit allows. */
static bool enough_files(long sessions, char *err, size_t err_len)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return true;
    rlim_t need = (rlim_t)sessions + 64;
    if (rl.rlim_cur >= need) return true;
    if (rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) return true;
    }
    snprintf(err, err_len,
             "%ld sessions need about %llu open files, but the limit is %llu (hard %llu): "
             "raise it first, e.g. `ulimit -n %llu`",
             sessions, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
             (unsigned long long)rl.rlim_max, (unsigned long long)need);
    return false;
}

static void progress(worker *ws, int n, int64_t t0, int64_t total_us, bool tty, long *last_done)
{
    long active = 0, done = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        active += atomic_load(&ws[i].active);
        done += atomic_load(&ws[i].completed);
        failed += atomic_load(&ws[i].failed);
    }
    ar_metrics snap;
    double p95 = NAN;
    if (ar_metrics_init(&snap) == AR_OK) {
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&ws[i].snap_mu);
            ar_metrics_add(&snap, &ws[i].snap);
            pthread_mutex_unlock(&ws[i].snap_mu);
        }
        if (ar_hist_count(snap.trend[AR_M_TURN_DURATION]))
            p95 = (double)ar_hist_percentile(snap.trend[AR_M_TURN_DURATION], 95);
        ar_metrics_free(&snap);
    }
    char el[32], tot[32], p[32] = "-";
    ar_fmt_duration(ar_now_us() - t0, el, sizeof el);
    ar_fmt_duration(total_us, tot, sizeof tot);
    if (!isnan(p95)) ar_fmt_duration((int64_t)p95, p, sizeof p);
    double errpct = done + failed ? 100.0 * (double)failed / (double)(done + failed) : 0;
    long rate = done - *last_done;
    *last_done = done;
    if (tty) {
        int width = 24,
            fill = total_us > 0 ? (int)(width * (double)(ar_now_us() - t0) / (double)total_us) : 0;
        if (fill > width) fill = width;
        fprintf(stderr, "\r[%.*s%*s] %s/%s  active %ld  %ld/s  p95 turn %s  errors %.1f%%   ", fill,
                "########################", width - fill, "", el, tot, active, rate, p, errpct);
    } else {
        fprintf(stderr, "%s/%s active=%ld completed/s=%ld p95_turn=%s errors=%.1f%%\n", el, tot,
                active, rate, p, errpct);
    }
}

/*
 * abortOnFail thresholds, once a second on the merged snapshots: one that
 * fails after its delayAbortEval stops the run (workers drain and report).
 */
static void check_abort(worker *ws, int n, const bench_thr *thr, size_t n_thr, int64_t elapsed_us,
                        atomic_int *abort_run, char *reason, size_t reason_len)
{
    bool any = false;
    for (size_t i = 0; i < n_thr; i++)
        any = any || (thr[i].abort_on_fail && elapsed_us >= thr[i].delay_abort_us);
    if (!any || atomic_load(abort_run)) return;
    ar_metrics snap;
    if (ar_metrics_init(&snap) != AR_OK) return;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&ws[i].snap_mu);
        ar_metrics_add(&snap, &ws[i].snap);
        pthread_mutex_unlock(&ws[i].snap_mu);
    }
    for (size_t i = 0; i < n_thr; i++) {
        if (!thr[i].abort_on_fail || elapsed_us < thr[i].delay_abort_us) continue;
        ar_thr_kind kind;
        double obs = ar_metrics_observe(&snap, thr[i].metric, &thr[i].thr, elapsed_us, &kind);
        if (isnan(obs) || ar_thr_eval(&thr[i].thr, obs)) continue; /* no data yet, or holds */
        char v[256];
        ar_thr_format_verdict(&thr[i].thr, kind, obs, v, sizeof v);
        snprintf(reason, reason_len, "%s %s", thr[i].metric, v);
        atomic_store(abort_run, 1);
        break;
    }
    ar_metrics_free(&snap);
}

int ar_bench_main(int argc, char **argv)
{
    const atomic_int *stop = ar_cli_catch_interrupts();
    bench_opts o = {
        .vus = 10, .duration_us = 10 * 1000000LL, .max_vus = 1000, .c = {.results_dir = "results"}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = cores > 0 ? cores : 1;
    int first = 0, rc = parse_opts(argc, argv, &o, &first);
    if (rc) {
        free(o.thresholds);
        ar_opts_free(&o.c);
        return rc < 0 ? AR_EXIT_PASS : rc;
    }
    int exit_code = AR_EXIT_PASS;
    ar_scenario *scn = NULL;
    ar_refproc *ref = NULL;
    worker *ws = NULL;
    bench_thr *thr = NULL;
    size_t n_thr = 0;
    char *url = NULL, *json = NULL, *junit = NULL, *refbin = NULL, *reflog = NULL;
    char err[1024];
    static atomic_int abort_run;
    char abort_reason[300] = "";
    ar_metrics total;
    memset(&total, 0, sizeof total);
    long slots = 0;
    int n = 0, n_started = 0;

    if (ar_scn_load_file(argv[first], &scn, err, sizeof err) != AR_OK) {
        fprintf(stderr, "%s\n", err);
        exit_code = AR_EXIT_USAGE;
        goto out;
    }
    if (scn->profile->transport != AR_PF_WS) {
        fprintf(stderr,
                "agentrig bench: %s: protocol %s uses SSE; bench drives WebSocket services\n",
                scn->file, scn->profile->name);
        exit_code = AR_EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < scn->n_turns; i++)
        if (scn->turns[i].http || scn->turns[i].client_fault.kind != AR_CF_NONE) {
            fprintf(stderr,
                    "agentrig bench: %s: turn %zu: bench sends messages only (no http: "
                    "steps or client faults)\n",
                    scn->file, i + 1);
            exit_code = AR_EXIT_USAGE;
            goto out;
        }
    /* Thresholds: the scenario's and --threshold; unknown metrics are exit 2. */
    thr = calloc(64, sizeof *thr);
    for (size_t i = 0; i < scn->n_thresholds; i++)
        for (size_t e = 0; e < scn->thresholds[i].n_exprs && n_thr < 64; e++) {
            bench_thr *b = &thr[n_thr++];
            b->metric = strdup(scn->thresholds[i].metric);
            b->abort_on_fail = scn->thresholds[i].abort_on_fail[e];
            b->delay_abort_us = scn->thresholds[i].delay_abort_us[e];
            if (ar_thr_parse(scn->thresholds[i].exprs[e], &b->thr, err, sizeof err) ||
                ar_metrics_check_threshold(b->metric, &b->thr, err, sizeof err)) {
                fprintf(stderr, "%s:%d:%d: %s\n", scn->file, scn->thresholds[i].loc.line,
                        scn->thresholds[i].loc.col, err);
                exit_code = AR_EXIT_USAGE;
                goto out;
            }
        }
    for (size_t i = 0; i < o.n_thresholds && n_thr < 64; i++) {
        const char *eq = strchr(o.thresholds[i], '=');
        bench_thr *b = &thr[n_thr++];
        b->metric = ar_strndup(o.thresholds[i], (size_t)(eq - o.thresholds[i]));
        if (ar_thr_parse(eq + 1, &b->thr, err, sizeof err) ||
            ar_metrics_check_threshold(b->metric, &b->thr, err, sizeof err)) {
            fprintf(stderr, "agentrig bench: --threshold '%s': %s\n", o.thresholds[i], err);
            exit_code = AR_EXIT_USAGE;
            goto out;
        }
    }
    slots = o.rate > 0 ? o.max_vus : o.vus;
    if (o.rate <= 0 && scn->n_stages) {
        double mx = 0;
        for (size_t i = 0; i < scn->n_stages; i++)
            mx = fmax(mx, scn->stages[i].target);
        slots = (long)ceil(mx);
    }
    if (!enough_files(slots, err, sizeof err)) {
        fprintf(stderr, "agentrig bench: %s\n", err);
        exit_code = AR_EXIT_USAGE;
        goto out;
    }
    json = o.json ? ar_strdup(o.json) : ar_cli_path_in(o.c.results_dir, "bench.json");
    junit = o.c.junit ? ar_strdup(o.c.junit) : ar_cli_path_in(o.c.results_dir, "bench-junit.xml");
    reflog = ar_cli_path_in(o.c.results_dir, "refagent.log");
    if (o.c.target) {
        url = ar_strdup(o.c.target);
    } else if (scn->target_tpl) {
        if (ar_tpl_expand(scn->target_tpl, NULL, AR_TPL_PLAIN, &url, err, sizeof err)) {
            fprintf(stderr, "%s: target: %s\n", scn->file, err);
            exit_code = AR_EXIT_USAGE;
            goto out;
        }
    } else {
        if (!(refbin = ar_cli_refagent("bench", o.c.refagent))) {
            exit_code = AR_EXIT_INFRA;
            goto out;
        }
        ar_mkdirs_for(reflog);
        if (ar_refproc_start(refbin, o.c.refagent_args, o.c.n_refagent_args, reflog, "listening ", &ref,
                             err, sizeof err)) {
            fprintf(stderr, "agentrig bench: could not start the embedded refagent: %s\n", err);
            exit_code = AR_EXIT_INFRA;
            goto out;
        }
        url = ar_strdup(ar_refproc_url(ref));
    }

    n = (int)(o.threads < slots ? o.threads : slots);
    if (n < 1) n = 1;
    ws = calloc((size_t)n, sizeof *ws);
    int64_t total_us = o.duration_us;
    if (scn->n_stages) {
        total_us = 0;
        for (size_t i = 0; i < scn->n_stages; i++)
            total_us += scn->stages[i].duration_us;
    }
    int64_t t0 = ar_now_us(), t0_wall = ar_wall_us();
    for (int i = 0; i < n; i++) {
        worker *w = &ws[i];
        w->id = i;
        w->scn = scn;
        w->pf = scn->profile;
        w->url = url;
        w->n_threads = n;
        w->stop = stop;
        w->abort_run = &abort_run;
        pthread_mutex_init(&w->snap_mu, NULL);
        w->n_vus = (size_t)(slots / n + (i < slots % n ? 1 : 0));
        w->vus = calloc(w->n_vus ? w->n_vus : 1, sizeof *w->vus);
        w->frames_tpl = calloc(scn->n_turns, sizeof *w->frames_tpl);
        for (size_t k = 0; k < scn->n_turns; k++)
            if (ar_tpl_expand(scn->turns[k].message_tpl, NULL, AR_TPL_PLAIN, &w->frames_tpl[k], err,
                              sizeof err)) {
                fprintf(stderr, "%s: turn %zu: %s\n", scn->file, k + 1, err);
                exit_code = AR_EXIT_USAGE;
                goto out;
            }
        if (o.c.transcripts) {
            char *tp = ar_asprintf("%s/bench-%d.jsonl", o.c.transcripts, i);
            ar_mkdirs_for(tp);
            w->tf = tp ? fopen(tp, "w") : NULL;
            free(tp);
        }
        if (ar_metrics_init(&w->m) || ar_metrics_init(&w->snap) || !w->vus ||
            !(w->loop = ar_loop_new(strncmp(url, "wss://", 6) == 0, err, sizeof err))) {
            fprintf(stderr, "agentrig bench: %s\n", err);
            exit_code = AR_EXIT_INFRA;
            goto out;
        }
        w->target_vus = o.vus;
        w->iterations_left = o.iterations ? o.iterations / n + (i < o.iterations % n ? 1 : 0) : -1;
        w->t0_us = t0;
        w->end_us = o.iterations ? INT64_MAX : t0 + total_us;
        if (o.rate > 0) {
            w->open_model = true;
            if (!(w->idle = calloc(w->n_vus ? w->n_vus : 1, sizeof *w->idle))) {
                exit_code = AR_EXIT_INFRA;
                goto out;
            }
            for (size_t k = w->n_vus; k-- > 0;) /* vus[0] on top */
                w->idle[w->n_idle++] = &w->vus[k];
            /* Every stage goes to ar_arr_init, which refuses more than it
             * takes with a message instead of a silently shorter ramp. */
            size_t nst = scn->n_stages ? scn->n_stages : 1;
            ar_arr_stage *st = calloc(nst, sizeof *st);
            if (!st) {
                exit_code = AR_EXIT_INFRA;
                goto out;
            }
            for (size_t k = 0; k < scn->n_stages; k++)
                st[k] = (ar_arr_stage){.duration_us = scn->stages[k].duration_us,
                                       .target_per_s = scn->stages[k].target};
            if (!scn->n_stages)
                st[0] = (ar_arr_stage){.duration_us = o.duration_us, .target_per_s = o.rate};
            ar_err arr_rc =
                ar_arr_init(st, nst, scn->n_stages ? 0 : o.rate, &w->arr, err, sizeof err);
            free(st);
            if (arr_rc) {
                fprintf(stderr, "agentrig bench: %s: stages: %s\n", scn->file, err);
                exit_code = AR_EXIT_USAGE;
                goto out;
            }
            /* Thread i takes arrivals i, i+n, i+2n, ... */
            int64_t t = -1;
            for (int k = 0; k <= i; k++)
                if (!ar_arr_next(&w->arr, &t)) {
                    t = -1;
                    break;
                }
            w->next_arrival_us = t;
        }
    }
    if (!o.c.quiet)
        fprintf(stderr, "agentrig bench: %s against %s, %s, %d threads\n", scn->name, url,
                o.rate > 0 ? "open model" : "closed model", n);
    for (; n_started < n; n_started++)
        if (pthread_create(&ws[n_started].th, NULL, worker_main, &ws[n_started]) != 0) break;
    for (int i = n_started; i < n; i++)
        atomic_store(&ws[i].done, true);

    /* Progress once a second; abort thresholds. */
    bool tty = isatty(STDERR_FILENO);
    long last_done = 0;
    for (;;) {
        bool running = false;
        for (int i = 0; i < n; i++)
            running = running || !atomic_load(&ws[i].done);
        if (!running) break;
        usleep(200 * 1000);
        static int64_t next;
        if (ar_now_us() >= next) {
            next = ar_now_us() + 1000000;
            if (!o.c.quiet) progress(ws, n, t0, total_us, tty, &last_done);
            check_abort(ws, n, thr, n_thr, ar_now_us() - t0, &abort_run, abort_reason,
                        sizeof abort_reason);
        }
    }
    for (int i = 0; i < n_started; i++)
        pthread_join(ws[i].th, NULL);
    if (!o.c.quiet && tty) fputc('\n', stderr);
    int64_t dur = ar_now_us() - t0;
    ar_metrics_init(&total);
    for (int i = 0; i < n; i++)
        ar_metrics_add(&total, &ws[i].m);

    /* Verdicts, reports, summary. */
    bool failed = false;
    cJSON *root = ar_metrics_to_json(&total, dur);
    char ts[32];
    ar_wall_iso8601(t0_wall, ts, sizeof ts);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "mode", "bench");
    cJSON_AddStringToObject(root, "scenario", scn->name);
    cJSON_AddStringToObject(root, "target", url);
    cJSON_AddStringToObject(root, "model", o.rate > 0 ? "open" : "closed");
    cJSON_AddStringToObject(root, "started_at", ts);
    cJSON_AddNumberToObject(root, "duration_s", (double)dur / 1e6);
    cJSON_AddBoolToObject(root, "interrupted", atomic_load(stop) != 0);
    cJSON_AddBoolToObject(root, "aborted", abort_reason[0] != 0);
    if (abort_reason[0]) cJSON_AddStringToObject(root, "abort_reason", abort_reason);
    cJSON *tv = cJSON_AddArrayToObject(root, "thresholds");
    char verdicts[64][300];
    bool passed[64];
    for (size_t i = 0; i < n_thr; i++) {
        ar_thr_kind kind;
        double obs = ar_metrics_observe(&total, thr[i].metric, &thr[i].thr, dur, &kind);
        bool ok = ar_thr_eval(&thr[i].thr, obs);
        passed[i] = ok;
        failed = failed || !ok;
        char v[256];
        ar_thr_format_verdict(&thr[i].thr, kind, obs, v, sizeof v);
        snprintf(verdicts[i], sizeof verdicts[i], "%s %s", thr[i].metric, v);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "metric", thr[i].metric);
        cJSON_AddStringToObject(x, "threshold", thr[i].thr.source);
        cJSON_AddStringToObject(x, "verdict", v);
        cJSON_AddBoolToObject(x, "passed", ok);
        cJSON_AddItemToArray(tv, x);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (ar_mkdirs_for(json) || !text) {
        fprintf(stderr, "agentrig bench: cannot write %s\n", json);
        exit_code = AR_EXIT_INFRA;
    } else {
        FILE *f = fopen(json, "w");
        if (f) {
            fputs(text, f);
            fclose(f);
        }
    }
    free(text);
    /* JUnit: one testcase per threshold. */
    FILE *jf = ar_mkdirs_for(junit) == AR_OK ? fopen(junit, "w") : NULL;
    if (jf) {
        size_t nf = 0;
        for (size_t i = 0; i < n_thr; i++)
            nf += !passed[i];
        fprintf(jf,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"agentrig bench\" "
                "tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n  <testsuite name=\"bench\" "
                "tests=\"%zu\" "
                "failures=\"%zu\" errors=\"0\" time=\"%.3f\" timestamp=\"%s\">\n",
                n_thr, nf, n_thr, nf, (double)dur / 1e6, ts);
        for (size_t i = 0; i < n_thr; i++) {
            bool ok = passed[i];
            fputs("    <testcase classname=\"bench\" name=\"", jf);
            ar_text_xml_put(jf, thr[i].metric, 256, true);
            fputs(": ", jf);
            ar_text_xml_put(jf, thr[i].thr.source, 256, true);
            fprintf(jf, "\" time=\"0\"%s\n", ok ? "/>" : ">");
            if (!ok) {
                fputs("      <failure type=\"threshold\" message=\"", jf);
                ar_text_xml_put(jf, verdicts[i], 1024, true);
                fputs("\"/>\n    </testcase>\n", jf);
            }
        }
        fputs("  </testsuite>\n</testsuites>\n", jf);
        fclose(jf);
    }
    if (!o.c.quiet) {
        printf("%-22s %10s %10s %10s %10s %10s %10s\n", "metric", "avg", "p50", "p90", "p95", "p99",
               "max");
        static const ar_metric shown[] = {AR_M_SESSION_DURATION,   AR_M_TURN_DURATION,
                                          AR_M_TURN_DURATION_RAW,  AR_M_TIME_TO_FIRST_EVENT,
                                          AR_M_TIME_TO_FIRST_TOOL, AR_M_MAX_EVENT_GAP,
                                          AR_M_CONNECT_TIME,       AR_M_HARNESS_OVERHEAD};
        for (size_t i = 0; i < AR_ARRAY_LEN(shown); i++) {
            const ar_hist *h = total.trend[shown[i]];
            if (!ar_hist_count(h)) continue;
            char c[6][32];
            ar_fmt_duration((int64_t)ar_hist_mean(h), c[0], 32);
            const double ps[] = {50, 90, 95, 99};
            for (int k = 0; k < 4; k++)
                ar_fmt_duration(ar_hist_percentile(h, ps[k]), c[k + 1], 32);
            ar_fmt_duration(ar_hist_max(h), c[5], 32);
            printf("%-22s %10s %10s %10s %10s %10s %10s\n", ar_metric_name(shown[i]), c[0], c[1],
                   c[2], c[3], c[4], c[5]);
        }
        printf("sessions: %llu started, %llu completed, %llu failed",
               (unsigned long long)total.sessions_started,
               (unsigned long long)total.sessions_completed,
               (unsigned long long)total.sessions_failed);
        for (int k = 0; k < AR_FAIL__KINDS; k++)
            if (total.failed_by[k])
                printf(" (%s %llu)", ar_fail_kind_name((ar_fail_kind)k),
                       (unsigned long long)total.failed_by[k]);
        printf("; %llu dropped; %llu events (%.0f/s)\n", (unsigned long long)total.dropped,
               (unsigned long long)total.events,
               dur > 0 ? (double)total.events / ((double)dur / 1e6) : 0);
        for (size_t i = 0; i < total.n_agents; i++) {
            const ar_agent_stats *a = &total.agents[i];
            char p95[32];
            ar_fmt_duration(ar_hist_percentile(a->duration, 95), p95, sizeof p95);
            uint64_t done = a->ok + a->errors;
            printf("agent %-14s %8llu runs  %5.1f%% ok  p95 %s\n", a->name,
                   (unsigned long long)a->executions,
                   done ? 100.0 * (double)a->ok / (double)done : 0, p95);
        }
        for (size_t i = 0; i < n_thr; i++)
            printf("threshold %s\n", verdicts[i]);
        if (abort_reason[0]) printf("aborted early: %s\n", abort_reason);
        printf("reports: %s, %s\n", json, junit);
    }
    if (atomic_load(stop))
        exit_code = AR_EXIT_INTERRUPTED;
    else if (total.sessions_started && total.failed_by[AR_FAIL_CONNECT] == total.sessions_started) {
        fprintf(stderr, "agentrig bench: no session could connect to %s%s%s\n", url,
                ws[0].err[0] ? ": " : "", ws[0].err);
        exit_code = AR_EXIT_INFRA;
    } else if (failed)
        exit_code = AR_EXIT_FAIL;
out:
    if (ws)
        for (int i = 0; i < n; i++) {
            worker *w = &ws[i];
            ar_loop_free(w->loop);
            if (w->tf) fclose(w->tf);
            ar_metrics_free(&w->m);
            ar_metrics_free(&w->snap);
            free(w->vus);
            free(w->idle);
            if (w->frames_tpl)
                for (size_t k = 0; k < scn->n_turns; k++)
                    free(w->frames_tpl[k]);
            free(w->frames_tpl);
        }
    free(ws);
    ar_metrics_free(&total);
    for (size_t i = 0; i < n_thr; i++)
        free(thr[i].metric);
    free(thr);
    ar_refproc_stop(ref);
    ar_scn_free(scn);
    free(url);
    free(json);
    free(junit);
    free(reflog);
    free(refbin);
    free(o.thresholds);
    ar_opts_free(&o.c);
    return exit_code;
}
