/*
 * refproc.c - starting and stopping refagent as a child process.
 *
 * The child prints "listening ws://127.0.0.1:PORT/ws" once it is ready; we
 * read its stdout through a pipe with a deadline, so a refagent that hangs
 * or dies at start-up is a clear error instead of a hung CI job.
 */
#include "refproc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_US (10 * 1000000LL)

struct ar_refproc {
    pid_t pid;
    int out_fd;
    char url[128];
};

static bool is_exec(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *ar_refproc_find(void)
{
    const char *env = getenv("AGENTRIG_REFAGENT");
    if (env && *env) return strdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return NULL;
    *slash = '\0';
    /* Beside agentrig, the build tree (build/runners -> build/refagent), and
     * an installed tree (PREFIX/bin -> PREFIX/libexec/agentrig). */
    const char *rel[] = {"/refagent", "/../refagent/refagent", "/../libexec/agentrig/refagent"};
    for (size_t i = 0; i < AR_ARRAY_LEN(rel); i++) {
        char *cand = ar_asprintf("%s%s", self, rel[i]);
        if (cand && is_exec(cand)) return cand;
        free(cand);
    }
    return NULL;
}

ar_err ar_refproc_start(const char *binary, const char *const *extra_args, size_t n_extra,
                        const char *log_path, const char *ready_prefix, ar_refproc **out, char *err,
                        size_t err_len)
{
    size_t plen = strlen(ready_prefix);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(err, err_len, "pipe: %s", strerror(errno));
        return AR_EIO;
    }
    const char **argv = calloc(n_extra + 4, sizeof *argv);
    if (!argv) {
        close(pfd[0]);
        close(pfd[1]);
        return AR_ENOMEM;
    }
    size_t a = 0;
    argv[a++] = binary;
    argv[a++] = "--port";
    argv[a++] = "0";
    for (size_t i = 0; i < n_extra; i++)
        argv[a++] = extra_args[i];
    argv[a] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_len, "fork: %s", strerror(errno));
        free(argv);
        close(pfd[0]);
        close(pfd[1]);
        return AR_EIO;
    }
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        int efd = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (efd >= 0) dup2(efd, STDERR_FILENO);
        /* The child must not die with the terminal's SIGINT before we stop it:
         * agentrig owns its lifetime and writes reports first. */
        setpgid(0, 0);
#ifdef __linux__
        /* If agentrig is killed outright (SIGKILL, a CI timeout, the OOM
         * killer) it cannot stop us; without this refagent would run on,
         * holding its port, forever. The signal fires when the thread that
         * forked exits: refagents are forked by the main thread, or by a
         * worker that stops them before it returns. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127); /* agentrig died before prctl */
#endif
        execv(binary, (char *const *)argv);
        dprintf(STDOUT_FILENO, "exec-failed %s\n", strerror(errno));
        _exit(127);
    }
    free(argv);
    close(pfd[1]);

    ar_refproc *p = calloc(1, sizeof *p);
    if (!p) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(pfd[0]);
        return AR_ENOMEM;
    }
    p->pid = pid;
    p->out_fd = pfd[0];

    char line[512];
    size_t used = 0;
    int64_t deadline = ar_now_us() + START_TIMEOUT_US;
    for (;;) {
        int64_t left_ms = (deadline - ar_now_us()) / 1000;
        if (left_ms <= 0) {
            snprintf(err, err_len, "refagent (%s) did not print its '%s' line within 10s", binary,
                     ready_prefix);
            goto fail;
        }
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        int r = poll(&pf, 1, (int)left_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        ssize_t n = read(p->out_fd, line + used, sizeof line - 1 - used);
        if (n <= 0) {
            int st = 0;
            waitpid(pid, &st, 0);
            p->pid = 0;
            snprintf(err, err_len, "refagent (%s) exited before listening (%s %d); see %s", binary,
                     WIFEXITED(st) ? "exit status" : "signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                     log_path ? log_path : "its stderr");
            goto fail;
        }
        used += (size_t)n;
        line[used] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            if (strncmp(line, ready_prefix, plen) == 0) {
                size_t ulen = strcspn(line + plen, " \r");
                if (ulen >= sizeof p->url) ulen = sizeof p->url - 1;
                memcpy(p->url, line + plen, ulen);
                p->url[ulen] = '\0';
                *out = p;
                return AR_OK;
            }
            if (strncmp(line, "exec-failed ", 12) == 0) {
                snprintf(err, err_len, "could not run refagent (%s): %s", binary, line + 12);
                goto fail;
            }
            size_t rest = used - (size_t)(nl + 1 - line);
            memmove(line, nl + 1, rest + 1);
            used = rest;
        }
        if (used == sizeof line - 1) used = 0; /* an absurd line: drop it */
    }
fail:
    ar_refproc_stop(p);
    return AR_ECONNECT;
}

const char *ar_refproc_url(const ar_refproc *p)
{
    return p->url;
}

void ar_refproc_stop(ar_refproc *p)
{
    if (!p) return;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        int64_t deadline = ar_now_us() + 3 * 1000000LL;
        for (;;) {
            pid_t r = waitpid(p->pid, NULL, WNOHANG);
            if (r == p->pid || (r < 0 && errno != EINTR)) break;
            if (ar_now_us() > deadline) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
                break;
            }
            usleep(10000);
        }
    }
    if (p->out_fd >= 0) close(p->out_fd);
    free(p);
}
