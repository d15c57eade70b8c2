// flock(2) between processes (shared, exclusive, LOCK_NB, conversion, a blocked waiter, the
// release on close, a lock shared through dup) and sigtimedwait(2) (a pending signal, a
// timeout, a signal sent while it waits, a handled signal outside the set interrupting it).
// Built with `gcc -static`, run natively and under `runsc run`; the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long milliseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static volatile sig_atomic_t usr2;
static void on_usr2(int signal) { (void)signal; usr2++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/locks-XXXXXX";
    int mine = mkstemp(path);
    int other = open(path, O_RDWR);
    int exclusive = flock(mine, LOCK_EX);
    int conflict = flock(other, LOCK_EX | LOCK_NB) == -1 ? errno : 0;
    int shared_conflict = flock(other, LOCK_SH | LOCK_NB) == -1 ? errno : 0;
    int relocked = flock(mine, LOCK_EX | LOCK_NB);  // the holder may take it again
    flock(mine, LOCK_SH);  // converted: now both may share
    int both_shared = flock(other, LOCK_SH | LOCK_NB);
    int exclusive_now = flock(mine, LOCK_EX | LOCK_NB) == -1 ? errno : 0;
    flock(other, LOCK_UN);
    int alone = flock(mine, LOCK_EX | LOCK_NB);
    int bad = flock(mine, 77) == -1 ? errno : 0;
    printf("flock: %d, conflict errno %d %d, again %d, shared by both %d, exclusive while shared errno %d, alone %d, bad op errno %d\n",
           exclusive, conflict, shared_conflict, relocked, both_shared, exclusive_now, alone, bad);

    // A child waits for the lock until the parent closes its last fd of it; dup shares it.
    int copy = dup(mine);
    close(mine);  // the lock stays: `copy` shares the description
    pid_t child = fork();
    if (child == 0) {
        close(copy);  // the inherited fd shares the parent's description, and its lock
        int theirs = open(path, O_RDWR);
        int busy = flock(theirs, LOCK_EX | LOCK_NB) == -1 ? errno : 0;
        long start = milliseconds();
        int waited = flock(theirs, LOCK_EX);
        long took = milliseconds() - start;
        printf("child: busy errno %d, waited %d for at least 100 ms %d\n", busy, waited, took >= 100);
        _exit(0);
    }
    usleep(200000);
    close(copy);  // the last fd: the lock goes, the child gets it
    int status;
    waitpid(child, &status, 0);
    close(other);
    unlink(path);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int taken = sigwaitinfo(&set, &info);
    struct timespec short_wait = {0, 50000000};
    int timed_out = sigtimedwait(&set, &info, &short_wait) == -1 ? errno : 0;
    pid_t sender = fork();
    if (sender == 0) {
        usleep(50000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    struct timespec long_wait = {5, 0};
    memset(&info, 0, sizeof info);
    int arrived = sigtimedwait(&set, &info, &long_wait);
    int from_sender = info.si_pid == sender && info.si_code == SI_USER;
    waitpid(sender, &status, 0);
    signal(SIGUSR2, on_usr2);
    pid_t interrupter = fork();
    if (interrupter == 0) {
        usleep(50000);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    int interrupted = sigtimedwait(&set, &info, &long_wait) == -1 ? errno : 0;
    waitpid(interrupter, &status, 0);
    printf("sigtimedwait: took %d, timed out errno %d, arrived %d from the sender %d, interrupted errno %d handler ran %d\n", taken,
           timed_out, arrived, from_sender, interrupted, usr2);
    return 0;
}
