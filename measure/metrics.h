/*
 * metrics.h - what `agentrig bench` measures (docs/metrics.md). One set per
 * worker thread, written only by that thread, merged exactly after join (or
 * into a snapshot for progress): no locks on the hot path, no samples kept.
 */
#ifndef AR_METRICS_H
#define AR_METRICS_H

#include "event.h"
#include "hist.h"
#include "threshold.h"

struct cJSON;

typedef enum {
    AR_M_SESSION_DURATION =
        0, /* intended start -> last turn's terminal (open model: CO-corrected) */
    AR_M_SESSION_DURATION_RAW, /* actual start -> last turn's terminal */
    AR_M_TURN_DURATION,        /* send -> terminal, plus the session's start lag (open model) */
    AR_M_TURN_DURATION_RAW,    /* send -> terminal */
    AR_M_TIME_TO_FIRST_EVENT,
    AR_M_TIME_TO_FIRST_TOOL,
    AR_M_MAX_EVENT_GAP, /* the longest silence between two events of a turn */
    AR_M_CONNECT_TIME,
    AR_M_HARNESS_OVERHEAD, /* turn_duration_raw - the turn duration the service stamped */
    AR_M_EVENT_LATENCY,    /* + kind: latency of each event kind from turn start */
    AR_M__TRENDS = AR_M_EVENT_LATENCY + AR_EV__COUNT
} ar_metric;

typedef enum {
    AR_FAIL_CONNECT = 0,  /* could not connect */
    AR_FAIL_TIMEOUT,      /* a turn passed its deadline */
    AR_FAIL_DISCONNECTED, /* the connection closed mid-session */
    AR_FAIL_ERROR_EVENT,  /* a turn ended with an error event */
    AR_FAIL_PROTOCOL,     /* an undecodable frame */
    AR_FAIL__KINDS
} ar_fail_kind;
const char *ar_fail_kind_name(ar_fail_kind k); /* "connect", "timeout", ... */

#define AR_METRICS_AGENTS_MAX 32

typedef struct {
    char name[48];
    uint64_t executions; /* agent_started */
    uint64_t ok;         /* agent_completed with status ok (or none) */
    uint64_t errors;     /* agent_completed with status error */
    ar_hist *duration;   /* agent_started -> agent_completed, per run id */
} ar_agent_stats;

typedef struct {
    ar_hist *trend[AR_M__TRENDS];
    uint64_t sessions_started;
    uint64_t sessions_completed; /* every turn ended in a non-error terminal event in time */
    uint64_t sessions_failed;
    uint64_t failed_by[AR_FAIL__KINDS];
    uint64_t turns_completed;
    uint64_t turns_failed;
    uint64_t events;
    uint64_t events_by_kind[AR_EV__COUNT];
    uint64_t dropped; /* open model: arrivals with no free VU (--max-vus) */
    int64_t tokens_in, tokens_out;
    double cost_usd;
    ar_agent_stats agents[AR_METRICS_AGENTS_MAX];
    size_t n_agents;
} ar_metrics;

/* Allocates every histogram once (fixed memory). Returns AR_ENOMEM on failure. */
ar_err ar_metrics_init(ar_metrics *m);
void ar_metrics_free(ar_metrics *m); /* NULL-safe */
void ar_metrics_reset(ar_metrics *m);
/* dst += src, exactly (histograms bucket by bucket, counters summed). */
ar_err ar_metrics_add(ar_metrics *dst, const ar_metrics *src);
/* The agent's row (created on first use); NULL when the table is full. */
ar_agent_stats *ar_metrics_agent(ar_metrics *m, const char *name);

/* Metric names for thresholds and reports. */
const char *ar_metric_name(ar_metric m); /* "turn_duration", "event_tool_completed", ... */

/*
 * The value a threshold on `name` observes: a trend's aggregation, a rate
 * (session_success, turn_success), or a counter (sessions_started,
 * sessions_completed, sessions_failed, turns_failed, events, dropped; `rate`
 * on a counter is per second of duration_us). Returns AR_EINVAL with
 * "unknown metric 'x' (valid: ...)" for a name it does not know, and checks
 * the aggregation fits the metric's kind.
 */
ar_err ar_metrics_check_threshold(const char *name, const ar_threshold *t, char *err,
                                  size_t err_len);
double ar_metrics_observe(const ar_metrics *m, const char *name, const ar_threshold *t,
                          int64_t duration_us, ar_thr_kind *kind);

/* The whole set as JSON (summary figures and the full histograms). */
struct cJSON *ar_metrics_to_json(const ar_metrics *m, int64_t duration_us);

#endif
