/*
 * bench_report.c - what `agentrig bench` writes once the workers are done:
 * threshold verdicts, the JSON report with full histograms, JUnit with one
 * testcase per threshold, and the summary table. Apart from bench.c because
 * none of it is needed to understand how the load is generated.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "report.h"
#include "text.h"
#include "bench_int.h"

/* Room for the verdicts; bench.c keeps at most this many thresholds. */
#define VERDICTS_MAX 64
#define VERDICT_LEN 300

/* The JSON report; fills verdicts[] and passed[] for the other writers. */
static bool write_json(const bench_report *r, const char *ts, char verdicts[][VERDICT_LEN],
                       bool *passed, bool *thr_failed)
{
    bool ok_written = true;
    cJSON *root = ar_metrics_to_json(r->total, r->dur_us);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "mode", "bench");
    cJSON_AddStringToObject(root, "scenario", r->scn->name);
    cJSON_AddStringToObject(root, "target", r->url);
    cJSON_AddStringToObject(root, "model", r->open_model ? "open" : "closed");
    cJSON_AddStringToObject(root, "started_at", ts);
    cJSON_AddNumberToObject(root, "duration_s", (double)r->dur_us / 1e6);
    cJSON_AddBoolToObject(root, "interrupted", r->interrupted);
    cJSON_AddBoolToObject(root, "aborted", r->abort_reason[0] != 0);
    if (r->abort_reason[0]) cJSON_AddStringToObject(root, "abort_reason", r->abort_reason);
    cJSON *tv = cJSON_AddArrayToObject(root, "thresholds");
    for (size_t i = 0; i < r->n_thr; i++) {
        const bench_thr *t = &r->thr[i];
        ar_thr_kind kind;
        double obs = ar_metrics_observe(r->total, t->metric, &t->thr, r->dur_us, &kind);
        bool ok = ar_thr_eval(&t->thr, obs);
        passed[i] = ok;
        *thr_failed = *thr_failed || !ok;
        char v[256];
        ar_thr_format_verdict(&t->thr, kind, obs, v, sizeof v);
        snprintf(verdicts[i], VERDICT_LEN, "%s %s", t->metric, v);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "metric", t->metric);
        cJSON_AddStringToObject(x, "threshold", t->thr.source);
        cJSON_AddStringToObject(x, "verdict", v);
        cJSON_AddBoolToObject(x, "passed", ok);
        cJSON_AddItemToArray(tv, x);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    /* Through the report writer: atomic for a file, in place for a FIFO or
     * device, "-" for stdout; and secrets masked like every other report. */
    ar_fsutil_file af;
    char err[1024] = "out of memory";
    if (!text || ar_fsutil_open(&af, r->json, err, sizeof err) != AR_OK) {
        ok_written = false;
    } else {
        fputs(text, af.f);
        fputc('\n', af.f);
        ok_written = ar_fsutil_commit(&af, err, sizeof err) == AR_OK;
    }
    if (!ok_written) fprintf(stderr, "agentrig bench: report: %s\n", err);
    free(text);
    return ok_written;
}

/* 1-based position of threshold i among those with its name; 0 if alone.
 * GitLab keeps one testcase per name, so a threshold given twice needs two. */
static size_t threshold_ordinal(const bench_report *r, size_t i)
{
    size_t same = 0, ord = 0;
    for (size_t j = 0; j < r->n_thr; j++) {
        if (strcmp(r->thr[j].metric, r->thr[i].metric) != 0 ||
            strcmp(r->thr[j].thr.source, r->thr[i].thr.source) != 0)
            continue;
        same++;
        if (j <= i) ord++;
    }
    return same > 1 ? ord : 0;
}

static bool write_junit(const bench_report *r, const char *ts, char verdicts[][VERDICT_LEN],
                        const bool *passed)
{
    ar_fsutil_file af;
    char err[1024];
    if (ar_fsutil_open(&af, r->junit, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig bench: junit: %s\n", err);
        return false;
    }
    FILE *jf = af.f;
    size_t n_thr = r->n_thr, nf = 0;
    for (size_t i = 0; i < n_thr; i++)
        nf += !passed[i];
    /* An interrupted run says so where CI looks: a property on the suite and
     * a skipped testcase, since the figures cover only part of the run. */
    size_t n_tests = n_thr + (r->interrupted ? 1 : 0);
    fprintf(jf,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"agentrig bench\" "
            "tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n  <testsuite name=\"bench\" "
            "tests=\"%zu\" "
            "failures=\"%zu\" errors=\"0\" skipped=\"%d\" time=\"%.3f\" timestamp=\"%s\"",
            n_tests, nf, n_tests, nf, r->interrupted ? 1 : 0, (double)r->dur_us / 1e6, ts);
    if (r->scn->file) {
        fputs(" file=\"", jf);
        ar_text_xml_put(jf, r->scn->file, 1024, true);
        fputc('"', jf);
    }
    fputs(">\n", jf);
    if (r->interrupted)
        fputs("    <properties>\n      <property name=\"interrupted\" value=\"true\"/>\n"
              "    </properties>\n    <testcase classname=\"bench\" name=\"run interrupted\" "
              "time=\"0\">\n      <skipped message=\"not run: interrupted; the figures cover "
              "the run up to the interrupt\"/>\n    </testcase>\n",
              jf);
    for (size_t i = 0; i < n_thr; i++) {
        bool ok = passed[i];
        size_t ord = threshold_ordinal(r, i);
        fputs("    <testcase classname=\"bench\" name=\"", jf);
        ar_text_xml_put(jf, r->thr[i].metric, 256, true);
        fputs(": ", jf);
        ar_text_xml_put(jf, r->thr[i].thr.source, 256, true);
        if (ord) fprintf(jf, " [%zu]", ord);
        fprintf(jf, "\" time=\"0\"%s\n", ok ? "/>" : ">");
        if (!ok) {
            fputs("      <failure type=\"threshold\" message=\"", jf);
            ar_text_xml_put(jf, verdicts[i], 1024, true);
            fputs("\"/>\n    </testcase>\n", jf);
        }
    }
    fputs("  </testsuite>\n</testsuites>\n", jf);
    if (ar_fsutil_commit(&af, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig bench: junit: %s\n", err);
        return false;
    }
    return true;
}

static void print_summary(const bench_report *r, char verdicts[][VERDICT_LEN])
{
    const ar_metrics *total = r->total;
    int64_t dur = r->dur_us;
    printf("%-22s %10s %10s %10s %10s %10s %10s\n", "metric", "avg", "p50", "p90", "p95", "p99",
           "max");
    static const ar_metric shown[] = {AR_M_SESSION_DURATION,   AR_M_TURN_DURATION,
                                      AR_M_TURN_DURATION_RAW,  AR_M_TIME_TO_FIRST_EVENT,
                                      AR_M_TIME_TO_FIRST_TOOL, AR_M_MAX_EVENT_GAP,
                                      AR_M_CONNECT_TIME,       AR_M_HARNESS_OVERHEAD};
    for (size_t i = 0; i < AR_ARRAY_LEN(shown); i++) {
        const ar_hist *h = total->trend[shown[i]];
        if (!ar_hist_count(h)) continue;
        char c[6][32];
        ar_fmt_duration((int64_t)ar_hist_mean(h), c[0], 32);
        const double ps[] = {50, 90, 95, 99};
        for (int k = 0; k < 4; k++)
            ar_fmt_duration(ar_hist_percentile(h, ps[k]), c[k + 1], 32);
        ar_fmt_duration(ar_hist_max(h), c[5], 32);
        printf("%-22s %10s %10s %10s %10s %10s %10s\n", ar_metric_name(shown[i]), c[0], c[1], c[2],
               c[3], c[4], c[5]);
    }
    printf("sessions: %llu started, %llu completed, %llu failed",
           (unsigned long long)total->sessions_started,
           (unsigned long long)total->sessions_completed,
           (unsigned long long)total->sessions_failed);
    for (int k = 0; k < AR_FAIL__KINDS; k++)
        if (total->failed_by[k])
            printf(" (%s %llu)", ar_fail_kind_name((ar_fail_kind)k),
                   (unsigned long long)total->failed_by[k]);
    printf("; %llu dropped; %llu events (%.0f/s)\n", (unsigned long long)total->dropped,
           (unsigned long long)total->events,
           dur > 0 ? (double)total->events / ((double)dur / 1e6) : 0);
    for (size_t i = 0; i < total->n_agents; i++) {
        const ar_agent_stats *a = &total->agents[i];
        char p95[32];
        ar_fmt_duration(ar_hist_percentile(a->duration, 95), p95, sizeof p95);
        uint64_t done = a->ok + a->errors;
        printf("agent %-14s %8llu runs  %5.1f%% ok  p95 %s\n", a->name,
               (unsigned long long)a->executions, done ? 100.0 * (double)a->ok / (double)done : 0,
               p95);
    }
    for (size_t i = 0; i < r->n_thr; i++)
        printf("threshold %s\n", verdicts[i]);
    if (r->abort_reason[0]) printf("aborted early: %s\n", r->abort_reason);
    printf("reports: %s, %s\n", r->json, r->junit);
}

bool ar_bench_report(const bench_report *r, bool *thr_failed)
{
    char verdicts[VERDICTS_MAX][VERDICT_LEN];
    bool passed[VERDICTS_MAX];
    char ts[32];
    ar_wall_iso8601(r->t0_wall_us, ts, sizeof ts);
    *thr_failed = false;
    bool written = write_json(r, ts, verdicts, passed, thr_failed);
    /* An unwritable JUnit file is exit 3 like an unwritable JSON report
     * (docs/reports.md), not a silently missing file in CI. */
    written = write_junit(r, ts, verdicts, passed) && written;
    if (!r->quiet) print_summary(r, verdicts);
    return written;
}
