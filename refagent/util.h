/*
 * util.h - the small pieces every refagent module shares: clocks, sleeping,
 * and a growable string buffer with a hard cap.
 *
 * refagent stands in for a user's agent service, so it deliberately links
 * nothing from the harness: it must behave like a separate program.
 */
#ifndef RA_UTIL_H
#define RA_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Live counters of the WebSocket server, read by the deps server's GET
 * /stats from another thread: atomics, so neither side takes a lock.
 */
typedef struct {
    atomic_uint_fast64_t events_sent;     /* event frames written to clients */
    atomic_uint_fast64_t turns_completed; /* root agent_completed events queued */
    atomic_int_fast64_t connections;      /* WebSocket connections open now */
} ra_stats;

/* CLOCK_MONOTONIC in microseconds: for durations. */
int64_t ra_now_us(void);
/* CLOCK_REALTIME in microseconds: for the ts_us field of events. */
int64_t ra_wall_us(void);
/* Sleeps for ms milliseconds (restarting after signals); 0 returns at once. */
void ra_sleep_ms(int ms);

/* Case-insensitive substring test; false for NULL arguments. */
bool ra_contains_ci(const char *haystack, const char *needle);

/*
 * ra_sb: a growable NUL-terminated string with a cap (max_bytes). Appends
 * past the cap fail, set `overflow` and leave the content as it was.
 */
typedef struct {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max_bytes;
    bool overflow;
} ra_sb;

void ra_sb_init(ra_sb *sb, size_t max_bytes);
/* Returns false (and sets overflow) when the cap or memory is exhausted. */
bool ra_sb_append(ra_sb *sb, const void *data, size_t len);
bool ra_sb_puts(ra_sb *sb, const char *s);
bool ra_sb_printf(ra_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes (n <= len), keeping the memory. */
void ra_sb_consume(ra_sb *sb, size_t n);
/* Returns the owned content ("" when empty; NULL on allocation failure) and resets sb. */
char *ra_sb_take(ra_sb *sb);
/* Frees the memory. NULL-safe. */
void ra_sb_free(ra_sb *sb);

#endif
