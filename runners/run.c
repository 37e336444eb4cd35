/*
 * run.c - `agentrig run`: the CI-gating mode.
 *
 * Load every scenario first (a typo is exit 2 before any socket opens), start
 * the embedded refagent if some scenario has no target, run the sessions on
 * -j worker threads (each owns its own event loop; the recorder is the only
 * shared structure), then write every report even when sessions failed or the
 * run was interrupted. One failing session never takes the others down: each
 * session's problems end up in its own result.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ar.h"
#include "recorder.h"
#include "profile.h"
#include "refproc.h"
#include "scenario.h"
#include "session.h"
#include "template.h"
#include "report.h"
#include "cli.h"
#include "opts.h"
#include "faultenv.h"
#include "judge.h"
#include "load.h"
#include "progress.h"
#include "runners.h"

#define JOBS_MAX 256

typedef struct {
    ar_opts c; /* what every mode takes; run has no options of its own */
} run_opts;

static const ar_opts_help run_help[] = {
    {"target", "drive this service (ws://...) instead of each scenario's target;\n"
               "without it, scenarios with no target use the embedded refagent"},
    {"seed", "seed for probabilistic faults in scenarios with 'faults:' (default 1)"},
    {"no-color", "never colour the summary (NO_COLOR works too)"},
    {NULL, NULL},
};

static const ar_opts_mode run_mode = {
    .name = "run",
    .usage = "usage: agentrig run [options] PATH...\n"
             "\n"
             "Runs the scenarios in PATH (YAML files, or directories searched for *.yaml and\n"
             "*.yml) and writes JUnit XML, a JSON report and one transcript per session.\n"
             "\n",
    .exit_codes = "\nexit codes: 0 all passed, 1 an expectation failed, 2 usage or configuration\n"
                  "error, 3 service unreachable or harness failure, 130 interrupted.\n",
    .own = NULL,
    .n_own = 0,
    .takes = AR_OPTS_JOBS | AR_OPTS_SEED | AR_OPTS_REPORT | AR_OPTS_DRIVE,
    .jobs_max = JOBS_MAX,
    .help = run_help,
};

static int own_opt(int c, const char *arg, void *user)
{
    (void)c, (void)arg, (void)user;
    return AR_EXIT_USAGE; /* unreachable: run has no options of its own */
}

static int parse_opts(int argc, char **argv, run_opts *o, int *first_path)
{
    int rc = ar_opts_parse(&run_mode, argc, argv, &o->c, own_opt, o, first_path);
    if (rc) return rc;
    if (*first_path >= argc)
        return ar_opts_usage(&run_mode, "%s", "no scenario files or directories given");
    return 0;
}

static const atomic_int *g_stop;

typedef struct {
    ar_scenario **scns;
    size_t n;
    ar_session_result *results;
    atomic_size_t next;
    ar_sess_cfg cfg;
    ar_fenv_cfg fenv;
    long seed;
    bool tls;
    char loop_error[256];
    atomic_int loop_failed;
    ar_progress *progress;
} work_queue;

/* The session's line for the live progress: its verdict and, when it did not
 * pass, the first reason. */
static void report_progress(work_queue *q, size_t i)
{
    const ar_session_result *r = &q->results[i];
    char dur[32];
    ar_fmt_duration(r->duration_us, dur, sizeof dur);
    const char *why = r->outcome == AR_OUT_ERROR ? r->error : NULL;
    for (size_t k = 0; !why && r->outcome == AR_OUT_FAIL && k < r->n_turns; k++)
        for (size_t c = 0; !why && c < r->turns[k].checks.n; c++)
            if (!r->turns[k].checks.items[c].passed) why = r->turns[k].checks.items[c].message;
    static const char *const verdict[] = {"PASS ", "FAIL ", "ERROR"};
    ar_progress_done(q->progress, r->outcome != AR_OUT_PASS, "%s %s (%s)%s%s",
                     verdict[r->outcome <= AR_OUT_ERROR ? r->outcome : AR_OUT_ERROR],
                     q->scns[i]->name, dur, why ? ": " : "", why ? why : "");
}

/* A session the interrupt kept from starting: every turn is there, none ran,
 * so each report shows it as skipped ("not run: interrupted"), never PASS.
 * It is not driven at all - not even connected. */
static void mark_not_run(work_queue *q, size_t i)
{
    ar_session_result *r = &q->results[i];
    const ar_scenario *scn = q->scns[i];
    memset(r, 0, sizeof *r);
    r->scn = scn;
    /* An empty recorder session of its own, so no report counts another
     * session's events as its. */
    if (ar_rec_open(q->cfg.rec, scn->name, &r->rec_session) != AR_OK) r->rec_session = UINT32_MAX;
    r->outcome = AR_OUT_PASS; /* no check failed; the reports say "skipped" */
    r->turns = calloc(scn->n_turns ? scn->n_turns : 1, sizeof *r->turns);
    if (r->turns) {
        r->n_turns = scn->n_turns;
        for (size_t k = 0; k < scn->n_turns; k++) {
            r->turns[k].index = (uint32_t)(k + 1);
            ar_checks_init(&r->turns[k].checks);
            ar_checks_init(&r->turns[k].post_checks);
        }
    }
    ar_progress_done(q->progress, false, "SKIP  %s: not run (interrupted)", scn->name);
}

static void *worker_main(void *arg)
{
    work_queue *q = arg;
    char err[256];
    ar_loop *loop = ar_loop_new(q->tls, err, sizeof err);
    if (!loop) {
        if (atomic_fetch_add(&q->loop_failed, 1) == 0)
            snprintf(q->loop_error, sizeof q->loop_error, "%s", err);
    }
    for (;;) {
        size_t i = atomic_fetch_add(&q->next, 1);
        if (i >= q->n) break;
        if (atomic_load(g_stop)) {
            mark_not_run(q, i);
            continue;
        }
        if (!loop) {
            ar_session_result *r = &q->results[i];
            memset(r, 0, sizeof *r);
            r->scn = q->scns[i];
            r->outcome = AR_OUT_ERROR;
            r->error_code = AR_EINTERNAL;
            r->error = ar_asprintf("could not start an event loop: %s", err);
            report_progress(q, i);
            continue;
        }
        if (!q->scns[i]->n_faults) {
            ar_sess_run(loop, &q->cfg, q->scns[i], (uint32_t)i, &q->results[i]);
            ar_judge_session(q->cfg.rec, &q->results[i]);
            report_progress(q, i);
            continue;
        }
        /* A scenario with dependency faults gets its own proxy (and its own
         * refagent behind it), exactly like one trial of agentrig chaos. */
        ar_fenv *env = NULL;
        char ferr[700];
        ar_session_result *r = &q->results[i];
        ar_err frc = ar_fenv_start(&q->fenv, q->scns[i], ar_fenv_seed((uint64_t)q->seed, i, 0),
                                   &env, ferr, sizeof ferr);
        if (frc != AR_OK) {
            memset(r, 0, sizeof *r);
            r->scn = q->scns[i];
            r->outcome = AR_OUT_ERROR;
            r->error_code = frc; /* AR_EINVAL (exit 2): the scenario cannot be wired as written */
            r->error = ar_strdup(ferr);
            report_progress(q, i);
            continue;
        }
        ar_sess_cfg sc = q->cfg;
        ar_fenv_session(env, &sc);
        ar_sess_run(loop, &sc, q->scns[i], (uint32_t)i, r);
        ar_judge_session(sc.rec, r);
        bool fired;
        int64_t ttr;
        ar_fenv_finish(env, q->scns[i], r, &fired, &ttr);
        ar_fenv_free(env);
        report_progress(q, i);
    }
    ar_loop_free(loop);
    return NULL;
}

/* What ar_run_main's steps share; all of it is released after its out: label. */
typedef struct {
    run_opts o;
    ar_scn_list all;
    ar_scenario **picked; /* the scenarios that match --tag and --grep */
    size_t n;
    bool need_ref, need_deps, need_tls;
    ar_rec *rec;
    ar_refproc *ref, *deps;
    ar_session_result *results;
    char *junit, *report, *transcripts, *reflog, *refbin;
    ar_run_result run;
} run_state;

/* Loads every path (every broken file is reported, and written as JUnit) and
 * keeps the scenarios --tag and --grep pick, noting which services and
 * transports they need. */
static int pick_scenarios(run_state *st, int argc, char **argv, int first)
{
    const run_opts *o = &st->o;
    char err[1024];
    int rc = ar_load_scenarios("run", (const char *const *)argv + first, (size_t)(argc - first),
                               st->junit, &st->all);
    if (rc) return rc;
    const ar_scn_list *all = &st->all;
    st->picked = calloc(all->n ? all->n : 1, sizeof *st->picked);
    if (!st->picked) return AR_EXIT_INFRA;
    st->need_tls = o->c.target && strncmp(o->c.target, "wss://", 6) == 0;
    for (size_t i = 0; i < all->n; i++) {
        if (!ar_opts_pick(&o->c, all->items[i])) continue;
        st->picked[st->n++] = all->items[i];
        if (!o->c.target && !all->items[i]->target_tpl) {
            if (all->items[i]->n_faults)
                st->need_deps = true;
            else
                st->need_ref = true;
        }
        /* Expanded here only to know whether TLS is needed; the session
         * expands it again and reports an undefined variable properly. */
        char *url = NULL;
        if (!o->c.target && all->items[i]->target_tpl &&
            ar_tpl_expand(all->items[i]->target_tpl, o->c.vars, AR_TPL_PLAIN, &url, err,
                          sizeof err) == AR_OK &&
            strncmp(url, "wss://", 6) == 0)
            st->need_tls = true;
        free(url);
    }
    /* A profile's secrets (tokens in environment variables) are masked in
     * everything agentrig writes. */
    for (size_t i = 0; i < st->n; i++) {
        const ar_profile *pf = st->picked[i]->profile;
        for (size_t k = 0; pf && k < pf->n_secrets; k++)
            ar_report_add_secret(getenv(pf->secrets[k]));
    }
    if (st->n == 0) {
        fprintf(stderr, "agentrig run: no scenario matches the given %s\n",
                ar_opts_filter_name(&o->c));
        return AR_EXIT_USAGE;
    }
    return AR_EXIT_PASS;
}

static int name_outputs(run_state *st)
{
    const run_opts *o = &st->o;
    st->junit = o->c.junit ? ar_strdup(o->c.junit) : ar_cli_path_in(o->c.results_dir, "junit.xml");
    st->report = o->c.report ? ar_strdup(o->c.report) : ar_cli_path_in(o->c.results_dir, "report.json");
    st->transcripts = o->c.transcripts ? ar_strdup(o->c.transcripts)
                                       : ar_cli_path_in(o->c.results_dir, "transcripts");
    st->reflog = ar_cli_path_in(o->c.results_dir, "refagent.log");
    if (!st->junit || !st->report || !st->transcripts || !st->reflog) return AR_EXIT_INFRA;
    /* Each run owns its output: what an earlier run wrote into the results
     * directory goes before anything is written, so a transcript of a
     * scenario this run did not pick is never uploaded beside its reports.
     * Only agentrig's own names, and never a path the user gave. */
    if (!o->c.junit) ar_report_clean_file(st->junit);
    if (!o->c.report) ar_report_clean_file(st->report);
    if (!o->c.transcripts) ar_report_clean_transcripts(st->transcripts);
    ar_report_clean_file(st->reflog);
    return AR_EXIT_PASS;
}

/* The embedded refagent and the shared dependency server, as far as the
 * picked scenarios need them. */
static int start_services(run_state *st)
{
    const run_opts *o = &st->o;
    char err[1024];
    if (st->need_ref || st->need_deps) {
        if (!(st->refbin = ar_cli_refagent("run", o->c.refagent))) return AR_EXIT_INFRA;
        ar_mkdirs_for(st->reflog);
    }
    if (st->need_ref) {
        if (ar_refproc_start(st->refbin, o->c.refagent_args, o->c.n_refagent_args, st->reflog,
                             "listening ", &st->ref, err, sizeof err) != AR_OK) {
            fprintf(stderr, "agentrig run: could not start the embedded refagent: %s\n", err);
            return AR_EXIT_INFRA;
        }
        if (!o->c.quiet)
            fprintf(stderr, "agentrig: embedded refagent listening at %s (log: %s)\n",
                    ar_refproc_url(st->ref), st->reflog);
    }
    if (st->need_deps) {
        /* Scenarios with faults each get a refagent behind their own proxy;
         * they share one dependency server. */
        const char *dargs[] = {"--deps-only"};
        if (ar_refproc_start(st->refbin, dargs, 1, st->reflog, "deps ", &st->deps, err,
                             sizeof err) != AR_OK) {
            fprintf(stderr, "agentrig run: could not start the dependency server: %s\n", err);
            return AR_EXIT_INFRA;
        }
    }
    return AR_EXIT_PASS;
}

/* Runs the sessions on -j threads and fills in st->run. */
static int run_sessions(run_state *st)
{
    const run_opts *o = &st->o;
    size_t n = st->n;
    st->rec = ar_rec_new(0);
    st->results = calloc(n, sizeof *st->results);
    if (!st->rec || !st->results) return AR_EXIT_INFRA;

    work_queue q = {
        .scns = st->picked, .n = n, .results = st->results, .tls = st->need_tls, .seed = o->c.seed};
    q.fenv = (ar_fenv_cfg){.rec = st->rec,
                           .deps_url = st->deps ? ar_refproc_url(st->deps) : NULL,
                           .refbin = st->refbin,
                           .reflog = st->reflog,
                           .refagent_args = o->c.refagent_args,
                           .n_refagent_args = o->c.n_refagent_args,
                           .target_override = o->c.target,
                           .vars = o->c.vars};
    q.cfg = (ar_sess_cfg){.rec = st->rec,
                          .target_override = o->c.target,
                          .default_target = st->ref ? ar_refproc_url(st->ref) : NULL,
                          .stop = g_stop,
                          .vars = o->c.vars};
    atomic_init(&q.next, 0);
    atomic_init(&q.loop_failed, 0);
    size_t jobs = (size_t)o->c.jobs < n ? (size_t)o->c.jobs : n;
    pthread_t *th = calloc(jobs, sizeof *th);
    if (!th) return AR_EXIT_INFRA;
    int64_t t0_wall = ar_wall_us(), t0 = ar_now_us();
    q.progress = ar_progress_new(n, o->c.quiet);
    size_t started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker_main, &q) != 0) break;
    if (started == 0) worker_main(&q); /* no threads at all: do the work here */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    ar_progress_free(q.progress);

    st->run = (ar_run_result){.mode = "run",
                              .sessions = st->results,
                              .n_sessions = n,
                              .rec = st->rec,
                              .start_wall_us = t0_wall,
                              .duration_us = ar_now_us() - t0,
                              .interrupted = atomic_load(g_stop) != 0};
    return AR_EXIT_PASS;
}

/* Every writer runs even if an earlier one failed; returns whether one did. */
static bool write_reports(run_state *st)
{
    char err[1024];
    bool write_failed = false;
    if (ar_report_transcripts(&st->run, st->transcripts, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig run: transcripts: %s\n", err);
        write_failed = true;
    }
    if (ar_report_json(&st->run, st->report, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig run: report: %s\n", err);
        write_failed = true;
    }
    if (ar_report_junit(&st->run, st->junit, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig run: junit: %s\n", err);
        write_failed = true;
    }
    if (!st->o.c.quiet) {
        ar_report_summary(&st->run, stdout, ar_cli_color(st->o.c.no_color));
        printf("reports: %s, %s, %s/\n", st->junit, st->report, st->transcripts);
        fflush(stdout);
    }
    return write_failed;
}

/* Names every session that errored on stderr; an interrupt outranks a
 * configuration error, which outranks the rest. */
static int final_exit_code(const run_state *st, bool write_failed)
{
    const ar_session_result *results = st->results;
    bool config_error = false, infra_error = false, failed = false;
    for (size_t i = 0; i < st->n; i++) {
        if (results[i].outcome == AR_OUT_ERROR) {
            if (results[i].error_code == AR_EINVAL)
                config_error = true;
            else
                infra_error = true;
            const char *e =
                results[i].error ? results[i].error : ar_strerror(results[i].error_code);
            char *masked = ar_report_mask(e, strlen(e), NULL);
            fprintf(stderr, "agentrig run: %s: %s\n", st->picked[i]->name, masked ? masked : "***");
            free(masked);
        } else if (results[i].outcome == AR_OUT_FAIL) {
            failed = true;
        }
    }
    if (st->run.interrupted) return AR_EXIT_INTERRUPTED;
    if (config_error) return AR_EXIT_USAGE;
    if (infra_error || write_failed) return AR_EXIT_INFRA;
    if (failed) return AR_EXIT_FAIL;
    return AR_EXIT_PASS;
}

int ar_run_main(int argc, char **argv)
{
    run_state st = {.o = {.c = {.results_dir = "results", .seed = 1}}};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    st.o.c.jobs = cores > 0 ? cores : 1;
    int first = 0;
    int rc = parse_opts(argc, argv, &st.o, &first);
    if (rc) {
        ar_opts_free(&st.o.c);
        return rc < 0 ? AR_EXIT_PASS : rc;
    }

    g_stop = ar_cli_catch_interrupts(); /* from here on, Ctrl-C writes the reports */

    /* Outputs first: a configuration error is written to the JUnit file. */
    int exit_code = name_outputs(&st);
    if (exit_code) goto out;
    exit_code = pick_scenarios(&st, argc, argv, first);
    if (exit_code) goto out;
    exit_code = start_services(&st);
    if (exit_code) goto out;
    exit_code = run_sessions(&st);
    if (exit_code) goto out;
    bool write_failed = write_reports(&st);
    exit_code = final_exit_code(&st, write_failed);

out:
    if (st.results)
        for (size_t i = 0; i < st.n; i++)
            ar_session_result_clear(&st.results[i]);
    free(st.results);
    ar_refproc_stop(st.ref);
    ar_refproc_stop(st.deps);
    ar_rec_free(st.rec);
    free(st.picked);
    ar_scn_list_free(&st.all);
    free(st.junit);
    free(st.report);
    free(st.transcripts);
    free(st.reflog);
    free(st.refbin);
    ar_opts_free(&st.o.c);
    return exit_code;
}
