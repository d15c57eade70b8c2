#define _GNU_SOURCE 1
// The child side of cshim_spawn: only async-signal-safe calls between fork and exec.
#include "CShim.h"
#include <errno.h>
#include <pthread.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/wait.h>

#define CSHIM_MAX_FDS 64

/// Writes `err` to the report pipe and exits. Never returns.
static void child_fail(int report_fd, int err) {
    ssize_t unused = write(report_fd, &err, sizeof(err));
    (void)unused;
    _exit(127);
}

// The pid 1 the waiting process of a new pid namespace passes signals on to.
static volatile pid_t forward_to;

static void forward_signal(int sig) {
    int saved = errno;
    kill(forward_to, sig);
    errno = saved;
}

static void child(const char *path, char *const argv[], char *const envp[], const int *fd_map, int count, int flags, int unshare_flags, int report_fd, pid_t parent) {
    // Signals: default dispositions, nothing blocked (the parent's mask is inherited otherwise).
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if ((flags & CSHIM_SPAWN_NEW_SESSION) && setsid() < 0) child_fail(report_fd, errno);
    if (unshare_flags != 0 && unshare(unshare_flags) != 0) child_fail(report_fd, errno);
    if (unshare_flags & CLONE_NEWPID) {
        // A new pid namespace applies to children only, and a process whose children go to
        // another pid namespace cannot create threads. So fork once more: the grandchild is
        // pid 1 of the namespace and execs; this process only waits and passes its status on.
        pid_t init = fork();
        if (init < 0) child_fail(report_fd, errno);
        if (init > 0) {
            if (flags & CSHIM_SPAWN_DIE_WITH_PARENT) prctl(PR_SET_PDEATHSIG, SIGKILL);
            // Signals sent to this process (the pid its spawner knows) go on to the program,
            // as an init shim does; only SIGKILL and SIGSTOP act here.
            forward_to = init;
            struct sigaction forward = {0};
            forward.sa_handler = forward_signal;
            forward.sa_flags = SA_RESTART;
            sigfillset(&forward.sa_mask);
            for (int sig = 1; sig < _NSIG; sig++) {
                if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD) sigaction(sig, &forward, NULL);
            }
            syscall(SYS_close_range, 0, ~0U, 0);
            int status = 0;
            while (waitpid(init, &status, 0) < 0) {
                if (errno != EINTR) _exit(127);
            }
            if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
            signal(WTERMSIG(status), SIG_DFL);
            kill(getpid(), WTERMSIG(status));
            _exit(128 + WTERMSIG(status));
        }
        parent = getppid();  // the waiting process, outside the namespace: shows as 0
    }
    if (flags & CSHIM_SPAWN_DIE_WITH_PARENT) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report_fd, errno);
        if (getppid() != parent) _exit(127);  // the parent died before the prctl took effect
    }

    // Move every source fd, and the report pipe, above every target so dup2 cannot clobber one.
    int highest = report_fd;
    for (int i = 0; i < count * 2; i++) if (fd_map[i] > highest) highest = fd_map[i];
    int moved_report = fcntl(report_fd, F_DUPFD_CLOEXEC, highest + 1);
    if (moved_report < 0) child_fail(report_fd, errno);
    report_fd = moved_report;
    int moved[CSHIM_MAX_FDS];
    for (int i = 0; i < count; i++) {
        moved[i] = fcntl(fd_map[2 * i], F_DUPFD_CLOEXEC, highest + 1);
        if (moved[i] < 0) child_fail(report_fd, errno);
    }
    int max_target = 2;
    for (int i = 0; i < count; i++) {
        int target = fd_map[2 * i + 1];
        if (dup2(moved[i], target) < 0) child_fail(report_fd, errno);  // dup2 clears FD_CLOEXEC
        if (target > max_target) max_target = target;
    }
    // Everything that is not a target closes on exec, whatever flag it was created with.
    for (int fd = 3; fd <= max_target; fd++) {
        int is_target = 0;
        for (int i = 0; i < count; i++) if (fd_map[2 * i + 1] == fd) is_target = 1;
        if (!is_target) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (syscall(SYS_close_range, max_target + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        // Before Linux 5.11: mark each possible fd up to the limit.
        struct rlimit limit;
        int last = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 1 << 20 ? (int)limit.rlim_cur : 1 << 20;
        for (int fd = max_target + 1; fd < last; fd++) {
            if (fd != report_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }

    execve(path, argv, envp);
    child_fail(report_fd, errno);
}

int cshim_spawn(const char *path, char *const argv[], char *const envp[], const int *fd_map, int fd_map_count, int flags, int unshare_flags, pid_t *pid_out) {
    if (fd_map_count < 0 || fd_map_count > CSHIM_MAX_FDS) return EINVAL;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    // Block every signal across fork, so no handler of the parent runs in the child before
    // the child has reset the dispositions.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        child(path, argv, envp, fd_map, fd_map_count, flags, unshare_flags, report[1], parent);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        close(report[0]);
        close(report[1]);
        return fork_errno;
    }
    close(report[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(report[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == sizeof(child_errno)) {
        // The child failed before exec and has exited: reap it so no zombie is left.
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        return child_errno != 0 ? child_errno : EIO;
    }
    *pid_out = pid;
    return 0;
}
