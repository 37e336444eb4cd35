/* Log-linear histogram: accuracy against exact percentiles, exact merge, clamping, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "stats.h"

#define N_SAMPLES 1000000
/* Worst case at 2 significant figures: half a bucket of width 1/128 of its lower bound. */
#define SIGFIG2_MAX_REL_ERR (1.0 / 256.0 + 1e-12)

static const double check_ps[] = {0,  0.1, 1,  5,    10,   25,    50,     75,
                                  90, 95,  99, 99.5, 99.9, 99.99, 99.999, 100};

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* splitmix64: fixed seed, same data on every run and platform */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef enum { DIST_LOGNORMAL, DIST_PARETO } dist;

/* Fills v with n in-range samples, rejecting draws outside [1 us, 1 h]. */
static void generate(int64_t *v, size_t n, dist d, uint64_t seed)
{
    rng_state = seed;
    for (size_t i = 0; i < n;) {
        double x;
        if (d == DIST_LOGNORMAL)
            x = exp(log(50000.0) + 1.5 * rng_normal()); /* median 50 ms, wide spread */
        else
            x = 200.0 / pow(rng_unit(), 1.0 / 1.1); /* Pareto, xm 200 us, alpha 1.1: heavy tail */
        int64_t xi = llround(x);
        if (xi < 1 || xi > AR_HIST_HIGHEST_US) continue;
        v[i++] = xi;
    }
}

static ar_hist *new_default(void)
{
    ar_hist *h = NULL;
    assert_int_equal(ar_hist_new(AR_HIST_LOWEST_US, AR_HIST_HIGHEST_US, AR_HIST_SIGFIG, &h), AR_OK);
    assert_non_null(h);
    return h;
}

static void assert_close(double got, double exact, double max_rel)
{
    double rel = exact == 0 ? fabs(got) : fabs(got - exact) / exact;
    if (rel > max_rel)
        fail_msg("got %.1f, exact %.1f: relative error %.5f > %.5f", got, exact, rel, max_rel);
}

static void check_distribution(dist d, int sigfig, double max_rel)
{
    int64_t *v = malloc(N_SAMPLES * sizeof(*v));
    assert_non_null(v);
    generate(v, N_SAMPLES, d, 42 + (uint64_t)d);
    ar_hist *h = NULL;
    assert_int_equal(ar_hist_new(1, AR_HIST_HIGHEST_US, sigfig, &h), AR_OK);
    int64_t sum = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        assert_true(ar_hist_record(h, v[i]));
        sum += v[i];
    }
    qsort(v, N_SAMPLES, sizeof(*v), cmp_i64);
    assert_int_equal(ar_hist_count(h), N_SAMPLES);
    assert_int_equal(ar_hist_min(h), v[0]);
    assert_int_equal(ar_hist_max(h), v[N_SAMPLES - 1]);
    assert_int_equal(ar_hist_sum(h), sum);
    assert_true(ar_hist_mean(h) == (double)sum / N_SAMPLES);
    for (size_t i = 0; i < AR_ARRAY_LEN(check_ps); i++) {
        double exact = (double)ar_stats_percentile_sorted(v, N_SAMPLES, check_ps[i]);
        assert_close((double)ar_hist_percentile(h, check_ps[i]), exact, max_rel);
    }
    assert_int_equal(ar_hist_percentile(h, 0), v[0]);
    assert_int_equal(ar_hist_percentile(h, 100), v[N_SAMPLES - 1]);

    double mean = (double)sum / N_SAMPLES, acc = 0;
    for (size_t i = 0; i < N_SAMPLES; i++)
        acc += ((double)v[i] - mean) * ((double)v[i] - mean);
    assert_close(ar_hist_stddev(h), sqrt(acc / N_SAMPLES), 0.01);
    ar_hist_free(h);
    free(v);
}

static void lognormal_percentiles_are_within_half_a_bucket_of_exact(void **state)
{
    (void)state;
    check_distribution(DIST_LOGNORMAL, 2, SIGFIG2_MAX_REL_ERR);
}

static void pareto_percentiles_are_within_half_a_bucket_of_exact(void **state)
{
    (void)state;
    check_distribution(DIST_PARETO, 2, SIGFIG2_MAX_REL_ERR);
}

static void three_significant_figures_are_ten_times_finer(void **state)
{
    (void)state;
    check_distribution(DIST_LOGNORMAL, 3, 1.0 / 2048.0 + 1e-12);
}

static void every_value_from_1us_to_1h_is_reported_within_1_percent(void **state)
{
    (void)state;
    ar_hist *h = new_default();
    size_t checked = 0;
    for (double x = 1.0; x <= (double)AR_HIST_HIGHEST_US; x *= 1.0007) {
        int64_t v = (int64_t)x;
        ar_hist_reset(h);
        assert_true(ar_hist_record(h, v));
        assert_true(ar_hist_record(h, v));
        /* Both values identical: min == max, so only p(50) exercises the bucket. */
        ar_hist_record(h, AR_HIST_HIGHEST_US);
        ar_hist_record(h, 0);
        assert_close((double)ar_hist_percentile(h, 50), (double)v, SIGFIG2_MAX_REL_ERR);
        checked++;
    }
    assert_true(checked > 30000);
    ar_hist_reset(h);
    assert_true(ar_hist_record(h, 1));
    assert_true(ar_hist_record(h, AR_HIST_HIGHEST_US));
    assert_int_equal(ar_hist_percentile(h, 50), 1);
    assert_int_equal(ar_hist_percentile(h, 100), AR_HIST_HIGHEST_US);
    assert_int_equal(ar_hist_out_of_range(h), 0);
    ar_hist_free(h);
}

static void small_values_are_exact(void **state)
{
    (void)state;
    ar_hist *h = new_default();
    for (int64_t v = 0; v < 256; v++) {
        ar_hist_reset(h);
        ar_hist_record(h, 0);
        ar_hist_record(h, v);
        ar_hist_record(h, v);
        ar_hist_record(h, 1000000);
        assert_int_equal(ar_hist_percentile(h, 50), v);
    }
    ar_hist_free(h);
}

static void merge_equals_recording_everything_into_one(void **state)
{
    (void)state;
    int64_t *v = malloc(N_SAMPLES * sizeof(*v));
    assert_non_null(v);
    generate(v, N_SAMPLES, DIST_PARETO, 7);
    ar_hist *single = new_default();
    ar_hist *parts[4];
    for (int i = 0; i < 4; i++)
        parts[i] = new_default();
    for (size_t i = 0; i < N_SAMPLES; i++) {
        ar_hist_record(single, v[i]);
        /* uneven split so parts have different min/max and bucket sets */
        ar_hist_record(parts[(v[i] % 7) % 4], v[i]);
    }
    ar_hist_record(single, -3);
    ar_hist_record(parts[2], -3);
    ar_hist *merged = new_default();
    for (int i = 0; i < 4; i++)
        assert_int_equal(ar_hist_add(merged, parts[i]), AR_OK);

    cJSON *a = ar_hist_to_json(single), *b = ar_hist_to_json(merged);
    char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
    assert_string_equal(sa, sb); /* every bucket, count, min, max, sum, out_of_range */
    for (size_t i = 0; i < AR_ARRAY_LEN(check_ps); i++)
        assert_int_equal(ar_hist_percentile(single, check_ps[i]),
                         ar_hist_percentile(merged, check_ps[i]));
    assert_true(ar_hist_stddev(single) == ar_hist_stddev(merged));
    assert_int_equal(ar_hist_out_of_range(merged), 1);
    free(sa);
    free(sb);
    cJSON_Delete(a);
    cJSON_Delete(b);

    ar_hist *other = NULL;
    assert_int_equal(ar_hist_new(1, AR_HIST_HIGHEST_US, 3, &other), AR_OK);
    ar_hist_record(other, 5);
    assert_int_equal(ar_hist_add(merged, other), AR_EINVAL);
    assert_int_equal(ar_hist_count(merged), N_SAMPLES + 1);

    ar_hist *empty = new_default();
    assert_int_equal(ar_hist_add(empty, single), AR_OK);
    assert_int_equal(ar_hist_min(empty), ar_hist_min(single));
    assert_int_equal(ar_hist_max(empty), ar_hist_max(single));
    ar_hist_free(empty);
    ar_hist_free(other);
    ar_hist_free(merged);
    for (int i = 0; i < 4; i++)
        ar_hist_free(parts[i]);
    ar_hist_free(single);
    free(v);
}

typedef struct {
    const int64_t *v;
    size_t from, to;
    ar_hist *h;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    for (size_t i = w->from; i < w->to; i++)
        ar_hist_record(w->h, w->v[i]);
    return NULL;
}

/* The intended use: one histogram per worker thread, merged after join. */
static void per_thread_histograms_merge_after_join(void **state)
{
    (void)state;
    enum { THREADS = 4 };
    int64_t *v = malloc(N_SAMPLES * sizeof(*v));
    assert_non_null(v);
    generate(v, N_SAMPLES, DIST_LOGNORMAL, 11);
    pthread_t tid[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){v, (size_t)i * N_SAMPLES / THREADS,
                               (size_t)(i + 1) * N_SAMPLES / THREADS, new_default()};
        assert_int_equal(pthread_create(&tid[i], NULL, worker, &args[i]), 0);
    }
    ar_hist *single = new_default(), *merged = new_default();
    for (size_t i = 0; i < N_SAMPLES; i++)
        ar_hist_record(single, v[i]);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(ar_hist_add(merged, args[i].h), AR_OK);
        ar_hist_free(args[i].h);
    }
    assert_int_equal(ar_hist_count(merged), N_SAMPLES);
    for (size_t i = 0; i < AR_ARRAY_LEN(check_ps); i++)
        assert_int_equal(ar_hist_percentile(single, check_ps[i]),
                         ar_hist_percentile(merged, check_ps[i]));
    assert_int_equal(ar_hist_sum(single), ar_hist_sum(merged));
    ar_hist_free(single);
    ar_hist_free(merged);
    free(v);
}

static void out_of_range_values_are_clamped_and_counted(void **state)
{
    (void)state;
    ar_hist *h = new_default();
    assert_true(ar_hist_record(h, 500));
    assert_false(ar_hist_record(h, AR_HIST_HIGHEST_US + 1));
    assert_false(ar_hist_record(h, -7));
    assert_false(ar_hist_record_n(h, INT64_MAX, 3));
    assert_int_equal(ar_hist_out_of_range(h), 5);
    assert_int_equal(ar_hist_count(h), 6);
    assert_int_equal(ar_hist_min(h), 0);
    assert_int_equal(ar_hist_max(h), AR_HIST_HIGHEST_US);
    assert_int_equal(ar_hist_percentile(h, 100), AR_HIST_HIGHEST_US);
    assert_int_equal(ar_hist_sum(h), 500 + 4 * AR_HIST_HIGHEST_US);
    ar_hist_reset(h);
    assert_int_equal(ar_hist_out_of_range(h), 0);
    assert_int_equal(ar_hist_count(h), 0);
    assert_int_equal(ar_hist_percentile(h, 50), 0);
    assert_true(ar_hist_mean(h) == 0.0);
    assert_true(ar_hist_stddev(h) == 0.0);
    ar_hist_free(h);
}

static void memory_is_fixed_at_creation(void **state)
{
    (void)state;
    ar_hist *h = new_default();
    size_t bytes = ar_hist_memory_bytes(h);
    /* 3,328 buckets of 8 bytes plus the header: the figure documented in hist.h */
    assert_true(bytes >= 3328 * 8 && bytes < 3328 * 8 + 256);
    struct mallinfo2 before = mallinfo2();
    rng_state = 3;
    for (int i = 0; i < N_SAMPLES; i++)
        ar_hist_record(h, (int64_t)(rng_next() % (uint64_t)(AR_HIST_HIGHEST_US * 2)) - 1000);
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(after.uordblks, before.uordblks); /* no allocation while recording */
    assert_int_equal(ar_hist_memory_bytes(h), bytes);
    ar_hist_free(h);

    ar_hist *fine = NULL;
    assert_int_equal(ar_hist_new(1, AR_HIST_HIGHEST_US, 3, &fine), AR_OK);
    assert_true(ar_hist_memory_bytes(fine) >= 23552 * 8 &&
                ar_hist_memory_bytes(fine) < 23552 * 8 + 256);
    ar_hist_free(fine);
    ar_hist_free(NULL);
}

static void bad_shapes_are_rejected(void **state)
{
    (void)state;
    ar_hist *h = (ar_hist *)&h;
    assert_int_equal(ar_hist_new(0, 1000, 2, &h), AR_EINVAL);
    assert_int_equal(ar_hist_new(1, 1, 2, &h), AR_EINVAL);
    assert_int_equal(ar_hist_new(1, 1000, 0, &h), AR_EINVAL);
    assert_int_equal(ar_hist_new(1, 1000, 6, &h), AR_EINVAL);
    assert_int_equal(ar_hist_new(1, (1LL << 60) + 1, 2, &h), AR_EINVAL);
    assert_ptr_equal(h, (ar_hist *)&h); /* untouched on error */
    assert_int_equal(ar_hist_new(1000, 1LL << 60, 1, &h), AR_OK);
    assert_true(ar_hist_record(h, 1LL << 60));
    assert_true(ar_hist_record(h, 5000000));
    assert_true(ar_hist_record(h, 5000000));
    assert_true(ar_hist_record(h, 1));
    assert_close((double)ar_hist_percentile(h, 50), 5000000.0, 1.0 / 32);
    assert_int_equal(ar_hist_percentile(h, 100), 1LL << 60);
    ar_hist_free(h);
}

static char *round_trip(const ar_hist *h, ar_hist **back)
{
    cJSON *j = ar_hist_to_json(h);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    cJSON *parsed = cJSON_Parse(text);
    char err[256] = "";
    assert_int_equal(ar_hist_from_json(parsed, back, err, sizeof(err)), AR_OK);
    cJSON_Delete(parsed);
    return text;
}

static void json_round_trip_keeps_every_bucket(void **state)
{
    (void)state;
    ar_hist *h = new_default();
    ar_hist_record(h, 3);
    ar_hist_record(h, 4);
    ar_hist_record(h, 4);
    ar_hist_record(h, 900);
    ar_hist_record(h, 900);
    cJSON *j = ar_hist_to_json(h);
    char *text = cJSON_PrintUnformatted(j);
    assert_string_equal(text,
                        "{\"lowest_us\":1,\"highest_us\":3600000000,\"significant_figures\":2,"
                        "\"count\":5,\"min_us\":3,\"max_us\":900,\"sum_us\":1811,"
                        "\"out_of_range\":0,\"counts\":[-3,1,2,-476,2]}");
    free(text);
    cJSON_Delete(j);

    int64_t *v = malloc(100000 * sizeof(*v));
    assert_non_null(v);
    generate(v, 100000, DIST_LOGNORMAL, 99);
    for (size_t i = 0; i < 100000; i++)
        ar_hist_record(h, v[i]);
    ar_hist_record(h, AR_HIST_HIGHEST_US * 3);
    ar_hist *back = NULL;
    char *t1 = round_trip(h, &back);
    cJSON *j2 = ar_hist_to_json(back);
    char *t2 = cJSON_PrintUnformatted(j2);
    assert_string_equal(t1, t2);
    for (size_t i = 0; i < AR_ARRAY_LEN(check_ps); i++)
        assert_int_equal(ar_hist_percentile(h, check_ps[i]), ar_hist_percentile(back, check_ps[i]));
    assert_int_equal(ar_hist_out_of_range(back), 1);
    assert_int_equal(ar_hist_sum(back), ar_hist_sum(h));
    /* A histogram read back merges like any other. */
    assert_int_equal(ar_hist_add(back, h), AR_OK);
    assert_int_equal(ar_hist_count(back), 2 * ar_hist_count(h));
    free(t1);
    free(t2);
    cJSON_Delete(j2);
    ar_hist_free(back);

    ar_hist *empty = new_default(), *eback = NULL;
    char *te = round_trip(empty, &eback);
    assert_int_equal(ar_hist_count(eback), 0);
    assert_non_null(strstr(te, "\"counts\":[]"));
    free(te);
    ar_hist_free(eback);
    ar_hist_free(empty);
    ar_hist_free(h);
    free(v);
}

static void expect_json_error(const char *json, const char *message)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    ar_hist *h = NULL;
    char err[256] = "";
    assert_int_equal(ar_hist_from_json(j, &h, err, sizeof(err)), AR_EPARSE);
    assert_string_equal(err, message);
    assert_null(h);
    cJSON_Delete(j);
}

#define SHAPE "\"lowest_us\":1,\"highest_us\":1000,\"significant_figures\":2,"
#define STATS "\"min_us\":3,\"max_us\":4,\"sum_us\":7,\"out_of_range\":0,"

static void json_missing_fields_are_named(void **state)
{
    (void)state;
    expect_json_error("[]", "histogram: expected an object");
    expect_json_error("{" SHAPE STATS "\"count\":2}", "histogram: missing 'counts'");
    expect_json_error("{" SHAPE STATS "\"counts\":[]}",
                      "histogram: missing or invalid 'count' (a non-negative integer)");
    expect_json_error("{" SHAPE STATS "\"count\":1.5,\"counts\":[]}",
                      "histogram: missing or invalid 'count' (a non-negative integer)");
}

static void json_errors_are_exact(void **state)
{
    (void)state;
    expect_json_error("{" SHAPE STATS "\"count\":5,\"counts\":[-3,1,1]}",
                      "histogram: bucket counts add up to 2, but count is 5");
    expect_json_error("{" SHAPE STATS "\"count\":2,\"counts\":[-3000,1,1]}",
                      "histogram: counts run past the last bucket");
    expect_json_error("{" SHAPE STATS "\"count\":2,\"counts\":[-3,\"1\",1]}",
                      "histogram: 'counts' holds a non-integer");
    expect_json_error(
        "{\"lowest_us\":1,\"highest_us\":1,\"significant_figures\":2," STATS
        "\"count\":0,\"counts\":[]}",
        "histogram: invalid shape (lowest_us 1, highest_us 1, significant_figures 2)");
    expect_json_error("{" SHAPE "\"min_us\":9,\"max_us\":4,\"sum_us\":7,\"out_of_range\":0,"
                      "\"count\":2,\"counts\":[-3,1,1]}",
                      "histogram: min_us, max_us and out_of_range disagree with count");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lognormal_percentiles_are_within_half_a_bucket_of_exact),
        cmocka_unit_test(pareto_percentiles_are_within_half_a_bucket_of_exact),
        cmocka_unit_test(three_significant_figures_are_ten_times_finer),
        cmocka_unit_test(every_value_from_1us_to_1h_is_reported_within_1_percent),
        cmocka_unit_test(small_values_are_exact),
        cmocka_unit_test(merge_equals_recording_everything_into_one),
        cmocka_unit_test(per_thread_histograms_merge_after_join),
        cmocka_unit_test(out_of_range_values_are_clamped_and_counted),
        cmocka_unit_test(memory_is_fixed_at_creation),
        cmocka_unit_test(bad_shapes_are_rejected),
        cmocka_unit_test(json_round_trip_keeps_every_bucket),
        cmocka_unit_test(json_missing_fields_are_named),
        cmocka_unit_test(json_errors_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
