/*
 * cli.h - what the modes' command lines share: one option table per mode
 * drives both getopt_long and --help (so the help cannot drift from what is
 * parsed), usage errors in one form, and the colour decision.
 */
#ifndef AR_CLI_H
#define AR_CLI_H

#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>

#include "ar.h"

typedef struct {
    const char *name;
    int has_arg;     /* no_argument / required_argument */
    int short_name;  /* a character, or a value >= 256 for long-only options */
    const char *arg; /* the argument's name in --help, or NULL */
    const char *help;
} ar_cli_opt;

#define AR_CLI_MAX_OPTS 48

/* Fills longs (n + 1 entries) and shorts (":" + letters) for getopt_long. */
void ar_cli_build(const ar_cli_opt *opts, size_t n, struct option *longs, char *shorts,
                  size_t shorts_len);
/* Prints "options:" and one aligned line (or more) per option. */
void ar_cli_print_options(FILE *f, const ar_cli_opt *opts, size_t n);
/*
 * While set, ar_cli_print_options also hands each table it prints to fn: the
 * man page and the shell completions (docgen.c) read the modes' tables
 * through their --help, so they list exactly what --help lists. NULL unsets.
 */
typedef void (*ar_cli_describe_fn)(const ar_cli_opt *opts, size_t n, void *user);
void ar_cli_set_describe(ar_cli_describe_fn fn, void *user);
/* "agentrig MODE: <message>\n(agentrig MODE --help lists the options)"; returns AR_EXIT_USAGE. */
int ar_cli_usage_error(const char *mode, const char *fmt, const char *arg);
/* Parses a whole number in [lo, hi]; false if it is not one. */
bool ar_cli_parse_long(const char *s, long lo, long hi, long *out);
/* Colour on stdout: a TTY, no --no-color, NO_COLOR unset or empty. */
bool ar_cli_color(bool no_color);

/* Appends v (borrowed) to a growable list; false on allocation failure. */
bool ar_cli_push(const char ***list, size_t *n, const char *v);
/* "dir/name", owned. */
char *ar_cli_path_in(const char *dir, const char *name);
/*
 * The refagent binary for a run without --target: explicit (--refagent) if
 * given, else ar_refproc_find(). Owned; NULL after printing, for mode, why
 * none was found and how to point agentrig at one.
 */
char *ar_cli_refagent(const char *mode, const char *explicit_path);

/*
 * From here on SIGINT/SIGTERM mean "stop and write the reports": the
 * returned flag (an atomic, so worker threads may read it) becomes 1; a
 * second signal ends the process at once. SIGPIPE is ignored.
 */
const atomic_int *ar_cli_catch_interrupts(void);

#endif
