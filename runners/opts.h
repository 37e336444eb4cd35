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

/* Common options a mode may leave out (the others every mode takes). */
enum { AR_OPTS_JOBS = 1, AR_OPTS_SEED = 2, AR_OPTS_REPORT = 4 };

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
/* A usage error for mode m (exit 2). */
int ar_opts_usage(const ar_opts_mode *m, const char *fmt, const char *arg);

#endif
