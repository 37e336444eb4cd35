/*
 * floor.c - the least work a client can do for one benchmark session, so
 * agentrig's CPU per session has something honest to be compared with.
 *
 * The flow is the one every client in bench/ does: one WebSocket to
 * refagent, three turns (send a user_message, read frames until the turn's
 * root agent_completed), close. Here nothing is decoded, validated or
 * recorded: a frame is counted, and the end of a turn is spotted with two
 * substring checks on the frame's first bytes. That relies on refagent
 * writing `type` and `parent_run_id` before the payload (docs/protocol.md's
 * field order); a general client could not, which is why this is the floor.
 *
 * One lws context on one thread drives every connection (lws is built with
 * LWS_MAX_SMP=1); sessions are started in slots, --concurrency at a time,
 * and a slot that frees up is refilled from the main loop rather than from
 * inside the callback, so a dead target cannot recurse through connect
 * errors. Prints one JSON line, the same shape as the peer clients'.
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_TURNS 3
/* refagent puts type, thread_id (<= 128 bytes), turn, agent, run_id and
 * parent_run_id first: 512 bytes always hold them. */
#define FLOOR_PREFIX_BYTES 512
#define FLOOR_MSG_MAX_BYTES 512
/* lws allocates the rx buffer per connection; frames larger than this just
 * arrive in more RECEIVE callbacks. */
#define FLOOR_RX_BYTES 4096

static const char *turn_messages[FLOOR_TURNS] = {
    "What does our Kubernetes cluster cost us each month?",
    "Optimize it for a 40% reduction",
    "Draft a migration plan",
};

typedef struct {
    bool busy;
    bool closing; /* the last turn ended: close on the next WRITEABLE */
    bool want_send;
    int turn;     /* turns completed so far */
    long session; /* index of the session in this run, for its thread_id */
    struct lws *wsi;
    char prefix[FLOOR_PREFIX_BYTES];
    size_t prefix_len;
} slot;

typedef struct {
    struct lws_context *ctx;
    const char *host;
    int port;
    const char *path;
    long sessions;
    long concurrency;
    long started;
    long completed;
    long failed;
    uint64_t frames;
    slot *slots;
    bool deadline_hit;
    lws_sorted_usec_list_t deadline;
} run;

static run g_run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void slot_finish(slot *s)
{
    if (s->turn == FLOOR_TURNS)
        g_run.completed++;
    else
        g_run.failed++;
    s->busy = false;
    s->wsi = NULL;
}

static bool frame_is_terminal(const slot *s)
{
    static const char type_key[] = "\"agent_completed\"";
    static const char root_key[] = "\"parent_run_id\":null";
    return memmem(s->prefix, s->prefix_len, type_key, sizeof type_key - 1) &&
           memmem(s->prefix, s->prefix_len, root_key, sizeof root_key - 1);
}

static int send_turn(struct lws *wsi, slot *s)
{
    unsigned char buf[LWS_PRE + FLOOR_MSG_MAX_BYTES];
    int n =
        snprintf((char *)buf + LWS_PRE, FLOOR_MSG_MAX_BYTES,
                 "{\"type\":\"user_message\",\"thread_id\":\"floor-%ld-%ld\",\"message\":\"%s\"}",
                 (long)getpid(), s->session, turn_messages[s->turn]);
    if (n < 0 || n >= FLOOR_MSG_MAX_BYTES) return -1;
    s->want_send = false;
    return lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ? -1 : 0;
}

static int floor_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    slot *s = lws_get_opaque_user_data(wsi);
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!s) break;
        s->want_send = true;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!s) break;
        if (lws_is_first_fragment(wsi)) s->prefix_len = 0;
        size_t room = FLOOR_PREFIX_BYTES - s->prefix_len;
        size_t take = len < room ? len : room;
        memcpy(s->prefix + s->prefix_len, in, take);
        s->prefix_len += take;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0) break;
        g_run.frames++;
        if (!frame_is_terminal(s)) break;
        s->turn++;
        if (s->turn == FLOOR_TURNS)
            s->closing = true;
        else
            s->want_send = true;
        lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!s) return -1;
        if (s->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (s->want_send) return send_turn(wsi, s);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (!s) break;
        lws_set_opaque_user_data(wsi, NULL);
        slot_finish(s);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols floor_protocols[] = {
    {"floor", floor_callback, 0, FLOOR_RX_BYTES, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void start_session(slot *s)
{
    memset(s, 0, sizeof *s);
    s->busy = true;
    s->session = g_run.started++;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g_run.ctx;
    ci.address = g_run.host;
    ci.port = g_run.port;
    ci.path = g_run.path;
    ci.host = g_run.host;
    ci.origin = g_run.host;
    ci.ietf_version_or_minus_one = -1;
    ci.local_protocol_name = "floor";
    ci.opaque_user_data = s;
    ci.pwsi = &s->wsi;
    /* On failure lws may already have called CONNECTION_ERROR (which
     * finished the slot); if it did not, finish it here. */
    if (!lws_client_connect_via_info(&ci) && s->busy && !s->wsi) slot_finish(s);
}

static void refill(void)
{
    for (long i = 0; i < g_run.concurrency && g_run.started < g_run.sessions; i++)
        if (!g_run.slots[i].busy) start_session(&g_run.slots[i]);
}

static void deadline_cb(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    g_run.deadline_hit = true;
    lws_cancel_service(g_run.ctx);
}

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: floor --url ws://127.0.0.1:PORT/ws [--sessions S] [--concurrency C]\n"
               "             [--timeout-s T]\n"
               "The benchmark floor: S sessions (default 3000), C open at once (default 100),\n"
               "each one WebSocket and 3 turns against refagent, nothing decoded. Stops after\n"
               "T seconds (default 300). Prints one JSON line:\n"
               "{\"client\":\"floor\",\"sessions\":S,\"completed\":N,\"frames\":F,\"wall_s\":W}\n"
               "Exit 0 when every session completed, 1 when not, 2 on usage errors.\n");
    return code;
}

static bool parse_long(const char *arg, long min, long *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < min) return false;
    *out = v;
    return true;
}

/* ws://host:port/path only: the floor talks to a loopback refagent. */
static bool split_url(char *url, const char **host, int *port, const char **path)
{
    if (strncmp(url, "ws://", 5) != 0) return false;
    char *h = url + 5;
    char *slash = strchr(h, '/');
    char *colon = strchr(h, ':');
    if (!slash || !colon || colon > slash) return false;
    static char path_buf[256];
    snprintf(path_buf, sizeof path_buf, "%s", slash);
    *slash = '\0';
    *colon = '\0';
    long p;
    if (!parse_long(colon + 1, 1, &p) || p > 65535) return false;
    *host = h;
    *port = (int)p;
    *path = path_buf;
    return true;
}

/* compare.sh FLOW=light: BENCH_MESSAGES="a|b|c" replaces the three turns. */
static void messages_from_env(void)
{
    const char *env = getenv("BENCH_MESSAGES");
    if (!env || !*env) return;
    char *copy = strdup(env);
    char *save = NULL;
    int i = 0;
    for (char *m = strtok_r(copy, "|", &save); m && i < FLOOR_TURNS; m = strtok_r(NULL, "|", &save))
        turn_messages[i++] = m; /* copy lives for the process */
}

int main(int argc, char **argv)
{
    messages_from_env();
    char *url = NULL;
    long sessions = 3000, concurrency = 100, timeout_s = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
        if (i + 1 >= argc) {
            fprintf(stderr, "floor: '%s' needs a value or is unknown\n", a);
            return usage(stderr, 2);
        }
        const char *v = argv[++i];
        bool ok = true;
        if (!strcmp(a, "--url"))
            url = (char *)v;
        else if (!strcmp(a, "--sessions"))
            ok = parse_long(v, 1, &sessions);
        else if (!strcmp(a, "--concurrency"))
            ok = parse_long(v, 1, &concurrency);
        else if (!strcmp(a, "--timeout-s"))
            ok = parse_long(v, 1, &timeout_s);
        else {
            fprintf(stderr, "floor: unknown option '%s'\n", a);
            return usage(stderr, 2);
        }
        if (!ok) {
            fprintf(stderr, "floor: %s wants a positive integer, not '%s'\n", a, v);
            return 2;
        }
    }
    if (!url) {
        fprintf(stderr, "floor: --url is required\n");
        return usage(stderr, 2);
    }
    static char url_copy[512]; /* split_url cuts it up; host and path point into it */
    if (strlen(url) >= sizeof url_copy ||
        !split_url(strcpy(url_copy, url), &g_run.host, &g_run.port, &g_run.path)) {
        fprintf(stderr, "floor: '%s' is not ws://host:port/path\n", url);
        return 2;
    }
    if (concurrency > sessions) concurrency = sessions;
    g_run.sessions = sessions;
    g_run.concurrency = concurrency;
    g_run.slots = calloc((size_t)concurrency, sizeof *g_run.slots);
    if (!g_run.slots) {
        fprintf(stderr, "floor: out of memory\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = floor_protocols;
    info.gid = -1;
    info.uid = -1;
    info.timeout_secs = 20;
    g_run.ctx = lws_create_context(&info);
    if (!g_run.ctx) {
        fprintf(stderr, "floor: could not create the lws context\n");
        return 2;
    }
    lws_sul_schedule(g_run.ctx, 0, &g_run.deadline, deadline_cb,
                     (lws_usec_t)timeout_s * LWS_US_PER_SEC);

    double t0 = now_s();
    refill();
    while (g_run.completed + g_run.failed < g_run.sessions && !g_run.deadline_hit) {
        lws_service(g_run.ctx, 0);
        refill();
    }
    double wall_s = now_s() - t0;
    lws_context_destroy(g_run.ctx);

    printf("{\"client\":\"floor\",\"sessions\":%ld,\"completed\":%ld,\"frames\":%llu,"
           "\"wall_s\":%.3f}\n",
           g_run.sessions, g_run.completed, (unsigned long long)g_run.frames, wall_s);
    if (g_run.deadline_hit)
        fprintf(stderr, "floor: stopped after %ld s with %ld sessions unfinished\n", timeout_s,
                g_run.sessions - g_run.completed - g_run.failed);
    free(g_run.slots);
    return g_run.completed == g_run.sessions ? 0 : 1;
}
