/*
 * stats.h - small statistics shared by the measurement code and its tests.
 *
 * Why Wilson and not the normal ("Wald") interval: success rates in agent
 * suites come from small samples (10 runs, 3 concurrent sessions), and near 0
 * or 1 the Wald interval collapses to a width of zero ("10/10 -> [1, 1]"),
 * which claims a certainty we do not have. The Wilson score interval stays
 * inside [0, 1] and stays honest at the edges.
 *
 * The percentile rank helper is here so the histogram and the exact
 * (sorted-array) percentile used in tests agree on one definition.
 */
#ifndef AR_STATS_H
#define AR_STATS_H

#include "ar.h"

/* z for a two-sided 95% interval. */
#define AR_STATS_Z95 1.959963984540054

/*
 * Wilson score interval for successes out of trials at the given z (use
 * AR_STATS_Z95). trials == 0 gives [0, 1]: no data rules nothing out.
 * Returns AR_EINVAL (and leaves *lo, *hi untouched) when successes > trials
 * or z is not a positive finite number. Borrows nothing.
 */
ar_err ar_stats_wilson(uint64_t successes, uint64_t trials, double z, double *lo, double *hi);

/*
 * Formats a proportion with its 95% Wilson interval into out:
 * "0.85 [0.64, 0.95]" (two decimals). With trials == 0 the point estimate is
 * undefined: "n/a [0.00, 1.00]". successes > trials prints "invalid".
 */
void ar_stats_format_proportion(uint64_t successes, uint64_t trials, char *out, size_t out_len);

/*
 * The 1-based nearest rank of percentile p (0..100) in n ordered values:
 * ceil(p / 100 * n), at least 1 and at most n (0 when n == 0). p is clamped
 * to [0, 100]. The rank is computed so that an exact product ("95% of 1e6")
 * does not tip over to the next rank through floating-point noise.
 */
uint64_t ar_stats_rank(double p, uint64_t n);

/*
 * The exact nearest-rank percentile of n ascending values (borrowed):
 * sorted[ar_stats_rank(p, n) - 1]; p <= 0 gives the minimum, p >= 100 the
 * maximum; 0 when n == 0.
 */
int64_t ar_stats_percentile_sorted(const int64_t *sorted, size_t n, double p);

#endif
