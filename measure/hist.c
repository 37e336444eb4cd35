/*
 * hist.c - log-linear histogram (see hist.h for the layout and its error).
 *
 * Bucket index of a value v (in units of 2^unit_shift us, "vu"):
 *   vu < sub_count                  -> vu                         (width 1)
 *   otherwise, with k = floor(log2(vu)) - (sub_shift - 1) >= 1,
 *                                   -> sub_count + (k - 1) * half + (vu >> k) - half
 * Level k covers [sub_count * 2^(k-1), sub_count * 2^k) with half buckets of
 * width 2^k, so the index is monotonic in v: walking buckets in index order
 * walks values in order, which is what percentiles and exact merges rely on.
 */
#include "hist.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps every bucket bound (up to sub_count << levels << unit_shift < 2 * highest) below 2^63. */
#define HIST_MAX_HIGHEST_US (1LL << 60)
/* cJSON numbers are doubles: integers beyond 2^53 would not survive. */
#define HIST_JSON_MAX_INT 9007199254740992.0

struct ar_hist {
    int64_t lowest_us;
    int64_t highest_us;
    int sigfig;
    int unit_shift; /* floor(log2(lowest_us)) */
    int sub_shift;  /* log2(sub_count) */
    int64_t sub_count;
    int64_t half;
    size_t n_buckets;
    uint64_t count;
    uint64_t out_of_range;
    int64_t min_us;
    int64_t max_us;
    int64_t sum_us;
    uint64_t counts[];
};

static int floor_log2(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

static size_t bucket_index(const ar_hist *h, int64_t v)
{
    uint64_t vu = (uint64_t)v >> h->unit_shift;
    if (vu < (uint64_t)h->sub_count) return (size_t)vu;
    int k = floor_log2(vu) - (h->sub_shift - 1);
    return (size_t)(h->sub_count + (int64_t)(k - 1) * h->half + (int64_t)(vu >> k) - h->half);
}

static int bucket_level(const ar_hist *h, size_t idx)
{
    if ((int64_t)idx < h->sub_count) return 0;
    return (int)(((int64_t)idx - h->sub_count) / h->half) + 1;
}

static int64_t bucket_low(const ar_hist *h, size_t idx)
{
    int k = bucket_level(h, idx);
    if (k == 0) return (int64_t)idx << h->unit_shift;
    int64_t slot = ((int64_t)idx - h->sub_count) % h->half;
    return ((slot + h->half) << k) << h->unit_shift;
}

static int64_t bucket_width(const ar_hist *h, size_t idx)
{
    return (int64_t)1 << (bucket_level(h, idx) + h->unit_shift);
}

ar_err ar_hist_new(int64_t lowest_us, int64_t highest_us, int significant_figures, ar_hist **out)
{
    if (lowest_us < 1 || significant_figures < 1 || significant_figures > 5 ||
        highest_us > HIST_MAX_HIGHEST_US || highest_us < 2 * lowest_us)
        return AR_EINVAL;
    int64_t single = 2;
    for (int i = 0; i < significant_figures; i++)
        single *= 10;
    int sub_shift = 0;
    while (((int64_t)1 << sub_shift) < single)
        sub_shift++;
    int unit_shift = floor_log2((uint64_t)lowest_us);
    int64_t sub_count = (int64_t)1 << sub_shift;
    int64_t top_units = highest_us >> unit_shift;
    int levels = 0;
    while ((sub_count << levels) <= top_units)
        levels++;
    size_t n_buckets = (size_t)sub_count + (size_t)levels * (size_t)(sub_count / 2);

    ar_hist *h = calloc(1, sizeof(*h) + n_buckets * sizeof(uint64_t));
    if (!h) return AR_ENOMEM;
    h->lowest_us = lowest_us;
    h->highest_us = highest_us;
    h->sigfig = significant_figures;
    h->unit_shift = unit_shift;
    h->sub_shift = sub_shift;
    h->sub_count = sub_count;
    h->half = sub_count / 2;
    h->n_buckets = n_buckets;
    *out = h;
    return AR_OK;
}

void ar_hist_free(ar_hist *h)
{
    free(h);
}

void ar_hist_reset(ar_hist *h)
{
    memset(h->counts, 0, h->n_buckets * sizeof(uint64_t));
    h->count = 0;
    h->out_of_range = 0;
    h->min_us = 0;
    h->max_us = 0;
    h->sum_us = 0;
}

bool ar_hist_record_n(ar_hist *h, int64_t value_us, uint64_t n)
{
    bool in_range = true;
    if (value_us < 0) {
        value_us = 0;
        in_range = false;
    } else if (value_us > h->highest_us) {
        value_us = h->highest_us;
        in_range = false;
    }
    if (n == 0) return in_range;
    if (!in_range) h->out_of_range += n;
    h->counts[bucket_index(h, value_us)] += n;
    if (h->count == 0 || value_us < h->min_us) h->min_us = value_us;
    if (h->count == 0 || value_us > h->max_us) h->max_us = value_us;
    h->count += n;
    h->sum_us += value_us * (int64_t)n;
    return in_range;
}

bool ar_hist_record(ar_hist *h, int64_t value_us)
{
    return ar_hist_record_n(h, value_us, 1);
}

static bool same_shape(const ar_hist *a, const ar_hist *b)
{
    return a->lowest_us == b->lowest_us && a->highest_us == b->highest_us && a->sigfig == b->sigfig;
}

ar_err ar_hist_add(ar_hist *dst, const ar_hist *src)
{
    if (!same_shape(dst, src)) return AR_EINVAL;
    if (src->count == 0 && src->out_of_range == 0) return AR_OK;
    for (size_t i = 0; i < dst->n_buckets; i++)
        dst->counts[i] += src->counts[i];
    if (src->count > 0) {
        if (dst->count == 0 || src->min_us < dst->min_us) dst->min_us = src->min_us;
        if (dst->count == 0 || src->max_us > dst->max_us) dst->max_us = src->max_us;
    }
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    dst->out_of_range += src->out_of_range;
    return AR_OK;
}

uint64_t ar_hist_count(const ar_hist *h)
{
    return h->count;
}

uint64_t ar_hist_out_of_range(const ar_hist *h)
{
    return h->out_of_range;
}

int64_t ar_hist_min(const ar_hist *h)
{
    return h->min_us;
}

int64_t ar_hist_max(const ar_hist *h)
{
    return h->max_us;
}

int64_t ar_hist_sum(const ar_hist *h)
{
    return h->sum_us;
}

double ar_hist_mean(const ar_hist *h)
{
    return h->count ? (double)h->sum_us / (double)h->count : 0.0;
}

double ar_hist_stddev(const ar_hist *h)
{
    if (h->count == 0) return 0.0;
    double mean = ar_hist_mean(h);
    double acc = 0.0;
    for (size_t i = 0; i < h->n_buckets; i++) {
        if (!h->counts[i]) continue;
        double mid = (double)bucket_low(h, i) + (double)(bucket_width(h, i) - 1) / 2.0;
        double d = mid - mean;
        acc += (double)h->counts[i] * d * d;
    }
    return sqrt(acc / (double)h->count);
}

int64_t ar_hist_percentile(const ar_hist *h, double p)
{
    if (h->count == 0) return 0;
    if (!(p > 0.0)) return h->min_us;
    if (p >= 100.0) return h->max_us;
    uint64_t rank = ar_stats_rank(p, h->count);
    uint64_t seen = 0;
    for (size_t i = 0; i < h->n_buckets; i++) {
        seen += h->counts[i];
        if (seen < rank) continue;
        int64_t v = bucket_low(h, i) + (bucket_width(h, i) >> 1);
        if (v < h->min_us) v = h->min_us;
        if (v > h->max_us) v = h->max_us;
        return v;
    }
    return h->max_us; /* unreachable while counts add up to count */
}

size_t ar_hist_memory_bytes(const ar_hist *h)
{
    return sizeof(*h) + h->n_buckets * sizeof(uint64_t);
}

int64_t ar_hist_lowest_us(const ar_hist *h)
{
    return h->lowest_us;
}

int64_t ar_hist_highest_us(const ar_hist *h)
{
    return h->highest_us;
}

int ar_hist_significant_figures(const ar_hist *h)
{
    return h->sigfig;
}

static bool add_number(cJSON *parent, const char *name, double v)
{
    cJSON *n = cJSON_CreateNumber(v);
    if (!n) return false;
    if (name)
        cJSON_AddItemToObject(parent, name, n);
    else
        cJSON_AddItemToArray(parent, n);
    return true;
}

cJSON *ar_hist_to_json(const ar_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *counts = cJSON_CreateArray();
    if (!o || !counts) goto fail;
    bool ok =
        add_number(o, "lowest_us", (double)h->lowest_us) &&
        add_number(o, "highest_us", (double)h->highest_us) &&
        add_number(o, "significant_figures", h->sigfig) &&
        add_number(o, "count", (double)h->count) && add_number(o, "min_us", (double)h->min_us) &&
        add_number(o, "max_us", (double)h->max_us) && add_number(o, "sum_us", (double)h->sum_us) &&
        add_number(o, "out_of_range", (double)h->out_of_range);
    if (!ok) goto fail;
    uint64_t zeros = 0;
    for (size_t i = 0; i < h->n_buckets; i++) {
        if (!h->counts[i]) {
            zeros++;
            continue;
        }
        if (zeros && !add_number(counts, NULL, -(double)zeros)) goto fail;
        zeros = 0;
        if (!add_number(counts, NULL, (double)h->counts[i])) goto fail;
    }
    cJSON_AddItemToObject(o, "counts", counts);
    return o;
fail:
    cJSON_Delete(counts);
    cJSON_Delete(o);
    return NULL;
}

static bool json_int(const cJSON *v, double lo, int64_t *out)
{
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < lo || d > HIST_JSON_MAX_INT) return false;
    *out = (int64_t)d;
    return true;
}

static bool field_int(const cJSON *obj, const char *name, int64_t *out, char *err, size_t err_len)
{
    if (json_int(cJSON_GetObjectItemCaseSensitive(obj, name), 0, out)) return true;
    snprintf(err, err_len, "histogram: missing or invalid '%s' (a non-negative integer)", name);
    return false;
}

ar_err ar_hist_from_json(const cJSON *obj, ar_hist **out, char *err, size_t err_len)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(err, err_len, "histogram: expected an object");
        return AR_EPARSE;
    }
    int64_t lowest, highest, sigfig, count, min_us, max_us, sum_us, oor;
    if (!field_int(obj, "lowest_us", &lowest, err, err_len) ||
        !field_int(obj, "highest_us", &highest, err, err_len) ||
        !field_int(obj, "significant_figures", &sigfig, err, err_len) ||
        !field_int(obj, "count", &count, err, err_len) ||
        !field_int(obj, "min_us", &min_us, err, err_len) ||
        !field_int(obj, "max_us", &max_us, err, err_len) ||
        !field_int(obj, "sum_us", &sum_us, err, err_len) ||
        !field_int(obj, "out_of_range", &oor, err, err_len))
        return AR_EPARSE;
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(obj, "counts");
    if (!cJSON_IsArray(counts)) {
        snprintf(err, err_len, "histogram: missing 'counts'");
        return AR_EPARSE;
    }
    ar_hist *h = NULL;
    ar_err e = sigfig > 5 ? AR_EINVAL : ar_hist_new(lowest, highest, (int)sigfig, &h);
    if (e == AR_ENOMEM) return e;
    if (e) {
        snprintf(err, err_len,
                 "histogram: invalid shape (lowest_us %lld, highest_us %lld, "
                 "significant_figures %lld)",
                 (long long)lowest, (long long)highest, (long long)sigfig);
        return AR_EPARSE;
    }
    uint64_t total = 0;
    size_t idx = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, counts)
    {
        int64_t v;
        if (!json_int(item, -HIST_JSON_MAX_INT, &v)) {
            snprintf(err, err_len, "histogram: 'counts' holds a non-integer");
            goto bad;
        }
        if (v < 0) {
            if ((uint64_t)-v > h->n_buckets - idx) goto past_end;
            idx += (size_t)-v;
            continue;
        }
        if (idx >= h->n_buckets) goto past_end;
        h->counts[idx++] = (uint64_t)v;
        total += (uint64_t)v;
    }
    if (total != (uint64_t)count) {
        snprintf(err, err_len, "histogram: bucket counts add up to %llu, but count is %lld",
                 (unsigned long long)total, (long long)count);
        goto bad;
    }
    if ((uint64_t)oor > (uint64_t)count || (count > 0 && (min_us > max_us || max_us > highest))) {
        snprintf(err, err_len, "histogram: min_us, max_us and out_of_range disagree with count");
        goto bad;
    }
    h->count = (uint64_t)count;
    h->min_us = count ? min_us : 0;
    h->max_us = count ? max_us : 0;
    h->sum_us = sum_us;
    h->out_of_range = (uint64_t)oor;
    *out = h;
    return AR_OK;
past_end:
    snprintf(err, err_len, "histogram: counts run past the last bucket");
bad:
    ar_hist_free(h);
    return AR_EPARSE;
}
