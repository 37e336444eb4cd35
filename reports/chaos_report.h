/*
 * chaos_report.h - what `agentrig chaos` found, per fault type, and the
 * writers for it: JUnit (one testsuite per fault type with the rate and its
 * interval as properties, one testcase per threshold), a versioned JSON
 * report, and the terminal table. Transcripts of the trials that did not
 * recover are written with ar_report_transcripts.
 */
#ifndef AR_CHAOS_REPORT_H
#define AR_CHAOS_REPORT_H

#include <stdio.h>

#include "ar.h"

typedef struct {
    char *source;  /* "rate>=0.66" */
    char *metric;  /* "recovery", "time_to_recover" */
    char *verdict; /* "rate>=0.66: observed 0.85, passed" */
    bool passed;
} ar_chaos_verdict;

typedef struct {
    char *type;       /* "tool_failure", "disconnect", ... */
    char **scenarios; /* scenario names counted under this type */
    size_t n_scenarios;
    size_t trials; /* trials that ran to the end */
    size_t recovered;
    size_t inconclusive; /* the fault did not fire: neither recovered nor failed */
    size_t errors;       /* trials that could not be driven at all */
    /* An interrupt: trials it cut off and trials it kept from starting. They
     * are in none of the counts above nor the rate, which would otherwise
     * count them as failed recoveries. */
    size_t interrupted;
    size_t not_run;
    char **interrupted_trials; /* "<scenario> #k", one per cut-off trial */
    size_t n_interrupted_trials;
    double rate;         /* recovered / (trials - inconclusive); NaN with no conclusive trial */
    double ci_lo, ci_hi; /* 95% Wilson interval */
    int64_t ttr_p50_us;  /* time to recover: first fault hit -> terminal event; -1: none */
    int64_t ttr_p95_us;
    ar_chaos_verdict *verdicts;
    size_t n_verdicts;
    bool passed;
    char **failed_transcripts; /* transcripts of the trials that did not recover */
    char **failed_reasons;     /* for each: the first failed check, or the error */
    size_t n_failed_transcripts;
} ar_chaos_type;

typedef struct {
    ar_chaos_type *types;
    size_t n_types;
    uint64_t seed;
    long trials;
    int64_t start_wall_us;
    int64_t duration_us;
    bool interrupted;
} ar_chaos_result;

void ar_chaos_result_clear(ar_chaos_result *r); /* NULL-safe */

ar_err ar_report_chaos_junit(const ar_chaos_result *r, const char *path, char *err, size_t err_len);
ar_err ar_report_chaos_json(const ar_chaos_result *r, const char *path, char *err, size_t err_len);
void ar_report_chaos_summary(const ar_chaos_result *r, FILE *out, bool color);

#endif
