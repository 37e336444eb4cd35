/*
 * validate.c - `agentrig validate PATH...`: load every scenario (and its
 * profile) without running anything, and report every problem in every file
 * at once - in a pre-commit hook or a CI job that should fail in a second,
 * not after the first of several fixes. With --junit, one testcase per file,
 * so CI shows what is wrong even when nothing could run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "threshold.h"
#include "cli.h"
#include "opts.h"
#include "load.h"
#include "runners.h"

static const ar_opts_help validate_help[] = {
    {"junit", "also write JUnit XML: one testcase per file, failed with its error ('-': stdout)"},
    {NULL, NULL},
};

static const ar_opts_mode validate_mode = {
    .name = "validate",
    .usage = "usage: agentrig validate [options] PATH...\n"
             "\n"
             "Loads every scenario in PATH (YAML files, or directories searched for *.yaml\n"
             "and *.yml) and its protocol profile, as run, chaos and bench would, without\n"
             "connecting to anything, and reports every error of every file on stderr.\n"
             "\n",
    .exit_codes = "\nexit codes: 0 every file is valid, 2 a file has an error (or a usage error).\n",
    .takes = AR_OPTS_JUNIT,
    .help = validate_help,
};

static int own_opt(int c, const char *arg, void *user)
{
    (void)c, (void)arg, (void)user;
    return AR_EXIT_USAGE; /* unreachable: validate has no options of its own */
}

/* Threshold expressions are kept as text by the loader and parsed by the
 * mode that evaluates them; a typo in one is still an error of the file. */
static char *threshold_error(const ar_scenario *s)
{
    for (size_t i = 0; i < s->n_thresholds; i++) {
        const ar_scn_threshold *t = &s->thresholds[i];
        for (size_t e = 0; e < t->n_exprs; e++) {
            ar_threshold thr;
            char msg[256];
            if (ar_thr_parse(t->exprs[e], &thr, msg, sizeof msg) != AR_OK)
                return ar_asprintf("%s:%d:%d: %s", t->loc.file, t->loc.line, t->loc.col, msg);
        }
    }
    return NULL;
}

/* Adds threshold errors to the files that loaded; returns how many files
 * have an error now. */
static size_t check_loaded(const ar_scn_list *all, ar_scn_file *files, size_t n)
{
    size_t bad = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        /* The list holds the loaded files' scenarios in file order. */
        for (size_t j = 0; j < files[i].n_scenarios && k < all->n; j++, k++)
            if (!files[i].error) files[i].error = threshold_error(all->items[k]);
        if (files[i].error) bad++;
    }
    return bad;
}

int ar_validate_main(int argc, char **argv)
{
    ar_opts o = {0};
    int first = 0;
    int rc = ar_opts_parse(&validate_mode, argc, argv, &o, own_opt, NULL, &first);
    if (!rc && first >= argc)
        rc = ar_opts_usage(&validate_mode, "%s", "no scenario files or directories given");
    if (rc) {
        ar_opts_free(&o);
        return rc < 0 ? AR_EXIT_PASS : rc;
    }
    ar_scn_list all = {0};
    ar_scn_file *files = NULL;
    size_t n = 0;
    ar_err lrc = ar_scn_load_paths_all((const char *const *)argv + first, (size_t)(argc - first),
                                       &all, &files, &n);
    int exit_code = AR_EXIT_PASS;
    if (lrc == AR_ENOMEM && !n) {
        fprintf(stderr, "agentrig validate: out of memory\n");
        exit_code = AR_EXIT_INFRA;
        goto out;
    }
    size_t bad = check_loaded(&all, files, n);
    for (size_t i = 0; i < n; i++)
        if (files[i].error) fprintf(stderr, "%s\n", files[i].error);
    char err[512];
    if (o.junit && ar_load_junit("validate", files, n, false, o.junit, err, sizeof err) != AR_OK) {
        fprintf(stderr, "agentrig validate: junit: %s\n", err);
        exit_code = AR_EXIT_INFRA;
    }
    /* stdout stays clean when the JUnit goes there. */
    FILE *say = o.junit && !strcmp(o.junit, "-") ? stderr : stdout;
    if (bad)
        fprintf(say, "%zu of %zu files have errors\n", bad, n);
    else
        fprintf(say, "%zu files, %zu scenarios: all valid\n", n, all.n);
    if (bad) exit_code = AR_EXIT_USAGE;
out:
    ar_scn_files_free(files, n);
    ar_scn_list_free(&all);
    ar_opts_free(&o);
    return exit_code;
}
