/* Open-model arrival scheduler: intended start times for constant, ramping and paused rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "arrival.h"

#define S 1000000LL

static ar_arr make(const ar_arr_stage *stages, size_t n, double start)
{
    ar_arr a;
    char err[256] = "";
    if (ar_arr_init(stages, n, start, &a, err, sizeof(err)) != AR_OK) fail_msg("%s", err);
    return a;
}

/* Drains a, checking every time is >= the previous and < the end; returns the count. */
static uint64_t drain(ar_arr *a, int64_t *times, size_t cap)
{
    uint64_t n = 0;
    int64_t t, prev = -1;
    while (ar_arr_next(a, &t)) {
        assert_true(t >= prev);
        assert_true(t < ar_arr_duration_us(a));
        if (n < cap) times[n] = t;
        prev = t;
        n++;
    }
    assert_false(ar_arr_next(a, &t)); /* stays over */
    return n;
}

static void constant_rate_is_evenly_spaced(void **state)
{
    (void)state;
    ar_arr_stage st[] = {{10 * S, 10.0}};
    ar_arr a = make(st, 1, 10.0);
    assert_int_equal(ar_arr_total(&a), 100);
    int64_t times[200];
    assert_int_equal(drain(&a, times, 200), 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(times[i], i * 100000); /* t_i = i / r */

    ar_arr_stage odd[] = {{1 * S, 3.0}};
    a = make(odd, 1, 3.0);
    assert_int_equal(drain(&a, times, 200), 3);
    assert_int_equal(times[1], 333333);
    assert_int_equal(times[2], 666667);
}

static void ramp_up_follows_the_integral(void **state)
{
    (void)state;
    /* 0 -> 10/s over 10 s: a = 1/s^2, N(t) = t^2 / 2, t_i = sqrt(2 i / a) */
    ar_arr_stage st[] = {{10 * S, 10.0}};
    ar_arr a = make(st, 1, 0.0);
    assert_int_equal(ar_arr_total(&a), 50);
    int64_t times[100];
    assert_int_equal(drain(&a, times, 100), 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(times[i], llround(sqrt(2.0 * i) * 1e6));
    assert_true(fabs(ar_arr_rate_at(&a, 5 * S) - 5.0) < 1e-9);
}

static void ramp_down_mirrors_it(void **state)
{
    (void)state;
    /* 10/s -> 0 over 10 s: N(t) = 10 t - t^2 / 2, t_i = 10 - sqrt(100 - 2 i) */
    ar_arr_stage st[] = {{10 * S, 0.0}};
    ar_arr a = make(st, 1, 10.0);
    assert_int_equal(ar_arr_total(&a), 50);
    int64_t times[100];
    assert_int_equal(drain(&a, times, 100), 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(times[i], llround((10.0 - sqrt(100.0 - 2.0 * i)) * 1e6));
}

static void stages_chain_and_pauses_start_nothing(void **state)
{
    (void)state;
    /* 2 s at 5/s, jump to 0, pause 3 s, jump to 4/s, hold 1 s, ramp 4 -> 8 over 2 s */
    ar_arr_stage st[] = {
        {2 * S, 5.0}, {0, 0.0}, {3 * S, 0.0}, {0, 4.0}, {1 * S, 4.0}, {2 * S, 8.0},
    };
    ar_arr a = make(st, AR_ARRAY_LEN(st), 5.0);
    assert_int_equal(ar_arr_duration_us(&a), 8 * S);
    assert_int_equal(ar_arr_total(&a), 10 + 4 + 12);
    int64_t times[64];
    assert_int_equal(drain(&a, times, 64), 26);
    for (int i = 0; i < 10; i++)
        assert_int_equal(times[i], i * 200000);
    for (int i = 10; i < 14; i++)
        assert_int_equal(times[i], 5 * S + (i - 10) * 250000);
    /* ramp: 4 tau + tau^2 = k (slope 2/s^2) -> tau = -2 + sqrt(4 + k) */
    for (int k = 0; k < 12; k++)
        assert_int_equal(times[14 + k], 6 * S + llround((-2.0 + sqrt(4.0 + k)) * 1e6));
    for (int i = 0; i < 26; i++)
        assert_true(times[i] < 2 * S || times[i] >= 5 * S);
    assert_true(ar_arr_rate_at(&a, 3 * S) == 0.0);
    assert_true(fabs(ar_arr_rate_at(&a, 7 * S) - 6.0) < 1e-9);
    assert_true(ar_arr_rate_at(&a, 9 * S) == 0.0);
}

static void zero_rate_everywhere_schedules_nothing(void **state)
{
    (void)state;
    ar_arr_stage st[] = {{5 * S, 0.0}};
    ar_arr a = make(st, 1, 0.0);
    assert_int_equal(ar_arr_total(&a), 0);
    int64_t t;
    assert_false(ar_arr_next(&a, &t));
}

static void fractional_totals_round_up(void **state)
{
    (void)state;
    /* 0 -> 1/s over 3 s: N = 1.5 -> arrivals at 0 and sqrt(6) s */
    ar_arr_stage st[] = {{3 * S, 1.0}};
    ar_arr a = make(st, 1, 0.0);
    assert_int_equal(ar_arr_total(&a), 2);
    int64_t times[4];
    assert_int_equal(drain(&a, times, 4), 2);
    assert_int_equal(times[1], llround(sqrt(6.0) * 1e6));

    /* many fractional stages: the count from ar_arr_total matches what next() yields */
    ar_arr_stage many[40];
    for (int i = 0; i < 40; i++)
        many[i] = (ar_arr_stage){333333 + i * 1111, (i % 7) * 1.37};
    a = make(many, 40, 0.3);
    uint64_t want = ar_arr_total(&a);
    assert_true(want > 0);
    assert_int_equal(drain(&a, NULL, 0), want);

    /* a long run at a high rate does not drift: arrival 3,599,999 of 1000/s for 1 h */
    ar_arr_stage hour[] = {{3600 * S, 1000.0}};
    a = make(hour, 1, 1000.0);
    assert_int_equal(ar_arr_total(&a), 3600000);
    int64_t t = 0, last = 0;
    while (ar_arr_next(&a, &t))
        last = t;
    assert_int_equal(last, 3600 * S - 1000);
}

static void expect_error(const ar_arr_stage *st, size_t n, double start, const char *message)
{
    ar_arr a;
    char err[256] = "";
    assert_int_equal(ar_arr_init(st, n, start, &a, err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, message);
}

static void invalid_schedules_are_rejected_with_reasons(void **state)
{
    (void)state;
    ar_arr_stage ok[] = {{S, 1.0}};
    expect_error(ok, 0, 1.0, "arrival schedule has no stages");
    expect_error(NULL, 1, 1.0, "arrival schedule has no stages");
    ar_arr_stage many[AR_ARR_MAX_STAGES + 1];
    for (size_t i = 0; i < AR_ARRAY_LEN(many); i++)
        many[i] = ok[0];
    expect_error(many, AR_ARRAY_LEN(many), 1.0, "too many stages (65; max 64)");
    expect_error(ok, 1, -1.0, "start rate must be a non-negative number (got -1)");
    expect_error(ok, 1, NAN, "start rate must be a non-negative number (got nan)");
    ar_arr_stage neg_dur[] = {{S, 1.0}, {-5 * S, 2.0}};
    expect_error(neg_dur, 2, 0.0, "stage 2: duration must not be negative (got -5000000us)");
    ar_arr_stage neg_rate[] = {{S, -5.0}};
    expect_error(neg_rate, 1, 0.0, "stage 1: target rate must be a non-negative number (got -5)");
    ar_arr_stage inf_rate[] = {{S, INFINITY}};
    expect_error(inf_rate, 1, 0.0, "stage 1: target rate must be a non-negative number (got inf)");
    ar_arr_stage too_long[] = {{INT64_MAX / 2, 1.0}, {INT64_MAX / 2, 1.0}};
    expect_error(too_long, 2, 0.0, "stages last longer than 10 years in total");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_rate_is_evenly_spaced),
        cmocka_unit_test(ramp_up_follows_the_integral),
        cmocka_unit_test(ramp_down_mirrors_it),
        cmocka_unit_test(stages_chain_and_pauses_start_nothing),
        cmocka_unit_test(zero_rate_everywhere_schedules_nothing),
        cmocka_unit_test(fractional_totals_round_up),
        cmocka_unit_test(invalid_schedules_are_rejected_with_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
