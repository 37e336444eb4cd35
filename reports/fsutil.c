/*
 * fsutil.c - directories and atomic files for the report writers.
 *
 * Reports land in CI artefact directories that may not exist yet, and a
 * crashed or interrupted run must never leave a truncated XML/JSON file that
 * a CI plugin would read as the verdict: everything goes through
 * "<path>.tmp" + rename(2), which is atomic within one file system.
 */
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_err(char *err, size_t err_len, const char *path, const char *why)
{
    if (err && err_len) snprintf(err, err_len, "%s: %s", path, why);
}

ar_err ar_mkdirs_for(const char *path)
{
    char *dir;
    char *slash;
    ar_err rc = AR_OK;

    if (!path) {
        errno = EINVAL;
        return AR_EINVAL;
    }
    dir = ar_strdup(path);
    if (!dir) {
        errno = ENOMEM;
        return AR_ENOMEM;
    }
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return AR_OK;
    }
    *slash = '\0';
    /* Walk the prefixes; skip the leading '/' of an absolute path. */
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0777) != 0) {
            if (errno != EEXIST) {
                rc = AR_EIO;
                break;
            }
            struct stat st;
            if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                errno = ENOTDIR;
                rc = AR_EIO;
                break;
            }
        }
        *p = saved;
        if (saved == '\0') break;
    }
    {
        int saved_errno = errno;
        free(dir);
        errno = saved_errno;
    }
    if (rc == AR_OK) errno = 0;
    return rc;
}

ar_err ar_fsutil_open(ar_fsutil_file *af, const char *path, char *err, size_t err_len)
{
    ar_err rc;

    memset(af, 0, sizeof(*af));
    if (!path || !*path) {
        set_err(err, err_len, "(report)", "empty output path");
        return AR_EINVAL;
    }
    rc = ar_mkdirs_for(path);
    if (rc != AR_OK) {
        set_err(err, err_len, path, strerror(errno));
        return rc;
    }
    af->path = ar_strdup(path);
    af->tmp = ar_asprintf("%s.tmp", path);
    if (!af->path || !af->tmp) {
        ar_fsutil_abort(af);
        set_err(err, err_len, path, "out of memory");
        return AR_ENOMEM;
    }
    af->f = fopen(af->tmp, "w");
    if (!af->f) {
        set_err(err, err_len, af->tmp, strerror(errno));
        ar_fsutil_abort(af);
        return AR_EIO;
    }
    return AR_OK;
}

/* Rewrites a finished temporary file with every secret masked. */
static int mask_file(const char *tmp)
{
    FILE *f = fopen(tmp, "rb");
    if (!f) return -1;
    ar_buf b;
    ar_buf_init(&b, (size_t)1 << 31);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (ar_buf_append(&b, chunk, n) != AR_OK) break;
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        ar_buf_free(&b);
        return -1;
    }
    size_t len = 0;
    char *masked = ar_report_mask(b.ptr ? b.ptr : "", b.len, &len);
    ar_buf_free(&b);
    if (!masked) return -1;
    f = fopen(tmp, "wb");
    int rc = f && fwrite(masked, 1, len, f) == len ? 0 : -1;
    if (f && fclose(f) != 0) rc = -1;
    free(masked);
    return rc;
}

ar_err ar_fsutil_commit(ar_fsutil_file *af, char *err, size_t err_len)
{
    ar_err rc = AR_OK;
    int bad;

    if (!af->f) {
        set_err(err, err_len, af->path ? af->path : "(report)", "not open");
        ar_fsutil_abort(af);
        return AR_EINVAL;
    }
    bad = ferror(af->f) || fflush(af->f) != 0;
    int saved_errno = errno;
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        saved_errno = errno;
    }
    af->f = NULL;
    if (!bad && ar_report_has_secrets() && mask_file(af->tmp) != 0) {
        bad = 1;
        saved_errno = errno;
    }
    if (bad) {
        set_err(err, err_len, af->tmp, saved_errno ? strerror(saved_errno) : "write failed");
        rc = AR_EIO;
    } else if (rename(af->tmp, af->path) != 0) {
        set_err(err, err_len, af->path, strerror(errno));
        rc = AR_EIO;
    }
    if (rc != AR_OK) unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
    return rc;
}

void ar_fsutil_abort(ar_fsutil_file *af)
{
    if (!af) return;
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
        if (af->tmp) unlink(af->tmp);
    }
    free(af->tmp);
    free(af->path);
    af->tmp = af->path = NULL;
}
