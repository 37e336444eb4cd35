/*
 * metrics.c - bench metrics (metrics.h): histograms allocated once per
 * thread, counters, per-agent statistics; exact merging; threshold lookup by
 * name; JSON with the full histograms so runs can be compared and merged.
 */
#include "metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const trend_names[AR_M_EVENT_LATENCY] = {
    "session_duration",  "session_duration_raw", "turn_duration",
    "turn_duration_raw", "time_to_first_event",  "time_to_first_tool",
    "max_event_gap",     "connect_time",         "harness_overhead"};

static const char *const fail_names[AR_FAIL__KINDS] = {"connect", "timeout", "disconnected",
                                                       "error_event", "protocol"};

/* Rates and counters a threshold may name. */
static const char *const rate_names[] = {"session_success", "turn_success"};
static const char *const counter_names[] = {"sessions_started", "sessions_completed",
                                            "sessions_failed",  "turns_completed",
                                            "turns_failed",     "events",
                                            "dropped"};

const char *ar_fail_kind_name(ar_fail_kind k)
{
    return (unsigned)k < AR_FAIL__KINDS ? fail_names[k] : "?";
}

const char *ar_metric_name(ar_metric m)
{
    static char names[AR_EV__COUNT][48];
    static bool made;
    if ((unsigned)m < AR_M_EVENT_LATENCY) return trend_names[m];
    if ((unsigned)m >= AR_M__TRENDS) return "?";
    if (!made) { /* written once, before any thread reads it (main calls this first) */
        for (int k = 0; k < AR_EV__COUNT; k++)
            snprintf(names[k], sizeof names[k], "event_%s", ar_ev_kind_name((ar_ev_kind)k));
        made = true;
    }
    return names[m - AR_M_EVENT_LATENCY];
}

ar_err ar_metrics_init(ar_metrics *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < AR_M__TRENDS; i++)
        if (ar_hist_new(AR_HIST_LOWEST_US, AR_HIST_HIGHEST_US, AR_HIST_SIGFIG, &m->trend[i]))
            return AR_ENOMEM;
    return AR_OK;
}

void ar_metrics_free(ar_metrics *m)
{
    if (!m) return;
    for (int i = 0; i < AR_M__TRENDS; i++)
        ar_hist_free(m->trend[i]);
    for (size_t i = 0; i < m->n_agents; i++)
        ar_hist_free(m->agents[i].duration);
    memset(m, 0, sizeof *m);
}

void ar_metrics_reset(ar_metrics *m)
{
    ar_hist *keep[AR_M__TRENDS];
    for (int i = 0; i < AR_M__TRENDS; i++) {
        keep[i] = m->trend[i];
        ar_hist_reset(keep[i]);
    }
    for (size_t i = 0; i < m->n_agents; i++)
        ar_hist_free(m->agents[i].duration);
    memset(m, 0, sizeof *m);
    for (int i = 0; i < AR_M__TRENDS; i++)
        m->trend[i] = keep[i];
}

ar_agent_stats *ar_metrics_agent(ar_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_agents; i++)
        if (!strcmp(m->agents[i].name, name)) return &m->agents[i];
    if (m->n_agents == AR_METRICS_AGENTS_MAX) return NULL;
    ar_agent_stats *a = &m->agents[m->n_agents];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    if (ar_hist_new(AR_HIST_LOWEST_US, AR_HIST_HIGHEST_US, AR_HIST_SIGFIG, &a->duration))
        return NULL;
    m->n_agents++;
    return a;
}

ar_err ar_metrics_add(ar_metrics *dst, const ar_metrics *src)
{
    for (int i = 0; i < AR_M__TRENDS; i++) {
        ar_err rc = ar_hist_add(dst->trend[i], src->trend[i]);
        if (rc) return rc;
    }
    dst->sessions_started += src->sessions_started;
    dst->sessions_completed += src->sessions_completed;
    dst->sessions_failed += src->sessions_failed;
    for (int k = 0; k < AR_FAIL__KINDS; k++)
        dst->failed_by[k] += src->failed_by[k];
    dst->turns_completed += src->turns_completed;
    dst->turns_failed += src->turns_failed;
    dst->events += src->events;
    for (int k = 0; k < AR_EV__COUNT; k++)
        dst->events_by_kind[k] += src->events_by_kind[k];
    dst->dropped += src->dropped;
    dst->tokens_in += src->tokens_in;
    dst->tokens_out += src->tokens_out;
    dst->cost_usd += src->cost_usd;
    for (size_t i = 0; i < src->n_agents; i++) {
        ar_agent_stats *a = ar_metrics_agent(dst, src->agents[i].name);
        if (!a) continue;
        a->executions += src->agents[i].executions;
        a->ok += src->agents[i].ok;
        a->errors += src->agents[i].errors;
        ar_hist_add(a->duration, src->agents[i].duration);
    }
    return AR_OK;
}

static int find(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

static int trend_index(const char *name)
{
    for (int i = 0; i < AR_M__TRENDS; i++)
        if (!strcmp(ar_metric_name((ar_metric)i), name)) return i;
    return -1;
}

ar_err ar_metrics_check_threshold(const char *name, const ar_threshold *t, char *err,
                                  size_t err_len)
{
    ar_thr_kind kind;
    if (trend_index(name) >= 0)
        kind = AR_THR_KIND_TREND;
    else if (find(rate_names, AR_ARRAY_LEN(rate_names), name) >= 0)
        kind = AR_THR_KIND_RATE;
    else if (find(counter_names, AR_ARRAY_LEN(counter_names), name) >= 0)
        kind = AR_THR_KIND_COUNTER;
    else {
        ar_buf b;
        ar_buf_init(&b, 4096);
        for (int i = 0; i < AR_M__TRENDS; i++)
            ar_buf_printf(&b, "%s%s", i ? ", " : "", ar_metric_name((ar_metric)i));
        for (size_t i = 0; i < AR_ARRAY_LEN(rate_names); i++)
            ar_buf_printf(&b, ", %s", rate_names[i]);
        for (size_t i = 0; i < AR_ARRAY_LEN(counter_names); i++)
            ar_buf_printf(&b, ", %s", counter_names[i]);
        snprintf(err, err_len, "unknown metric '%s' (valid: %s)", name, b.ptr ? b.ptr : "");
        ar_buf_free(&b);
        return AR_EINVAL;
    }
    return ar_thr_check_kind(t, name, kind, err, err_len);
}

double ar_metrics_observe(const ar_metrics *m, const char *name, const ar_threshold *t,
                          int64_t duration_us, ar_thr_kind *kind)
{
    int i = trend_index(name);
    if (i >= 0) {
        *kind = AR_THR_KIND_TREND;
        return ar_thr_observe_trend(t, m->trend[i]);
    }
    if ((i = find(rate_names, AR_ARRAY_LEN(rate_names), name)) >= 0) {
        *kind = AR_THR_KIND_RATE;
        uint64_t ok = i == 0 ? m->sessions_completed : m->turns_completed;
        uint64_t all = i == 0 ? m->sessions_completed + m->sessions_failed
                              : m->turns_completed + m->turns_failed;
        return all ? (double)ok / (double)all : NAN;
    }
    *kind = AR_THR_KIND_COUNTER;
    const uint64_t v[] = {m->sessions_started, m->sessions_completed, m->sessions_failed,
                          m->turns_completed,  m->turns_failed,       m->events,
                          m->dropped};
    i = find(counter_names, AR_ARRAY_LEN(counter_names), name);
    if (i < 0) return NAN;
    if (t->agg == AR_THR_RATE)
        return duration_us > 0 ? (double)v[i] / ((double)duration_us / 1e6) : NAN;
    return (double)v[i];
}

static cJSON *trend_json(const ar_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    uint64_t n = ar_hist_count(h);
    cJSON_AddNumberToObject(o, "count", (double)n);
    if (n) {
        cJSON_AddNumberToObject(o, "avg_us", ar_hist_mean(h));
        cJSON_AddNumberToObject(o, "min_us", (double)ar_hist_min(h));
        static const double ps[] = {50, 90, 95, 99, 99.9};
        static const char *const pn[] = {"p50_us", "p90_us", "p95_us", "p99_us", "p99.9_us"};
        for (size_t i = 0; i < AR_ARRAY_LEN(ps); i++)
            cJSON_AddNumberToObject(o, pn[i], (double)ar_hist_percentile(h, ps[i]));
        cJSON_AddNumberToObject(o, "max_us", (double)ar_hist_max(h));
    }
    cJSON_AddItemToObject(o, "histogram", ar_hist_to_json(h));
    return o;
}

cJSON *ar_metrics_to_json(const ar_metrics *m, int64_t duration_us)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *c = cJSON_AddObjectToObject(root, "counters");
    cJSON_AddNumberToObject(c, "sessions_started", (double)m->sessions_started);
    cJSON_AddNumberToObject(c, "sessions_completed", (double)m->sessions_completed);
    cJSON_AddNumberToObject(c, "sessions_failed", (double)m->sessions_failed);
    cJSON *fb = cJSON_AddObjectToObject(c, "failed_by");
    for (int k = 0; k < AR_FAIL__KINDS; k++)
        cJSON_AddNumberToObject(fb, fail_names[k], (double)m->failed_by[k]);
    cJSON_AddNumberToObject(c, "turns_completed", (double)m->turns_completed);
    cJSON_AddNumberToObject(c, "turns_failed", (double)m->turns_failed);
    cJSON_AddNumberToObject(c, "events", (double)m->events);
    cJSON *ek = cJSON_AddObjectToObject(c, "events_by_kind");
    for (int k = 0; k < AR_EV__COUNT; k++)
        cJSON_AddNumberToObject(ek, ar_ev_kind_name((ar_ev_kind)k), (double)m->events_by_kind[k]);
    cJSON_AddNumberToObject(c, "dropped", (double)m->dropped);
    double secs = (double)duration_us / 1e6;
    cJSON_AddNumberToObject(c, "sessions_per_s",
                            secs > 0 ? (double)m->sessions_completed / secs : 0);
    cJSON_AddNumberToObject(c, "events_per_s", secs > 0 ? (double)m->events / secs : 0);
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "tokens_in", (double)m->tokens_in);
    cJSON_AddNumberToObject(u, "tokens_out", (double)m->tokens_out);
    cJSON_AddNumberToObject(u, "cost_usd", m->cost_usd);
    cJSON *t = cJSON_AddObjectToObject(root, "metrics");
    for (int i = 0; i < AR_M__TRENDS; i++)
        cJSON_AddItemToObject(t, ar_metric_name((ar_metric)i), trend_json(m->trend[i]));
    cJSON *ag = cJSON_AddArrayToObject(root, "agents");
    for (size_t i = 0; i < m->n_agents; i++) {
        const ar_agent_stats *a = &m->agents[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "agent", a->name);
        cJSON_AddNumberToObject(o, "executions", (double)a->executions);
        uint64_t done = a->ok + a->errors;
        cJSON_AddNumberToObject(o, "success_rate", done ? (double)a->ok / (double)done : 0);
        cJSON_AddItemToObject(o, "duration", trend_json(a->duration));
        cJSON_AddItemToArray(ag, o);
    }
    return root;
}
