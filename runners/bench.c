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
 *
 * This file holds the options, the setup and the watching of the workers;
 * bench_worker.c runs them and bench_report.c writes the results.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "refproc.h"
#include "template.h"
#include "report.h"
#include "cli.h"
#include "opts.h"
#include "runners.h"
#include "load.h"
#include "bench_int.h"

#define THREADS_MAX 64
#define VUS_MAX 100000

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
    {"junit", "JUnit, one testcase per threshold, or per configuration error\n"
              "(default: DIR/bench-junit.xml)"},
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
             "       agentrig bench [options] --grep REGEX|--tag TAG PATH...\n"
             "\n"
             "Runs one scenario (the one file, or the one --grep and --tag pick in PATH)'s turns as multi-turn sessions under load: closed model\n"
             "(--vus N, or ramping 'stages:' of VUs) or open model (--rate R/s, or ramping\n"
             "'stages:' of rates), and reports latency percentiles, throughput, per-agent\n"
             "statistics and threshold verdicts (docs/metrics.md, docs/thresholds.md).\n"
             "\n",
    .exit_codes = "\nexit codes: 0 all thresholds passed, 1 a threshold failed, 2 usage or\n"
                  "configuration error, 3 the service could not be reached, 130 interrupted.\n",
    .own = own_opts,
    .n_own = AR_ARRAY_LEN(own_opts),
    .takes = AR_OPTS_DRIVE,
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
    if (*first + 1 < argc && !o->c.n_tags && !o->c.grep)
        return usage_error("one scenario file at a time, unless --grep or --tag picks one (got "
                           "'%s' too)", argv[*first + 1]);
    return 0;
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

/* The state ar_bench_main's steps share; free_run releases it. */
typedef struct {
    bench_opts o;
    const atomic_int *stop;
    ar_scenario *scn;
    ar_refproc *ref;
    worker *ws;
    int n;         /* workers in ws */
    int n_started; /* of which have a thread */
    bench_thr *thr;
    size_t n_thr;
    char *url, *json, *junit, *refbin, *reflog;
    long slots;       /* VUs at most at once, over all workers */
    int64_t total_us; /* how long sessions are started for */
    int64_t t0, t0_wall;
    atomic_int abort_run;
    char abort_reason[300];
    ar_metrics total;
    char err[1024];
} bench_run;

/* The one scenario of paths that --tag and --grep pick, into r->scn. */
static int pick_scenario(bench_run *r, const char *const *paths, size_t n_paths)
{
    ar_scn_list all = {0};
    int rc = ar_load_scenarios("bench", paths, n_paths, r->junit, &all);
    if (rc) return rc;
    size_t n = 0, at = 0;
    for (size_t i = 0; i < all.n; i++)
        if (ar_opts_pick(&r->o.c, all.items[i])) n++, at = i;
    if (n == 1) {
        r->scn = all.items[at];
        all.items[at] = NULL; /* r->scn owns it now */
    } else if (n == 0) {
        fprintf(stderr, "agentrig bench: no scenario matches the given %s\n",
                ar_opts_filter_name(&r->o.c));
    } else {
        fprintf(stderr, "agentrig bench: %zu scenarios match the given %s; bench runs one at a "
                        "time\n", n, ar_opts_filter_name(&r->o.c));
    }
    ar_scn_list_free(&all);
    return n == 1 ? AR_EXIT_PASS : AR_EXIT_USAGE;
}

static int load_scenario(bench_run *r, const char *const *paths, size_t n_paths)
{
    const bench_opts *o = &r->o;
    /* Named before loading: a configuration error is written as JUnit. */
    r->json = o->json ? ar_strdup(o->json) : ar_cli_path_in(o->c.results_dir, "bench.json");
    r->junit =
        o->c.junit ? ar_strdup(o->c.junit) : ar_cli_path_in(o->c.results_dir, "bench-junit.xml");
    r->reflog = ar_cli_path_in(o->c.results_dir, "refagent.log");
    if (!r->json || !r->junit || !r->reflog) return AR_EXIT_INFRA;
    /* Each run owns its output: an earlier bench's default reports and the
     * refagent log go first; paths the user named are only overwritten. */
    if (!o->json) ar_report_clean_file(r->json);
    if (!o->c.junit) ar_report_clean_file(r->junit);
    ar_report_clean_file(r->reflog);
    int rc = pick_scenario(r, paths, n_paths);
    if (rc) return rc;
    const ar_scenario *scn = r->scn;
    if (scn->profile->transport != AR_PF_WS) {
        fprintf(stderr,
                "agentrig bench: %s: protocol %s uses SSE; bench drives WebSocket services\n",
                scn->file, scn->profile->name);
        return AR_EXIT_USAGE;
    }
    for (size_t i = 0; i < scn->n_turns; i++)
        if (scn->turns[i].http || scn->turns[i].client_fault.kind != AR_CF_NONE) {
            fprintf(stderr,
                    "agentrig bench: %s: turn %zu: bench sends messages only (no http: "
                    "steps or client faults)\n",
                    scn->file, i + 1);
            return AR_EXIT_USAGE;
        }
    return AR_EXIT_PASS;
}

/* Thresholds: the scenario's and --threshold; unknown metrics are exit 2. */
static int load_thresholds(bench_run *r)
{
    const ar_scenario *scn = r->scn;
    char *err = r->err;
    size_t err_len = sizeof r->err;
    r->thr = calloc(64, sizeof *r->thr);
    for (size_t i = 0; i < scn->n_thresholds; i++)
        for (size_t e = 0; e < scn->thresholds[i].n_exprs && r->n_thr < 64; e++) {
            bench_thr *b = &r->thr[r->n_thr++];
            b->metric = strdup(scn->thresholds[i].metric);
            b->abort_on_fail = scn->thresholds[i].abort_on_fail[e];
            b->delay_abort_us = scn->thresholds[i].delay_abort_us[e];
            if (ar_thr_parse(scn->thresholds[i].exprs[e], &b->thr, err, err_len) ||
                ar_metrics_check_threshold(b->metric, &b->thr, err, err_len)) {
                fprintf(stderr, "%s:%d:%d: %s\n", scn->file, scn->thresholds[i].loc.line,
                        scn->thresholds[i].loc.col, err);
                return AR_EXIT_USAGE;
            }
        }
    for (size_t i = 0; i < r->o.n_thresholds && r->n_thr < 64; i++) {
        const char *t = r->o.thresholds[i], *eq = strchr(t, '=');
        bench_thr *b = &r->thr[r->n_thr++];
        b->metric = ar_strndup(t, (size_t)(eq - t));
        if (ar_thr_parse(eq + 1, &b->thr, err, err_len) ||
            ar_metrics_check_threshold(b->metric, &b->thr, err, err_len)) {
            fprintf(stderr, "agentrig bench: --threshold '%s': %s\n", t, err);
            return AR_EXIT_USAGE;
        }
    }
    return AR_EXIT_PASS;
}

/* How many VUs can be live at once, and whether the open-file limit holds them. */
static int plan_slots(bench_run *r)
{
    const ar_scenario *scn = r->scn;
    r->slots = r->o.rate > 0 ? r->o.max_vus : r->o.vus;
    if (r->o.rate <= 0 && scn->n_stages) {
        double mx = 0;
        for (size_t i = 0; i < scn->n_stages; i++)
            mx = fmax(mx, scn->stages[i].target);
        r->slots = (long)ceil(mx);
    }
    if (!enough_files(r->slots, r->err, sizeof r->err)) {
        fprintf(stderr, "agentrig bench: %s\n", r->err);
        return AR_EXIT_USAGE;
    }
    return AR_EXIT_PASS;
}

/* The service to drive: --target, the scenario's, else an embedded refagent. */
static int start_target(bench_run *r)
{
    const bench_opts *o = &r->o;
    const ar_scenario *scn = r->scn;
    if (o->c.target) {
        r->url = ar_strdup(o->c.target);
    } else if (scn->target_tpl) {
        if (ar_tpl_expand(scn->target_tpl, o->c.vars, AR_TPL_PLAIN, &r->url, r->err,
                          sizeof r->err)) {
            fprintf(stderr, "%s: target: %s\n", scn->file, r->err);
            return AR_EXIT_USAGE;
        }
    } else {
        if (!(r->refbin = ar_cli_refagent("bench", o->c.refagent))) return AR_EXIT_INFRA;
        ar_mkdirs_for(r->reflog);
        if (ar_refproc_start(r->refbin, o->c.refagent_args, o->c.n_refagent_args, r->reflog,
                             "listening ", &r->ref, r->err, sizeof r->err)) {
            fprintf(stderr, "agentrig bench: could not start the embedded refagent: %s\n", r->err);
            return AR_EXIT_INFRA;
        }
        r->url = ar_strdup(ar_refproc_url(r->ref));
    }
    return AR_EXIT_PASS;
}

/* Open model: worker i's arrival scheduler, its first arrival, and all its VUs idle. */
static int init_arrivals(bench_run *r, worker *w, int i)
{
    const ar_scenario *scn = r->scn;
    w->open_model = true;
    if (!(w->idle = calloc(w->n_vus ? w->n_vus : 1, sizeof *w->idle))) return AR_EXIT_INFRA;
    for (size_t k = w->n_vus; k-- > 0;) /* vus[0] on top */
        w->idle[w->n_idle++] = &w->vus[k];
    /* Every stage goes to ar_arr_init, which refuses more than it
     * takes with a message instead of a silently shorter ramp. */
    size_t nst = scn->n_stages ? scn->n_stages : 1;
    ar_arr_stage *st = calloc(nst, sizeof *st);
    if (!st) return AR_EXIT_INFRA;
    for (size_t k = 0; k < scn->n_stages; k++)
        st[k] = (ar_arr_stage){.duration_us = scn->stages[k].duration_us,
                               .target_per_s = scn->stages[k].target};
    if (!scn->n_stages)
        st[0] = (ar_arr_stage){.duration_us = r->o.duration_us, .target_per_s = r->o.rate};
    ar_err arr_rc =
        ar_arr_init(st, nst, scn->n_stages ? 0 : r->o.rate, &w->arr, r->err, sizeof r->err);
    free(st);
    if (arr_rc) {
        fprintf(stderr, "agentrig bench: %s: stages: %s\n", scn->file, r->err);
        return AR_EXIT_USAGE;
    }
    /* Thread i takes arrivals i, i+n, i+2n, ... */
    int64_t t = -1;
    for (int k = 0; k <= i; k++)
        if (!ar_arr_next(&w->arr, &t)) {
            t = -1;
            break;
        }
    w->next_arrival_us = t;
    return AR_EXIT_PASS;
}

static int init_worker(bench_run *r, int i)
{
    const bench_opts *o = &r->o;
    const ar_scenario *scn = r->scn;
    int n = r->n;
    long slots = r->slots;
    worker *w = &r->ws[i];
    w->id = i;
    w->scn = scn;
    w->pf = scn->profile;
    w->url = r->url;
    w->n_threads = n;
    w->stop = r->stop;
    w->abort_run = &r->abort_run;
    pthread_mutex_init(&w->snap_mu, NULL);
    w->n_vus = (size_t)(slots / n + (i < slots % n ? 1 : 0));
    w->vus = calloc(w->n_vus ? w->n_vus : 1, sizeof *w->vus);
    w->vars = o->c.vars;
    w->frames_tpl = calloc(scn->n_turns, sizeof *w->frames_tpl);
    for (size_t k = 0; k < scn->n_turns; k++)
        if (ar_tpl_expand(scn->turns[k].message_tpl, o->c.vars, AR_TPL_PLAIN, &w->frames_tpl[k], r->err,
                          sizeof r->err)) {
            fprintf(stderr, "%s: turn %zu: %s\n", scn->file, k + 1, r->err);
            return AR_EXIT_USAGE;
        }
    if (o->c.transcripts) {
        char *tp = ar_asprintf("%s/bench-%d.jsonl", o->c.transcripts, i);
        ar_mkdirs_for(tp);
        w->tf = tp ? fopen(tp, "w") : NULL;
        free(tp);
    }
    if (ar_metrics_init(&w->m) || ar_metrics_init(&w->snap) || !w->vus ||
        !(w->loop = ar_loop_new(strncmp(r->url, "wss://", 6) == 0, r->err, sizeof r->err))) {
        fprintf(stderr, "agentrig bench: %s\n", r->err);
        return AR_EXIT_INFRA;
    }
    w->target_vus = o->vus;
    w->iterations_left = o->iterations ? o->iterations / n + (i < o->iterations % n ? 1 : 0) : -1;
    w->t0_us = r->t0;
    w->end_us = o->iterations ? INT64_MAX : r->t0 + r->total_us;
    return o->rate > 0 ? init_arrivals(r, w, i) : AR_EXIT_PASS;
}

static int setup_workers(bench_run *r)
{
    const ar_scenario *scn = r->scn;
    r->n = (int)(r->o.threads < r->slots ? r->o.threads : r->slots);
    if (r->n < 1) r->n = 1;
    r->ws = calloc((size_t)r->n, sizeof *r->ws);
    r->total_us = r->o.duration_us;
    if (scn->n_stages) {
        r->total_us = 0;
        for (size_t i = 0; i < scn->n_stages; i++)
            r->total_us += scn->stages[i].duration_us;
    }
    r->t0 = ar_now_us();
    r->t0_wall = ar_wall_us();
    for (int i = 0; i < r->n; i++) {
        int rc = init_worker(r, i);
        if (rc) return rc;
    }
    return AR_EXIT_PASS;
}

/* Starts the worker threads, shows progress and checks abort thresholds once
 * a second until they are all done, then merges their metrics into r->total. */
static void run_workers(bench_run *r)
{
    worker *ws = r->ws;
    int n = r->n;
    if (!r->o.c.quiet)
        fprintf(stderr, "agentrig bench: %s against %s, %s, %d threads\n", r->scn->name, r->url,
                r->o.rate > 0 ? "open model" : "closed model", n);
    for (; r->n_started < n; r->n_started++) {
        worker *w = &ws[r->n_started];
        if (pthread_create(&w->th, NULL, ar_bench_worker_main, w) != 0) break;
    }
    for (int i = r->n_started; i < n; i++)
        atomic_store(&ws[i].done, true);

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
            if (!r->o.c.quiet) progress(ws, n, r->t0, r->total_us, tty, &last_done);
            check_abort(ws, n, r->thr, r->n_thr, ar_now_us() - r->t0, &r->abort_run,
                        r->abort_reason, sizeof r->abort_reason);
        }
    }
    for (int i = 0; i < r->n_started; i++)
        pthread_join(ws[i].th, NULL);
    if (!r->o.c.quiet && tty) fputc('\n', stderr);
}

static int write_reports(bench_run *r, int64_t dur, bool *thr_failed)
{
    const bench_report rep = {.scn = r->scn,
                              .url = r->url,
                              .open_model = r->o.rate > 0,
                              .interrupted = atomic_load(r->stop) != 0,
                              .quiet = r->o.c.quiet,
                              .t0_wall_us = r->t0_wall,
                              .dur_us = dur,
                              .total = &r->total,
                              .thr = r->thr,
                              .n_thr = r->n_thr,
                              .abort_reason = r->abort_reason,
                              .json = r->json,
                              .junit = r->junit};
    return ar_bench_report(&rep, thr_failed) ? AR_EXIT_PASS : AR_EXIT_INFRA;
}

/* An interrupt outranks everything; a report that could not be written
 * (exit_code) only counts when nothing else went wrong. */
static int final_exit_code(const bench_run *r, int exit_code, bool thr_failed)
{
    const ar_metrics *total = &r->total;
    if (atomic_load(r->stop)) return AR_EXIT_INTERRUPTED;
    if (total->sessions_started && total->failed_by[AR_FAIL_CONNECT] == total->sessions_started) {
        fprintf(stderr, "agentrig bench: no session could connect to %s%s%s\n", r->url,
                r->ws[0].err[0] ? ": " : "", r->ws[0].err);
        return AR_EXIT_INFRA;
    }
    if (thr_failed) return AR_EXIT_FAIL;
    return exit_code;
}

static void free_run(bench_run *r)
{
    if (r->ws)
        for (int i = 0; i < r->n; i++) {
            worker *w = &r->ws[i];
            ar_loop_free(w->loop);
            if (w->tf) fclose(w->tf);
            ar_metrics_free(&w->m);
            ar_metrics_free(&w->snap);
            free(w->vus);
            free(w->idle);
            if (w->frames_tpl)
                for (size_t k = 0; k < r->scn->n_turns; k++)
                    free(w->frames_tpl[k]);
            free(w->frames_tpl);
        }
    free(r->ws);
    ar_metrics_free(&r->total);
    for (size_t i = 0; i < r->n_thr; i++)
        free(r->thr[i].metric);
    free(r->thr);
    ar_refproc_stop(r->ref);
    ar_scn_free(r->scn);
    free(r->url);
    free(r->json);
    free(r->junit);
    free(r->reflog);
    free(r->refbin);
    free(r->o.thresholds);
    ar_opts_free(&r->o.c);
}

int ar_bench_main(int argc, char **argv)
{
    bench_run r = {.o = {.vus = 10,
                         .duration_us = 10 * 1000000LL,
                         .max_vus = 1000,
                         .c = {.results_dir = "results"}}};
    r.stop = ar_cli_catch_interrupts();
    atomic_init(&r.abort_run, 0);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    r.o.threads = cores > 0 ? cores : 1;
    int first = 0, rc = parse_opts(argc, argv, &r.o, &first);
    if (rc) {
        free(r.o.thresholds);
        ar_opts_free(&r.o.c);
        return rc < 0 ? AR_EXIT_PASS : rc;
    }

    int exit_code = load_scenario(&r, (const char *const *)argv + first, (size_t)(argc - first));
    if (exit_code) goto out;
    exit_code = load_thresholds(&r);
    if (exit_code) goto out;
    exit_code = plan_slots(&r);
    if (exit_code) goto out;
    exit_code = start_target(&r);
    if (exit_code) goto out;
    exit_code = setup_workers(&r);
    if (exit_code) goto out;
    run_workers(&r);
    int64_t dur = ar_now_us() - r.t0;
    ar_metrics_init(&r.total);
    for (int i = 0; i < r.n; i++)
        ar_metrics_add(&r.total, &r.ws[i].m);
    bool thr_failed = false;
    exit_code = write_reports(&r, dur, &thr_failed);
    exit_code = final_exit_code(&r, exit_code, thr_failed);
out:
    free_run(&r);
    return exit_code;
}
