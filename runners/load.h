/*
 * load.h - loading the scenarios a mode was given, reporting every problem.
 *
 * A CI run with two broken files should say so once, not one per push, and a
 * CI system that finds no JUnit file shows "no test results" instead of the
 * reason. So a mode loads all its paths (ar_scn_load_paths_all), prints every
 * file's error, and writes them as JUnit where the run's JUnit would have
 * gone; `agentrig validate` is the same without the run.
 */
#ifndef AR_LOAD_H
#define AR_LOAD_H

#include "scenario.h"

/*
 * Loads paths into *out. On any error prints every one on stderr
 * ("path:line:col: message"), writes junit (when not NULL) with one failed
 * testcase per broken file, frees *out and returns AR_EXIT_USAGE; AR_EXIT_PASS
 * otherwise. mode names the JUnit suite ("run" -> "agentrig run").
 */
int ar_load_scenarios(const char *mode, const char *const *paths, size_t n_paths,
                      const char *junit, ar_scn_list *out);

/*
 * Writes a JUnit file (valid against junit-10.xsd) with one testcase per file
 * in files: a failure carrying its error, or a pass. errors_only leaves the
 * good files out. path "-" is standard output; an existing path that is not
 * a regular file (a FIFO, /dev/stdout) is written in place, anything else
 * through "<path>.tmp" and a rename, so CI never reads half a file.
 */
ar_err ar_load_junit(const char *mode, const ar_scn_file *files, size_t n, bool errors_only,
                     const char *path, char *err, size_t err_len);

#endif
