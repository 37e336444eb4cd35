/*
 * proxy_int.h - what the fault proxy's files share and nobody else sees:
 * the caps, poll-based socket I/O that always wakes up when the proxy stops,
 * the HTTP/1.1 message reader, the toxic "shape" of a byte stream, and rule
 * matching with its seeded PRNG, and the server's own structures, which the
 * accept/connection code (proxy.c) and the request handling
 * (proxy_exchange.c) both work on.
 *
 * Why everything polls a stop pipe: a fault proxy holds requests on purpose
 * (hang, timeout toxics, throttling), and ar_px_stop must still return
 * promptly. Every wait in the proxy is a poll() that includes the read end of
 * a pipe written once by ar_px_stop and never drained, so every waiter sees it.
 */
#ifndef AR_PROXY_INT_H
#define AR_PROXY_INT_H

#include "proxy.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define PX_HEAD_MAX_BYTES (64 * 1024)
#define PX_BODY_MAX_BYTES (16 * 1024 * 1024)
#define PX_MAX_HEADERS 256
#define PX_MAX_CONNS 1024
#define PX_WRITE_US (60LL * 1000000) /* for a client to take a response */

typedef enum {
    PX_IO_OK = 0,
    PX_IO_CLOSED,  /* the peer closed (EOF, EPIPE, ECONNRESET) */
    PX_IO_TIMEOUT, /* the deadline passed */
    PX_IO_STOP,    /* the proxy is stopping */
    PX_IO_ERR,     /* another socket error (errno kept) */
    PX_IO_TOOBIG,  /* a cap was exceeded */
    PX_IO_BAD,     /* the peer broke HTTP */
    PX_IO_CUT,     /* a toxic ended the stream on purpose */
} px_io_rc;

/*
 * Waits until fd has one of events, the stop pipe fires, or deadline_us
 * (CLOCK_MONOTONIC; 0 = no deadline) passes. fd < 0: just waits.
 */
px_io_rc px_io_wait(int fd, short events, int stop_fd, int64_t deadline_us);
/* Sleeps us unless the proxy stops first; returns false when stopping. */
bool px_io_sleep(int stop_fd, int64_t us);
/* Appends what is readable now (waiting for at least one byte) to b, within b's cap. */
px_io_rc px_io_read_more(int fd, ar_buf *b, int stop_fd, int64_t deadline_us);
/* Writes all n bytes to a non-blocking fd. */
px_io_rc px_io_write_all(int fd, const void *p, size_t n, int stop_fd, int64_t deadline_us);
/* Closes fd so the peer sees a TCP RST (SO_LINGER 0). */
void px_io_reset(int fd);

/* Formats a duration for messages: "150ms", "30s", else like ar_fmt_duration. */
void px_fmt_us(int64_t us, char *out, size_t out_len);

/* splitmix64: small, seedable, good enough for fault decisions. */
typedef struct {
    uint64_t s;
} px_rng;
void px_rng_seed(px_rng *r, uint64_t seed);
uint64_t px_rng_next(px_rng *r);
/* Uniform in [0, 1). */
double px_rng_unit(px_rng *r);

/*
 * How bytes in one direction of one exchange are sent: the toxics that were
 * chosen for it (after toxicity) folded into one set of numbers, plus the
 * throttle action on the downstream side.
 */
typedef struct {
    int64_t latency_us; /* before the first byte (latency + jitter sample) */
    int64_t slice_avg;  /* slicer: 0 = off */
    int64_t slice_var;
    int64_t slice_delay_us;
    int64_t rate_bytes_per_s; /* bandwidth / throttle: 0 = unlimited */
    int64_t limit_bytes;      /* limit_data: -1 = off */
    bool timeout;             /* timeout toxic: send nothing */
    int64_t timeout_ms;       /* ... and close after this (0 = never) */
    bool reset;               /* reset_peer toxic */
    int64_t reset_ms;
    px_rng rng; /* slice sizes, seeded per exchange */
} px_shape;

void px_shape_init(px_shape *s);
/* Adds one toxic to the shape (the caller has already rolled its toxicity). */
void px_shape_add(px_shape *s, const ar_tox *t, px_rng *jitter_rng);
/* True when the shape changes nothing (the fast path). */
bool px_shape_plain(const px_shape *s);
/* Describes the shape for a hit's detail ("latency 120ms, slicer ..."); appends to b. */
void px_shape_describe(const px_shape *s, const char *stream, ar_buf *b);
/*
 * Writes n bytes through the shape: latency, slicing, rate, limit. Returns
 * PX_IO_CUT when limit_data stopped the stream (the caller closes). Timeout
 * and reset are the caller's business (they decide whether to send at all).
 */
px_io_rc px_shape_write(px_shape *s, int fd, const void *p, size_t n, int stop_fd,
                        int64_t deadline_us);

/* One header line, pointing into px_msg.head. */
typedef struct {
    const char *name;
    const char *value;
} px_hdr;

/* An HTTP/1.1 request or response: the head (owned, split in place) and the decoded body. */
typedef struct {
    char *head;        /* the head, NUL-separated in place */
    size_t head_bytes; /* its length on the wire, terminator included */
    /* request line */
    const char *method;
    const char *target;
    /* status line */
    int status;
    const char *reason;
    int minor_version;
    px_hdr hdrs[PX_MAX_HEADERS];
    size_t n_hdrs;
    bool chunked;
    int64_t content_length; /* -1: none */
    bool close;             /* Connection: close, or HTTP/1.0 without keep-alive */
    bool expect_continue;
    ar_buf body; /* decoded body (capped at PX_BODY_MAX_BYTES) */
} px_msg;

void px_msg_init(px_msg *m);
void px_msg_clear(px_msg *m);
/* Returns the value of the first header called name (case-insensitive), or NULL. */
const char *px_msg_header(const px_msg *m, const char *name);
/* True for headers that belong to one hop (Connection, Transfer-Encoding, ...). */
bool px_http_hop_by_hop(const char *name);
/* Standard reason phrase for our own answers. */
const char *px_http_reason(int status);

/*
 * Reads the head of one message from fd (through in, which keeps whatever
 * follows it) into m. first_deadline_us bounds the wait for the first byte,
 * deadline_us the rest, and head_us (> 0) the time from the first byte to
 * the last. On PX_IO_BAD / PX_IO_TOOBIG *why is a static reason.
 */
px_io_rc px_http_read_head(int fd, ar_buf *in, px_msg *m, bool is_request, int stop_fd,
                           int64_t first_deadline_us, int64_t deadline_us, int64_t head_us,
                           const char **why);
/*
 * Reads the body announced by m's head into m->body (decoded), consuming it
 * from in. For responses, req_method says whether a body may follow (HEAD).
 */
px_io_rc px_http_read_body(int fd, ar_buf *in, px_msg *m, bool is_request, const char *req_method,
                           int stop_fd, int64_t deadline_us, const char **why);

/* A request as the rules see it. */
typedef struct {
    const px_msg *msg;
    cJSON *json; /* the body parsed once, lazily */
    bool json_tried;
    uint32_t turn;
} px_req_view;

/* True when every criterion set in r holds for the request. r must be compiled. */
bool px_rule_matches(const ar_px_rule *r, px_req_view *v);

/*
 * The server (proxy.c) and the exchange (proxy_exchange.c) both reach into
 * these: the connection thread reads requests into px_conn, and the exchange
 * answers on the same px_conn, deciding with the rules and counters of
 * ar_proxy.
 */
typedef struct px_conn {
    struct ar_proxy *p;
    int fd;  /* client */
    int ufd; /* upstream, kept alive across requests; -1 when not connected */
    ar_buf in;
    ar_buf uin;
    ar_buf out;
    pthread_t th;
    atomic_bool done;
    struct px_conn *next;
} px_conn;

struct ar_proxy {
    ar_px_rule *rules;
    size_t n_rules;
    /* Schedule state, under mu: decisions are made in arrival order. */
    uint64_t *matched;
    px_rng *sched_rng;
    px_rng *tox_rng;
    _Atomic uint64_t *fired;
    _Atomic uint64_t requests;
    _Atomic uint32_t turn;
    ar_px_hit_fn on_hit;
    void *user;
    int64_t upstream_timeout_us;
    int64_t head_us; /* ar_px_cfg.head_timeout_us, resolved */
    struct sockaddr_storage up_addr;
    socklen_t up_addr_len;
    char up_hostport[280];
    char *up_base;
    int listen_fd;
    int stop_pipe[2];
    pthread_t accept_th;
    bool accept_started;
    pthread_mutex_t mu;
    px_conn *conns; /* under mu */
    int n_conns;    /* under mu */
    char url[300];
};

/* Idempotent, so every exit path of a connection may close without tracking who did first. */
void ar_px_close_fd(int *fd);
/* Tells the on_hit callback (if any) what happened to one request. */
void ar_px_report(ar_proxy *p, int rule, ar_px_action action, const char *method, const char *path,
                  int status, int64_t at_us, const char *detail, uint32_t turn);
/*
 * Decides and runs the action for one whole request read on c, then reports
 * it; closes c->fd when the connection must not be kept alive.
 */
void ar_px_handle(px_conn *c, const px_msg *req, int64_t at_us);
/* Answers a request refused before the rules see it (400, 413, 431) and reports it. */
void ar_px_refuse(px_conn *c, const px_msg *req, int status, const char *why, int64_t at_us);

#endif
