/*
 * fsutil.h - where a report's bytes go (internal to reports/, and to the
 * runners' own reports: bench_report.c, and load.c's JUnit of load errors).
 *
 * A regular file (or a path that does not exist yet) is written to
 * "<path>.tmp" and renamed into place only when every byte reached the file,
 * so a crash or a full disk never leaves a half report that CI would parse as
 * a (wrong) result. "-" means standard output. Any other existing path that
 * is not a regular file - a symlink such as /dev/stdout, a FIFO, a device -
 * is written in place: renaming over it would replace the link or the device
 * node with a plain file.
 */
#ifndef AR_REPORT_FSUTIL_H
#define AR_REPORT_FSUTIL_H

#include <stdio.h>

#include "report.h"

typedef enum {
    AR_FSUTIL_ATOMIC = 0, /* "<path>.tmp", then rename(2) */
    AR_FSUTIL_IN_PLACE,   /* open(path) and write: FIFO, device, symlink */
    AR_FSUTIL_STDOUT      /* "-" (or a path naming this process's stdout) */
} ar_fsutil_kind;

typedef struct {
    FILE *f;    /* write here */
    char *path; /* owned: the final path */
    char *tmp;  /* owned: path + ".tmp"; NULL unless AR_FSUTIL_ATOMIC */
    ar_fsutil_kind kind;
    /* In place and stdout: the report is built in memory (open_memstream)
     * and written out whole at commit, after secrets are masked, so a report
     * that fails half-way writes nothing to the pipe or device. */
    char *mem;
    size_t mem_len;
} ar_fsutil_file;

/*
 * Opens a report for writing (see above for where it goes). On failure
 * returns AR_EIO, AR_EINVAL or AR_ENOMEM, writes "path: reason" to err, and
 * leaves af closed (ar_fsutil_abort is still safe to call).
 */
ar_err ar_fsutil_open(ar_fsutil_file *af, const char *path, char *err, size_t err_len);

/*
 * Finishes the report: masks secrets, then renames the temporary file into
 * place, or writes the bytes to the FIFO/device/link, or to standard output.
 * Any earlier write error is caught here. On failure a temporary file is
 * removed and err says "path: reason". af is released either way.
 *
 * After a report went to standard output, this process's stdout is pointed
 * at stderr (dup2), so whatever the mode prints later - the summary, the
 * "reports:" line - cannot interleave with the report a consumer is parsing.
 * A later report to "-" still goes to the original standard output.
 */
ar_err ar_fsutil_commit(ar_fsutil_file *af, char *err, size_t err_len);

/* Closes and removes the temporary file without publishing it. NULL-safe. */
void ar_fsutil_abort(ar_fsutil_file *af);

#endif
