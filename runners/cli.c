/*
 * cli.c - the option-table machinery shared by the modes (cli.h).
 */
#include "cli.h"

#include "refproc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ar_cli_build(const ar_cli_opt *opts, size_t n, struct option *longs, char *shorts,
                  size_t shorts_len)
{
    size_t k = 0;
    shorts[k++] = ':'; /* report a missing argument as ':' */
    for (size_t i = 0; i < n; i++) {
        longs[i] = (struct option){opts[i].name, opts[i].has_arg, NULL, opts[i].short_name};
        if (opts[i].short_name < 256 && k + 3 < shorts_len) {
            shorts[k++] = (char)opts[i].short_name;
            if (opts[i].has_arg) shorts[k++] = ':';
        }
    }
    shorts[k] = '\0';
    longs[n] = (struct option){0, 0, 0, 0};
}

static ar_cli_describe_fn describe_fn;
static void *describe_user;

void ar_cli_set_describe(ar_cli_describe_fn fn, void *user)
{
    describe_fn = fn;
    describe_user = user;
}

void ar_cli_print_options(FILE *f, const ar_cli_opt *opts, size_t n)
{
    if (describe_fn) describe_fn(opts, n, describe_user);
    fputs("options:\n", f);
    for (size_t i = 0; i < n; i++) {
        const ar_cli_opt *o = &opts[i];
        char left[64];
        if (o->short_name < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(f, "  %-28s", left);
        for (const char *p = o->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n') fprintf(f, "  %-28s", "");
        }
        fputc('\n', f);
    }
}

int ar_cli_usage_error(const char *mode, const char *fmt, const char *arg)
{
    fprintf(stderr, "agentrig %s: ", mode);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(agentrig %s --help lists the options)\n", mode);
    return AR_EXIT_USAGE;
}

bool ar_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool ar_cli_color(bool no_color)
{
    const char *nc = getenv("NO_COLOR");
    return !no_color && isatty(STDOUT_FILENO) && !(nc && *nc);
}

bool ar_cli_push(const char ***list, size_t *n, const char *v)
{
    const char **p = realloc(*list, (*n + 1) * sizeof *p);
    if (!p) return false;
    p[(*n)++] = v;
    *list = p;
    return true;
}

char *ar_cli_path_in(const char *dir, const char *name)
{
    return ar_asprintf("%s/%s", dir, name);
}

char *ar_cli_refagent(const char *mode, const char *explicit_path)
{
    char *bin = explicit_path ? ar_strdup(explicit_path) : ar_refproc_find();
    if (!bin)
        fprintf(stderr,
                "agentrig %s: the embedded refagent was not found beside agentrig (set "
                "--refagent or AGENTRIG_REFAGENT, or give --target)\n",
                mode);
    return bin;
}

/* Lock-free atomics are async-signal-safe and, unlike a volatile
 * sig_atomic_t, well-defined when other threads read them. */
static atomic_int interrupted;

static void on_interrupt(int sig)
{
    int saved = errno;
    atomic_store(&interrupted, 1);
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
    errno = saved;
}

const atomic_int *ar_cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &interrupted;
}
