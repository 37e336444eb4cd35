/* k6 threshold grammar: every form, every error message, every operator, kind checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "threshold.h"

static ar_threshold parse_ok(const char *expr)
{
    ar_threshold t;
    char err[256] = "";
    if (ar_thr_parse(expr, &t, err, sizeof(err)) != AR_OK) fail_msg("'%s': %s", expr, err);
    return t;
}

static void expect_error(const char *expr, const char *message)
{
    ar_threshold t;
    memset(&t, 0x5a, sizeof(t));
    char err[256] = "";
    assert_int_equal(ar_thr_parse(expr, &t, err, sizeof(err)), AR_EINVAL);
    assert_string_equal(err, message);
    assert_int_equal(((unsigned char *)&t)[0], 0x5a); /* *out untouched on error */
}

static void assert_thr(const char *expr, ar_thr_agg agg, double pct, ar_thr_op op, double value,
                       const char *source)
{
    ar_threshold t = parse_ok(expr);
    assert_int_equal(t.agg, agg);
    assert_true(t.percentile == pct);
    assert_int_equal(t.op, op);
    if (fabs(t.value - value) > 1e-9 * fabs(value))
        fail_msg("'%s': value %.17g, expected %.17g", expr, t.value, value);
    assert_string_equal(t.source, source);
    assert_false(t.abort_on_fail);
    assert_int_equal(t.delay_abort_eval_us, 0);
}

static void every_form_parses_into_the_right_fields(void **state)
{
    (void)state;
    assert_thr("p(95)<15s", AR_THR_P, 95, AR_THR_LT, 15e6, "p(95)<15s");
    assert_thr("p(99.9) < 1500ms", AR_THR_P, 99.9, AR_THR_LT, 1500e3, "p(99.9) < 1500ms");
    assert_thr("  p ( 99.99 )  <=  2.5 s  ", AR_THR_P, 99.99, AR_THR_LE, 2.5e6,
               "p ( 99.99 )  <=  2.5 s");
    assert_thr("p(0)>=1us", AR_THR_P, 0, AR_THR_GE, 1, "p(0)>=1us");
    assert_thr("p(100)<1h", AR_THR_P, 100, AR_THR_LT, 3600e6, "p(100)<1h");
    assert_thr("avg<200", AR_THR_AVG, 0, AR_THR_LT, 200e3, "avg<200"); /* bare = ms, as k6 */
    assert_thr("min>250us", AR_THR_MIN, 0, AR_THR_GT, 250, "min>250us");
    assert_thr("min>250µs", AR_THR_MIN, 0, AR_THR_GT, 250, "min>250µs");
    assert_thr("max<=2m", AR_THR_MAX, 0, AR_THR_LE, 120e6, "max<=2m");
    assert_thr("med<0.5ms", AR_THR_MED, 50, AR_THR_LT, 500, "med<0.5ms");
    assert_thr("med == 1e3", AR_THR_MED, 50, AR_THR_EQ, 1e6, "med == 1e3");
    assert_thr("rate>=0.8", AR_THR_RATE, 0, AR_THR_GE, 0.8, "rate>=0.8");
    assert_thr("rate >= 0.66", AR_THR_RATE, 0, AR_THR_GE, 0.66, "rate >= 0.66");
    assert_thr("rate<.05", AR_THR_RATE, 0, AR_THR_LT, 0.05, "rate<.05");
    assert_thr("count<10", AR_THR_COUNT, 0, AR_THR_LT, 10, "count<10");
    assert_thr("count==0", AR_THR_COUNT, 0, AR_THR_EQ, 0, "count==0");
    assert_thr("count===0", AR_THR_COUNT, 0, AR_THR_EQ, 0, "count===0");
    assert_thr("count != 3", AR_THR_COUNT, 0, AR_THR_NE, 3, "count != 3");
    assert_thr("\tavg\t>\t1\n", AR_THR_AVG, 0, AR_THR_GT, 1e3, "avg\t>\t1");
}

static void every_error_has_an_exact_message(void **state)
{
    (void)state;
    expect_error("", "empty threshold expression");
    expect_error("   ", "empty threshold expression");
    expect_error(NULL, "empty threshold expression");
    expect_error("p95<15s", "unknown aggregation 'p95' (valid: p(N), avg, min, max, med, rate, "
                            "count)");
    expect_error("average < 1s", "unknown aggregation 'average' (valid: p(N), avg, min, max, "
                                 "med, rate, count)");
    expect_error("P(95)<1s", "unknown aggregation 'P(95)' (valid: p(N), avg, min, max, med, "
                             "rate, count)");
    expect_error("<15s", "missing aggregation in '<15s' (valid: p(N), avg, min, max, med, rate, "
                         "count)");
    expect_error("p(150)<1s", "percentile must be between 0 and 100 (got 150)");
    expect_error("p(-5)<1s", "percentile must be between 0 and 100 (got -5)");
    expect_error("p(abc)<1s", "invalid percentile 'abc' in 'p(abc)<1s' (expected p(N), N from 0 "
                              "to 100)");
    expect_error("p()<1s", "invalid percentile '' in 'p()<1s' (expected p(N), N from 0 to 100)");
    expect_error("p(95<1s", "missing ')' after the percentile in 'p(95<1s'");
    expect_error("p(95) 15s", "missing operator in 'p(95) 15s'");
    expect_error("avg", "missing operator in 'avg'");
    expect_error("p(95) = 15s", "invalid operator '=' in 'p(95) = 15s' (valid: <, <=, >, >=, ==, "
                                "!=)");
    expect_error("avg=<1s", "invalid operator '=<' in 'avg=<1s' (valid: <, <=, >, >=, ==, !=)");
    expect_error("avg <", "missing value in 'avg <'");
    expect_error("avg < fast", "invalid value 'fast'");
    expect_error("avg<1.2.3s", "invalid value '1.2.3s'");
    expect_error("avg<15s later", "invalid value '15s later'");
    expect_error("avg<nan", "invalid value 'nan'");
    expect_error("avg<0x10", "invalid value '0x10'");
    expect_error("avg<1e999", "invalid value '1e999'");
    expect_error("avg<15sec", "unknown unit 'sec' in '15sec' (valid: us, ms, s, m, h)");
    expect_error("max < -1s", "value must not be negative (got '-1s')");
    expect_error("rate>=80%", "value for rate must be a plain number (got '80%')");
    expect_error("rate>=1s", "value for rate must be a plain number (got '1s')");
    expect_error("count<10 ms", "value for count must be a plain number (got '10 ms')");
    char longer[200];
    memset(longer, ' ', sizeof(longer));
    memcpy(longer, "avg<", 4);
    memset(longer + 4, '1', 150);
    longer[154] = '\0';
    expect_error(longer, "threshold expression too long (154 bytes; max 127)");
}

static void eval_every_operator_at_its_boundary(void **state)
{
    (void)state;
    struct {
        const char *expr;
        double below, at, above;
        bool want_below, want_at, want_above;
    } cases[] = {
        {"p(95)<15s", 14999999, 15e6, 15000001, true, false, false},
        {"p(95)<=15s", 14999999, 15e6, 15000001, true, true, false},
        {"avg>200", 199999, 200e3, 200001, false, false, true},
        {"avg>=200", 199999, 200e3, 200001, false, true, true},
        {"count==10", 9, 10, 11, false, true, false},
        {"count!=10", 9, 10, 11, true, false, true},
        {"rate>=0.8", 0.79, 0.8, 0.81, false, true, true},
    };
    for (size_t i = 0; i < AR_ARRAY_LEN(cases); i++) {
        ar_threshold t = parse_ok(cases[i].expr);
        assert_int_equal(ar_thr_eval(&t, cases[i].below), cases[i].want_below);
        assert_int_equal(ar_thr_eval(&t, cases[i].at), cases[i].want_at);
        assert_int_equal(ar_thr_eval(&t, cases[i].above), cases[i].want_above);
        assert_false(ar_thr_eval(&t, NAN)); /* no data never passes */
    }
}

static void expect_kind(const char *expr, const char *metric, ar_thr_kind kind, const char *message)
{
    ar_threshold t = parse_ok(expr);
    char err[256] = "";
    ar_err e = ar_thr_check_kind(&t, metric, kind, err, sizeof(err));
    if (!message) {
        if (e != AR_OK) fail_msg("'%s' on %s: %s", expr, ar_thr_kind_name(kind), err);
        return;
    }
    assert_int_equal(e, AR_EINVAL);
    assert_string_equal(err, message);
}

static void kinds_accept_only_their_aggregations(void **state)
{
    (void)state;
    const char *trend_ok[] = {"p(95)<1s", "avg<1s", "min<1s", "max<1s", "med<1s"};
    for (size_t i = 0; i < AR_ARRAY_LEN(trend_ok); i++) {
        expect_kind(trend_ok[i], "turn_duration", AR_THR_KIND_TREND, NULL);
        ar_threshold t = parse_ok(trend_ok[i]);
        char err[256];
        assert_int_equal(ar_thr_check_kind(&t, "x", AR_THR_KIND_RATE, err, sizeof(err)), AR_EINVAL);
        assert_int_equal(ar_thr_check_kind(&t, "x", AR_THR_KIND_COUNTER, err, sizeof(err)),
                         AR_EINVAL);
    }
    expect_kind("rate>=0.8", "turn_duration", AR_THR_KIND_TREND,
                "threshold 'rate>=0.8' on metric 'turn_duration': rate does not apply to a trend "
                "(valid: p(N), avg, min, max, med)");
    expect_kind("count<10", "turn_duration", AR_THR_KIND_TREND,
                "threshold 'count<10' on metric 'turn_duration': count does not apply to a trend "
                "(valid: p(N), avg, min, max, med)");
    expect_kind("rate>=0.8", "session_success", AR_THR_KIND_RATE, NULL);
    expect_kind("rate>=1", "session_success", AR_THR_KIND_RATE, NULL);
    expect_kind("rate>=80", "session_success", AR_THR_KIND_RATE,
                "threshold 'rate>=80' on metric 'session_success': a rate is a fraction between 0 "
                "and 1 (got 80)");
    expect_kind("p(95)<1s", "session_success", AR_THR_KIND_RATE,
                "threshold 'p(95)<1s' on metric 'session_success': p(N) does not apply to a rate "
                "(valid: rate)");
    expect_kind("count<10", "session_success", AR_THR_KIND_RATE,
                "threshold 'count<10' on metric 'session_success': count does not apply to a rate "
                "(valid: rate)");
    expect_kind("count<10", "sessions_failed", AR_THR_KIND_COUNTER, NULL);
    expect_kind("rate<80", "events", AR_THR_KIND_COUNTER, NULL); /* per second: no 0..1 cap */
    expect_kind("avg<1s", "sessions_failed", AR_THR_KIND_COUNTER,
                "threshold 'avg<1s' on metric 'sessions_failed': avg does not apply to a counter "
                "(valid: count, rate)");
    expect_kind("med<1s", "sessions_failed", AR_THR_KIND_COUNTER,
                "threshold 'med<1s' on metric 'sessions_failed': med does not apply to a counter "
                "(valid: count, rate)");
}

static void verdicts_read_well_in_reports(void **state)
{
    (void)state;
    char out[256];
    ar_threshold t = parse_ok("p(95)<15s");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, 12.3e6, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: observed 12.3s, passed");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, 15e6, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: observed 15s, failed");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, 850, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: observed 850us, passed");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, 4210, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: observed 4.21ms, passed");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, 90e6, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: observed 1.5m, failed");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, 7200e6, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: observed 2h, failed");
    ar_thr_format_verdict(&t, AR_THR_KIND_TREND, NAN, out, sizeof(out));
    assert_string_equal(out, "p(95)<15s: no data, failed");
    t = parse_ok("rate >= 0.8");
    ar_thr_format_verdict(&t, AR_THR_KIND_RATE, 0.75, out, sizeof(out));
    assert_string_equal(out, "rate >= 0.8: observed 0.75, failed");
    ar_thr_format_verdict(&t, AR_THR_KIND_RATE, 1, out, sizeof(out));
    assert_string_equal(out, "rate >= 0.8: observed 1, passed");
    ar_thr_format_verdict(&t, AR_THR_KIND_COUNTER, 12.5, out, sizeof(out));
    assert_string_equal(out, "rate >= 0.8: observed 12.5/s, passed");
    t = parse_ok("count<10");
    ar_thr_format_verdict(&t, AR_THR_KIND_COUNTER, 12, out, sizeof(out));
    assert_string_equal(out, "count<10: observed 12, failed");
}

static void trend_aggregations_read_the_histogram(void **state)
{
    (void)state;
    ar_hist *h = NULL;
    assert_int_equal(ar_hist_new(AR_HIST_LOWEST_US, AR_HIST_HIGHEST_US, AR_HIST_SIGFIG, &h), AR_OK);
    ar_threshold t = parse_ok("p(90)<1s");
    assert_true(isnan(ar_thr_observe_trend(&t, h)));
    for (int64_t v = 1; v <= 100; v++)
        ar_hist_record(h, v * 1000);
    assert_true(ar_thr_observe_trend(&t, h) == (double)ar_hist_percentile(h, 90));
    assert_true(fabs(ar_thr_observe_trend(&t, h) - 90000) <= 90000 / 256.0);
    t = parse_ok("med<1s");
    assert_true(ar_thr_observe_trend(&t, h) == (double)ar_hist_percentile(h, 50));
    t = parse_ok("avg<1s");
    assert_true(ar_thr_observe_trend(&t, h) == 50500.0);
    t = parse_ok("min<1s");
    assert_true(ar_thr_observe_trend(&t, h) == 1000.0);
    t = parse_ok("max<1s");
    assert_true(ar_thr_observe_trend(&t, h) == 100000.0);
    assert_true(ar_thr_eval(&t, ar_thr_observe_trend(&t, h)));
    t = parse_ok("count<1");
    assert_true(isnan(ar_thr_observe_trend(&t, h)));
    ar_hist_free(h);
}

static void names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(ar_thr_agg_name(AR_THR_P), "p(N)");
    assert_string_equal(ar_thr_agg_name(AR_THR_COUNT), "count");
    assert_string_equal(ar_thr_op_name(AR_THR_LE), "<=");
    assert_string_equal(ar_thr_op_name(AR_THR_NE), "!=");
    assert_string_equal(ar_thr_kind_name(AR_THR_KIND_COUNTER), "counter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_form_parses_into_the_right_fields),
        cmocka_unit_test(every_error_has_an_exact_message),
        cmocka_unit_test(eval_every_operator_at_its_boundary),
        cmocka_unit_test(kinds_accept_only_their_aggregations),
        cmocka_unit_test(verdicts_read_well_in_reports),
        cmocka_unit_test(trend_aggregations_read_the_histogram),
        cmocka_unit_test(names_are_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
