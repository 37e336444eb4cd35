/*
 * main.c - refagent: the reference multi-agent service agentrig drives when
 * no target is given. Parses options, starts the dependency server (model +
 * tools over HTTP) and the WebSocket server, and prints the two lines the
 * harness waits for:
 *   deps http://127.0.0.1:DPORT
 *   listening ws://127.0.0.1:PORT/ws
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

static ra_srv *g_srv;

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
        "  --think-ms N        sleep per reasoning step, ms (default 25; 0 for benchmarks)\n"
        "  --workers N         worker threads running turns (default 16)\n"
        "  --dep-timeout-ms N  timeout of each model/tool HTTP call, ms (default 5000)\n"
        "  --max-threads N     conversation threads kept in memory, LRU (default 10000)\n"
        "  --verbose           libwebsockets warnings on stderr\n"
        "  --help              this text\n"
        "\n"
        "On start prints 'deps http://127.0.0.1:DPORT' and 'listening ws://127.0.0.1:PORT/ws'.\n"
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
    if (g_srv) ra_srv_stop(g_srv);
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
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    long port = 0, deps_port = 0, think_ms = 25, workers = 16, timeout_ms = 5000,
         max_threads = 10000;
    const char *model_url = NULL, *tools_url = NULL;
    int verbose = 0;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
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
            fprintf(stderr, "refagent: bad value '%s' for option '%s'\n", optarg, argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "refagent: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    lws_set_log_level(verbose ? (LLL_ERR | LLL_WARN) : LLL_ERR, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);

    char err[256];
    ra_deps *deps = ra_deps_start((int)deps_port, err, sizeof(err));
    if (!deps) {
        fprintf(stderr, "refagent: %s\n", err);
        return 3;
    }
    char deps_url[64];
    snprintf(deps_url, sizeof(deps_url), "http://127.0.0.1:%d", ra_deps_port(deps));
    printf("deps %s\n", deps_url);
    fflush(stdout);

    ra_srv_opts so = {
        .port = (int)port,
        .model_url = model_url ? model_url : deps_url,
        .tools_url = tools_url ? tools_url : deps_url,
        .think_ms = (int)think_ms,
        .workers = (size_t)workers,
        .dep_timeout_ms = timeout_ms,
        .max_threads = (size_t)max_threads,
    };
    g_srv = ra_srv_new(&so, err, sizeof(err));
    if (!g_srv) {
        fprintf(stderr, "refagent: %s\n", err);
        ra_deps_stop(deps);
        return 3;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
