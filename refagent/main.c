/*
 * main.c - refagent: the reference multi-agent service agentrig drives when
 * no target is given. Parses options, starts the dependency server (model +
 * tools over HTTP) and the WebSocket server, and prints the two lines the
 * harness waits for:
 *   deps http://127.0.0.1:DPORT
 *   listening ws://127.0.0.1:PORT/ws
 * With --deps-only it serves just the deps (one deps server shared by many
 * refagents, each behind its own fault proxy) and prints only the first line.
 */
#include "deps.h"
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static ra_srv *g_srv;
static volatile sig_atomic_t g_stop;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: refagent [options]\n"
        "Reference multi-agent service (Supervisor -> Triage -> Data/Optimization/Compliance)\n"
        "speaking agentrig's `native` protocol on ws://127.0.0.1:PORT/ws.\n"
        "\n"
        "  --port N            WebSocket port on 127.0.0.1 (default 0 = pick a free one)\n"
        "  --deps-port N       port of the built-in model/tools HTTP server (default 0)\n"
        "  --model-url URL     base URL of the model endpoint (POST URL/v1/complete);\n"
        "                      default: the built-in deps server\n"
        "  --tools-url URL     base URL of the tools endpoint (POST URL/tools/<name>);\n"
        "                      default: the built-in deps server\n"
        "  --deps http|inline  reach the model and tools over HTTP (default) or call them\n"
        "                      in-process (benchmarks; --model-url/--tools-url not allowed)\n"
        "  --deps-only         serve only the deps HTTP server (no WebSocket server)\n"
        "  --think-ms N        sleep per reasoning step, ms (default 25; 0 for benchmarks)\n"
        "  --thinking-deltas N stream each reasoning step as N agent_thinking deltas\n"
        "                      (default 0: one agent_thinking with the whole text)\n"
        "  --workers N         worker threads running turns (default 16)\n"
        "  --dep-timeout-ms N  timeout of each model/tool call, ms (default 5000)\n"
        "  --turn-deadline-ms N  a turn's final answer comes within N ms; unfinished work is\n"
        "                      cancelled and reported as partial (default 30000; 0 = none)\n"
        "  --max-threads N     conversation threads kept in memory, LRU (default 10000)\n"
        "  --verbose           libwebsockets warnings on stderr\n"
        "  --help              this text\n"
        "\n"
        "On start prints 'deps http://127.0.0.1:DPORT' and 'listening ws://127.0.0.1:PORT/ws'.\n"
        "GET http://127.0.0.1:DPORT/stats returns {events_sent, turns_completed, connections}.\n"
        "On SIGINT/SIGTERM shuts down and prints 'events_sent N' to stderr.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_srv) ra_srv_stop(g_srv);
}

/*
 * lws's own log lines, except the accept failures of a full fd table: lws
 * 4.1 logs "accept: errno 24" and retries at once, for as long as the table
 * stays full. Those get one plain explanation instead of a line each, and a
 * 10 ms pause (we are on the service thread), so a server at its limit
 * backs off instead of spinning a core; it accepts again once fds free up.
 */
static void on_lws_log(int level, const char *line)
{
    (void)level;
    static bool explained;
    if (strstr(line, "accept: errno 24") || strstr(line, "accept: errno 23")) {
        if (!explained)
            fprintf(stderr, "refagent: cannot accept a connection: too many open files (EMFILE); "
                            "raise the open-file limit with `ulimit -n` before starting refagent "
                            "(further accept failures are not logged)\n");
        explained = true;
        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        return;
    }
    fprintf(stderr, "lws: %s", line);
}

/* Servers raise their soft open-file limit to the hard one: each session is an fd. */
static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    enum {
        O_PORT = 1,
        O_DEPS_PORT,
        O_MODEL,
        O_TOOLS,
        O_THINK,
        O_WORKERS,
        O_TIMEOUT,
        O_MAXT,
        O_DEPS,
        O_DEPS_ONLY,
        O_DELTAS,
        O_DEADLINE,
        O_VERBOSE,
        O_HELP
    };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, O_PORT},
        {"deps-port", required_argument, NULL, O_DEPS_PORT},
        {"model-url", required_argument, NULL, O_MODEL},
        {"tools-url", required_argument, NULL, O_TOOLS},
        {"think-ms", required_argument, NULL, O_THINK},
        {"workers", required_argument, NULL, O_WORKERS},
        {"dep-timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"max-threads", required_argument, NULL, O_MAXT},
        {"deps", required_argument, NULL, O_DEPS},
        {"deps-only", no_argument, NULL, O_DEPS_ONLY},
        {"thinking-deltas", required_argument, NULL, O_DELTAS},
        {"turn-deadline-ms", required_argument, NULL, O_DEADLINE},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    long port = 0, deps_port = 0, think_ms = 25, workers = 16, timeout_ms = 5000,
         max_threads = 10000, deltas = 0, deadline_ms = 30000;
    const char *model_url = NULL, *tools_url = NULL;
    int verbose = 0, deps_inline = 0, deps_only = 0;
    int opt;
    opterr = 0;
    int li = -1;
    while ((opt = getopt_long(argc, argv, "", longopts, &li)) != -1) {
        int bad = 0;
        switch (opt) {
        case O_PORT:
            bad = parse_long(optarg, 0, 65535, &port);
            break;
        case O_DEPS_PORT:
            bad = parse_long(optarg, 0, 65535, &deps_port);
            break;
        case O_MODEL:
            model_url = optarg;
            break;
        case O_TOOLS:
            tools_url = optarg;
            break;
        case O_THINK:
            bad = parse_long(optarg, 0, 600000, &think_ms);
            break;
        case O_WORKERS:
            bad = parse_long(optarg, 1, 1024, &workers);
            break;
        case O_TIMEOUT:
            bad = parse_long(optarg, 1, 3600000, &timeout_ms);
            break;
        case O_MAXT:
            bad = parse_long(optarg, 1, 10000000, &max_threads);
            break;
        case O_DEPS:
            if (strcmp(optarg, "inline") == 0)
                deps_inline = 1;
            else if (strcmp(optarg, "http") == 0)
                deps_inline = 0;
            else
                bad = 1;
            break;
        case O_DEPS_ONLY:
            deps_only = 1;
            break;
        case O_DELTAS:
            bad = parse_long(optarg, 0, 4096, &deltas);
            break;
        case O_DEADLINE:
            bad = parse_long(optarg, 0, 3600000, &deadline_ms);
            break;
        case O_VERBOSE:
            verbose = 1;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "refagent: unknown option or missing value: '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
        if (bad) {
            /* argv[optind - 1] is the value when it came as a separate word: name it from the
             * table. */
            fprintf(stderr, "refagent: bad value '%s' for option '--%s'\n", optarg,
                    longopts[li].name);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "refagent: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (deps_inline && (model_url || tools_url)) {
        fprintf(stderr, "refagent: --model-url and --tools-url need --deps http\n");
        usage(stderr);
        return 2;
    }
    lws_set_log_level(verbose ? (LLL_ERR | LLL_WARN) : LLL_ERR, on_lws_log);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static ra_stats stats;
    char err[256];
    ra_deps *deps = ra_deps_start((int)deps_port, &stats, err, sizeof(err));
    if (!deps) {
        fprintf(stderr, "refagent: %s\n", err);
        return 3;
    }
    char deps_url[64];
    snprintf(deps_url, sizeof(deps_url), "http://127.0.0.1:%d", ra_deps_port(deps));
    printf("deps %s\n", deps_url);
    fflush(stdout);
    if (deps_only) {
        /* Blocked between the check and the wait, so no signal is lost. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);
        while (!g_stop)
            sigsuspend(&old);
        sigprocmask(SIG_SETMASK, &old, NULL);
        ra_deps_stop(deps);
        curl_global_cleanup();
        return 0;
    }

    ra_srv_opts so = {
        .port = (int)port,
        .deps_inline = deps_inline != 0,
        .model_url = model_url ? model_url : deps_url,
        .tools_url = tools_url ? tools_url : deps_url,
        .think_ms = (int)think_ms,
        .thinking_deltas = (int)deltas,
        .workers = (size_t)workers,
        .dep_timeout_ms = timeout_ms,
        .turn_deadline_ms = deadline_ms,
        .max_threads = (size_t)max_threads,
        .stats = &stats,
    };
    g_srv = ra_srv_new(&so, err, sizeof(err));
    if (!g_srv) {
        fprintf(stderr, "refagent: %s\n", err);
        ra_deps_stop(deps);
        return 3;
    }
    if (g_stop) ra_srv_stop(g_srv); /* a signal came before g_srv was set */
    printf("listening ws://127.0.0.1:%d/ws\n", ra_srv_port(g_srv));
    fflush(stdout);

    ra_srv_run(g_srv);
    uint64_t sent = ra_srv_events_sent(g_srv);
    ra_srv_free(g_srv);
    g_srv = NULL;
    ra_deps_stop(deps);
    curl_global_cleanup();
    fprintf(stderr, "events_sent %" PRIu64 "\n", sent);
    return 0;
}
