/* Wilson score interval against published values; nearest-rank percentiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "stats.h"

static void assert_interval(uint64_t s, uint64_t n, double want_lo, double want_hi)
{
    double lo = -1, hi = -1;
    assert_int_equal(ar_stats_wilson(s, n, AR_STATS_Z95, &lo, &hi), AR_OK);
    if (fabs(lo - want_lo) > 0.0005 || fabs(hi - want_hi) > 0.0005)
        fail_msg("%llu/%llu: [%.4f, %.4f], expected [%.3f, %.3f]", (unsigned long long)s,
                 (unsigned long long)n, lo, hi, want_lo, want_hi);
    assert_true(lo >= 0.0 && hi <= 1.0 && lo <= hi);
}

static void wilson_matches_known_values(void **state)
{
    (void)state;
    assert_interval(8, 10, 0.490, 0.943);
    assert_interval(0, 10, 0.000, 0.278);
    assert_interval(10, 10, 0.722, 1.000);
    assert_interval(0, 0, 0.0, 1.0);
    assert_interval(1, 2, 0.095, 0.905);
    assert_interval(81, 263, 0.255, 0.366); /* Newcombe (1998), Table I example */
    double lo, hi;
    assert_int_equal(ar_stats_wilson(8, 10, 2.5758293035489, &lo, &hi), AR_OK); /* 99% */
    assert_true(fabs(lo - 0.4008) < 0.0005 && fabs(hi - 0.9599) < 0.0005);
    /* exact edges, not a hair outside [0, 1] */
    assert_int_equal(ar_stats_wilson(0, 1000000, AR_STATS_Z95, &lo, &hi), AR_OK);
    assert_true(lo == 0.0);
    assert_int_equal(ar_stats_wilson(1000000, 1000000, AR_STATS_Z95, &lo, &hi), AR_OK);
    assert_true(hi == 1.0);
}

static void wilson_rejects_impossible_input(void **state)
{
    (void)state;
    double lo = 7, hi = 7;
    assert_int_equal(ar_stats_wilson(11, 10, AR_STATS_Z95, &lo, &hi), AR_EINVAL);
    assert_int_equal(ar_stats_wilson(1, 10, 0.0, &lo, &hi), AR_EINVAL);
    assert_int_equal(ar_stats_wilson(1, 10, NAN, &lo, &hi), AR_EINVAL);
    assert_true(lo == 7 && hi == 7);
}

static void proportions_format_with_their_interval(void **state)
{
    (void)state;
    char out[64];
    ar_stats_format_proportion(17, 20, out, sizeof(out));
    assert_string_equal(out, "0.85 [0.64, 0.95]");
    ar_stats_format_proportion(8, 10, out, sizeof(out));
    assert_string_equal(out, "0.80 [0.49, 0.94]");
    ar_stats_format_proportion(0, 0, out, sizeof(out));
    assert_string_equal(out, "n/a [0.00, 1.00]");
    ar_stats_format_proportion(3, 2, out, sizeof(out));
    assert_string_equal(out, "invalid");
}

static void nearest_rank_is_exact(void **state)
{
    (void)state;
    assert_int_equal(ar_stats_rank(50, 0), 0);
    assert_int_equal(ar_stats_rank(0, 10), 1);
    assert_int_equal(ar_stats_rank(-3, 10), 1);
    assert_int_equal(ar_stats_rank(NAN, 10), 1);
    assert_int_equal(ar_stats_rank(100, 10), 10);
    assert_int_equal(ar_stats_rank(150, 10), 10);
    assert_int_equal(ar_stats_rank(50, 10), 5);
    assert_int_equal(ar_stats_rank(51, 10), 6);
    assert_int_equal(ar_stats_rank(95, 1000000), 950000);
    assert_int_equal(ar_stats_rank(99.9, 1000), 999);
    assert_int_equal(ar_stats_rank(99.99, 1000000), 999900);
    assert_int_equal(ar_stats_rank(0.001, 1000000), 10);
    assert_int_equal(ar_stats_rank(1e-9, 1000000), 1);

    const int64_t v[] = {10, 20, 30, 40, 50};
    assert_int_equal(ar_stats_percentile_sorted(v, 5, 0), 10);
    assert_int_equal(ar_stats_percentile_sorted(v, 5, 20), 10);
    assert_int_equal(ar_stats_percentile_sorted(v, 5, 21), 20);
    assert_int_equal(ar_stats_percentile_sorted(v, 5, 50), 30);
    assert_int_equal(ar_stats_percentile_sorted(v, 5, 100), 50);
    assert_int_equal(ar_stats_percentile_sorted(v, 0, 50), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wilson_matches_known_values),
        cmocka_unit_test(wilson_rejects_impossible_input),
        cmocka_unit_test(proportions_format_with_their_interval),
        cmocka_unit_test(nearest_rank_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
