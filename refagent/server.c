/*
 * server.c - the WebSocket front end (see server.h).
 *
 * Threads: the lws loop owns every `struct lws *`; workers only touch a
 * connection's queue under its mutex. A worker that queued an event puts the
 * connection on the server's dirty list and calls lws_cancel_service(); the
 * loop then (EVENT_WAIT_CANCELLED) asks for WRITEABLE on each dirty
 * connection. A connection is reference counted (the lws session, each
 * in-flight job, each dirty-list entry) so a client that disconnects
 * mid-turn leaves a job that finishes harmlessly into a dropped queue.
 */
#include "server.h"
#include "agents.h"
#include "faults.h"
#include "link.h"
#include "memory.h"
#include "pool.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct frame {
    struct frame *next;
    size_t len;
    bool ends_turn;      /* the root agent_completed: counted in turns_completed once written */
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
} frame;

typedef struct ra_conn {
    pthread_mutex_t mu;
    int refs;           /* under mu */
    bool closed;        /* under mu: the client is gone, drop new events */
    bool busy;          /* under mu: a turn is running */
    bool overflowed;    /* under mu: the queue cap was hit; close */
    uint64_t seq;       /* under mu */
    frame *head, *tail; /* under mu */
    size_t q_frames, q_bytes;
    bool dirty; /* under srv->dirty_mu */
    struct ra_conn *dirty_next;
    struct lws *wsi; /* lws thread only */
    ra_sb rx;        /* lws thread only: fragments of the current message */
    bool rx_binary, rx_too_large;
    ra_srv *srv;
} ra_conn;

struct ra_srv {
    ra_srv_opts opts;
    char *model_url, *tools_url;
    ra_agents_cfg cfg;
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    int port;
    ra_pool *pool;
    ra_mem *mem;
    pthread_mutex_t dirty_mu;
    ra_conn *dirty;
    ra_stats own_stats;
    ra_stats *stats; /* opts.stats or &own_stats */
    atomic_uint_fast64_t next_thread;
    long nofile_limit; /* RLIMIT_NOFILE at start, for the EMFILE warning */
    atomic_bool warned_fds;
    atomic_int stop; /* lock-free, so setting it from a signal handler is safe */
};

typedef struct {
    ra_conn *conn; /* holds a reference */
    char *thread_id;
    char *message;
    uint32_t turn;
    ra_facts facts;
    ra_faults faults;
    bool ended; /* the root agent_completed was queued: the connection is free */
} turn_job;

static void conn_unref(ra_conn *c)
{
    pthread_mutex_lock(&c->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&c->mu);
    if (left > 0) return;
    frame *f = c->head;
    while (f) {
        frame *n = f->next;
        free(f);
        f = n;
    }
    ra_sb_free(&c->rx);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void mark_dirty(ra_conn *c)
{
    ra_srv *s = c->srv;
    pthread_mutex_lock(&s->dirty_mu);
    if (!c->dirty) {
        c->dirty = true;
        pthread_mutex_lock(&c->mu);
        c->refs++;
        pthread_mutex_unlock(&c->mu);
        c->dirty_next = s->dirty;
        s->dirty = c;
    }
    pthread_mutex_unlock(&s->dirty_mu);
    lws_cancel_service(s->ctx);
}

static bool is_root_completion(const cJSON *ev)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    const cJSON *parent = cJSON_GetObjectItemCaseSensitive(ev, "parent_run_id");
    return cJSON_IsString(type) && strcmp(type->valuestring, "agent_completed") == 0 &&
           (!parent || cJSON_IsNull(parent));
}

/* Stamps seq and ts_us, serialises and queues ev (taken). Any thread. */
static void conn_enqueue(ra_conn *c, cJSON *ev)
{
    pthread_mutex_lock(&c->mu);
    if (c->closed || c->overflowed) {
        pthread_mutex_unlock(&c->mu);
        cJSON_Delete(ev);
        return;
    }
    char num[32];
    cJSON_AddNumberToObject(ev, "seq", (double)++c->seq);
    snprintf(num, sizeof(num), "%" PRId64, ra_wall_us());
    cJSON_AddRawToObject(ev, "ts_us", num);
    bool ends_turn = is_root_completion(ev);
    char *text = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    size_t len = text ? strlen(text) : 0;
    frame *f = text ? malloc(sizeof(*f) + LWS_PRE + len) : NULL;
    if (!f || c->q_frames >= RA_WS_QUEUE_MAX_FRAMES || c->q_bytes + len > RA_WS_QUEUE_MAX_BYTES) {
        /* A reader this slow gets disconnected rather than buffered forever. */
        c->overflowed = true;
        free(f);
    } else {
        memcpy(f->buf + LWS_PRE, text, len);
        f->len = len;
        f->ends_turn = ends_turn;
        f->next = NULL;
        if (c->tail)
            c->tail->next = f;
        else
            c->head = f;
        c->tail = f;
        c->q_frames++;
        c->q_bytes += len;
    }
    pthread_mutex_unlock(&c->mu);
    free(text);
    mark_dirty(c);
}

/*
 * A client may send its next message the moment it reads the root
 * agent_completed, so the connection stops counting as busy *before* that
 * event is queued; clearing it when the job returns would answer a prompt
 * client with "busy" (and could clear the flag of the next turn).
 */
static void emit_to_conn(void *emit_ctx, cJSON *ev)
{
    turn_job *j = emit_ctx;
    if (!j->ended && is_root_completion(ev)) {
        j->ended = true;
        pthread_mutex_lock(&j->conn->mu);
        j->conn->busy = false;
        pthread_mutex_unlock(&j->conn->mu);
    }
    conn_enqueue(j->conn, ev);
}

/* An error event outside any agent run: no run_id, turn 0. */
static void send_error(ra_conn *c, const char *thread_id, const char *code, const char *msg)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "error");
    if (thread_id)
        cJSON_AddStringToObject(e, "thread_id", thread_id);
    else
        cJSON_AddNullToObject(e, "thread_id");
    cJSON_AddNumberToObject(e, "turn", 0);
    cJSON_AddNullToObject(e, "agent");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    conn_enqueue(c, e);
}

static void *worker_ctx_new(void *user)
{
    ra_srv *s = user;
    return s->opts.deps_inline ? ra_link_new_inline()
                               : ra_link_new_http(s->model_url, s->tools_url);
}

static void worker_ctx_free(void *ctx)
{
    ra_link_free(ctx);
}

static void turn_job_run(void *worker_ctx, void *arg)
{
    turn_job *j = arg;
    ra_turn t = {.thread_id = j->thread_id,
                 .turn = j->turn,
                 .message = j->message,
                 .facts = &j->facts,
                 .faults = &j->faults};
    ra_agents_run_turn(&j->conn->srv->cfg, worker_ctx, &t, emit_to_conn, j);
    if (!j->ended) { /* the turn ended without its final event: free the connection anyway */
        pthread_mutex_lock(&j->conn->mu);
        j->conn->busy = false;
        pthread_mutex_unlock(&j->conn->mu);
    }
    conn_unref(j->conn);
    free(j->thread_id);
    free(j->message);
    free(j);
}

static void new_thread_id(ra_srv *s, char *out, size_t out_len)
{
    uint64_t n = atomic_fetch_add(&s->next_thread, 1);
    snprintf(out, out_len, "thread-%08" PRIx32 "-%" PRIu64,
             (uint32_t)(ra_wall_us() ^ ((uint64_t)getpid() << 16)), n);
}

static void handle_user_message(ra_conn *c, const cJSON *msg)
{
    ra_srv *s = c->srv;
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(msg, "thread_id");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "message");
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(msg, "context");
    const char *tid_s = cJSON_IsString(tid) ? tid->valuestring : NULL;
    if (tid && !cJSON_IsNull(tid) && (!tid_s || !tid_s[0] || strlen(tid_s) > RA_THREAD_ID_MAX)) {
        send_error(c, NULL, "bad_request",
                   "thread_id must be a non-empty string of at most 128 bytes");
        return;
    }
    if (!cJSON_IsString(text) || !text->valuestring[0]) {
        send_error(c, tid_s, "bad_request", "message must be a non-empty string");
        return;
    }
    if (ctx && !cJSON_IsNull(ctx) && !cJSON_IsObject(ctx)) {
        send_error(c, tid_s, "bad_request", "context must be an object");
        return;
    }
    const cJSON *fd = cJSON_GetObjectItemCaseSensitive(msg, "fault_directive");
    ra_faults faults;
    memset(&faults, 0, sizeof(faults));
    if (fd && !cJSON_IsNull(fd)) {
        char why[160];
        if (!cJSON_IsString(fd)) {
            send_error(c, tid_s, "bad_request", "fault_directive must be a string");
            return;
        }
        if (ra_faults_parse(fd->valuestring, &faults, why, sizeof(why)) != 0) {
            send_error(c, tid_s, "bad_request", why);
            return;
        }
    }
    pthread_mutex_lock(&c->mu);
    bool busy = c->busy;
    c->busy = true;
    pthread_mutex_unlock(&c->mu);
    if (busy) {
        send_error(c, tid_s, "busy", "a turn is already running on this connection");
        return;
    }
    char gen[64];
    if (!tid_s) {
        new_thread_id(s, gen, sizeof(gen));
        tid_s = gen;
    }
    turn_job *j = calloc(1, sizeof(*j));
    if (j) {
        j->thread_id = strdup(tid_s);
        j->message = strdup(text->valuestring);
        j->turn = ra_mem_begin_turn(s->mem, tid_s, text->valuestring, ctx, &j->facts);
        j->conn = c;
        j->faults = faults;
    }
    pthread_mutex_lock(&c->mu);
    c->refs++;
    pthread_mutex_unlock(&c->mu);
    if (!j || !j->thread_id || !j->message || j->turn == 0 ||
        ra_pool_submit(s->pool, turn_job_run, j) != 0) {
        if (j) {
            free(j->thread_id);
            free(j->message);
            free(j);
        }
        pthread_mutex_lock(&c->mu);
        c->busy = false;
        pthread_mutex_unlock(&c->mu);
        conn_unref(c);
        send_error(c, tid_s, "internal", "could not start the turn");
    }
}

static void handle_frame(ra_conn *c)
{
    if (c->rx_too_large) {
        char msg[96];
        snprintf(msg, sizeof(msg), "frame larger than %u bytes", RA_WS_FRAME_MAX_BYTES);
        send_error(c, NULL, "too_large", msg);
        return;
    }
    if (c->rx_binary) {
        send_error(c, NULL, "binary_frame", "binary frames are not supported; send JSON text");
        return;
    }
    cJSON *msg = cJSON_ParseWithLength(c->rx.ptr ? c->rx.ptr : "", c->rx.len);
    if (!msg) {
        send_error(c, NULL, "bad_json", "frame is not valid JSON");
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (!cJSON_IsObject(msg)) {
        send_error(c, NULL, "bad_request", "frame must be a JSON object");
    } else if (!cJSON_IsString(type)) {
        send_error(c, NULL, "bad_request", "frame has no string field 'type'");
    } else if (strcmp(type->valuestring, "user_message") != 0) {
        char m[128];
        snprintf(m, sizeof(m), "unknown frame type '%.64s'", type->valuestring);
        send_error(c, NULL, "unknown_type", m);
    } else {
        handle_user_message(c, msg);
    }
    cJSON_Delete(msg);
}

static void on_receive(ra_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi)) {
        ra_sb_consume(&c->rx, c->rx.len);
        c->rx.overflow = false;
        c->rx_too_large = false;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!c->rx_too_large && !c->rx_binary && !ra_sb_append(&c->rx, in, len)) c->rx_too_large = true;
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        handle_frame(c);
        ra_sb_consume(&c->rx, c->rx.len);
    }
}

static int on_writeable(ra_conn *c, struct lws *wsi)
{
    pthread_mutex_lock(&c->mu);
    frame *f = c->head;
    if (f) {
        c->head = f->next;
        if (!c->head) c->tail = NULL;
        c->q_frames--;
        c->q_bytes -= f->len;
    }
    bool more = c->head != NULL;
    bool overflowed = c->overflowed;
    pthread_mutex_unlock(&c->mu);
    if (f) {
        int n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
        bool ends_turn = f->ends_turn;
        free(f);
        if (n < 0) return -1;
        /* turns_completed first: a reader that sees this frame counted in
         * events_sent then also sees the turn it ended. */
        if (ends_turn) atomic_fetch_add(&c->srv->stats->turns_completed, 1);
        atomic_fetch_add(&c->srv->stats->events_sent, 1);
    }
    if (overflowed && !more) return -1;
    if (more) lws_callback_on_writable(wsi);
    return 0;
}

static void flush_dirty(ra_srv *s)
{
    /* Pop one at a time: once `dirty` is cleared a worker may push c again,
     * rewriting dirty_next, so the list must never be walked unlocked. */
    for (;;) {
        pthread_mutex_lock(&s->dirty_mu);
        ra_conn *c = s->dirty;
        if (c) {
            s->dirty = c->dirty_next;
            c->dirty = false;
        }
        pthread_mutex_unlock(&s->dirty_mu);
        if (!c) return;
        if (c->wsi) lws_callback_on_writable(c->wsi);
        conn_unref(c);
    }
}

/*
 * lws 4.1 says nothing useful when accept() fails with EMFILE (it just stops
 * accepting), so warn once, loudly, when a connection's fd number gets close
 * to the open-file limit: fds are allocated lowest-first, so the number
 * tracks how many are open.
 */
static void warn_if_near_fd_limit(ra_srv *s, struct lws *wsi)
{
    long fd = (long)lws_get_socket_fd(wsi);
    if (s->nofile_limit <= 0 || fd < s->nofile_limit - 16) return;
    if (atomic_exchange(&s->warned_fds, true)) return;
    fprintf(stderr,
            "refagent: near the open-file limit (fd %ld of ulimit -n %ld, %" PRId64
            " connections): new connections will fail with EMFILE (too many open files); "
            "raise the limit with `ulimit -n` before starting refagent\n",
            fd, s->nofile_limit, (int64_t)atomic_load(&s->stats->connections));
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    ra_conn **pc = user;
    ra_srv *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[64] = "";
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/ws") != 0)
            return 1;
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        ra_conn *c = calloc(1, sizeof(*c));
        if (!c) return -1;
        pthread_mutex_init(&c->mu, NULL);
        c->refs = 1;
        c->wsi = wsi;
        c->srv = s;
        ra_sb_init(&c->rx, RA_WS_FRAME_MAX_BYTES + 1);
        *pc = c;
        atomic_fetch_add(&s->stats->connections, 1);
        warn_if_near_fd_limit(s, wsi);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (*pc) on_receive(*pc, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return *pc ? on_writeable(*pc, wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        if (*pc) {
            ra_conn *c = *pc;
            pthread_mutex_lock(&c->mu);
            c->closed = true;
            pthread_mutex_unlock(&c->mu);
            c->wsi = NULL;
            *pc = NULL;
            conn_unref(c);
            atomic_fetch_sub(&s->stats->connections, 1);
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s) flush_dirty(s);
        return 0;
    default:
        return 0;
    }
}

static char *strip_slash(const char *url)
{
    char *u = strdup(url);
    size_t n = u ? strlen(u) : 0;
    while (n > 0 && u[n - 1] == '/')
        u[--n] = '\0';
    return u;
}

ra_srv *ra_srv_new(const ra_srv_opts *opts, char *err, size_t err_len)
{
    ra_srv *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    pthread_mutex_init(&s->dirty_mu, NULL);
    atomic_init(&s->own_stats.events_sent, 0);
    atomic_init(&s->own_stats.turns_completed, 0);
    atomic_init(&s->own_stats.connections, 0);
    s->stats = opts->stats ? opts->stats : &s->own_stats;
    atomic_init(&s->next_thread, 1);
    atomic_init(&s->warned_fds, false);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        s->nofile_limit = (long)rl.rlim_cur;
    s->model_url = strip_slash(opts->model_url ? opts->model_url : "");
    s->tools_url = strip_slash(opts->tools_url ? opts->tools_url : "");
    s->cfg = (ra_agents_cfg){.think_ms = opts->think_ms,
                             .thinking_deltas = opts->thinking_deltas,
                             .dep_timeout_ms = opts->dep_timeout_ms,
                             .turn_deadline_ms = opts->turn_deadline_ms};
    s->mem = ra_mem_new(opts->max_threads);
    s->pool = ra_pool_new(opts->workers, worker_ctx_new, worker_ctx_free, s);
    if (!s->model_url || !s->tools_url || !s->mem || !s->pool) {
        snprintf(err, err_len, "cannot start %zu workers", opts->workers);
        ra_srv_free(s);
        return NULL;
    }
    /* The first protocol is the default, so clients that ask for no subprotocol get it. */
    s->protocols[0] = (struct lws_protocols){.name = "native",
                                             .callback = ws_callback,
                                             .per_session_data_size = sizeof(ra_conn *),
                                             .rx_buffer_size = 65536};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = opts->port;
    info.iface = "127.0.0.1";
    info.protocols = s->protocols;
    info.user = s;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, err_len, "cannot listen on 127.0.0.1:%d", opts->port);
        ra_srv_free(s);
        return NULL;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    return s;
}

int ra_srv_port(const ra_srv *s)
{
    return s->port;
}

void ra_srv_run(ra_srv *s)
{
    int n = 0;
    while (n >= 0 && !atomic_load(&s->stop))
        n = lws_service(s->ctx, 0);
}

void ra_srv_stop(ra_srv *s)
{
    atomic_store(&s->stop, 1);
    if (s->ctx) lws_cancel_service(s->ctx);
}

uint64_t ra_srv_events_sent(const ra_srv *s)
{
    return atomic_load(&s->stats->events_sent);
}

void ra_srv_free(ra_srv *s)
{
    if (!s) return;
    /* Jobs first: they may still queue events onto live connections. */
    ra_pool_free(s->pool);
    if (s->ctx) lws_context_destroy(s->ctx);
    pthread_mutex_lock(&s->dirty_mu);
    ra_conn *list = s->dirty;
    s->dirty = NULL;
    pthread_mutex_unlock(&s->dirty_mu);
    while (list) {
        ra_conn *c = list;
        list = c->dirty_next;
        conn_unref(c);
    }
    ra_mem_free(s->mem);
    free(s->model_url);
    free(s->tools_url);
    pthread_mutex_destroy(&s->dirty_mu);
    free(s);
}
