/*
 * report.h - turning a run result into files and a terminal summary.
 *
 * Writers never abort the run: each returns an error that the runner reports
 * (exit 3), and the others are still written. Paths' parent directories are
 * created as needed.
 */
#ifndef AR_REPORT_H
#define AR_REPORT_H

#include <stdio.h>

#include "result.h"

#define AR_REPORT_JSON_VERSION 1

/* JUnit XML valid against junit-10.xsd (Jenkins xUnit). */
ar_err ar_report_junit(const ar_run_result *r, const char *path, char *err, size_t err_len);
/* Versioned JSON report (docs/reports.md). */
ar_err ar_report_json(const ar_run_result *r, const char *path, char *err, size_t err_len);
/* One JSONL transcript per session under dir; sets each session's transcript_path. */
ar_err ar_report_transcripts(ar_run_result *r, const char *dir, char *err, size_t err_len);
/* Human summary. color: use ANSI colour (caller decides: TTY and no NO_COLOR). */
void ar_report_summary(const ar_run_result *r, FILE *out, bool color);

/*
 * Secrets (reports/secrets.c): values registered here (copied; 4 bytes or
 * longer) are replaced by "***" in every report file as it is committed, and
 * in text passed through ar_report_mask (the summary, error lines).
 */
void ar_report_add_secret(const char *value);
void ar_report_clear_secrets(void);
bool ar_report_has_secrets(void);
/* Returns an owned, NUL-terminated copy of s[0..len) with secrets masked. */
char *ar_report_mask(const char *s, size_t len, size_t *out_len);

/*
 * Report paths (reports/fsutil.c): "-" is standard output, as are
 * /dev/stdout, /dev/fd/1 and /proc/self/fd/1. A path that exists and is not a
 * regular file (a symlink, FIFO, device) is written in place; a regular file
 * atomically through "<path>.tmp". Once a report has gone to standard output,
 * fd 1 is pointed at stderr so nothing printed later can mix with it.
 * Runners that print while the sessions run should ask this up front.
 */
bool ar_report_path_is_stdout(const char *path);

/* mkdir -p for the parent directory of path. */
ar_err ar_mkdirs_for(const char *path);

/*
 * Sessions that never ran (reports/outcome.c). A run cut short by an
 * interrupt still lists every session it picked; one that drove no turn and
 * failed nothing is reported as skipped ("not run: interrupted") by every
 * writer, never as a pass. The run result has no outcome of its own for this,
 * so all writers ask here and agree.
 */
bool ar_report_not_run(const ar_run_result *r, const ar_session_result *s);
/* "pass", "fail", "error", or "skipped" for a session that never ran. */
const char *ar_report_outcome_name(const ar_run_result *r, const ar_session_result *s);
/* The run's totals with not-run sessions taken out of `passed`. */
ar_run_totals ar_report_totals(const ar_run_result *r, size_t *not_run);

/*
 * Each run owns its output (reports/outcome.c): before a run writes
 * anything, the outputs an earlier run of agentrig left in the results
 * directory are removed, so CI never uploads a stale transcript beside new
 * ones. Only names agentrig itself writes are touched: ar_report_clean_file
 * removes one file (and its "<path>.tmp"); ar_report_clean_transcripts
 * removes "NNN-<slug>.jsonl" (and ".tmp") files directly in dir and keeps
 * everything else. A missing file or directory is not an error; a path that
 * is not a regular file (a FIFO, a symlink) is left alone.
 */
void ar_report_clean_file(const char *path);
void ar_report_clean_transcripts(const char *dir);

#endif
