// Signals interrupt sleeps in the Sentry: a killed sleeper ends at once, a handler ends
// nanosleep with EINTR and the time left, SA_RESTART restarts a pipe read, and without it
// the read fails with EINTR; pause() waits for a signal. Built with `gcc -static`, run
// natively and under `runsc run`; the two outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile int caught;
static void on_signal(int signal) { caught = signal; }

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    double start = now();
    pid_t child = fork();
    if (child == 0) { sleep(1000); _exit(0); }
    usleep(50000);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    printf("sleeping child killed: signaled %d by %d, quickly %d\n", WIFSIGNALED(status), WTERMSIG(status), now() - start < 5);

    child = fork();
    if (child == 0) { sleep(1000); _exit(0); }
    usleep(50000);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
    printf("sleeping child terminated: by %d\n", WTERMSIG(status));

    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigaction(SIGUSR1, &action, NULL);
    pid_t parent = getpid();
    child = fork();
    if (child == 0) { usleep(50000); kill(parent, SIGUSR1); _exit(0); }
    struct timespec request = {100, 0}, left = {0, 0};
    int slept = nanosleep(&request, &left);
    printf("nanosleep: %d errno %d, caught %d, time left plausible %d\n", slept, errno, caught, left.tv_sec > 90 && left.tv_sec < 100);
    waitpid(child, NULL, 0);

    int fds[2];
    pipe(fds);
    child = fork();
    if (child == 0) { usleep(50000); kill(parent, SIGUSR1); usleep(50000); write(fds[1], "late", 4); _exit(0); }
    caught = 0;
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, NULL);
    char buffer[8] = {0};
    ssize_t n = read(fds[0], buffer, sizeof buffer - 1);
    printf("read with SA_RESTART: %zd (%s), caught %d\n", n, buffer, caught);
    waitpid(child, NULL, 0);

    child = fork();
    if (child == 0) { usleep(50000); kill(parent, SIGUSR1); _exit(0); }
    caught = 0;
    action.sa_flags = 0;
    sigaction(SIGUSR1, &action, NULL);
    n = read(fds[0], buffer, sizeof buffer - 1);
    printf("read without SA_RESTART: %zd errno %d, caught %d\n", n, errno, caught);
    waitpid(child, NULL, 0);

    child = fork();
    if (child == 0) { pause(); _exit(0); }
    usleep(50000);
    kill(child, SIGKILL);
    pid_t reaped = wait(&status);
    printf("wait4 for a killed child: %d, signaled %d\n", reaped == child, WIFSIGNALED(status));

    // poll and select without a timeout wake when another process writes or closes the pipe
    int ends[2];
    pipe(ends);
    child = fork();
    if (child == 0) { close(ends[0]); usleep(100000); write(ends[1], "x", 1); usleep(100000); _exit(0); }
    close(ends[1]);
    struct pollfd watched = {ends[0], POLLIN, 0};
    int polled = poll(&watched, 1, -1);
    printf("poll forever: %d, in %d", polled, (watched.revents & POLLIN) != 0);
    char byte;
    read(ends[0], &byte, 1);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(ends[0], &readable);
    int selected = select(ends[0] + 1, &readable, NULL, NULL, NULL);
    printf(", select forever after the writer closed: %d, end of file %zd\n", selected, read(ends[0], &byte, 1));
    waitpid(child, NULL, 0);

    // O_NONBLOCK: what would wait fails with EAGAIN; F_SETFL turns it off again
    int quick[2];
    pipe2(quick, O_NONBLOCK);
    int empty = read(quick[0], &byte, 1) == -1 ? errno : 0;
    char block[4096] = {0};
    long total = 0;
    ssize_t wrote;
    while ((wrote = write(quick[1], block, sizeof block)) > 0) total += wrote;
    int full = errno;
    fcntl(quick[0], F_SETFL, 0);
    printf("non-blocking pipe: empty read errno %d, filled %d then errno %d, blocking read again %zd\n", empty, total > 0, full,
           read(quick[0], block, sizeof block));

    // timers: a periodic ITIMER_REAL wakes pause(), alarm reports what was left, and an
    // unhandled SIGALRM ends the process
    struct sigaction alarm_action = {0};
    alarm_action.sa_handler = on_signal;
    sigaction(SIGALRM, &alarm_action, NULL);
    struct itimerval every = {{0, 30000}, {0, 30000}}, off = {{0, 0}, {0, 0}}, before;
    setitimer(ITIMER_REAL, &every, NULL);
    int ticks = 0;
    for (int i = 0; i < 10 && ticks < 3; i++) {
        caught = 0;
        pause();
        if (caught == SIGALRM) ticks++;
    }
    setitimer(ITIMER_REAL, &off, &before);
    alarm(5);
    unsigned alarm_left = alarm(0);
    printf("timers: %d ticks, was periodic %d, alarm left %u", ticks, before.it_interval.tv_usec == 30000, alarm_left);
    child = fork();
    if (child == 0) { signal(SIGALRM, SIG_DFL); setitimer(ITIMER_REAL, &every, NULL); pause(); _exit(0); }
    waitpid(child, &status, 0);
    printf(", unhandled alarm kills with %d\n", WTERMSIG(status));

    // ppoll with a mask: SIGUSR1 stays blocked except while ppoll waits, where it interrupts
    sigset_t blocked, during, after;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    sigemptyset(&during);
    int idle[2];
    pipe(idle);
    child = fork();
    if (child == 0) { usleep(50000); kill(parent, SIGUSR1); _exit(0); }
    caught = 0;
    struct pollfd never = {idle[0], POLLIN, 0};
    struct timespec patience = {5, 0};
    start = now();
    int waited = ppoll(&never, 1, &patience, &during);
    int waited_errno = errno;
    sigprocmask(SIG_SETMASK, NULL, &after);
    printf("ppoll with a mask: %d errno %d, caught %d, quickly %d, blocked again %d\n", waited, waited_errno, caught,
           now() - start < 4, sigismember(&after, SIGUSR1));
    waitpid(child, NULL, 0);
    return 0;
}
