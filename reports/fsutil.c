/*
 * fsutil.c - directories and report files for the report writers.
 *
 * Reports land in CI artefact directories that may not exist yet, and a
 * crashed or interrupted run must never leave a truncated XML/JSON file that
 * a CI plugin would read as the verdict: a regular file goes through
 * "<path>.tmp" + rename(2), which is atomic within one file system.
 *
 * rename(2) is only right for regular files, though. Over /dev/stdout it
 * replaced the symlink with a plain file (as root); over a FIFO it replaced
 * the pipe the reader was waiting on. So "-", symlinks, FIFOs and devices are
 * written in place, from a buffer built in memory (fsutil.h).
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
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

/* Names that mean this process's standard output whatever fd 1 is now. */
bool ar_report_path_is_stdout(const char *path)
{
    return path && (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0 ||
                    strcmp(path, "/dev/fd/1") == 0 || strcmp(path, "/proc/self/fd/1") == 0);
}

/* Where path's bytes go; AR_EINVAL (errno set) for a directory. */
static ar_err classify(const char *path, ar_fsutil_kind *kind)
{
    struct stat lst, st, out;

    *kind = AR_FSUTIL_ATOMIC;
    if (ar_report_path_is_stdout(path)) {
        *kind = AR_FSUTIL_STDOUT;
        return AR_OK;
    }
    /* Missing, or unreachable (ENOTDIR, EACCES): the atomic path creates the
     * directories or reports the error with the right reason. */
    if (lstat(path, &lst) != 0 || S_ISREG(lst.st_mode)) return AR_OK;
    if (S_ISDIR(lst.st_mode)) {
        errno = EISDIR;
        return AR_EINVAL;
    }
    *kind = AR_FSUTIL_IN_PLACE;
    /* A name for the terminal or pipe we already write to (/dev/pts/3, a
     * link to it) is standard output too, so the summary moves out of its
     * way. Not /dev/null: nobody reads that, the summary may stay. */
    if (stat(path, &st) == 0 && fstat(STDOUT_FILENO, &out) == 0 && st.st_dev == out.st_dev &&
        st.st_ino == out.st_ino &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDOUT_FILENO)))
        *kind = AR_FSUTIL_STDOUT;
    return AR_OK;
}

ar_err ar_fsutil_open(ar_fsutil_file *af, const char *path, char *err, size_t err_len)
{
    ar_err rc;

    memset(af, 0, sizeof(*af));
    if (!path || !*path) {
        set_err(err, err_len, "(report)", "empty output path");
        return AR_EINVAL;
    }
    rc = classify(path, &af->kind);
    if (rc != AR_OK) {
        set_err(err, err_len, path, strerror(errno));
        return rc;
    }
    if (af->kind == AR_FSUTIL_ATOMIC) {
        rc = ar_mkdirs_for(path);
        if (rc != AR_OK) {
            set_err(err, err_len, path, strerror(errno));
            return rc;
        }
        af->tmp = ar_asprintf("%s.tmp", path);
    }
    af->path = ar_strdup(path);
    if (!af->path || (af->kind == AR_FSUTIL_ATOMIC && !af->tmp)) {
        ar_fsutil_abort(af);
        set_err(err, err_len, path, "out of memory");
        return AR_ENOMEM;
    }
    af->f =
        af->kind == AR_FSUTIL_ATOMIC ? fopen(af->tmp, "w") : open_memstream(&af->mem, &af->mem_len);
    if (!af->f) {
        set_err(err, err_len, af->tmp ? af->tmp : path, strerror(errno));
        ar_fsutil_abort(af);
        return af->kind == AR_FSUTIL_ATOMIC ? AR_EIO : AR_ENOMEM;
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

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* This process's standard output as it was before any report claimed it. */
static int g_stdout_fd = -1;

/*
 * Writes a report to standard output, then points fd 1 at stderr: the
 * runners print their summary with printf after the reports, and a consumer
 * reading `agentrig run --report - | jq` must get the report alone. What was
 * printed before is flushed first, so it at least does not split the report.
 * Reports are written by one thread, after the sessions, so no lock.
 */
static int write_stdout(const char *p, size_t n)
{
    fflush(stdout);
    if (g_stdout_fd < 0) g_stdout_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (g_stdout_fd < 0) return -1;
    int rc = write_all(g_stdout_fd, p, n);
    int saved_errno = errno;
    dup2(STDERR_FILENO, STDOUT_FILENO);
    errno = saved_errno;
    return rc;
}

static int write_in_place(const char *path, const char *p, size_t n)
{
    /* O_TRUNC: a symlink to a regular file gets only this report; FIFOs and
     * devices ignore it. O_CREAT: a dangling symlink's target is created. */
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    int rc = write_all(fd, p, n);
    int saved_errno = errno;
    if (close(fd) != 0 && rc == 0) return -1;
    errno = saved_errno;
    return rc;
}

/* Masks secrets in the in-memory report and sends it where it belongs. */
static int commit_memory(ar_fsutil_file *af)
{
    const char *p = af->mem ? af->mem : "";
    size_t n = af->mem ? af->mem_len : 0;
    char *masked = NULL;

    if (ar_report_has_secrets()) {
        masked = ar_report_mask(p, n, &n);
        if (!masked) {
            errno = ENOMEM;
            return -1;
        }
        p = masked;
    }
    int rc = af->kind == AR_FSUTIL_STDOUT ? write_stdout(p, n) : write_in_place(af->path, p, n);
    int saved_errno = errno;
    free(masked);
    errno = saved_errno;
    return rc;
}

static ar_err commit_file(ar_fsutil_file *af, char *err, size_t err_len)
{
    ar_err rc = AR_OK;
    int bad;

    bad = ferror(af->f) || fflush(af->f) != 0;
    int saved_errno = errno;
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        saved_errno = errno;
    }
    af->f = NULL;
    if (af->kind != AR_FSUTIL_ATOMIC) {
        if (!bad && commit_memory(af) != 0) {
            bad = 1;
            saved_errno = errno;
        }
        if (bad) {
            set_err(err, err_len, af->kind == AR_FSUTIL_STDOUT ? "(stdout)" : af->path,
                    saved_errno ? strerror(saved_errno) : "write failed");
            rc = AR_EIO;
        }
        return rc;
    }
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
    return rc;
}

ar_err ar_fsutil_commit(ar_fsutil_file *af, char *err, size_t err_len)
{
    ar_err rc;

    if (!af->f) {
        set_err(err, err_len, af->path ? af->path : "(report)", "not open");
        ar_fsutil_abort(af);
        return AR_EINVAL;
    }
    rc = commit_file(af, err, err_len);
    free(af->mem);
    free(af->tmp);
    free(af->path);
    af->mem = af->tmp = af->path = NULL;
    af->mem_len = 0;
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
    free(af->mem);
    free(af->tmp);
    free(af->path);
    af->mem = af->tmp = af->path = NULL;
    af->mem_len = 0;
}
