/*
 * proxy.h - the fault proxy: an HTTP/1.1 reverse proxy on loopback that an
 * agent service is configured to use for its tools and its model, which
 * answers by rule with errors, delays, hangs, resets, truncated or malformed
 * bodies, throttling, and Toxiproxy-style TCP toxics; everything else is
 * forwarded byte for byte. docs/faults.md is the user's reference.
 *
 * The proxy runs on its own thread(s) and never blocks the caller. Every
 * request it sees is reported through on_hit (from a proxy thread), so a
 * runner can record "which fault hit which turn".
 *
 * Rules are plain data (ar_px_rule); the YAML that describes them is parsed by
 * the scenario loader (harness/scenario.c), and ar_px_rule_compile validates
 * and compiles one rule, so a rule file and a scenario's `faults:` share one
 * set of checks and messages.
 */
#ifndef AR_PROXY_H
#define AR_PROXY_H

#include "ar.h"

typedef enum {
    AR_PX_FORWARD = 0, /* no fault: forward (used for hits that matched no rule) */
    AR_PX_RESPOND,     /* answer with status + body, do not forward */
    AR_PX_DELAY,       /* wait delay_us, then forward */
    AR_PX_HANG,     /* hold the request: until the client gives up, or hang_us if > 0, then close */
    AR_PX_RESET,    /* close the client connection with a TCP RST */
    AR_PX_TRUNCATE, /* forward, but cut the response body after truncate_bytes and close */
    AR_PX_MALFORMED, /* forward status and headers, replace the body with invalid JSON */
    AR_PX_THROTTLE,  /* forward, sending the response at bytes_per_s */
} ar_px_action;
const char *ar_px_action_name(ar_px_action a); /* "respond", "delay", ... */

typedef enum {
    AR_PX_ALL = 0,     /* every match */
    AR_PX_FIRST_N,     /* the first n matches */
    AR_PX_AFTER_N,     /* every match after the first n */
    AR_PX_EVERY_K,     /* the k-th, 2k-th, ... match (k = n) */
    AR_PX_PROBABILITY, /* each match with probability p (seeded PRNG: same seed, same decisions) */
} ar_px_schedule;

/* Toxiproxy's toxics, by its names and attributes (see docs/faults.md). */
typedef enum {
    AR_TOX_NONE = 0,
    AR_TOX_LATENCY,    /* latency_ms, jitter_ms */
    AR_TOX_TIMEOUT,    /* timeout_ms: stop all data; close after it (0 = never) */
    AR_TOX_RESET_PEER, /* timeout_ms: then reset the connection */
    AR_TOX_SLICER,     /* average_size, size_variation, delay_us */
    AR_TOX_LIMIT_DATA, /* bytes: close after that many bytes */
    AR_TOX_BANDWIDTH,  /* rate (KB/s) */
} ar_tox_kind;
const char *ar_tox_kind_name(ar_tox_kind k); /* "latency", "timeout", ... */

typedef struct {
    ar_tox_kind kind;
    bool upstream;   /* Toxiproxy's stream: false = downstream (to the client) */
    double toxicity; /* probability the toxic applies to a connection, [0,1]; default 1 */
    int64_t latency_ms;
    int64_t jitter_ms;
    int64_t timeout_ms;
    int64_t average_size;
    int64_t size_variation;
    int64_t delay_us;
    int64_t bytes;
    int64_t rate_kbps;
} ar_tox;

/*
 * One rule: match, schedule, action. Every string is owned by the rule
 * (freed by ar_px_rule_clear). NULL / zero means "not set".
 */
typedef struct {
    char *name; /* fault type label for reports, e.g. "tool_failure"; NULL: "rule N" */
    /* match: all set criteria must hold */
    char *method;       /* exact, case-insensitive ("POST") */
    char *path_regex;   /* PCRE2 over the request target (path + query) */
    char *body_regex;   /* PCRE2 over the request body */
    char *json_pointer; /* RFC 6901 into the request body (parsed as JSON) ... */
    char *json_equals;  /* ... whose value, as a string or number text, equals this */
    char *json_matches; /* ... or matches this PCRE2 pattern */
    char *header_name;  /* a request header (case-insensitive) ... */
    char *header_regex; /* ... whose value matches this (NULL: must be present) */
    int turn;           /* scope: only while the runner says this turn runs (0 = any) */
    /* schedule */
    ar_px_schedule schedule;
    long n;   /* FIRST_N / AFTER_N: n; EVERY_K: k */
    double p; /* PROBABILITY */
    /* action */
    ar_px_action action;
    int status;             /* RESPOND: status (default 500) */
    char *body;             /* RESPOND: body (default a JSON error object) */
    int64_t delay_us;       /* DELAY */
    int64_t hang_us;        /* HANG: 0 = until the client gives up */
    int64_t truncate_bytes; /* TRUNCATE */
    int64_t bytes_per_s;    /* THROTTLE */
    ar_tox *toxics;         /* TCP toxics applied to the matched exchange's connections */
    size_t n_toxics;
    /* where it was written, for messages (file borrowed) */
    const char *file;
    int line;
    int col;
    /* filled by ar_px_rule_compile */
    void *path_re;
    void *body_re;
    void *json_re;
    void *header_re;
} ar_px_rule;

void ar_px_rule_init(ar_px_rule *r);
void ar_px_rule_clear(ar_px_rule *r); /* frees strings, toxics and compiled regexes; NULL-safe */
/* Deep copy (compiled regexes are recompiled). */
ar_err ar_px_rule_copy(ar_px_rule *dst, const ar_px_rule *src);

/*
 * Validates and compiles one rule. On failure returns AR_EINVAL and writes
 * "file:line:col: message" to err (the rule's location), e.g.
 * "f.yaml:4:9: invalid regex '(' in path: missing closing parenthesis at offset 1",
 * "probability must be between 0 and 1 (got 1.5)", "status must be 100-599".
 */
ar_err ar_px_rule_compile(ar_px_rule *r, char *err, size_t err_len);

/* What the proxy did with one request (borrowed strings, valid during the call). */
typedef struct {
    int rule;            /* index of the rule that fired; -1: none (forwarded) */
    const char *name;    /* the rule's name, or NULL */
    ar_px_action action; /* what was done (FORWARD when no rule fired) */
    const char *method;
    const char *path;
    int status;         /* status sent to the client; 0 if none (reset, hang) */
    int64_t at_us;      /* CLOCK_MONOTONIC when the request arrived */
    int64_t took_us;    /* until the response was done (or the connection closed) */
    const char *detail; /* e.g. "upstream 127.0.0.1:9 refused: Connection refused" */
    uint32_t turn;      /* the turn set by ar_px_set_turn when it arrived */
} ar_px_hit;

typedef void (*ar_px_hit_fn)(void *user, const ar_px_hit *hit);

typedef struct {
    const char *listen_host; /* default "127.0.0.1" */
    int listen_port;         /* 0: a free port */
    const char *upstream;    /* "http://host:port[/base]" every request is forwarded to */
    const ar_px_rule *rules; /* copied (and compiled) by ar_px_start */
    size_t n_rules;
    uint64_t seed;       /* for PROBABILITY schedules and toxicity */
    ar_px_hit_fn on_hit; /* may be NULL; called from proxy threads */
    void *user;
    int64_t upstream_timeout_us; /* connect + response timeout to upstream; default 30 s */
    /*
     * A request head must be whole this long after its first byte, and a new
     * connection's first head this long after the accept (then 408, or a
     * silent close when nothing came), so slow or silent clients cannot hold
     * the 1,024 connections. 0: $AGENTRIG_PROXY_HEAD_TIMEOUT (a duration,
     * "10s", "500ms") if set, else 10 s. Kept-alive connections may still
     * idle 300 s between requests.
     */
    int64_t head_timeout_us;
} ar_px_cfg;

typedef struct ar_proxy ar_proxy;

/* Starts listening and serving on background threads. err on failure. */
ar_err ar_px_start(const ar_px_cfg *cfg, ar_proxy **out, char *err, size_t err_len);
/* Borrowed "http://127.0.0.1:PORT". */
const char *ar_px_url(const ar_proxy *p);
/* Tells the proxy which turn runs now (for rules with a turn scope and for hits). */
void ar_px_set_turn(ar_proxy *p, uint32_t turn);
/* How many times rule i fired so far. */
uint64_t ar_px_fired(const ar_proxy *p, size_t rule);
/* Requests seen so far (fired or not). */
uint64_t ar_px_requests(const ar_proxy *p);
/* Stops listening, releases hanging requests, joins every thread, frees. NULL-safe. */
void ar_px_stop(ar_proxy *p);

#endif
