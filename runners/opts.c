/*
 * opts.c - the common option group (opts.h).
 */
#include "opts.h"

#include <stdlib.h>
#include <string.h>

enum {
    OPT_C_JUNIT = 900,
    OPT_C_TRANSCRIPTS,
    OPT_C_REFAGENT,
    OPT_C_REFAGENT_ARG,
    OPT_C_SEED,
    OPT_C_NO_COLOR,
    OPT_C_REPORT,
};

/* The common options, in --help order after the mode's own. The help here is
 * the default; a mode may word one for itself (ar_opts_mode.help). */
static const ar_cli_opt common[] = {
    {"target", required_argument, 't', "URL",
     "drive this service instead of the scenarios' targets;\n"
     "without it, scenarios with no target use the embedded refagent"},
    {"jobs", required_argument, 'j', "N", "sessions run concurrently (default: CPU cores)"},
    {"seed", required_argument, OPT_C_SEED, "S",
     "seed for probabilistic faults; the same seed gives the same decisions (default 1)"},
    {"results", required_argument, 'o', "DIR", "where reports go (default: results)"},
    {"junit", required_argument, OPT_C_JUNIT, "FILE", "JUnit XML (default: DIR/junit.xml)"},
    {"report", required_argument, OPT_C_REPORT, "FILE", "JSON report (default: DIR/report.json)"},
    {"transcripts", required_argument, OPT_C_TRANSCRIPTS, "DIR",
     "one JSONL transcript per session (default: DIR/transcripts)"},
    {"refagent", required_argument, OPT_C_REFAGENT, "PATH",
     "refagent binary for the embedded service (default: beside agentrig)"},
    {"refagent-arg", required_argument, OPT_C_REFAGENT_ARG, "ARG",
     "extra argument for the embedded refagent (repeatable), e.g. --refagent-arg=--think-ms=0"},
    {"quiet", no_argument, 'q', NULL, "no summary on stdout"},
    {"no-color", no_argument, OPT_C_NO_COLOR, NULL, "never colour the output (NO_COLOR works too)"},
    {"help", no_argument, 'h', NULL, "this text"},
};

static bool takes(const ar_opts_mode *m, const ar_cli_opt *c)
{
    if (c->short_name == 'j') return m->takes & AR_OPTS_JOBS;
    if (c->short_name == OPT_C_SEED) return m->takes & AR_OPTS_SEED;
    if (c->short_name == OPT_C_REPORT) return m->takes & AR_OPTS_REPORT;
    return true;
}

/* The mode's own options, then the common ones it takes, with its wording. */
static size_t table(const ar_opts_mode *m, ar_cli_opt *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_own && n < AR_CLI_MAX_OPTS; i++)
        out[n++] = m->own[i];
    for (size_t i = 0; i < AR_ARRAY_LEN(common) && n < AR_CLI_MAX_OPTS; i++) {
        if (!takes(m, &common[i])) continue;
        out[n] = common[i];
        for (const ar_opts_help *h = m->help; h && h->name; h++)
            if (!strcmp(h->name, common[i].name)) out[n].help = h->help;
        n++;
    }
    return n;
}

int ar_opts_usage(const ar_opts_mode *m, const char *fmt, const char *arg)
{
    return ar_cli_usage_error(m->name, fmt, arg);
}

static int common_opt(const ar_opts_mode *m, int c, const char *arg, ar_opts *o)
{
    char msg[96];
    switch (c) {
    case 't':
        o->target = arg;
        return 0;
    case 'j':
        if (!ar_cli_parse_long(arg, 1, m->jobs_max, &o->jobs)) {
            snprintf(msg, sizeof msg, "--jobs must be a whole number from 1 to %ld (got '%%s')",
                     m->jobs_max);
            return ar_opts_usage(m, msg, arg);
        }
        return 0;
    case OPT_C_SEED:
        if (!ar_cli_parse_long(arg, 0, 0x7fffffffL, &o->seed))
            return ar_opts_usage(m, "--seed must be a whole number from 0 to 2147483647 (got '%s')",
                                 arg);
        o->seed_set = true;
        return 0;
    case 'o':
        o->results_dir = arg;
        return 0;
    case OPT_C_JUNIT:
        o->junit = arg;
        return 0;
    case OPT_C_REPORT:
        o->report = arg;
        return 0;
    case OPT_C_TRANSCRIPTS:
        o->transcripts = arg;
        return 0;
    case OPT_C_REFAGENT:
        o->refagent = arg;
        return 0;
    case OPT_C_REFAGENT_ARG:
        return ar_cli_push(&o->refagent_args, &o->n_refagent_args, arg) ? 0 : AR_EXIT_INFRA;
    case 'q':
        o->quiet = true;
        return 0;
    case OPT_C_NO_COLOR:
        o->no_color = true;
        return 0;
    default:
        return -2; /* not a common option */
    }
}

int ar_opts_parse(const ar_opts_mode *m, int argc, char **argv, ar_opts *o,
                  int (*own)(int c, const char *arg, void *user), void *user, int *first)
{
    ar_cli_opt all[AR_CLI_MAX_OPTS];
    size_t n = table(m, all);
    struct option longs[AR_CLI_MAX_OPTS + 1];
    char shorts[64];
    ar_cli_build(all, n, longs, shorts, sizeof shorts);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(m->usage, stdout);
            ar_cli_print_options(stdout, all, n);
            fputs(m->exit_codes, stdout);
            return -1;
        }
        if (c == ':') return ar_opts_usage(m, "option '%s' needs a value", argv[optind - 1]);
        if (c == '?') return ar_opts_usage(m, "unknown option '%s'", argv[optind - 1]);
        int rc = common_opt(m, c, optarg, o);
        if (rc == -2) rc = own(c, optarg, user);
        if (rc) return rc;
    }
    *first = optind;
    return 0;
}

void ar_opts_free(ar_opts *o)
{
    if (!o) return;
    free(o->refagent_args);
    o->refagent_args = NULL;
    o->n_refagent_args = 0;
}
