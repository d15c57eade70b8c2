// Process groups and sessions: setsid, setpgid with Linux's checks, getpgid/getpgrp/getsid,
// kill of a group and of 0, wait4 for a group and for the caller's group. Everything printed
// is relative to the processes involved, so the native run and the sandbox's compare.
// Built with `gcc -static`, run natively and under `runsc run`; the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;
static void on_usr1(int signal) { (void)signal; usr1++; }

/// A child that waits for a signal in the caller's group (or is moved by `setpgid` first).
static pid_t sleeper(void) {
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 500; i++) usleep(10000);
        _exit(3);
    }
    return pid;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {  // the program again, after an execve: waits to be killed
        for (int i = 0; i < 500; i++) usleep(10000);
        return 4;
    }
    // The session leader: a child, so that it is not a group leader already.
    pid_t leader = fork();
    if (leader != 0) {
        int status;
        waitpid(leader, &status, 0);
        printf("leader: exited %d code %d\n", WIFEXITED(status), WEXITSTATUS(status));
        return 0;
    }
    pid_t me = getpid();
    pid_t session = setsid();
    int again = setsid() == -1 ? errno : 0;
    printf("setsid: new session is mine %d, group mine %d, sid mine %d, again errno %d\n", session == me, getpgrp() == me,
           getsid(0) == me, again);

    // A child starts in its parent's group; it can be moved to a group of its own.
    pid_t child = sleeper();
    int inherited = getpgid(child) == me;
    int moved = setpgid(child, child);
    int own = getpgid(child) == child && getsid(child) == me;
    // Linux's checks: no such group in the session (EPERM), not a child (ESRCH), a session
    // leader (EPERM), a negative group (EINVAL), getpgid of nobody (ESRCH).
    int no_group = setpgid(child, 999999) == -1 ? errno : 0;
    int not_child = setpgid(getppid(), 0) == -1 ? errno : 0;
    int leader_move = setpgid(0, child) == -1 ? errno : 0;
    int negative = setpgid(child, -5) == -1 ? errno : 0;
    int nobody = getpgid(999999) == -1 ? errno : 0;
    int negative_pid = setpgid(-5, 3) == -1 ? errno : 0;
    printf("setpgid: inherited %d, moved %d own %d; errnos no group %d, not a child %d, leader %d, negative %d, nobody %d, negative pid %d\n",
           inherited, moved, own, no_group, not_child, leader_move, negative, nobody, negative_pid);

    // A child that has called execve can no longer be moved (EACCES).
    pid_t execed = fork();
    if (execed == 0) {
        execl("/proc/self/exe", argv[0], "sleep", (char *)NULL);
        _exit(9);
    }
    usleep(200000);
    int after_exec = setpgid(execed, execed) == -1 ? errno : 0;
    kill(execed, SIGKILL);
    int exec_status = 0;
    waitpid(execed, &exec_status, 0);
    printf("after execve: setpgid errno %d, killed %d\n", after_exec, WIFSIGNALED(exec_status) && WTERMSIG(exec_status) == SIGKILL);

    // kill of the child's group ends it; wait4 for that group reaps it.
    int killed = kill(-child, SIGTERM);
    int status = 0;
    pid_t reaped = waitpid(-child, &status, 0);
    printf("group kill: %d, reaped the child %d, by SIGTERM %d\n", killed, reaped == child,
           WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

    // kill(0) reaches every process of the caller's group, the caller included.
    signal(SIGUSR1, on_usr1);
    pid_t sibling = fork();
    if (sibling == 0) {
        for (int i = 0; i < 500 && !usr1; i++) usleep(10000);
        _exit(usr1 ? 7 : 8);
    }
    usleep(50000);
    int sent = kill(0, SIGUSR1);
    for (int i = 0; i < 100 && !usr1; i++) usleep(10000);
    pid_t from_group = waitpid(0, &status, 0);
    printf("kill 0: %d, caller got it %d, sibling reaped from the group %d with code %d\n", sent, usr1 > 0, from_group == sibling,
           WEXITSTATUS(status));
    int none = kill(-999999, SIGUSR1) == -1 ? errno : 0;
    int no_children = waitpid(-me, &status, WNOHANG) == -1 ? errno : 0;
    printf("empty group: kill errno %d, wait errno %d\n", none, no_children);
    _exit(5);
}
