/*
 * util.c - clocks, sleeping and the capped string buffer (see util.h).
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int64_t ra_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ra_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ra_sleep_ms(int ms)
{
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool ra_contains_ci(const char *haystack, const char *needle)
{
    if (!haystack || !needle) return false;
    size_t n = strlen(needle);
    if (n == 0) return true;
    for (const char *p = haystack; *p; p++) {
        if (strncasecmp(p, needle, n) == 0) return true;
    }
    return false;
}

void ra_sb_init(ra_sb *sb, size_t max_bytes)
{
    memset(sb, 0, sizeof(*sb));
    sb->max_bytes = max_bytes;
}

bool ra_sb_append(ra_sb *sb, const void *data, size_t len)
{
    if (sb->len + len + 1 > sb->max_bytes || sb->len + len + 1 < sb->len) {
        sb->overflow = true;
        return false;
    }
    if (sb->len + len + 1 > sb->cap) {
        size_t ncap = sb->cap ? sb->cap : 256;
        while (ncap < sb->len + len + 1)
            ncap *= 2;
        if (ncap > sb->max_bytes) ncap = sb->max_bytes;
        char *np = realloc(sb->ptr, ncap);
        if (!np) {
            sb->overflow = true;
            return false;
        }
        sb->ptr = np;
        sb->cap = ncap;
    }
    if (len) memcpy(sb->ptr + sb->len, data, len);
    sb->len += len;
    sb->ptr[sb->len] = '\0';
    return true;
}

bool ra_sb_puts(ra_sb *sb, const char *s)
{
    return ra_sb_append(sb, s, strlen(s));
}

bool ra_sb_printf(ra_sb *sb, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if ((size_t)n < sizeof(small)) return ra_sb_append(sb, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        sb->overflow = true;
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = ra_sb_append(sb, big, (size_t)n);
    free(big);
    return ok;
}

void ra_sb_consume(ra_sb *sb, size_t n)
{
    if (n >= sb->len) {
        sb->len = 0;
    } else {
        memmove(sb->ptr, sb->ptr + n, sb->len - n);
        sb->len -= n;
    }
    if (sb->ptr) sb->ptr[sb->len] = '\0';
}

char *ra_sb_take(ra_sb *sb)
{
    char *out = sb->ptr ? sb->ptr : calloc(1, 1);
    size_t max = sb->max_bytes;
    ra_sb_init(sb, max);
    return out;
}

void ra_sb_free(ra_sb *sb)
{
    if (!sb) return;
    free(sb->ptr);
    ra_sb_init(sb, sb->max_bytes);
}
