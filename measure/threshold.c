/*
 * threshold.c - k6 threshold expressions: parse, check against a metric's
 * kind, evaluate, and describe the verdict.
 *
 * The parser is a hand-written scanner rather than a regex so that each way
 * an expression can be wrong gets its own message that quotes the offending
 * part: a threshold typo should be fixed from the error alone.
 */
#include "threshold.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALID_AGGS "p(N), avg, min, max, med, rate, count"
#define VALID_OPS "<, <=, >, >=, ==, !="
#define VALID_UNITS "us, ms, s, m, h"

static const struct {
    const char *name;
    ar_thr_agg agg;
} agg_names[] = {
    {"avg", AR_THR_AVG}, {"min", AR_THR_MIN},   {"max", AR_THR_MAX},
    {"med", AR_THR_MED}, {"rate", AR_THR_RATE}, {"count", AR_THR_COUNT},
};

static const struct {
    const char *text;
    ar_thr_op op;
} op_names[] = {
    {"<", AR_THR_LT},  {"<=", AR_THR_LE}, {">", AR_THR_GT},
    {">=", AR_THR_GE}, {"==", AR_THR_EQ}, {"===", AR_THR_EQ}, /* k6 accepts JavaScript's === too */
    {"!=", AR_THR_NE},
};

static const struct {
    const char *unit;
    double us;
} unit_names[] = {
    {"us", 1.0}, {"µs", 1.0}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6},
};

const char *ar_thr_agg_name(ar_thr_agg agg)
{
    switch (agg) {
    case AR_THR_P:
        return "p(N)";
    case AR_THR_AVG:
        return "avg";
    case AR_THR_MIN:
        return "min";
    case AR_THR_MAX:
        return "max";
    case AR_THR_MED:
        return "med";
    case AR_THR_RATE:
        return "rate";
    case AR_THR_COUNT:
        return "count";
    }
    return "?";
}

const char *ar_thr_op_name(ar_thr_op op)
{
    switch (op) {
    case AR_THR_LT:
        return "<";
    case AR_THR_LE:
        return "<=";
    case AR_THR_GT:
        return ">";
    case AR_THR_GE:
        return ">=";
    case AR_THR_EQ:
        return "==";
    case AR_THR_NE:
        return "!=";
    }
    return "?";
}

const char *ar_thr_kind_name(ar_thr_kind kind)
{
    switch (kind) {
    case AR_THR_KIND_TREND:
        return "trend";
    case AR_THR_KIND_RATE:
        return "rate";
    case AR_THR_KIND_COUNTER:
        return "counter";
    }
    return "?";
}

static bool is_duration_agg(ar_thr_agg agg)
{
    return agg != AR_THR_RATE && agg != AR_THR_COUNT;
}

static bool is_op_char(char c)
{
    return c == '<' || c == '>' || c == '=' || c == '!';
}

static const char *skip_ws(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/*
 * Scans a decimal number ("-12", "1.5", ".5", "2e3") at s; returns the bytes
 * used (0: not a number) and the value in *v. No hex, inf or nan, which
 * strtod alone would accept.
 */
static size_t scan_number(const char *s, double *v)
{
    size_t i = 0, digits = 0;
    if (s[i] == '-' || s[i] == '+') i++;
    while (isdigit((unsigned char)s[i]))
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (digits == 0) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '-' || s[j] == '+') j++;
        if (isdigit((unsigned char)s[j])) {
            while (isdigit((unsigned char)s[j]))
                j++;
            i = j;
        }
    }
    char buf[64];
    if (i >= sizeof(buf)) return 0;
    memcpy(buf, s, i);
    buf[i] = '\0';
    *v = strtod(buf, NULL);
    return i;
}

static ar_err parse_percentile(const char **pp, const char *src, double *pct, char *err,
                               size_t err_len)
{
    const char *p = skip_ws(*pp);
    double v = 0;
    size_t n = scan_number(p, &v);
    if (n == 0) {
        const char *close = strchr(p, ')');
        int len = close ? (int)(close - p) : (int)strlen(p);
        snprintf(err, err_len, "invalid percentile '%.*s' in '%s' (expected p(N), N from 0 to 100)",
                 len, p, src);
        return AR_EINVAL;
    }
    const char *after = skip_ws(p + n);
    if (*after != ')') {
        snprintf(err, err_len, "missing ')' after the percentile in '%s'", src);
        return AR_EINVAL;
    }
    if (!isfinite(v) || v < 0.0 || v > 100.0) {
        snprintf(err, err_len, "percentile must be between 0 and 100 (got %.*s)", (int)n, p);
        return AR_EINVAL;
    }
    *pct = v;
    *pp = after + 1;
    return AR_OK;
}

static ar_err parse_agg(const char **pp, const char *src, ar_threshold *t, char *err,
                        size_t err_len)
{
    const char *p = *pp;
    if (*p == 'p' && *skip_ws(p + 1) == '(') {
        const char *q = skip_ws(p + 1) + 1;
        ar_err e = parse_percentile(&q, src, &t->percentile, err, err_len);
        if (e) return e;
        t->agg = AR_THR_P;
        *pp = q;
        return AR_OK;
    }
    size_t len = 0;
    while (p[len] && !isspace((unsigned char)p[len]) && !is_op_char(p[len]))
        len++;
    if (len == 0) {
        snprintf(err, err_len, "missing aggregation in '%s' (valid: " VALID_AGGS ")", src);
        return AR_EINVAL;
    }
    for (size_t i = 0; i < AR_ARRAY_LEN(agg_names); i++) {
        if (strlen(agg_names[i].name) == len && strncmp(agg_names[i].name, p, len) == 0) {
            t->agg = agg_names[i].agg;
            t->percentile = t->agg == AR_THR_MED ? 50.0 : 0.0;
            *pp = p + len;
            return AR_OK;
        }
    }
    snprintf(err, err_len, "unknown aggregation '%.*s' (valid: " VALID_AGGS ")", (int)len, p);
    return AR_EINVAL;
}

static ar_err parse_op(const char **pp, const char *src, ar_threshold *t, char *err, size_t err_len)
{
    const char *p = skip_ws(*pp);
    size_t len = 0;
    while (is_op_char(p[len]))
        len++;
    if (len == 0) {
        snprintf(err, err_len, "missing operator in '%s'", src);
        return AR_EINVAL;
    }
    for (size_t i = 0; i < AR_ARRAY_LEN(op_names); i++) {
        if (strlen(op_names[i].text) == len && strncmp(op_names[i].text, p, len) == 0) {
            t->op = op_names[i].op;
            *pp = p + len;
            return AR_OK;
        }
    }
    snprintf(err, err_len, "invalid operator '%.*s' in '%s' (valid: " VALID_OPS ")", (int)len, p,
             src);
    return AR_EINVAL;
}

static ar_err parse_value(const char *p, const char *src, ar_threshold *t, char *err,
                          size_t err_len)
{
    p = skip_ws(p);
    if (!*p) {
        snprintf(err, err_len, "missing value in '%s'", src);
        return AR_EINVAL;
    }
    double v = 0;
    size_t n = scan_number(p, &v);
    if (n == 0 || !isfinite(v)) {
        snprintf(err, err_len, "invalid value '%s'", p);
        return AR_EINVAL;
    }
    if (v < 0) {
        snprintf(err, err_len, "value must not be negative (got '%s')", p);
        return AR_EINVAL;
    }
    const char *unit = skip_ws(p + n);
    if (!*unit) {
        /* k6: a bare number on a duration is milliseconds. */
        t->value = is_duration_agg(t->agg) ? v * 1e3 : v;
        return AR_OK;
    }
    if (!is_duration_agg(t->agg)) {
        snprintf(err, err_len, "value for %s must be a plain number (got '%s')",
                 ar_thr_agg_name(t->agg), p);
        return AR_EINVAL;
    }
    for (size_t i = 0; i < AR_ARRAY_LEN(unit_names); i++) {
        if (strcmp(unit, unit_names[i].unit) == 0) {
            t->value = v * unit_names[i].us;
            return AR_OK;
        }
    }
    bool word = true;
    for (const char *c = unit; *c; c++)
        if (!isalpha((unsigned char)*c)) word = false;
    if (word)
        snprintf(err, err_len, "unknown unit '%s' in '%s' (valid: " VALID_UNITS ")", unit, p);
    else
        snprintf(err, err_len, "invalid value '%s'", p);
    return AR_EINVAL;
}

ar_err ar_thr_parse(const char *expr, ar_threshold *out, char *err, size_t err_len)
{
    const char *s = expr ? skip_ws(expr) : "";
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0) {
        snprintf(err, err_len, "empty threshold expression");
        return AR_EINVAL;
    }
    if (len >= AR_THR_SOURCE_MAX) {
        snprintf(err, err_len, "threshold expression too long (%zu bytes; max %d)", len,
                 AR_THR_SOURCE_MAX - 1);
        return AR_EINVAL;
    }
    ar_threshold t;
    memset(&t, 0, sizeof(t));
    memcpy(t.source, s, len);
    t.source[len] = '\0';

    const char *p = skip_ws(t.source);
    ar_err e = parse_agg(&p, t.source, &t, err, err_len);
    if (!e) e = parse_op(&p, t.source, &t, err, err_len);
    if (!e) e = parse_value(p, t.source, &t, err, err_len);
    if (e) return e;
    *out = t;
    return AR_OK;
}

ar_err ar_thr_check_kind(const ar_threshold *t, const char *metric, ar_thr_kind kind, char *err,
                         size_t err_len)
{
    const char *valid = NULL;
    switch (kind) {
    case AR_THR_KIND_TREND:
        if (is_duration_agg(t->agg)) return AR_OK;
        valid = "p(N), avg, min, max, med";
        break;
    case AR_THR_KIND_RATE:
        if (t->agg == AR_THR_RATE) {
            if (t->value <= 1.0) return AR_OK;
            snprintf(err, err_len,
                     "threshold '%s' on metric '%s': a rate is a fraction between 0 and 1 "
                     "(got %g)",
                     t->source, metric, t->value);
            return AR_EINVAL;
        }
        valid = "rate";
        break;
    case AR_THR_KIND_COUNTER:
        if (t->agg == AR_THR_COUNT || t->agg == AR_THR_RATE) return AR_OK;
        valid = "count, rate";
        break;
    default:
        snprintf(err, err_len, "threshold '%s' on metric '%s': unknown metric kind", t->source,
                 metric);
        return AR_EINVAL;
    }
    snprintf(err, err_len, "threshold '%s' on metric '%s': %s does not apply to a %s (valid: %s)",
             t->source, metric, ar_thr_agg_name(t->agg), ar_thr_kind_name(kind), valid);
    return AR_EINVAL;
}

bool ar_thr_eval(const ar_threshold *t, double observed)
{
    if (isnan(observed)) return false;
    switch (t->op) {
    case AR_THR_LT:
        return observed < t->value;
    case AR_THR_LE:
        return observed <= t->value;
    case AR_THR_GT:
        return observed > t->value;
    case AR_THR_GE:
        return observed >= t->value;
    case AR_THR_EQ:
        return observed == t->value;
    case AR_THR_NE:
        return observed != t->value;
    }
    return false;
}

double ar_thr_observe_trend(const ar_threshold *t, const ar_hist *h)
{
    if (ar_hist_count(h) == 0) return NAN;
    switch (t->agg) {
    case AR_THR_P:
        return (double)ar_hist_percentile(h, t->percentile);
    case AR_THR_MED:
        return (double)ar_hist_percentile(h, 50.0);
    case AR_THR_AVG:
        return ar_hist_mean(h);
    case AR_THR_MIN:
        return (double)ar_hist_min(h);
    case AR_THR_MAX:
        return (double)ar_hist_max(h);
    case AR_THR_RATE:
    case AR_THR_COUNT:
        break;
    }
    return NAN;
}

/* About three significant figures, trailing zeros dropped: "12.3", "850", "0.5". */
static void fmt_short(double v, char *out, size_t out_len)
{
    double a = fabs(v);
    int decimals = a >= 100.0 ? 0 : a >= 10.0 ? 1 : a >= 1.0 ? 2 : 4;
    snprintf(out, out_len, "%.*f", decimals, v);
    if (strchr(out, '.')) {
        size_t n = strlen(out);
        while (n && out[n - 1] == '0')
            out[--n] = '\0';
        if (n && out[n - 1] == '.') out[--n] = '\0';
    }
}

static void fmt_duration_short(double us, char *out, size_t out_len)
{
    static const struct {
        double below_us;
        double per_us;
        const char *unit;
    } scales[] = {
        {1e3, 1.0, "us"},
        {1e6, 1e3, "ms"},
        {60e6, 1e6, "s"},
        {3600e6, 60e6, "m"},
    };
    char num[64];
    for (size_t i = 0; i < AR_ARRAY_LEN(scales); i++) {
        if (fabs(us) < scales[i].below_us) {
            fmt_short(us / scales[i].per_us, num, sizeof(num));
            snprintf(out, out_len, "%s%s", num, scales[i].unit);
            return;
        }
    }
    fmt_short(us / 3600e6, num, sizeof(num));
    snprintf(out, out_len, "%sh", num);
}

void ar_thr_format_verdict(const ar_threshold *t, ar_thr_kind kind, double observed, char *out,
                           size_t out_len)
{
    bool passed = ar_thr_eval(t, observed);
    if (isnan(observed)) {
        snprintf(out, out_len, "%s: no data, failed", t->source);
        return;
    }
    char shown[80];
    if (is_duration_agg(t->agg)) {
        fmt_duration_short(observed, shown, sizeof(shown));
    } else if (t->agg == AR_THR_COUNT) {
        snprintf(shown, sizeof(shown), "%.0f", observed);
    } else {
        fmt_short(observed, shown, sizeof(shown));
        if (kind == AR_THR_KIND_COUNTER) strcat(shown, "/s");
    }
    snprintf(out, out_len, "%s: observed %s, %s", t->source, shown, passed ? "passed" : "failed");
}
