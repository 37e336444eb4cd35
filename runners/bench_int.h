/*
 * bench_int.h - what the files of `agentrig bench` share, and nothing outside
 * them may use: bench.c sets the workers up and watches them, bench_worker.c
 * runs them (the hot path), bench_report.c writes what they measured. The
 * types live here because all three reach into the same worker structs.
 */
#ifndef AR_BENCH_INT_H
#define AR_BENCH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "arrival.h"
#include "metrics.h"
#include "profile.h"
#include "scenario.h"
#include "transport.h"

#define RUNS_PER_VU 8

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
    const struct ar_vars *vars; /* --var, --env-file (borrowed; NULL: none) */
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

/* A worker thread's body, for pthread_create; arg is its worker. */
void *ar_bench_worker_main(void *arg);

/* What the reports need of a finished run. */
typedef struct {
    const ar_scenario *scn;
    const char *url;
    bool open_model;
    bool interrupted;
    bool quiet;
    int64_t t0_wall_us;
    int64_t dur_us;
    const ar_metrics *total; /* the exact merge of the workers' metrics */
    const bench_thr *thr;
    size_t n_thr;
    const char *abort_reason; /* "" unless an abortOnFail threshold stopped the run */
    const char *json;
    const char *junit;
} bench_report;

/*
 * Evaluates the thresholds on r->total, writes the JSON report and the JUnit
 * file, and prints the summary unless r->quiet. Sets *thr_failed when a
 * threshold failed; returns false when the JSON report could not be written.
 */
bool ar_bench_report(const bench_report *r, bool *thr_failed);

#endif
