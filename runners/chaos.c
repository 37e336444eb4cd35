/*
 * chaos.c - `agentrig chaos`: fault-injection sessions and recovery rates.
 *
 * Every fault scenario runs --trials times. Each trial is isolated: its own
 * fault proxy (seeded from --seed, the scenario and the trial index, so the
 * same seed gives the same decisions) and, for the embedded service, its own
 * refagent pointed at that proxy for its tools and model; all of them share
 * one stateless dependency server (`refagent --deps-only`). Isolation is what
 * makes "the first N calls fail" exact per trial and lets every proxy hit be
 * attributed to the trial and turn it belongs to.
 *
 * A trial recovers when its session passes every check (the turn still ends
 * in agent_completed within its deadline, the validators pass) AND the fault
 * was surfaced the way the fault type requires (fault_surfaced checks). A
 * trial whose fault never fired is inconclusive: it counts neither way, so a
 * rule that matches nothing cannot inflate the recovery rate. Recovery rates
 * are reported per fault type with a 95% Wilson interval and gated by
 * thresholds (`recovery: ["rate >= 0.66"]` unless the scenarios say else).
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "profile.h"
#include "proxy.h"
#include "recorder.h"
#include "refproc.h"
#include "scenario.h"
#include "session.h"
#include "stats.h"
#include "template.h"
#include "threshold.h"
#include "chaos_report.h"
#include "report.h"
#include "cli.h"
#include "opts.h"
#include "faultenv.h"
#include "judge.h"
#include "load.h"
#include "progress.h"
#include "runners.h"

#define JOBS_MAX 64
#define TRIALS_MAX 100000
#define DEFAULT_RECOVERY "rate>=0.66"

typedef struct {
    ar_opts c; /* what every mode takes */
    long trials;
} chaos_opts;

enum { OPT_TRIALS = 1000 };

static const ar_cli_opt own_opts[] = {
    {"trials", required_argument, OPT_TRIALS, "N", "trials per fault scenario (default 20)"},
};

static const ar_opts_help chaos_help[] = {
    {"jobs", "trials run concurrently (default: CPU cores)"},
    {"target", "drive this service instead of the scenarios' targets (it must use the\n"
               "scenario's proxy: {listen} address for its dependencies)"},
    {"junit", "JUnit XML (default: DIR/chaos-junit.xml); configuration errors too"},
    {"report", "JSON report (default: DIR/chaos.json)"},
    {"transcripts", "transcripts of the trials that did not recover (default: DIR/chaos-transcripts)"},
    {"refagent-arg", "extra argument for each embedded refagent (repeatable); chaos starts it with\n"
                     "--think-ms=0 --dep-timeout-ms=500 first, so later arguments override those"},
    {"quiet", "no progress on stderr and no table on stdout"},
    {"no-color", "never colour the table (NO_COLOR works too)"},
    {NULL, NULL},
};

static const ar_opts_mode chaos_mode = {
    .name = "chaos",
    .usage = "usage: agentrig chaos [options] PATH...\n"
             "\n"
             "Runs every fault scenario in PATH (scenarios with 'faults:' or a turn with\n"
             "'client_fault:') --trials times and reports the recovery rate per fault type\n"
             "with a 95% Wilson interval and time to recover; thresholds gate the run\n"
             "(default: recovery rate >= 0.66). docs/faults.md has the details.\n"
             "\n",
    .exit_codes = "\nexit codes: 0 every fault type within its thresholds, 1 a threshold failed,\n"
                  "2 usage or configuration error, 3 the service or harness failed, 130 interrupted.\n",
    .own = own_opts,
    .n_own = AR_ARRAY_LEN(own_opts),
    .takes = AR_OPTS_JOBS | AR_OPTS_SEED | AR_OPTS_REPORT | AR_OPTS_DRIVE,
    .jobs_max = JOBS_MAX,
    .help = chaos_help,
};

static int own_opt(int c, const char *arg, void *user)
{
    chaos_opts *o = user;
    if (!ar_cli_parse_long(arg, 1, TRIALS_MAX, &o->trials)) /* OPT_TRIALS */
        return ar_opts_usage(&chaos_mode,
                             "--trials must be a whole number from 1 to 100000 (got '%s')", arg);
    return 0;
}

static int parse_opts(int argc, char **argv, chaos_opts *o, int *first)
{
    int rc = ar_opts_parse(&chaos_mode, argc, argv, &o->c, own_opt, o, first);
    if (rc) return rc;
    if (*first >= argc)
        return ar_opts_usage(&chaos_mode, "%s", "no scenario files or directories given");
    return 0;
}

/* The fault type a scenario is counted under: its first dependency fault,
 * else its first client fault. */
static const char *fault_type(const ar_scenario *s)
{
    if (s->n_faults) return s->faults[0].type;
    for (size_t i = 0; i < s->n_turns; i++)
        if (s->turns[i].client_fault.kind != AR_CF_NONE)
            return ar_cf_kind_name(s->turns[i].client_fault.kind);
    return "none";
}

/* Thresholds chaos knows: the recovery rate and the time to recover. */
static const struct {
    const char *name;
    ar_thr_kind kind;
} chaos_metrics[] = {{"recovery", AR_THR_KIND_RATE}, {"time_to_recover", AR_THR_KIND_TREND}};

static int metric_kind(const char *name, ar_thr_kind *kind)
{
    for (size_t i = 0; i < AR_ARRAY_LEN(chaos_metrics); i++)
        if (strcmp(name, chaos_metrics[i].name) == 0) {
            *kind = chaos_metrics[i].kind;
            return 0;
        }
    return -1;
}

/* Whether s's thresholds are ones chaos knows; if not, err says why. */
static bool check_thresholds(const ar_scenario *s, char *err, size_t err_len)
{
    for (size_t i = 0; i < s->n_thresholds; i++) {
        const ar_scn_threshold *t = &s->thresholds[i];
        ar_thr_kind kind;
        if (metric_kind(t->metric, &kind)) {
            snprintf(err, err_len,
                     "%s:%d:%d: unknown metric '%s' for agentrig chaos (valid: recovery, "
                     "time_to_recover)",
                     t->loc.file, t->loc.line, t->loc.col, t->metric);
            return false;
        }
        for (size_t e = 0; e < t->n_exprs; e++) {
            ar_threshold thr;
            char msg[256];
            if (ar_thr_parse(t->exprs[e], &thr, msg, sizeof msg) != AR_OK ||
                ar_thr_check_kind(&thr, t->metric, kind, msg, sizeof msg) != AR_OK) {
                snprintf(err, err_len, "%s:%d:%d: %s", t->loc.file, t->loc.line, t->loc.col, msg);
                return false;
            }
        }
    }
    return true;
}

typedef struct {
    size_t scenario;
    long trial;
    ar_session_result res;
    bool fired;
    bool recovered;
    bool errored;
    bool started;     /* false: an interrupt (or no event loop) kept it from running */
    bool interrupted; /* cut off by the interrupt: counted neither way */
    int64_t ttr_us;   /* -1: none */
} trial;

typedef struct {
    ar_scenario **scns;
    size_t n_scns;
    const chaos_opts *o;
    const char *deps_url; /* the shared dependency server (embedded service) */
    const char *refbin;
    const char *reflog;
    ar_rec *rec;
    trial *trials;
    size_t n_trials;
    atomic_size_t next;
    atomic_int infra_failed;
    char infra_error[1024];
    pthread_mutex_t mu;
    ar_progress *progress;
} chaos_run;

static const atomic_int *g_stop;

static void infra_fail(chaos_run *cr, const char *msg)
{
    pthread_mutex_lock(&cr->mu);
    if (atomic_fetch_add(&cr->infra_failed, 1) == 0)
        snprintf(cr->infra_error, sizeof cr->infra_error, "%s", msg);
    pthread_mutex_unlock(&cr->mu);
}

static char *failure_reason(const ar_session_result *r);

/* The trial's line for the live progress. A trial cut off by an interrupt
 * says so rather than "did not recover". */
static void report_trial(chaos_run *cr, const trial *tr)
{
    const ar_scenario *scn = cr->scns[tr->scenario];
    char dur[32];
    ar_fmt_duration(tr->res.duration_us, dur, sizeof dur);
    const char *verdict = tr->recovered ? "RECOVERED    "
                          : tr->interrupted   ? "INTERRUPTED  "
                          : tr->errored       ? "ERROR        "
                          : !tr->fired        ? "INCONCLUSIVE "
                                              : "NOT RECOVERED";
    char *why = tr->recovered ? NULL
                : !tr->fired && !tr->errored ? ar_strdup("the fault never fired")
                                             : failure_reason(&tr->res);
    ar_progress_done(cr->progress,
                     !tr->recovered && (tr->fired || tr->errored) && !tr->interrupted,
                     "%s %s %s #%ld (%s)%s%s", verdict, fault_type(scn), scn->name, tr->trial + 1,
                     dur, why ? ": " : "", why ? why : "");
    free(why);
}

/* Whether the interrupt ended this session early: a turn it kept from being
 * driven, a turn it stopped ("completed: interrupted"), or an error while it
 * was stopping. A trial that ended on its own before the signal is judged
 * like any other. */
static bool cut_off(const ar_session_result *r)
{
    if (!atomic_load(g_stop)) return false;
    if (r->outcome == AR_OUT_ERROR) return true;
    for (size_t k = 0; k < r->n_turns; k++) {
        if (!r->turns[k].ran) return true;
        for (size_t c = 0; c < r->turns[k].checks.n; c++) {
            const char *m = r->turns[k].checks.items[c].message;
            if (m && strncmp(m, "completed: interrupted", 22) == 0) return true;
        }
    }
    return false;
}

static void run_trial(chaos_run *cr, ar_loop *loop, trial *tr)
{
    const ar_scenario *scn = cr->scns[tr->scenario];
    const chaos_opts *o = cr->o;
    ar_fenv_cfg fc = {.rec = cr->rec,
                      .deps_url = cr->deps_url,
                      .refbin = cr->refbin,
                      .reflog = cr->reflog,
                      .refagent_args = o->c.refagent_args,
                      .n_refagent_args = o->c.n_refagent_args,
                      .target_override = o->c.target,
                      .vars = o->c.vars};
    ar_fenv *env = NULL;
    char err[700];
    tr->ttr_us = -1;
    tr->started = true;
    if (ar_fenv_start(&fc, scn, ar_fenv_seed((unsigned long long)o->c.seed, tr->scenario, tr->trial), &env, err,
                      sizeof err) != AR_OK) {
        infra_fail(cr, err);
        ar_progress_done(cr->progress, true, "ERROR %s #%ld: %s", scn->name, tr->trial + 1, err);
        return;
    }
    ar_sess_cfg sc = {
        .rec = cr->rec, .target_override = o->c.target, .stop = g_stop, .vars = o->c.vars};
    ar_fenv_session(env, &sc);
    ar_sess_run(loop, &sc, scn, (uint32_t)(tr->scenario * TRIALS_MAX + (size_t)tr->trial),
                &tr->res);
    ar_judge_session(sc.rec, &tr->res);
    ar_fenv_finish(env, scn, &tr->res, &tr->fired, &tr->ttr_us);
    ar_fenv_free(env);
    tr->errored = tr->res.outcome == AR_OUT_ERROR;
    tr->recovered = tr->fired && tr->res.outcome == AR_OUT_PASS;
    tr->interrupted = !tr->recovered && cut_off(&tr->res);
    report_trial(cr, tr);
}

static void *worker(void *arg)
{
    chaos_run *cr = arg;
    char err[256];
    ar_loop *loop = ar_loop_new(false, err, sizeof err);
    if (!loop) {
        infra_fail(cr, err);
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&cr->next, 1);
        if (i >= cr->n_trials || atomic_load(g_stop)) break;
        trial *tr = &cr->trials[i];
        /* Trials with a fixed proxy port cannot overlap; they run on worker 0. */
        run_trial(cr, loop, tr);
    }
    ar_loop_free(loop);
    return NULL;
}

/* Why a trial did not recover, in one line: the first failed check. */
static char *failure_reason(const ar_session_result *r)
{
    if (r->outcome == AR_OUT_ERROR) return ar_asprintf("error: %s", r->error ? r->error : "?");
    for (size_t k = 0; k < r->n_turns; k++)
        for (size_t c = 0; c < r->turns[k].checks.n; c++)
            if (!r->turns[k].checks.items[c].passed)
                return ar_asprintf("turn %u: %s", r->turns[k].index,
                                   r->turns[k].checks.items[c].message);
    return ar_strdup("interrupted");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Writes the transcripts of the trials that did not recover (or were
 * inconclusive); each such trial gets its transcript's path back. */
static void write_transcripts(chaos_run *cr, const char *tdir, bool *write_failed)
{
    ar_run_result failed = {.mode = "chaos", .rec = cr->rec};
    failed.sessions = calloc(cr->n_trials ? cr->n_trials : 1, sizeof *failed.sessions);
    size_t *owner = calloc(cr->n_trials ? cr->n_trials : 1, sizeof *owner);
    for (size_t i = 0; i < cr->n_trials; i++) {
        if (cr->trials[i].recovered || !cr->trials[i].res.scn) continue;
        owner[failed.n_sessions] = i;
        failed.sessions[failed.n_sessions++] = cr->trials[i].res; /* shallow: paths come back */
    }
    char err[512];
    if (failed.n_sessions && ar_report_transcripts(&failed, tdir, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig chaos: transcripts: %s\n", err);
        *write_failed = true;
    }
    for (size_t k = 0; k < failed.n_sessions; k++) {
        cr->trials[owner[k]].res.transcript_path = failed.sessions[k].transcript_path;
    }
    free(owner);
    free(failed.sessions);
}

/* Counts the trials of fault type label into t; the times to recover go to
 * ttr (and h, when there is one). */
static void tally_type(chaos_run *cr, const char *label, ar_chaos_type *t, int64_t *ttr,
                       size_t *n_ttr, ar_hist *h)
{
    size_t n_sc = cr->n_scns;
    for (size_t s = 0; s < n_sc; s++)
        if (!strcmp(fault_type(cr->scns[s]), label))
            t->scenarios[t->n_scenarios++] = strdup(cr->scns[s]->name);
    for (size_t i = 0; i < cr->n_trials; i++) {
        trial *tr = &cr->trials[i];
        if (strcmp(fault_type(cr->scns[tr->scenario]), label)) continue;
        if (!tr->started) t->not_run++;
        if (!tr->res.scn) continue;
        if (tr->interrupted) {
            /* Listed, not counted: a cut-off trial is no failed recovery. */
            t->interrupted++;
            char **p = realloc(t->interrupted_trials, (t->n_interrupted_trials + 1) * sizeof *p);
            if (!p) continue;
            t->interrupted_trials = p;
            p[t->n_interrupted_trials] =
                ar_asprintf("%s #%ld", cr->scns[tr->scenario]->name, tr->trial + 1);
            if (p[t->n_interrupted_trials]) t->n_interrupted_trials++;
            continue;
        }
        t->trials++;
        if (tr->errored) t->errors++;
        if (!tr->fired)
            t->inconclusive++;
        else if (tr->recovered) {
            t->recovered++;
            if (tr->ttr_us >= 0) {
                ttr[(*n_ttr)++] = tr->ttr_us;
                if (h) ar_hist_record(h, tr->ttr_us > 0 ? tr->ttr_us : 1);
            }
        }
        if (tr->fired && !tr->recovered && tr->res.transcript_path) {
            size_t m = t->n_failed_transcripts;
            char **p = realloc(t->failed_transcripts, (m + 1) * sizeof *p);
            if (p) t->failed_transcripts = p;
            char **q = realloc(t->failed_reasons, (m + 1) * sizeof *q);
            if (q) t->failed_reasons = q;
            if (p && q) {
                p[m] = strdup(tr->res.transcript_path);
                q[m] = failure_reason(&tr->res);
                t->n_failed_transcripts++;
            }
        }
    }
}

/* Thresholds: every scenario of this type's, or the default. */
static void judge_type(chaos_run *cr, const char *label, ar_chaos_type *t, size_t conclusive,
                       ar_hist *h)
{
    size_t n_sc = cr->n_scns;
    t->passed = conclusive > 0;
    size_t cap = 1;
    for (size_t s = 0; s < n_sc; s++)
        if (!strcmp(fault_type(cr->scns[s]), label))
            for (size_t m = 0; m < cr->scns[s]->n_thresholds; m++)
                cap += cr->scns[s]->thresholds[m].n_exprs;
    t->verdicts = calloc(cap, sizeof *t->verdicts);
    bool has_recovery = false;
    for (size_t s = 0; s <= n_sc; s++) {
        const ar_scn_threshold *list = NULL;
        size_t nl = 0;
        ar_scn_threshold dflt = {.metric = (char *)"recovery"};
        char *dexpr = (char *)DEFAULT_RECOVERY;
        if (s < n_sc) {
            if (strcmp(fault_type(cr->scns[s]), label)) continue;
            list = cr->scns[s]->thresholds;
            nl = cr->scns[s]->n_thresholds;
        } else if (!has_recovery) {
            dflt.exprs = &dexpr;
            dflt.n_exprs = 1;
            list = &dflt;
            nl = 1;
        }
        for (size_t m = 0; m < nl; m++) {
            ar_thr_kind kind = AR_THR_KIND_RATE;
            metric_kind(list[m].metric, &kind);
            if (!strcmp(list[m].metric, "recovery")) has_recovery = true;
            for (size_t e = 0; e < list[m].n_exprs; e++) {
                ar_threshold thr;
                char msg[256];
                if (ar_thr_parse(list[m].exprs[e], &thr, msg, sizeof msg) != AR_OK) continue;
                double observed =
                    kind == AR_THR_KIND_RATE ? t->rate : (h ? ar_thr_observe_trend(&thr, h) : NAN);
                bool ok = conclusive > 0 && ar_thr_eval(&thr, observed);
                char verdict[256];
                ar_thr_format_verdict(&thr, kind, observed, verdict, sizeof verdict);
                ar_chaos_verdict *v = &t->verdicts[t->n_verdicts++];
                v->source = strdup(thr.source);
                v->metric = strdup(list[m].metric);
                v->verdict = strdup(verdict);
                v->passed = ok;
                t->passed = t->passed && ok;
            }
        }
    }
}

/* Aggregates trials per fault type, evaluates thresholds, writes the
 * transcripts of trials that did not recover. Returns false if any type is
 * below a threshold. */
static bool aggregate(chaos_run *cr, ar_chaos_result *out, const char *tdir, bool *write_failed)
{
    size_t n_sc = cr->n_scns;
    const char **labels = calloc(n_sc, sizeof *labels);
    size_t n_labels = 0;
    for (size_t s = 0; s < n_sc; s++) {
        const char *l = fault_type(cr->scns[s]);
        bool seen = false;
        for (size_t k = 0; k < n_labels; k++)
            seen = seen || !strcmp(labels[k], l);
        if (!seen) labels[n_labels++] = l;
    }
    out->types = calloc(n_labels ? n_labels : 1, sizeof *out->types);
    out->n_types = n_labels;
    bool all = true;

    write_transcripts(cr, tdir, write_failed);

    for (size_t k = 0; k < n_labels; k++) {
        ar_chaos_type *t = &out->types[k];
        t->type = strdup(labels[k]);
        t->scenarios = calloc(n_sc, sizeof *t->scenarios);
        int64_t *ttr = calloc(cr->n_trials ? cr->n_trials : 1, sizeof *ttr);
        size_t n_ttr = 0;
        ar_hist *h = NULL;
        ar_hist_new(1, 3600LL * 1000000, 3, &h);
        tally_type(cr, labels[k], t, ttr, &n_ttr, h);
        size_t conclusive = t->trials - t->inconclusive;
        t->rate = conclusive ? (double)t->recovered / (double)conclusive : NAN;
        ar_stats_wilson(t->recovered, conclusive, 1.96, &t->ci_lo, &t->ci_hi);
        if (!conclusive) t->ci_lo = t->ci_hi = NAN;
        qsort(ttr, n_ttr, sizeof *ttr, cmp_i64);
        t->ttr_p50_us = n_ttr ? ar_stats_percentile_sorted(ttr, n_ttr, 50) : -1;
        t->ttr_p95_us = n_ttr ? ar_stats_percentile_sorted(ttr, n_ttr, 95) : -1;
        judge_type(cr, labels[k], t, conclusive, h);
        all = all && t->passed;
        ar_hist_free(h);
        free(ttr);
    }
    free(labels);
    return all;
}

/* Keeps the fault scenarios of all in cr->scns; *need_ref when one of them
 * needs the embedded service. */
static int pick_scenarios(chaos_run *cr, const ar_scn_list *all, const char *junit,
                          bool *need_ref)
{
    const chaos_opts *o = cr->o;
    cr->scns = calloc(all->n ? all->n : 1, sizeof *cr->scns);
    for (size_t i = 0; i < all->n; i++) {
        if (!ar_scn_has_faults(all->items[i]) || !ar_opts_pick(&o->c, all->items[i])) continue;
        char msg[1024];
        if (!check_thresholds(all->items[i], msg, sizeof msg)) {
            /* A configuration error: said on stderr and in the JUnit file. */
            fprintf(stderr, "%s\n", msg);
            ar_scn_file f = {.path = all->items[i]->file, .error = msg};
            if (ar_load_junit("chaos", &f, 1, true, junit, msg, sizeof msg) != AR_OK)
                fprintf(stderr, "agentrig chaos: junit: %s\n", msg);
            return AR_EXIT_USAGE;
        }
        cr->scns[cr->n_scns++] = all->items[i];
        if (!o->c.target && !all->items[i]->target_tpl) *need_ref = true;
    }
    for (size_t i = 0; i < cr->n_scns; i++) /* masked as *** in every report */
        for (size_t k = 0; cr->scns[i]->profile && k < cr->scns[i]->profile->n_secrets; k++)
            ar_report_add_secret(getenv(cr->scns[i]->profile->secrets[k]));
    if (cr->n_scns == 0 && (o->c.n_tags || o->c.grep)) {
        fprintf(stderr, "agentrig chaos: no fault scenario matches the given %s\n",
                ar_opts_filter_name(&o->c));
        return AR_EXIT_USAGE;
    }
    if (cr->n_scns == 0) {
        fprintf(stderr, "agentrig chaos: no fault scenarios in the given paths (a fault scenario "
                        "has 'faults:' or a turn with 'client_fault:')\n");
        return AR_EXIT_USAGE;
    }
    return AR_EXIT_PASS;
}

/* The embedded service's shared dependency server; each trial's refagent
 * is started later, behind the trial's own proxy. */
static int start_deps(chaos_run *cr, const char *reflog, char **refbin, ar_refproc **deps)
{
    char err[1024];
    if (!(*refbin = ar_cli_refagent("chaos", cr->o->c.refagent))) return AR_EXIT_INFRA;
    ar_mkdirs_for(reflog);
    const char *dargs[] = {"--deps-only"};
    if (ar_refproc_start(*refbin, dargs, 1, reflog, "deps ", deps, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig chaos: could not start the dependency server: %s\n", err);
        return AR_EXIT_INFRA;
    }
    cr->deps_url = ar_refproc_url(*deps);
    cr->refbin = *refbin;
    cr->reflog = reflog;
    return AR_EXIT_PASS;
}

/* Runs every trial on --jobs threads; fills in result's facts about the run. */
static int run_trials(chaos_run *cr, ar_chaos_result *result)
{
    const chaos_opts *o = cr->o;
    cr->rec = ar_rec_new(0);
    cr->n_trials = cr->n_scns * (size_t)o->trials;
    cr->trials = calloc(cr->n_trials, sizeof *cr->trials);
    if (!cr->rec || !cr->trials) return AR_EXIT_INFRA;
    /* Trial order: round robin over scenarios, so -j mixes fault types. */
    for (size_t i = 0; i < cr->n_trials; i++) {
        cr->trials[i].scenario = i % cr->n_scns;
        cr->trials[i].trial = (long)(i / cr->n_scns);
    }
    bool fixed_port = false;
    for (size_t s = 0; s < cr->n_scns; s++)
        fixed_port = fixed_port || cr->scns[s]->proxy_listen;
    size_t jobs = fixed_port ? 1 : (size_t)o->c.jobs;
    if (jobs > cr->n_trials) jobs = cr->n_trials;
    atomic_init(&cr->next, 0);
    atomic_init(&cr->infra_failed, 0);
    if (!o->c.quiet)
        fprintf(stderr, "agentrig chaos: %zu fault scenarios x %ld trials, seed %llu, %zu jobs\n",
                cr->n_scns, o->trials, (unsigned long long)o->c.seed, jobs);
    int64_t t0_wall = ar_wall_us(), t0 = ar_now_us();
    cr->progress = ar_progress_new(cr->n_trials, o->c.quiet);
    pthread_t th[JOBS_MAX];
    size_t started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker, cr) != 0) break;
    if (started == 0) worker(cr);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    ar_progress_free(cr->progress);
    cr->progress = NULL;

    result->seed = (unsigned long long)o->c.seed;
    result->trials = o->trials;
    result->start_wall_us = t0_wall;
    result->duration_us = ar_now_us() - t0;
    result->interrupted = atomic_load(g_stop) != 0;
    return AR_EXIT_PASS;
}

/* Every writer runs even if an earlier one failed; returns the exit code. */
static int write_reports(chaos_run *cr, ar_chaos_result *result, const char *report,
                         const char *junit, const char *tdir)
{
    const chaos_opts *o = cr->o;
    char err[1024];
    bool write_failed = false;
    bool passed = aggregate(cr, result, tdir, &write_failed);
    if (ar_report_chaos_json(result, report, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig chaos: report: %s\n", err);
        write_failed = true;
    }
    if (ar_report_chaos_junit(result, junit, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig chaos: junit: %s\n", err);
        write_failed = true;
    }
    if (!o->c.quiet) {
        ar_report_chaos_summary(result, stdout, ar_cli_color(o->c.no_color));
        printf("reports: %s, %s, %s/\n", junit, report, tdir);
        fflush(stdout);
    }
    if (atomic_load(&cr->infra_failed)) fprintf(stderr, "agentrig chaos: %s\n", cr->infra_error);
    if (result->interrupted) return AR_EXIT_INTERRUPTED;
    if (atomic_load(&cr->infra_failed) || write_failed) return AR_EXIT_INFRA;
    if (!passed) return AR_EXIT_FAIL;
    return AR_EXIT_PASS;
}

/* Each run owns its output: the files an earlier chaos run wrote into the
 * results directory go, so none is uploaded beside this run's. A path the
 * user named is theirs and is only ever overwritten. */
static void clean_outputs(const ar_opts *c, const char *junit, const char *report,
                          const char *tdir, const char *reflog)
{
    if (!c->junit) ar_report_clean_file(junit);
    if (!c->report) ar_report_clean_file(report);
    if (!c->transcripts) ar_report_clean_transcripts(tdir);
    ar_report_clean_file(reflog);
}

int ar_chaos_main(int argc, char **argv)
{
    g_stop = ar_cli_catch_interrupts(); /* from here on, Ctrl-C writes the reports */

    chaos_opts o = {.c = {.results_dir = "results", .seed = 1}, .trials = 20};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o.c.jobs = cores > 0 ? cores : 1;
    int first = 0;
    int rc = parse_opts(argc, argv, &o, &first);
    if (rc) {
        ar_opts_free(&o.c);
        return rc < 0 ? AR_EXIT_PASS : rc;
    }
    int exit_code = AR_EXIT_PASS;
    ar_scn_list all = {0};
    chaos_run cr = {.o = &o};
    pthread_mutex_init(&cr.mu, NULL);
    ar_refproc *deps = NULL;
    ar_chaos_result result = {0};
    char *junit = NULL, *report = NULL, *tdir = NULL, *reflog = NULL, *refbin = NULL;

    /* Every path first: a configuration error is written to the JUnit file,
     * and what an earlier chaos run left is removed before anything is. */
    junit = o.c.junit ? ar_strdup(o.c.junit) : ar_cli_path_in(o.c.results_dir, "chaos-junit.xml");
    report = o.c.report ? ar_strdup(o.c.report) : ar_cli_path_in(o.c.results_dir, "chaos.json");
    tdir = o.c.transcripts ? ar_strdup(o.c.transcripts)
                           : ar_cli_path_in(o.c.results_dir, "chaos-transcripts");
    reflog = ar_cli_path_in(o.c.results_dir, "refagent.log");
    if (!report || !tdir || !reflog) {
        exit_code = AR_EXIT_INFRA;
        goto out;
    }
    clean_outputs(&o.c, junit, report, tdir, reflog);
    exit_code = junit ? ar_load_scenarios("chaos", (const char *const *)argv + first,
                                          (size_t)(argc - first), junit, &all)
                      : AR_EXIT_INFRA;
    if (exit_code) goto out;
    bool need_ref = false;
    exit_code = pick_scenarios(&cr, &all, junit, &need_ref);
    if (exit_code) goto out;
    if (need_ref) {
        exit_code = start_deps(&cr, reflog, &refbin, &deps);
        if (exit_code) goto out;
    }
    exit_code = run_trials(&cr, &result);
    if (exit_code) goto out;
    exit_code = write_reports(&cr, &result, report, junit, tdir);

out:
    if (cr.trials)
        for (size_t i = 0; i < cr.n_trials; i++)
            ar_session_result_clear(&cr.trials[i].res);
    free(cr.trials);
    ar_chaos_result_clear(&result);
    ar_refproc_stop(deps);
    ar_rec_free(cr.rec);
    free(cr.scns);
    ar_scn_list_free(&all);
    pthread_mutex_destroy(&cr.mu);
    free(junit);
    free(report);
    free(tdir);
    free(reflog);
    free(refbin);
    ar_opts_free(&o.c);
    return exit_code;
}
