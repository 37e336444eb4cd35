/*
 * stats.c - Wilson score interval and nearest-rank percentiles.
 *
 * The nearest-rank definition (the smallest value with at least p% of the
 * values at or below it) is what HdrHistogram uses too; it never invents a
 * value that was not observed, so a histogram percentile and an exact one can
 * be compared bucket for bucket.
 */
#include "stats.h"

#include <math.h>
#include <stdio.h>

ar_err ar_stats_wilson(uint64_t successes, uint64_t trials, double z, double *lo, double *hi)
{
    if (successes > trials || !isfinite(z) || z <= 0) return AR_EINVAL;
    if (trials == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return AR_OK;
    }
    double n = (double)trials;
    double p = (double)successes / n;
    double z2 = z * z;
    double denom = 1.0 + z2 / n;
    double center = (p + z2 / (2.0 * n)) / denom;
    double half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom;
    double l = center - half;
    double h = center + half;
    /* At p = 0 (or 1) the lower (upper) edge is exactly 0 (1); rounding would
     * leave a misleading 4e-22 there, or push the edge outside [0, 1]. */
    *lo = successes == 0 || l < 0.0 ? 0.0 : l;
    *hi = successes == trials || h > 1.0 ? 1.0 : h;
    return AR_OK;
}

void ar_stats_format_proportion(uint64_t successes, uint64_t trials, char *out, size_t out_len)
{
    double lo, hi;
    if (ar_stats_wilson(successes, trials, AR_STATS_Z95, &lo, &hi) != AR_OK) {
        snprintf(out, out_len, "invalid");
        return;
    }
    if (trials == 0) {
        snprintf(out, out_len, "n/a [%.2f, %.2f]", lo, hi);
        return;
    }
    snprintf(out, out_len, "%.2f [%.2f, %.2f]", (double)successes / (double)trials, lo, hi);
}

uint64_t ar_stats_rank(double p, uint64_t n)
{
    if (n == 0) return 0;
    if (!(p > 0.0)) return 1; /* also catches NaN */
    if (p >= 100.0) return n;
    double x = p * (double)n / 100.0;
    /* 99.9% of 1000 is 999 exactly; floating point may say 999.0000000001. */
    double r = ceil(x - x * 1e-12);
    if (r < 1.0) return 1;
    if (r > (double)n) return n;
    return (uint64_t)r;
}

int64_t ar_stats_percentile_sorted(const int64_t *sorted, size_t n, double p)
{
    if (n == 0) return 0;
    return sorted[ar_stats_rank(p, n) - 1];
}
