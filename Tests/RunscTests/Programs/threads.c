// Threads in the Sentry: pthreads on futexes, TLS, signals to one thread, fork, exit and
// execve from a multi-threaded process. Built with `gcc -static -pthread`, run natively and under
// `runsc run`; the two outputs must match.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static int handoffs;
static __thread long own;

static void *adder(void *argument) {
    own = (long)argument;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    // Its own tid, and its own thread-local value after the others ran.
    return (void *)(long)(gettid() != getpid() && own == (long)argument);
}

static void *player(void *argument) {
    int me = (int)(long)argument;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&lock);
        while (turn != me) pthread_cond_wait(&changed, &lock);
        turn = 1 - me;
        handoffs++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *nothing(void *argument) { return argument; }

static volatile pid_t handled_by;
static void on_usr1(int signal) {
    (void)signal;
    handled_by = gettid();
}

static void *waiter(void *argument) {
    (void)argument;
    sigset_t none;
    sigemptyset(&none);
    while (handled_by == 0) sigsuspend(&none);
    return (void *)(long)(handled_by == gettid());
}

static void *blocker(void *argument) {
    (void)argument;
    for (;;) pause();
    return NULL;
}

static void *ender(void *argument) {
    struct timespec pause_for = {0, 20 * 1000 * 1000};
    nanosleep(&pause_for, NULL);
    exit((int)(long)argument);
}

static void *survivor(void *argument) {
    (void)argument;
    struct timespec pause_for = {0, 50 * 1000 * 1000};
    nanosleep(&pause_for, NULL);
    printf("main thread gone: the other thread still runs\n");
    return NULL;
}

static char *self_path;
static void *execer(void *argument) {
    (void)argument;
    execl(self_path, self_path, "exec-child", (char *)NULL);
    exit(5);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {
        printf("exec from a thread: the new image runs alone, tid == pid %d\n", gettid() == getpid());
        return 4;
    }
    self_path = argv[0];

    // Four threads count under one mutex.
    pthread_t threads[4];
    for (long i = 0; i < 4; i++) pthread_create(&threads[i], NULL, adder, (void *)(i + 1));
    long distinct = 0;
    for (int i = 0; i < 4; i++) {
        void *result;
        pthread_join(threads[i], &result);
        distinct += (long)result;
    }
    printf("mutex: 4 threads joined, counter %ld, own tid and TLS in %ld\n", counter, distinct);

    // Two threads hand a turn back and forth through a condition variable.
    pthread_create(&threads[0], NULL, player, (void *)0L);
    pthread_create(&threads[1], NULL, player, (void *)1L);
    pthread_join(threads[0], NULL);
    pthread_join(threads[1], NULL);
    printf("condvar: %d handoffs\n", handoffs);

    // A signal for one thread runs its handler on that thread.
    signal(SIGUSR1, on_usr1);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);  // the main thread never takes it
    pthread_create(&threads[0], NULL, waiter, NULL);
    struct timespec pause_for = {0, 10 * 1000 * 1000};
    nanosleep(&pause_for, NULL);
    pthread_kill(threads[0], SIGUSR1);
    void *on_target;
    pthread_join(threads[0], &on_target);
    printf("pthread_kill: handled on the target thread %ld\n", (long)on_target);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);

    // Many short-lived threads.
    int joined = 0;
    for (int i = 0; i < 50; i++) {
        pthread_t thread;
        void *result = NULL;
        if (pthread_create(&thread, NULL, nothing, (void *)(long)i) == 0 && pthread_join(thread, &result) == 0) {
            joined += (long)result == i;
        }
    }
    printf("churn: %d threads created and joined\n", joined);

    // fork while another thread runs: the child has one thread.
    pthread_create(&threads[0], NULL, blocker, NULL);
    pid_t child = fork();
    if (child == 0) _exit(3);
    int status;
    waitpid(child, &status, 0);
    printf("fork with threads: child exited %d\n", WEXITSTATUS(status));

    // exit(3) in one thread ends the process while another blocks.
    child = fork();
    if (child == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, blocker, NULL);
        pthread_create(&b, NULL, ender, (void *)9L);
        for (;;) pause();
    }
    waitpid(child, &status, 0);
    printf("exit in a thread: status %d\n", WEXITSTATUS(status));

    // A fatal signal for one thread kills them all.
    child = fork();
    if (child == 0) {
        pthread_t a;
        pthread_create(&a, NULL, blocker, NULL);
        nanosleep(&pause_for, NULL);
        pthread_kill(a, SIGTERM);
        for (;;) pause();
    }
    waitpid(child, &status, 0);
    printf("SIGTERM to a thread: killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);

    // The main thread leaves first; the process lives until its last thread ends.
    child = fork();
    if (child == 0) {
        pthread_t a;
        pthread_create(&a, NULL, survivor, NULL);
        pthread_exit(NULL);
    }
    waitpid(child, &status, 0);
    printf("pthread_exit in main: status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    // clone3 with the first version of its struct (64 bytes), as a fork.
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    child = (pid_t)syscall(SYS_clone3, &args, 64);
    if (child == 0) _exit(6);
    waitpid(child, &status, 0);
    printf("clone3 (64-byte args): child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    // execve in a second thread ends the others, and the caller takes the process's pid.
    child = fork();
    if (child == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, blocker, NULL);
        pthread_create(&b, NULL, execer, NULL);
        for (;;) pause();
    }
    waitpid(child, &status, 0);
    printf("exec from a thread: status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
