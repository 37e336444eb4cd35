/*
 * opts.h - the options every mode takes, in one table (the way curl keeps one
 * option table): a new common option is one line in opts.c's table and one
 * case in its parser, and every mode's getopt string and --help follow.
 *
 * A mode describes itself (ar_opts_mode: its name, usage text, its own
 * options, which common ones it takes, and how their help reads for it) and
 * calls ar_opts_parse, which hands the mode's own options back to it.
 */
#ifndef AR_OPTS_H
#define AR_OPTS_H

#include "cli.h"

/* The groups of common options a mode takes (--help it takes always). */
enum {
    AR_OPTS_JOBS = 1,
    AR_OPTS_SEED = 2,
    AR_OPTS_REPORT = 4,
    AR_OPTS_SERVICE = 8,  /* --target, --refagent, --refagent-arg */
    AR_OPTS_OUTPUT = 16,  /* --results, --transcripts */
    AR_OPTS_JUNIT = 32,   /* --junit */
    AR_OPTS_FILTER = 64,  /* --tag, --grep */
    AR_OPTS_VARS = 128,   /* --var, --env-file */
    AR_OPTS_TERM = 256,   /* --quiet, --no-color */
    /* What a mode that drives a service takes besides jobs, seed and report. */
    AR_OPTS_DRIVE = AR_OPTS_SERVICE | AR_OPTS_OUTPUT | AR_OPTS_JUNIT | AR_OPTS_FILTER |
                    AR_OPTS_VARS | AR_OPTS_TERM,
};

struct ar_vars;
struct ar_scenario;

/* Values of the common options; zero means "not given". Strings borrow argv. */
typedef struct {
    const char *target;      /* -t, --target */
    long jobs;               /* -j, --jobs (AR_OPTS_JOBS) */
    long seed;               /* --seed (AR_OPTS_SEED) */
    bool seed_set;
    const char *results_dir; /* -o, --results */
    const char *junit;       /* --junit */
    const char *report;      /* --report (AR_OPTS_REPORT): the JSON report */
    const char *transcripts; /* --transcripts */
    const char *refagent;    /* --refagent */
    const char **refagent_args; /* --refagent-arg, in order; owned array */
    size_t n_refagent_args;
    bool quiet;    /* -q */
    bool no_color; /* --no-color */
    const char **tags; /* --tag, any of them; owned array */
    size_t n_tags;
    const char *grep;  /* --grep REGEX on scenario names */
    void *grep_re;     /* pcre2_code*, compiled by ar_opts_parse; owned */
    /* --env-file files in order, then --var: the template variables the
     * sessions start with (later wins). Owned; NULL when none was given. */
    struct ar_vars *vars;
    const char **var_args; /* as given, until ar_opts_parse builds vars; owned array */
    size_t n_var_args;
    const char **env_files;
    size_t n_env_files;
} ar_opts;

/* How one common option's help reads in one mode (ids: see opts.c). */
typedef struct {
    const char *name; /* the long option's name, e.g. "junit" */
    const char *help;
} ar_opts_help;

typedef struct {
    const char *name;       /* "run" */
    const char *usage;      /* the lines --help prints before the options */
    const char *exit_codes; /* the lines --help prints after them */
    const ar_cli_opt *own;  /* the mode's own options (ids >= 1000) */
    size_t n_own;
    unsigned takes;         /* AR_OPTS_* the mode takes */
    long jobs_max;
    const ar_opts_help *help; /* per-mode help for common options; NULL-name terminated */
} ar_opts_mode;

/*
 * Parses argv. Common options land in *o; each of the mode's own options is
 * passed to own(c, optarg, user), which returns 0 or an exit code. Returns 0
 * with *first set to the first operand, -1 after printing --help (exit 0), or
 * an exit code after printing a usage error. o->refagent_args keeps any
 * entries the caller pushed before (a mode's defaults come first, so the
 * user's arguments override them); free it with ar_opts_free.
 */
int ar_opts_parse(const ar_opts_mode *m, int argc, char **argv, ar_opts *o,
                  int (*own)(int c, const char *arg, void *user), void *user, int *first);
void ar_opts_free(ar_opts *o); /* NULL-safe */
/* Whether --tag and --grep keep scenario s (true when neither was given). */
bool ar_opts_pick(const ar_opts *o, const struct ar_scenario *s);
/* "--tag", "--grep" or "--tag and --grep": what filtered, for messages. */
const char *ar_opts_filter_name(const ar_opts *o);
/* A usage error for mode m (exit 2). */
int ar_opts_usage(const ar_opts_mode *m, const char *fmt, const char *arg);

#endif
