/*
 * hist.h - a log-linear latency histogram with fixed memory and exact merge.
 *
 * Why our own and why this shape: a benchmark records millions of latencies
 * per thread; keeping every sample (as k6 does) grows without bound. Like
 * HdrHistogram, values land in buckets whose width grows with the value, so
 * the relative error is bounded everywhere in [lowest, highest] while memory
 * is fixed at creation. Buckets are plain counts, so two histograms of the
 * same shape merge exactly: merging per-thread histograms after join gives
 * the same buckets as recording everything into one.
 *
 * Layout: with s = 2^m sub-buckets (m = ceil(log2(2 * 10^sigfig))), values
 * below s units have their own bucket; above that each power of two is split
 * into s/2 equal buckets, so a bucket is at most 1/(s/2) of its lower bound
 * wide: 0.78% for sigfig 2, 0.098% for sigfig 3. Percentiles report the
 * middle of their bucket (clamped to [min, max]), so their error against the
 * exact nearest-rank percentile is at most half that: <= 0.4% at sigfig 2.
 *
 * Memory per histogram (one allocation, at ar_hist_new; nothing afterwards):
 *   lowest 1 us, highest 1 h (3.6e9 us), sigfig 2: 3,328 buckets, ~26 KB
 *   lowest 1 us, highest 1 h,             sigfig 3: 23,552 buckets, ~184 KB
 * ar_hist_memory_bytes() reports the exact figure.
 *
 * Out of range: a value below 0 or above highest is clamped into the range,
 * recorded, and counted (ar_hist_out_of_range); ar_hist_record returns false.
 * Clamp-and-count keeps a slow outlier visible (p100 shows "1h") instead of
 * silently dropping it. count, min, max and sum describe the recorded
 * (clamped) values, so they always agree with the buckets.
 *
 * Not thread-safe: one histogram per worker thread, merged after join.
 */
#ifndef AR_HIST_H
#define AR_HIST_H

#include <cjson/cJSON.h>

#include "ar.h"

typedef struct ar_hist ar_hist;

/* The shape used for every latency metric: 1 us .. 1 h, 2 significant figures. */
#define AR_HIST_LOWEST_US 1
#define AR_HIST_HIGHEST_US 3600000000LL
#define AR_HIST_SIGFIG 2

/*
 * Creates an empty histogram tracking [0, highest_us] with resolution
 * lowest_us (>= 1) and significant_figures (1..5) significant digits.
 * highest_us must be at least 2 * lowest_us and at most 2^60. Returns AR_OK
 * and an owned histogram in *out, AR_EINVAL for bad arguments, AR_ENOMEM.
 */
ar_err ar_hist_new(int64_t lowest_us, int64_t highest_us, int significant_figures, ar_hist **out);
/* Frees h. NULL-safe. */
void ar_hist_free(ar_hist *h);
/* Empties h (counts, min, max, sum, out-of-range), keeping its shape and memory. */
void ar_hist_reset(ar_hist *h);

/*
 * Records one value. Returns true when it was in range; false when it was
 * clamped into [0, highest_us] (and recorded there) and counted as out of
 * range. Never allocates.
 */
bool ar_hist_record(ar_hist *h, int64_t value_us);
/* Records the same value n times (n == 0 records nothing). As ar_hist_record. */
bool ar_hist_record_n(ar_hist *h, int64_t value_us, uint64_t n);

/*
 * Adds every count of src (borrowed) into dst: exact, bucket by bucket, plus
 * count, min, max, sum and out-of-range. Both must have the same lowest,
 * highest and significant figures; otherwise AR_EINVAL and dst is unchanged.
 */
ar_err ar_hist_add(ar_hist *dst, const ar_hist *src);

uint64_t ar_hist_count(const ar_hist *h);
/* Number of values that were clamped into range. */
uint64_t ar_hist_out_of_range(const ar_hist *h);
/* Exact smallest / largest recorded value; 0 when empty. */
int64_t ar_hist_min(const ar_hist *h);
int64_t ar_hist_max(const ar_hist *h);
/* Exact sum of recorded values (us). */
int64_t ar_hist_sum(const ar_hist *h);
/* Exact mean (sum / count); 0 when empty. */
double ar_hist_mean(const ar_hist *h);
/* Population standard deviation from bucket midpoints around the exact mean; 0 when empty. */
double ar_hist_stddev(const ar_hist *h);
/*
 * Nearest-rank percentile, p in [0, 100] (clamped): p(0) is the exact
 * minimum, p(100) the exact maximum, anything between the middle of the
 * bucket holding the rank, clamped to [min, max]. 0 when empty.
 */
int64_t ar_hist_percentile(const ar_hist *h, double p);

/* Bytes held by h (struct plus buckets); fixed from ar_hist_new on. */
size_t ar_hist_memory_bytes(const ar_hist *h);
/* The shape, as given to ar_hist_new. */
int64_t ar_hist_lowest_us(const ar_hist *h);
int64_t ar_hist_highest_us(const ar_hist *h);
int ar_hist_significant_figures(const ar_hist *h);

/*
 * Returns an owned cJSON object holding the full histogram, or NULL on
 * allocation failure:
 *   {"lowest_us":1,"highest_us":3600000000,"significant_figures":2,
 *    "count":5,"min_us":3,"max_us":900,"sum_us":1210,"out_of_range":0,
 *    "counts":[-3,1,2,-250,2]}
 * "counts" is sparse: a positive number is the count of the next bucket, a
 * negative number -k skips k empty buckets; trailing empty buckets are
 * omitted. Numbers are exact up to 2^53.
 */
cJSON *ar_hist_to_json(const ar_hist *h);
/*
 * Rebuilds a histogram from ar_hist_to_json's form (obj borrowed). Returns
 * AR_OK and an owned histogram in *out, AR_EPARSE with a message in err
 * ("histogram: missing 'counts'", "histogram: counts run past the last
 * bucket", "histogram: bucket counts add up to 4, but count is 5", ...), or
 * AR_ENOMEM.
 */
ar_err ar_hist_from_json(const cJSON *obj, ar_hist **out, char *err, size_t err_len);

#endif
