/*
 * proxy.c - `agentrig proxy`: the fault proxy on its own, for a user's
 * service. Point the service's tools or model base URL at --listen; requests
 * go to --upstream, except where a rule in --rules says otherwise. Each
 * request is logged as one JSON line on stdout (what matched, what was done),
 * so the proxy's log is as machine-readable as the rest of agentrig.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"
#include "scenario.h"
#include "cli.h"
#include "runners.h"

enum { OPT_LISTEN = 1000, OPT_UPSTREAM, OPT_RULES, OPT_SEED, OPT_DURATION };

static const ar_cli_opt opt_table[] = {
    {"listen", required_argument, OPT_LISTEN, "HOST:PORT",
     "where the proxy listens (default 127.0.0.1:0, a free port)"},
    {"upstream", required_argument, OPT_UPSTREAM, "URL",
     "where requests go, e.g. http://127.0.0.1:8000 (required)"},
    {"rules", required_argument, OPT_RULES, "FILE",
     "fault rules: a YAML file with 'rules:' and/or 'faults:' (docs/faults.md);\n"
     "without it every request is forwarded"},
    {"seed", required_argument, OPT_SEED, "S", "seed for probabilistic rules (default 1)"},
    {"duration", required_argument, OPT_DURATION, "T",
     "stop after T (e.g. 60s); default: until SIGINT or SIGTERM"},
    {"quiet", no_argument, 'q', NULL, "do not log requests on stdout"},
    {"help", no_argument, 'h', NULL, "this text"},
};

static atomic_int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void print_help(FILE *f)
{
    fputs("usage: agentrig proxy --upstream URL [--listen HOST:PORT] [--rules FILE]\n"
          "\n"
          "An HTTP fault proxy for a service's dependencies (tools, model). Prints\n"
          "'proxy listening http://HOST:PORT -> URL' when ready, then one JSON line per\n"
          "request, and a summary per rule when stopped.\n"
          "\n",
          f);
    ar_cli_print_options(f, opt_table, AR_ARRAY_LEN(opt_table));
    fputs("\nexit codes: 0 stopped normally, 2 usage or rules error, 3 could not listen.\n", f);
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_hit(void *user, const ar_px_hit *h)
{
    (void)user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "at_us", (double)h->at_us);
    if (h->rule >= 0) cJSON_AddNumberToObject(o, "rule", h->rule);
    if (h->name) cJSON_AddStringToObject(o, "name", h->name);
    cJSON_AddStringToObject(o, "action", ar_px_action_name(h->action));
    cJSON_AddStringToObject(o, "method", h->method ? h->method : "");
    cJSON_AddStringToObject(o, "path", h->path ? h->path : "");
    cJSON_AddNumberToObject(o, "status", h->status);
    cJSON_AddNumberToObject(o, "took_ms", (double)h->took_us / 1e3);
    if (h->detail) cJSON_AddStringToObject(o, "detail", h->detail);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line) return;
    pthread_mutex_lock(&log_mu);
    puts(line);
    fflush(stdout);
    pthread_mutex_unlock(&log_mu);
    free(line);
}

int ar_proxy_main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:0", *upstream = NULL, *rules_path = NULL;
    long seed = 1;
    int64_t duration_us = 0;
    bool quiet = false;
    struct option longs[AR_ARRAY_LEN(opt_table) + 1];
    char shorts[32];
    ar_cli_build(opt_table, AR_ARRAY_LEN(opt_table), longs, shorts, sizeof shorts);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            listen_at = optarg;
            break;
        case OPT_UPSTREAM:
            upstream = optarg;
            break;
        case OPT_RULES:
            rules_path = optarg;
            break;
        case OPT_SEED:
            if (!ar_cli_parse_long(optarg, 0, 0x7fffffffL, &seed))
                return ar_cli_usage_error("proxy", "--seed must be a whole number (got '%s')",
                                          optarg);
            break;
        case OPT_DURATION:
            if (ar_parse_duration(optarg, &duration_us) != AR_OK || duration_us == 0)
                return ar_cli_usage_error(
                    "proxy", "--duration must be a duration like 60s (got '%s')", optarg);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            print_help(stdout);
            return AR_EXIT_PASS;
        case ':':
            return ar_cli_usage_error("proxy", "option '%s' needs a value", argv[optind - 1]);
        default:
            return ar_cli_usage_error("proxy", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return ar_cli_usage_error("proxy", "unexpected argument '%s'", argv[optind]);
    if (!upstream) return ar_cli_usage_error("proxy", "%s", "--upstream URL is required");
    char host[128];
    long port;
    const char *colon = strrchr(listen_at, ':');
    if (!colon || colon == listen_at || (size_t)(colon - listen_at) >= sizeof host ||
        !ar_cli_parse_long(colon + 1, 0, 65535, &port))
        return ar_cli_usage_error(
            "proxy", "--listen must be HOST:PORT, e.g. 127.0.0.1:9100 (got '%s')", listen_at);
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen_at), listen_at);

    ar_px_rule *rules = NULL;
    size_t n_rules = 0;
    char err[1024];
    if (rules_path && ar_scn_load_rules_file(rules_path, &rules, &n_rules, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return AR_EXIT_USAGE;
    }
    ar_px_cfg cfg = {.listen_host = host,
                     .listen_port = (int)port,
                     .upstream = upstream,
                     .rules = rules,
                     .n_rules = n_rules,
                     .seed = (uint64_t)seed,
                     .on_hit = quiet ? NULL : log_hit};
    ar_proxy *px = NULL;
    int code = AR_EXIT_PASS;
    if (ar_px_start(&cfg, &px, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig proxy: %s\n", err);
        code = strstr(err, "upstream") ? AR_EXIT_USAGE : AR_EXIT_INFRA;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("proxy listening %s -> %s (%zu rules)\n", ar_px_url(px), upstream, n_rules);
    fflush(stdout);
    int64_t until = duration_us ? ar_now_us() + duration_us : 0;
    while (!atomic_load(&g_stop) && (!until || ar_now_us() < until))
        usleep(50 * 1000);
    uint64_t requests = ar_px_requests(px);
    uint64_t *fired = calloc(n_rules ? n_rules : 1, sizeof *fired);
    for (size_t i = 0; fired && i < n_rules; i++)
        fired[i] = ar_px_fired(px, i);
    ar_px_stop(px);
    fprintf(stderr, "agentrig proxy: %llu requests\n", (unsigned long long)requests);
    for (size_t i = 0; fired && i < n_rules; i++)
        fprintf(stderr, "  rule %zu (%s): fired %llu times\n", i,
                rules[i].name ? rules[i].name : "unnamed", (unsigned long long)fired[i]);
    free(fired);
out:
    for (size_t i = 0; i < n_rules; i++)
        ar_px_rule_clear(&rules[i]);
    free(rules);
    return code;
}
