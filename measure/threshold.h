/*
 * threshold.h - pass/fail criteria on metrics, in k6's threshold grammar.
 *
 * Why k6's grammar: teams that load-test already write "p(95)<400"; they can
 * carry their thresholds over unchanged. We add duration units ("15s",
 * "1500ms") because a bare number is easy to misread; a bare number on a
 * duration keeps k6's meaning, milliseconds. The full grammar, every error
 * message and examples are in docs/thresholds.md.
 *
 * Metric kinds, as in k6: a trend is a distribution of durations (aggregated
 * with p(N), avg, min, max, med), a rate is the fraction of non-zero samples
 * (aggregated with rate, 0..1), a counter is a total (count, or rate = count
 * per second of run time).
 */
#ifndef AR_THRESHOLD_H
#define AR_THRESHOLD_H

#include "ar.h"
#include "hist.h"

typedef enum {
    AR_THR_P = 0, /* p(N): nearest-rank percentile N of a trend */
    AR_THR_AVG,
    AR_THR_MIN,
    AR_THR_MAX,
    AR_THR_MED,  /* p(50) */
    AR_THR_RATE, /* rate metric: fraction 0..1; counter: count per second */
    AR_THR_COUNT /* counter total */
} ar_thr_agg;

typedef enum { AR_THR_LT = 0, AR_THR_LE, AR_THR_GT, AR_THR_GE, AR_THR_EQ, AR_THR_NE } ar_thr_op;

typedef enum { AR_THR_KIND_TREND = 0, AR_THR_KIND_RATE, AR_THR_KIND_COUNTER } ar_thr_kind;

/* Longest expression accepted, in bytes (the source is kept in the struct). */
#define AR_THR_SOURCE_MAX 128

/* A parsed threshold: plain data, no heap, copy freely. */
typedef struct {
    ar_thr_agg agg;
    double percentile; /* 0..100 for AR_THR_P; 50 for AR_THR_MED; 0 otherwise */
    ar_thr_op op;
    /* Durations (p, avg, min, max, med) in microseconds; rate and count as
     * written. */
    double value;
    /* The expression as written, without leading/trailing whitespace. */
    char source[AR_THR_SOURCE_MAX];
    /* k6's object form ({threshold, abortOnFail, delayAbortEval}); the parser
     * of that form sets these; ar_thr_parse leaves them false / 0. */
    bool abort_on_fail;
    int64_t delay_abort_eval_us; /* 0: may abort at the first failing evaluation */
} ar_threshold;

/*
 * Parses expr ("p(95)<15s") into *out. Returns AR_OK, or AR_EINVAL with one
 * line in err naming what is wrong ("missing operator in 'p(95) 15s'").
 * expr is borrowed; *out is fully overwritten on success only.
 */
ar_err ar_thr_parse(const char *expr, ar_threshold *out, char *err, size_t err_len);

/*
 * Checks that t fits a metric of the given kind (trend: p/avg/min/max/med;
 * rate: rate, with a value in 0..1; counter: count, rate). Returns AR_OK or
 * AR_EINVAL with a message naming metric (borrowed) in err.
 */
ar_err ar_thr_check_kind(const ar_threshold *t, const char *metric, ar_thr_kind kind, char *err,
                         size_t err_len);

/* Whether observed (us for durations) passes t. NaN (no data) never passes. */
bool ar_thr_eval(const ar_threshold *t, double observed);

/*
 * The value of a trend aggregation (p, avg, min, max, med) over h (borrowed),
 * in us; NaN when h is empty or t's aggregation is not a trend's.
 */
double ar_thr_observe_trend(const ar_threshold *t, const ar_hist *h);

/*
 * One line for reports: "p(95)<15s: observed 12.3s, passed",
 * "rate>=0.8: observed 0.75, failed", "p(95)<15s: no data, failed".
 * Durations are shown with units; counter rates with "/s".
 */
void ar_thr_format_verdict(const ar_threshold *t, ar_thr_kind kind, double observed, char *out,
                           size_t out_len);

/* "p(N)", "avg", ..., and "<", "<=", ...: static strings. */
const char *ar_thr_agg_name(ar_thr_agg agg);
const char *ar_thr_op_name(ar_thr_op op);
/* "trend", "rate", "counter". */
const char *ar_thr_kind_name(ar_thr_kind kind);

#endif
