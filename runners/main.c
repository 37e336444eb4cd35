/*
 * main.c - agentrig's entry point: picks the mode and hands over.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "ar.h"
#include "docgen.h"
#include "runners.h"

static const char usage[] =
    "usage: agentrig <command> [options]\n"
    "\n"
    "commands:\n"
    "  run PATH...    drive an agent service through YAML scenarios and gate CI\n"
    "  chaos PATH...  fault-injection sessions: recovery rate per fault type\n"
    "  proxy          a fault proxy for a service's dependencies (tools, model)\n"
    "  bench SCENARIO load: latency percentiles, throughput, thresholds\n"
    "  validate PATH... load every scenario and report every error, running nothing\n"
    "  list PATH...   the scenarios: name, file, tags, turns, faults (--json)\n"
    "                 (agentrig COMMAND --help for each command's options)\n"
    "  version        print the version\n"
    "  help           this text\n"
    "\n"
    "exit codes: 0 all passed, 1 an expectation failed, 2 usage or configuration\n"
    "error, 3 service unreachable or harness failure, 130 interrupted.\n"
    "docs: README.md, docs/scenarios.md, docs/faults.md, docs/protocol.md, docs/reports.md,\n"
    "      docs/metrics.md (bench)\n";

int main(int argc, char **argv)
{
    /* Once, before any thread: curl's lazy global init is not thread-safe
     * everywhere, and workers, the proxy and HTTP steps all use curl. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc < 2) {
        fputs(usage, stderr);
        return AR_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return ar_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "chaos") == 0) return ar_chaos_main(argc - 1, argv + 1);
    if (strcmp(cmd, "proxy") == 0) return ar_proxy_main(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return ar_bench_main(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0) return ar_validate_main(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0) return ar_list_main(argc - 1, argv + 1);
    /* Hidden: the man page and completions, built from the modes' tables. */
    if (strcmp(cmd, "--man") == 0 || strcmp(cmd, "--completion") == 0)
        return ar_docgen_main(argc - 1, argv + 1, usage);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("agentrig %s\n", AR_VERSION);
        return AR_EXIT_PASS;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return AR_EXIT_PASS;
    }
    fprintf(stderr, "agentrig: unknown command '%s'\n\n%s", cmd, usage);
    return AR_EXIT_USAGE;
}
