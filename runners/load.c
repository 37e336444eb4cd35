/*
 * load.c - load every scenario, report every problem (load.h).
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "report.h"
#include "text.h"

/* The first line of a message, for the failure's message attribute. */
static void put_first_line(FILE *f, const char *s)
{
    const char *nl = strchr(s, '\n');
    char *line = nl ? ar_strndup(s, (size_t)(nl - s)) : NULL;
    ar_text_xml_put(f, line ? line : s, 4096, true);
    free(line);
}

static void write_xml(FILE *f, const char *mode, const ar_scn_file *files, size_t n,
                      bool errors_only)
{
    size_t tests = 0, failures = 0;
    for (size_t i = 0; i < n; i++) {
        if (files[i].error) failures++;
        if (files[i].error || !errors_only) tests++;
    }
    char ts[64];
    ar_wall_iso8601(ar_wall_us(), ts, sizeof ts);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"agentrig %s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
               "time=\"0\">\n", mode, tests, failures);
    fprintf(f, "  <testsuite name=\"agentrig %s: configuration\" tests=\"%zu\" failures=\"%zu\" "
               "errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"%s\">\n", mode, tests, failures,
            ts);
    for (size_t i = 0; i < n; i++) {
        if (!files[i].error && errors_only) continue;
        /* The file is the testcase: its path is unique, so CI systems that
         * keep one testcase per name lose none. */
        fputs("    <testcase classname=\"configuration\" name=\"", f);
        ar_text_xml_put(f, files[i].path, 4096, true);
        if (!files[i].error) {
            fputs("\" time=\"0\"/>\n", f);
            continue;
        }
        fputs("\" time=\"0\">\n      <failure type=\"configuration\" message=\"", f);
        put_first_line(f, files[i].error);
        fputs("\">", f);
        ar_text_xml_put(f, files[i].error, 65536, false);
        fputs("</failure>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
}

/* Written like every other report (reports/fsutil.h): "-" is stdout, a FIFO
 * or device in place, a regular file atomically, secrets masked. */
ar_err ar_load_junit(const char *mode, const ar_scn_file *files, size_t n, bool errors_only,
                     const char *path, char *err, size_t err_len)
{
    ar_fsutil_file af;
    ar_err rc = ar_fsutil_open(&af, path, err, err_len);
    if (rc) return rc;
    write_xml(af.f, mode, files, n, errors_only);
    return ar_fsutil_commit(&af, err, err_len);
}

int ar_load_scenarios(const char *mode, const char *const *paths, size_t n_paths,
                      const char *junit, ar_scn_list *out)
{
    ar_scn_file *files = NULL;
    size_t n = 0;
    ar_err rc = ar_scn_load_paths_all(paths, n_paths, out, &files, &n);
    if (rc == AR_OK) {
        ar_scn_files_free(files, n);
        return AR_EXIT_PASS;
    }
    if (rc == AR_ENOMEM && !n) {
        fprintf(stderr, "agentrig %s: out of memory\n", mode);
        ar_scn_list_free(out);
        return AR_EXIT_INFRA;
    }
    for (size_t i = 0; i < n; i++)
        if (files[i].error) fprintf(stderr, "%s\n", files[i].error);
    char err[512];
    if (junit && ar_load_junit(mode, files, n, true, junit, err, sizeof err) != AR_OK)
        fprintf(stderr, "agentrig %s: junit: %s\n", mode, err);
    ar_scn_files_free(files, n);
    ar_scn_list_free(out);
    return AR_EXIT_USAGE;
}
