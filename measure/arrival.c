/*
 * arrival.c - inverting the integral of a piecewise-linear rate.
 *
 * Within a stage starting at rate r0 and ramping with slope a (per s^2), the
 * number of arrivals after tau seconds is n(tau) = r0 tau + a tau^2 / 2.
 * Solving n(tau) = k with the stable form tau = 2k / (r0 + sqrt(r0^2 + 2ak))
 * avoids the cancellation of the textbook (-r0 + sqrt(...)) / a when a is
 * small, and covers a == 0 (tau = k / r0) and ramps down (a < 0) alike.
 * Times are computed from the stage start each time, never accumulated
 * from the previous arrival, so rounding does not drift over a long run.
 */
#include "arrival.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Ten years: anything longer is a typo, and it keeps sums far from overflow. */
#define ARR_MAX_TOTAL_US (10LL * 365 * 24 * 3600 * 1000000)

static double stage_arrivals(double r0, const ar_arr_stage *s)
{
    return (r0 + s->target_per_s) * (double)s->duration_us / 2e6;
}

/* Arrival indices exactly at a stage's end belong to the next stage; a
 * relative slack absorbs rounding in the sums of fractional stages. */
static bool before(double i, double end)
{
    return i < end - fabs(end) * 1e-12;
}

ar_err ar_arr_init(const ar_arr_stage *stages, size_t n, double start_rate_per_s, ar_arr *out,
                   char *err, size_t err_len)
{
    if (n == 0 || !stages) {
        snprintf(err, err_len, "arrival schedule has no stages");
        return AR_EINVAL;
    }
    if (n > AR_ARR_MAX_STAGES) {
        snprintf(err, err_len, "too many stages (%zu; max %d)", n, AR_ARR_MAX_STAGES);
        return AR_EINVAL;
    }
    if (!isfinite(start_rate_per_s) || start_rate_per_s < 0) {
        snprintf(err, err_len, "start rate must be a non-negative number (got %g)",
                 start_rate_per_s);
        return AR_EINVAL;
    }
    int64_t total_us = 0;
    double total = 0, r0 = start_rate_per_s;
    for (size_t i = 0; i < n; i++) {
        const ar_arr_stage *s = &stages[i];
        if (s->duration_us < 0) {
            snprintf(err, err_len, "stage %zu: duration must not be negative (got %lldus)", i + 1,
                     (long long)s->duration_us);
            return AR_EINVAL;
        }
        if (!isfinite(s->target_per_s) || s->target_per_s < 0) {
            snprintf(err, err_len, "stage %zu: target rate must be a non-negative number (got %g)",
                     i + 1, s->target_per_s);
            return AR_EINVAL;
        }
        if (s->duration_us > ARR_MAX_TOTAL_US - total_us) {
            snprintf(err, err_len, "stages last longer than 10 years in total");
            return AR_EINVAL;
        }
        total_us += s->duration_us;
        total += stage_arrivals(r0, s);
        r0 = s->target_per_s;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->stages, stages, n * sizeof(*stages));
    out->n_stages = n;
    out->start_per_s = start_rate_per_s;
    out->total_us = total_us;
    out->total_arrivals = total;
    out->stage_start_rate = start_rate_per_s;
    return AR_OK;
}

bool ar_arr_next(ar_arr *a, int64_t *t_us)
{
    double i = (double)a->next_i;
    while (a->stage < a->n_stages) {
        const ar_arr_stage *s = &a->stages[a->stage];
        double in_stage = stage_arrivals(a->stage_start_rate, s);
        if (before(i, a->arrivals_before_stage + in_stage)) break;
        a->arrivals_before_stage += in_stage;
        a->stage_start_us += s->duration_us;
        a->stage_start_rate = s->target_per_s;
        a->stage++;
    }
    if (a->stage >= a->n_stages) return false;
    const ar_arr_stage *s = &a->stages[a->stage];
    double k = i - a->arrivals_before_stage;
    double r0 = a->stage_start_rate;
    double tau_s = 0.0;
    if (k > 0) {
        double slope = (s->target_per_s - r0) / ((double)s->duration_us / 1e6);
        double disc = r0 * r0 + 2.0 * slope * k;
        tau_s = 2.0 * k / (r0 + sqrt(disc > 0 ? disc : 0));
    }
    int64_t off_us = llround(tau_s * 1e6);
    /* Rounding must not carry an arrival past its stage. */
    if (off_us >= s->duration_us) off_us = s->duration_us - 1;
    *t_us = a->stage_start_us + off_us;
    a->next_i++;
    return true;
}

uint64_t ar_arr_total(const ar_arr *a)
{
    double t = a->total_arrivals;
    if (t <= 0) return 0;
    double c = ceil(t);
    /* 50.000000000001 is 50 arrivals (indices 0..49), as ar_arr_next sees it. */
    if (c - 1 >= 0 && !before(c - 1, t)) c -= 1;
    return (uint64_t)c;
}

int64_t ar_arr_duration_us(const ar_arr *a)
{
    return a->total_us;
}

double ar_arr_rate_at(const ar_arr *a, int64_t t_us)
{
    if (t_us < 0 || t_us > a->total_us) return 0.0;
    int64_t start = 0;
    double r0 = a->start_per_s;
    for (size_t i = 0; i < a->n_stages; i++) {
        const ar_arr_stage *s = &a->stages[i];
        if (t_us < start + s->duration_us) {
            double f = (double)(t_us - start) / (double)s->duration_us;
            return r0 + (s->target_per_s - r0) * f;
        }
        start += s->duration_us;
        r0 = s->target_per_s;
    }
    return r0;
}
