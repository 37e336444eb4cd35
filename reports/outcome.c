/*
 * outcome.c - sessions that never ran, and removing an earlier run's
 * outputs (report.h).
 */
#include "report.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool ar_report_not_run(const ar_run_result *r, const ar_session_result *s)
{
    /* Only an interrupt leaves a picked session undriven; without one, a
     * session with no turn run is an error and says so. */
    if (!r || !s || !r->interrupted || s->outcome != AR_OUT_PASS) return false;
    for (size_t t = 0; t < s->n_turns; t++)
        if (s->turns[t].ran) return false;
    return true;
}

const char *ar_report_outcome_name(const ar_run_result *r, const ar_session_result *s)
{
    return ar_report_not_run(r, s) ? "skipped" : ar_outcome_name(s->outcome);
}

ar_run_totals ar_report_totals(const ar_run_result *r, size_t *not_run)
{
    ar_run_totals t = ar_run_result_totals(r);
    size_t n = 0;
    for (size_t i = 0; r && i < r->n_sessions; i++)
        n += ar_report_not_run(r, &r->sessions[i]);
    t.passed -= n <= t.passed ? n : t.passed;
    if (not_run) *not_run = n;
    return t;
}

/* Removes path if it is a regular file; a symlink, FIFO or device someone
 * put there on purpose (a report written in place) stays. */
static void unlink_regular(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) unlink(path);
}

void ar_report_clean_file(const char *path)
{
    if (!path || !*path || strcmp(path, "-") == 0) return;
    unlink_regular(path);
    char *tmp = ar_asprintf("%s.tmp", path);
    if (tmp) unlink_regular(tmp);
    free(tmp);
}

/* "NNN-<slug>.jsonl" or its ".tmp": the names transcript.c writes. */
static bool is_transcript_name(const char *name)
{
    size_t digits = 0;
    while (isdigit((unsigned char)name[digits]))
        digits++;
    if (digits < 3 || name[digits] != '-') return false;
    for (const char *c = name + digits + 1; *c && *c != '.'; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-') return false;
    const char *dot = strchr(name + digits + 1, '.');
    return dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".jsonl.tmp") == 0);
}

void ar_report_clean_transcripts(const char *dir)
{
    if (!dir || !*dir || strcmp(dir, "-") == 0) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_transcript_name(e->d_name)) continue;
        char *p = ar_asprintf("%s/%s", dir, e->d_name);
        if (p) unlink_regular(p);
        free(p);
    }
    closedir(d);
}
