/*
 * opts.c - the common option group (opts.h).
 */
#include "opts.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "template.h"

enum {
    OPT_C_JUNIT = 900,
    OPT_C_TRANSCRIPTS,
    OPT_C_REFAGENT,
    OPT_C_REFAGENT_ARG,
    OPT_C_SEED,
    OPT_C_NO_COLOR,
    OPT_C_REPORT,
    OPT_C_TAG,
    OPT_C_GREP,
    OPT_C_VAR,
    OPT_C_ENV_FILE,
};

/* A common option and the group (AR_OPTS_*) a mode takes it with; 0: always. */
typedef struct {
    ar_cli_opt opt;
    unsigned group;
} common_opt_def;

/* The common options, in --help order after the mode's own. The help here is
 * the default; a mode may word one for itself (ar_opts_mode.help). */
static const common_opt_def common[] = {
    {{"target", required_argument, 't', "URL",
      "drive this service instead of the scenarios' targets;\n"
      "without it, scenarios with no target use the embedded refagent"},
     AR_OPTS_SERVICE},
    {{"jobs", required_argument, 'j', "N", "sessions run concurrently (default: CPU cores)"},
     AR_OPTS_JOBS},
    {{"seed", required_argument, OPT_C_SEED, "S",
      "seed for probabilistic faults; the same seed gives the same decisions (default 1)"},
     AR_OPTS_SEED},
    {{"tag", required_argument, OPT_C_TAG, "TAG",
      "only scenarios with this tag (repeatable: any of them)"}, AR_OPTS_FILTER},
    {{"grep", required_argument, OPT_C_GREP, "REGEX",
      "only scenarios whose name matches this regex (PCRE2, unanchored)"}, AR_OPTS_FILTER},
    {{"var", required_argument, OPT_C_VAR, "NAME=VALUE",
      "a ${NAME} for templates, winning over the environment and --env-file\n"
      "(repeatable; captures still win over it)"}, AR_OPTS_VARS},
    {{"env-file", required_argument, OPT_C_ENV_FILE, "FILE",
      "NAME=VALUE lines (# comments) setting variables as --var does (repeatable)"},
     AR_OPTS_VARS},
    {{"results", required_argument, 'o', "DIR", "where reports go (default: results)"},
     AR_OPTS_OUTPUT},
    {{"junit", required_argument, OPT_C_JUNIT, "FILE",
      "JUnit XML (default: DIR/junit.xml); configuration errors are written there too"},
     AR_OPTS_JUNIT},
    {{"report", required_argument, OPT_C_REPORT, "FILE", "JSON report (default: DIR/report.json)"},
     AR_OPTS_REPORT},
    {{"transcripts", required_argument, OPT_C_TRANSCRIPTS, "DIR",
      "one JSONL transcript per session (default: DIR/transcripts)"}, AR_OPTS_OUTPUT},
    {{"refagent", required_argument, OPT_C_REFAGENT, "PATH",
      "refagent binary for the embedded service (default: beside agentrig)"}, AR_OPTS_SERVICE},
    {{"refagent-arg", required_argument, OPT_C_REFAGENT_ARG, "ARG",
      "extra argument for the embedded refagent (repeatable), e.g. --refagent-arg=--think-ms=0"},
     AR_OPTS_SERVICE},
    {{"quiet", no_argument, 'q', NULL, "no progress on stderr and no summary on stdout"},
     AR_OPTS_TERM},
    {{"no-color", no_argument, OPT_C_NO_COLOR, NULL,
      "never colour the output (NO_COLOR works too)"}, AR_OPTS_TERM},
    {{"help", no_argument, 'h', NULL, "this text"}, 0},
};

/* The mode's own options, then the common ones it takes, with its wording. */
static size_t table(const ar_opts_mode *m, ar_cli_opt *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_own && n < AR_CLI_MAX_OPTS; i++)
        out[n++] = m->own[i];
    for (size_t i = 0; i < AR_ARRAY_LEN(common) && n < AR_CLI_MAX_OPTS; i++) {
        if (common[i].group && !(m->takes & common[i].group)) continue;
        out[n] = common[i].opt;
        for (const ar_opts_help *h = m->help; h && h->name; h++)
            if (!strcmp(h->name, common[i].opt.name)) out[n].help = h->help;
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
    case OPT_C_TAG:
        return ar_cli_push(&o->tags, &o->n_tags, arg) ? 0 : AR_EXIT_INFRA;
    case OPT_C_GREP:
        o->grep = arg;
        return 0;
    case OPT_C_VAR:
        if (!strchr(arg, '='))
            return ar_opts_usage(m, "--var takes NAME=VALUE (got '%s')", arg);
        return ar_cli_push(&o->var_args, &o->n_var_args, arg) ? 0 : AR_EXIT_INFRA;
    case OPT_C_ENV_FILE:
        return ar_cli_push(&o->env_files, &o->n_env_files, arg) ? 0 : AR_EXIT_INFRA;
    default:
        return -2; /* not a common option */
    }
}

/* --grep, compiled once here so a bad regex is a usage error before any
 * file is read. */
static int compile_grep(const ar_opts_mode *m, ar_opts *o)
{
    if (!o->grep) return 0;
    int ec;
    PCRE2_SIZE off;
    o->grep_re = pcre2_compile((PCRE2_SPTR)o->grep, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off,
                               NULL);
    if (o->grep_re) return 0;
    PCRE2_UCHAR why[160];
    pcre2_get_error_message(ec, why, sizeof why);
    char *msg = ar_asprintf("--grep: invalid regex '%%s': %s at offset %zu", (const char *)why,
                            (size_t)off);
    int rc = ar_opts_usage(m, msg ? msg : "--grep: invalid regex '%s'", o->grep);
    free(msg);
    return rc;
}

/* Sets NAME=VALUE (text holds both; line > 0 for an env file) into vars. */
static int set_var(const ar_opts_mode *m, ar_vars *vars, const char *text, const char *file,
                   int line)
{
    const char *eq = strchr(text, '=');
    char *name = ar_strndup(text, (size_t)(eq - text));
    if (!name) return AR_EXIT_INFRA;
    ar_err rc = ar_vars_set(vars, name, eq + 1);
    int exit_code = rc ? AR_EXIT_INFRA : 0;
    if (rc == AR_EINVAL && file) {
        fprintf(stderr, "%s:%d: '%s' is not a variable name (letters, digits and _, not "
                        "starting with a digit)\n", file, line, name);
        exit_code = AR_EXIT_USAGE;
    } else if (rc == AR_EINVAL) {
        exit_code = ar_opts_usage(m, "--var: '%s' is not a variable name (letters, digits and _, "
                                     "not starting with a digit)", name);
    }
    free(name);
    return exit_code;
}

/* One line of an env file, trimmed: "" (blank or comment), or NAME=VALUE with
 * an optional "export " in front and the value's matching quotes removed. */
static int env_line(const ar_opts_mode *m, ar_vars *vars, char *s, const char *file, int line)
{
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
                   s[len - 1] == '\t'))
        s[--len] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s || *s == '#') return 0;
    if (!strncmp(s, "export ", 7)) s += 7;
    char *eq = strchr(s, '=');
    if (!eq || eq == s) {
        fprintf(stderr, "%s:%d: expected NAME=VALUE (got '%s')\n", file, line, s);
        return AR_EXIT_USAGE;
    }
    char *v = eq + 1;
    size_t vl = strlen(v);
    if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
        memmove(v, v + 1, vl - 2); /* "a b" and 'a b' are a b, as in a shell */
        v[vl - 2] = '\0';
    }
    return set_var(m, vars, s, file, line);
}

static int load_env_file(const ar_opts_mode *m, ar_vars *vars, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        char msg[256];
        snprintf(msg, sizeof msg, "--env-file: %%s: %s", strerror(errno));
        return ar_opts_usage(m, msg, path);
    }
    char *buf = NULL;
    size_t cap = 0;
    int line = 0, rc = 0;
    while (!rc && getline(&buf, &cap, f) != -1)
        rc = env_line(m, vars, buf, path, ++line);
    free(buf);
    fclose(f);
    return rc;
}

/* The sessions' variables: every --env-file in order, then every --var, so
 * the command line wins over a file and a later value over an earlier one. */
static int build_vars(const ar_opts_mode *m, ar_opts *o)
{
    if (!o->n_var_args && !o->n_env_files) return 0;
    if (!(o->vars = ar_vars_new())) return AR_EXIT_INFRA;
    int rc = 0;
    for (size_t i = 0; !rc && i < o->n_env_files; i++)
        rc = load_env_file(m, o->vars, o->env_files[i]);
    for (size_t i = 0; !rc && i < o->n_var_args; i++)
        rc = set_var(m, o->vars, o->var_args[i], NULL, 0);
    return rc;
}

bool ar_opts_pick(const ar_opts *o, const ar_scenario *s)
{
    bool tagged = o->n_tags == 0;
    for (size_t i = 0; !tagged && i < o->n_tags; i++)
        for (size_t j = 0; !tagged && j < s->n_tags; j++)
            tagged = strcmp(o->tags[i], s->tags[j]) == 0;
    if (!tagged || !o->grep_re) return tagged;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(o->grep_re, NULL);
    if (!md) return false;
    int rc = pcre2_match(o->grep_re, (PCRE2_SPTR)s->name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

const char *ar_opts_filter_name(const ar_opts *o)
{
    if (o->n_tags && o->grep) return "--tag and --grep";
    return o->grep ? "--grep" : "--tag";
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
    int rc = compile_grep(m, o);
    return rc ? rc : build_vars(m, o);
}

void ar_opts_free(ar_opts *o)
{
    if (!o) return;
    free(o->refagent_args);
    o->refagent_args = NULL;
    o->n_refagent_args = 0;
    free(o->tags);
    o->tags = NULL;
    o->n_tags = 0;
    pcre2_code_free(o->grep_re);
    o->grep_re = NULL;
    ar_vars_free(o->vars);
    o->vars = NULL;
    free(o->var_args);
    o->var_args = NULL;
    o->n_var_args = 0;
    free(o->env_files);
    o->env_files = NULL;
    o->n_env_files = 0;
}
