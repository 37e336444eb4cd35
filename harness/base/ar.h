/*
 * ar.h - what every agentrig module shares: the one error enum, the exit
 * codes, clocks, and a growable buffer that always has a cap.
 *
 * Why a cap on every buffer: most buffers here are fed by a network peer we
 * are testing, and a misbehaving service must produce a recorded error, never
 * unbounded memory growth in the harness.
 */
#ifndef AR_H
#define AR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AR_VERSION "0.1.0"

typedef enum {
    AR_OK = 0,
    AR_ENOMEM,    /* allocation failed */
    AR_EINVAL,    /* bad argument or configuration */
    AR_EPARSE,    /* malformed input (YAML, JSON, frame) */
    AR_EIO,       /* file or socket I/O */
    AR_ECONNECT,  /* could not reach the service */
    AR_ETIMEOUT,  /* a deadline passed */
    AR_ECLOSED,   /* the peer closed the connection */
    AR_ETOOBIG,   /* a cap was exceeded */
    AR_EPROTO,    /* the peer broke the protocol */
    AR_EINTERNAL, /* a bug or an impossible state in the harness */
    AR_ERR__COUNT
} ar_err;

/* Returns a static string; never NULL, even for out-of-range values. */
const char *ar_strerror(ar_err err);

/* Process exit codes, as documented in README.md. */
enum {
    AR_EXIT_PASS = 0,
    AR_EXIT_FAIL = 1,  /* an expectation or threshold failed */
    AR_EXIT_USAGE = 2, /* usage or configuration error */
    AR_EXIT_INFRA = 3, /* service unreachable, or the harness failed */
    AR_EXIT_INTERRUPTED = 130
};

/* CLOCK_MONOTONIC in microseconds: for every duration. */
int64_t ar_now_us(void);
/* CLOCK_REALTIME in microseconds: only for timestamps shown in reports. */
int64_t ar_wall_us(void);
/* Formats a wall-clock time as ISO 8601 UTC ("2026-11-21T06:33:00Z") into out. */
void ar_wall_iso8601(int64_t wall_us, char *out, size_t out_len);

/* Returns an owned copy, or NULL for NULL input or on allocation failure. */
char *ar_strdup(const char *s);
/* Returns an owned copy of the first n bytes, NUL-terminated. */
char *ar_strndup(const char *s, size_t n);
/* Returns an owned, formatted string, or NULL on allocation failure. */
char *ar_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * ar_buf: a growable byte buffer with a hard cap (max_bytes). Appending past
 * the cap fails with AR_ETOOBIG and leaves the buffer as it was. ptr is always
 * NUL-terminated when non-NULL, so text can be used as a C string.
 */
typedef struct {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max_bytes;
} ar_buf;

void ar_buf_init(ar_buf *b, size_t max_bytes);
ar_err ar_buf_append(ar_buf *b, const void *data, size_t len);
ar_err ar_buf_puts(ar_buf *b, const char *s);
ar_err ar_buf_printf(ar_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ar_err ar_buf_vprintf(ar_buf *b, const char *fmt, va_list ap);
/* Empties the buffer, keeping its memory. */
void ar_buf_reset(ar_buf *b);
/* Returns the owned contents (caller frees; "" when empty) and resets b. */
char *ar_buf_take(ar_buf *b);
/* Frees the memory; b may be reused after ar_buf_init. NULL-safe. */
void ar_buf_free(ar_buf *b);

/* Formats a duration in µs for people: "850us", "12.3ms", "4.21s". */
void ar_fmt_duration(int64_t us, char *out, size_t out_len);

/*
 * Parses a duration such as "45s", "1.5s", "200ms", "250us", "2m", "1h".
 * A bare number is seconds. Returns AR_OK or AR_EINVAL (negative, garbage,
 * or overflow).
 */
ar_err ar_parse_duration(const char *s, int64_t *out_us);

#define AR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Where something was written: file:line:col in a scenario, profile or rules file. */
typedef struct {
    const char *file; /* borrowed from the owning scenario or profile */
    int line;         /* 1-based */
    int col;          /* 1-based */
} ar_srcloc;

#endif
