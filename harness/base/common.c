/*
 * common.c - errors, clocks, owned strings and the capped buffer that every
 * other module uses. Kept free of any library dependency so that anything
 * can link it.
 */
#include "ar.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const err_names[AR_ERR__COUNT] = {
    [AR_OK] = "ok",
    [AR_ENOMEM] = "out of memory",
    [AR_EINVAL] = "invalid argument or configuration",
    [AR_EPARSE] = "malformed input",
    [AR_EIO] = "I/O error",
    [AR_ECONNECT] = "could not connect",
    [AR_ETIMEOUT] = "timed out",
    [AR_ECLOSED] = "connection closed",
    [AR_ETOOBIG] = "size cap exceeded",
    [AR_EPROTO] = "protocol violation",
    [AR_EINTERNAL] = "internal error",
};

const char *ar_strerror(ar_err err)
{
    if ((int)err < 0 || err >= AR_ERR__COUNT) return "unknown error";
    return err_names[err];
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ar_now_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

int64_t ar_wall_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

void ar_wall_iso8601(int64_t wall_us, char *out, size_t out_len)
{
    time_t secs = (time_t)(wall_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *ar_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *ar_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ar_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

void ar_buf_init(ar_buf *b, size_t max_bytes)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_bytes = max_bytes;
}

static ar_err buf_reserve(ar_buf *b, size_t extra)
{
    if (extra > b->max_bytes || b->len > b->max_bytes - extra) return AR_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return AR_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max_bytes + 1) cap = b->max_bytes + 1;
    char *p = realloc(b->ptr, cap);
    if (!p) return AR_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return AR_OK;
}

ar_err ar_buf_append(ar_buf *b, const void *data, size_t len)
{
    ar_err e = buf_reserve(b, len);
    if (e) return e;
    if (len) memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return AR_OK;
}

ar_err ar_buf_puts(ar_buf *b, const char *s)
{
    return ar_buf_append(b, s, strlen(s));
}

ar_err ar_buf_vprintf(ar_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return AR_EINVAL;
    ar_err e = buf_reserve(b, (size_t)n);
    if (e) return e;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return AR_OK;
}

ar_err ar_buf_printf(ar_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ar_err e = ar_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return e;
}

void ar_buf_reset(ar_buf *b)
{
    b->len = 0;
    if (b->ptr) b->ptr[0] = '\0';
}

char *ar_buf_take(ar_buf *b)
{
    char *p = b->ptr ? b->ptr : strdup("");
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void ar_buf_free(ar_buf *b)
{
    if (!b) return;
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void ar_fmt_duration(int64_t us, char *out, size_t out_len)
{
    const char *sign = us < 0 ? "-" : "";
    int64_t a = us < 0 ? -us : us;
    if (a < 1000)
        snprintf(out, out_len, "%s%lldus", sign, (long long)a);
    else if (a < 1000000)
        snprintf(out, out_len, "%s%.1fms", sign, (double)a / 1e3);
    else if (a < 600 * 1000000LL)
        snprintf(out, out_len, "%s%.2fs", sign, (double)a / 1e6);
    else
        snprintf(out, out_len, "%s%.1fm", sign, (double)a / 6e7);
}

ar_err ar_parse_duration(const char *s, int64_t *out_us)
{
    if (!s) return AR_EINVAL;
    while (*s == ' ')
        s++;
    if (!*s || *s == '-' || *s == '+') return AR_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) return AR_EINVAL;
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1e6;
    else if (strcmp(end, "ms") == 0)
        mult = 1e3;
    else if (strcmp(end, "us") == 0 || strcmp(end, "µs") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60e6;
    else if (strcmp(end, "h") == 0)
        mult = 3600e6;
    else
        return AR_EINVAL;
    double us = v * mult;
    if (us > 9.0e15) return AR_EINVAL; /* ~285 years: certainly a typo */
    *out_us = (int64_t)(us + 0.5);
    return AR_OK;
}
