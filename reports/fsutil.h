/*
 * fsutil.h - writing report files atomically (internal to reports/).
 *
 * A report is written to "<path>.tmp" and renamed into place only when every
 * byte reached the file, so a crash or a full disk never leaves a half report
 * that CI would parse as a (wrong) result.
 */
#ifndef AR_REPORT_FSUTIL_H
#define AR_REPORT_FSUTIL_H

#include <stdio.h>

#include "report.h"

typedef struct {
    FILE *f;    /* write here */
    char *path; /* owned: the final path */
    char *tmp;  /* owned: path + ".tmp" */
} ar_fsutil_file;

/*
 * Creates the parent directories of path and opens "<path>.tmp" for writing.
 * On failure returns AR_EIO or AR_ENOMEM, writes "path: reason" to err, and
 * leaves af closed (ar_fsutil_abort is still safe to call).
 */
ar_err ar_fsutil_open(ar_fsutil_file *af, const char *path, char *err, size_t err_len);

/*
 * Flushes and closes the temporary file and renames it to the final path.
 * Any earlier write error is caught here. On failure the temporary file is
 * removed and err says "path: reason". af is released either way.
 */
ar_err ar_fsutil_commit(ar_fsutil_file *af, char *err, size_t err_len);

/* Closes and removes the temporary file without publishing it. NULL-safe. */
void ar_fsutil_abort(ar_fsutil_file *af);

#endif
