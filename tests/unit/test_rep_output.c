/*
 * test_rep_output.c - where report bytes go (reports/fsutil.c): "-" is
 * standard output and moves everything printed later to stderr; a FIFO, a
 * symlink or a device is written in place and is still what it was after;
 * a regular file is still written atomically; secrets are masked on every
 * path. Standard output is exercised in a forked child, because the writer
 * re-points the process's fd 1 and the test runner needs its own.
 */
#include "test_rep_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>

/*
 * Reads a FIFO to EOF on a thread, as a CI step piping a report would. The
 * test holds the FIFO open read-write meanwhile (keep), so no open() blocks
 * and EOF comes when the test closes it: a writer that renamed a file over
 * the FIFO instead of writing to it makes the test fail, not hang.
 */
typedef struct {
    char *data;
    int keep, fd;
    pthread_t th;
} fifo_reader;

static void *read_fifo(void *arg);

static void fifo_start(fifo_reader *fr, const char *path)
{
    fr->data = NULL;
    fr->keep = open(path, O_RDWR);
    assert_true(fr->keep >= 0);
    /* Opened here, not on the thread: the report may be written and its
     * writer gone before the thread runs, and a FIFO drops unread bytes once
     * nobody holds it. */
    fr->fd = open(path, O_RDONLY);
    assert_true(fr->fd >= 0);
    assert_int_equal(pthread_create(&fr->th, NULL, read_fifo, fr), 0);
}

static void fifo_finish(fifo_reader *fr)
{
    close(fr->keep);
    assert_int_equal(pthread_join(fr->th, NULL), 0);
    assert_non_null(fr->data);
}

static void *read_fifo(void *arg)
{
    fifo_reader *fr = arg;
    ar_buf b;
    char chunk[4096];
    ssize_t n;

    ar_buf_init(&b, (size_t)1 << 26);
    while ((n = read(fr->fd, chunk, sizeof chunk)) > 0)
        ar_buf_append(&b, chunk, (size_t)n);
    close(fr->fd);
    ar_buf_append(&b, "", 1);
    fr->data = ar_buf_take(&b);
    return NULL;
}

/* Reads fd to EOF; owned, NUL-terminated. */
static char *slurp_fd(int fd)
{
    ar_buf b;
    char chunk[4096];
    ssize_t n;

    ar_buf_init(&b, (size_t)1 << 26);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        ar_buf_append(&b, chunk, (size_t)n);
    ar_buf_append(&b, "", 1);
    return ar_buf_take(&b);
}

static void test_stdout_names(void **state)
{
    (void)state;
    assert_true(ar_report_path_is_stdout("-"));
    assert_true(ar_report_path_is_stdout("/dev/stdout"));
    assert_true(ar_report_path_is_stdout("/dev/fd/1"));
    assert_true(ar_report_path_is_stdout("/proc/self/fd/1"));
    assert_false(ar_report_path_is_stdout("./-"));
    assert_false(ar_report_path_is_stdout("results/report.json"));
    assert_false(ar_report_path_is_stdout(NULL));
}

/*
 * In a child with stdout and stderr on pipes: the JSON report to "-", then a
 * printf like the runners' summary. stdout must hold the report alone; the
 * summary must arrive on stderr. Then a second report to "-" (JUnit) must
 * still reach the original stdout.
 */
static void test_dash_is_stdout_and_summary_moves(void **state)
{
    fx_run fx;
    int out[2], errp[2];

    (void)state;
    fx_build(&fx);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(errp), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256] = "";
        dup2(out[1], STDOUT_FILENO);
        dup2(errp[1], STDERR_FILENO);
        close(out[0]);
        close(errp[0]);
        close(out[1]);
        close(errp[1]);
        printf("before\n"); /* printed before the report: flushed ahead of it */
        int bad = ar_report_json(&fx.run, "-", err, sizeof err) != AR_OK;
        printf("SUMMARY LINE\n");
        fflush(stdout);
        bad |= ar_report_junit(&fx.run, "-", err, sizeof err) != AR_OK;
        printf("reports: -\n");
        fflush(stdout);
        _exit(bad ? 1 : 0);
    }
    close(out[1]);
    close(errp[1]);
    char *o = slurp_fd(out[0]);
    char *e = slurp_fd(errp[0]);
    close(out[0]);
    close(errp[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    assert_true(strncmp(o, "before\n{\n", 9) == 0);
    assert_non_null(strstr(o, "\"version\":\t1"));
    assert_non_null(strstr(o, "}\n<?xml version=\"1.0\""));
    assert_non_null(strstr(o, "</testsuites>\n"));
    assert_null(strstr(o, "SUMMARY LINE"));
    assert_null(strstr(o, "reports: -"));
    assert_non_null(strstr(e, "SUMMARY LINE\nreports: -\n"));
    /* Nothing was created under the name "-". */
    assert_int_equal(access("-", F_OK), -1);
    free(o);
    free(e);
    fx_free(&fx);
}

static void test_fifo_written_in_place(void **state)
{
    fx_run fx;
    char path[256], err[256] = "", tmp[300];
    struct stat st;

    (void)state;
    fx_build(&fx);
    snprintf(path, sizeof path, "%s/junit.fifo", fx.tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    fifo_reader fr;
    fifo_start(&fr, path);
    assert_int_equal(ar_report_junit(&fx.run, path, err, sizeof err), AR_OK);
    fifo_finish(&fr);
    assert_string_equal(err, "");

    /* Still a FIFO, not a regular file renamed over it; no temporary file. */
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_true(strncmp(fr.data, "<?xml version=\"1.0\"", 19) == 0);
    assert_non_null(strstr(fr.data, "</testsuites>\n"));
    free(fr.data);

    /* A symlink to a FIFO (what /dev/stdout is when stdout is a pipe). */
    char link[300];
    snprintf(link, sizeof link, "%s/stdout-link", fx.tmpdir);
    assert_int_equal(symlink(path, link), 0);
    fifo_start(&fr, path);
    assert_int_equal(ar_report_json(&fx.run, link, err, sizeof err), AR_OK);
    fifo_finish(&fr);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_true(strncmp(fr.data, "{\n", 2) == 0);
    free(fr.data);
    fx_free(&fx);
}

static void test_symlink_to_file_keeps_link(void **state)
{
    fx_run fx;
    char target[256], link[300], err[256] = "";
    struct stat st;

    (void)state;
    fx_build(&fx);
    snprintf(target, sizeof target, "%s/shared-report.json", fx.tmpdir);
    snprintf(link, sizeof link, "%s/report.json", fx.tmpdir);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fputs("old contents that are longer than nothing, to be truncated away\n", f);
    fclose(f);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(ar_report_json(&fx.run, link, err, sizeof err), AR_OK);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char *text = fx_slurp(target);
    assert_true(strncmp(text, "{\n", 2) == 0);
    assert_null(strstr(text, "old contents"));
    free(text);

    /* A regular file is still replaced atomically (a new inode). */
    struct stat before, after;
    assert_int_equal(stat(target, &before), 0);
    assert_int_equal(ar_report_json(&fx.run, target, err, sizeof err), AR_OK);
    assert_int_equal(stat(target, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    fx_free(&fx);
}

static void test_directory_and_transcripts_dash(void **state)
{
    fx_run fx;
    char err[512] = "", want[600];

    (void)state;
    fx_build(&fx);
    assert_int_equal(ar_report_junit(&fx.run, fx.tmpdir, err, sizeof err), AR_EINVAL);
    snprintf(want, sizeof want, "%s: %s", fx.tmpdir, strerror(EISDIR));
    assert_string_equal(err, want);
    assert_int_equal(ar_report_transcripts(&fx.run, "-", err, sizeof err), AR_EINVAL);
    assert_non_null(strstr(err, "'-' (standard output) is not supported"));
    assert_int_equal(access("-", F_OK), -1);
    fx_free(&fx);
}

/* Secrets are masked on the in-memory path too, not only in temp files. */
static void test_secret_masked_in_place(void **state)
{
    fx_run fx;
    char path[256], err[256] = "";

    (void)state;
    fx_build(&fx);
    ar_report_add_secret("th-0");
    snprintf(path, sizeof path, "%s/r.fifo", fx.tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    fifo_reader fr;
    fifo_start(&fr, path);
    assert_int_equal(ar_report_json(&fx.run, path, err, sizeof err), AR_OK);
    fifo_finish(&fr);
    ar_report_clear_secrets();
    assert_null(strstr(fr.data, "\"th-0\""));
    assert_non_null(strstr(fr.data, "\"***\""));
    free(fr.data);
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdout_names),
        cmocka_unit_test(test_dash_is_stdout_and_summary_moves),
        cmocka_unit_test(test_fifo_written_in_place),
        cmocka_unit_test(test_symlink_to_file_keeps_link),
        cmocka_unit_test(test_directory_and_transcripts_dash),
        cmocka_unit_test(test_secret_masked_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
