// flock(2) between processes (shared, exclusive, LOCK_NB, conversion, a blocked waiter, the
// release on close, a lock shared through dup) and sigtimedwait(2) (a pending signal, a
// timeout, a signal sent while it waits, a handled signal outside the set interrupting it).
// fcntl record locks between processes: F_GETLK's report, conflicts and ranges, splitting an
// unlock, F_SETLKW waiting until the holder closes any fd of the file (POSIX), OFD locks.
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
    alarm(20);  // a lock never released ends the test here, not in a hang
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

    // Record locks: the parent holds a write lock on bytes 0-9.
    char records[] = "/tmp/records-XXXXXX";
    int held = mkstemp(records);
    write(held, "0123456789abcdefghij", 20);
    struct flock whole = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    int locked = fcntl(held, F_SETLK, &whole);
    int report[2];
    pipe(report);
    pid_t checker = fork();
    if (checker == 0) {
        int mine_fd = open(records, O_RDWR);
        struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        fcntl(mine_fd, F_GETLK, &probe);
        int reported = probe.l_type == F_WRLCK && probe.l_start == 0 && probe.l_len == 10 && probe.l_pid == getppid();
        struct flock try_lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        int conflict = fcntl(mine_fd, F_SETLK, &try_lock) == -1 ? errno : 0;
        struct flock beyond = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
        int disjoint = fcntl(mine_fd, F_SETLK, &beyond);
        char go;
        read(report[0], &go, 1);  // the parent unlocked bytes 0-4
        struct flock front = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        fcntl(mine_fd, F_GETLK, &front);
        struct flock middle = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        fcntl(mine_fd, F_GETLK, &middle);
        long start = milliseconds();
        struct flock wait_for = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 1};
        int waited = fcntl(mine_fd, F_SETLKW, &wait_for);
        printf("record locks: reported %d, conflict errno %d, disjoint %d, split front free %d middle held %d, waited %d for at least 100 ms %d\n",
               reported, conflict, disjoint, front.l_type == F_UNLCK, middle.l_type == F_WRLCK, waited, milliseconds() - start >= 100);
        _exit(0);
    }
    usleep(100000);
    struct flock unlock_front = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
    fcntl(held, F_SETLK, &unlock_front);
    write(report[1], "g", 1);
    usleep(200000);
    // POSIX: closing any fd of the file drops the process's locks on it, here by dup2 over it.
    int another = open(records, O_RDONLY);
    int elsewhere = open("/dev/null", O_RDONLY);
    dup2(elsewhere, another);
    waitpid(checker, &status, 0);
    // An OFD lock belongs to the open file description: another description conflicts.
    struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int ofd_locked = fcntl(held, F_OFD_SETLK, &ofd);
    int second = open(records, O_RDWR);
    struct flock ofd_try = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 3, .l_len = 1};
    int ofd_conflict = fcntl(second, F_OFD_SETLK, &ofd_try) == -1 ? errno : 0;
    struct flock bad_pid = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 3, .l_len = 1, .l_pid = 5};
    int ofd_bad = fcntl(second, F_OFD_SETLK, &bad_pid) == -1 ? errno : 0;
    printf("record locks: set %d, ofd %d, other description errno %d, pid given errno %d\n", locked, ofd_locked, ofd_conflict, ofd_bad);
    close(second);
    close(held);
    unlink(records);

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
