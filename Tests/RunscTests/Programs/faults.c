// Signals that do not wait for a syscall: timers and kill(2) reach a program spinning in a
// loop, and the CPU's faults (SIGSEGV, SIGFPE, SIGILL, SIGTRAP) reach handlers with their
// siginfo. Built with `gcc -static -pthread`, run natively and under `runsc run`; the two
// outputs must match. Every loop is bounded, so a missed signal fails instead of hanging.
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t fired;
static void on_alarm(int signal) { fired = signal; }

/// Spins without a syscall until `fired` is set or about `seconds` pass (by cycle count).
static int spin(double seconds) {
    volatile uint64_t i = 0;
    uint64_t limit = (uint64_t)(seconds * 4e8);
    while (!fired && i < limit) i++;
    return fired != 0;
}

static sigjmp_buf recovery;
static volatile int seen_signal, seen_code;
static volatile uintptr_t seen_address;
static void on_fault(int signal, siginfo_t *info, void *context) {
    (void)context;
    seen_signal = signal;
    seen_code = info->si_code;
    seen_address = (uintptr_t)info->si_addr;
    siglongjmp(recovery, 1);
}

static void report(const char *what) {
    printf("%s: signal %d code %d\n", what, seen_signal, seen_code);
    seen_signal = seen_code = 0;
}

static void *spinner(void *argument) {
    (void)argument;
    return (void *)(long)spin(5);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);

    // ITIMER_REAL fires into a loop that makes no syscall.
    signal(SIGALRM, on_alarm);
    struct itimerval once = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &once, NULL);
    printf("itimer: busy loop interrupted %d\n", spin(5));

    // kill(2) ends a child that spins.
    pid_t child = fork();
    if (child == 0) {
        fired = 0;
        spin(5);
        _exit(0);
    }
    usleep(20000);
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    printf("kill: spinning child killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);

    // A signal for a spinning thread runs its handler there.
    fired = 0;
    signal(SIGUSR1, on_alarm);
    pthread_t thread;
    pthread_create(&thread, NULL, spinner, NULL);
    usleep(20000);
    pthread_kill(thread, SIGUSR1);
    void *stopped;
    pthread_join(thread, &stopped);
    printf("pthread_kill: spinning thread interrupted %ld\n", (long)stopped);

    // Faults with handlers: the kind of fault and, for memory, the address.
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, NULL);
    sigaction(SIGFPE, &action, NULL);
    sigaction(SIGILL, &action, NULL);
    sigaction(SIGTRAP, &action, NULL);
    sigaction(SIGBUS, &action, NULL);

    if (sigsetjmp(recovery, 1) == 0) *(volatile int *)16 = 1;
    printf("unmapped write: address %lu, ", (unsigned long)seen_address);
    report("SIGSEGV");

    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(recovery, 1) == 0) page[8] = 1;
    printf("read-only write: at the page %d, ", seen_address == (uintptr_t)page + 8);
    report("SIGSEGV");

    volatile int zero = 0, hundred = 100;
    if (sigsetjmp(recovery, 1) == 0) printf("%d\n", hundred / zero);
    report("divide by zero: SIGFPE");

    if (sigsetjmp(recovery, 1) == 0) __asm__ volatile("ud2");
    report("ud2: SIGILL");

    if (sigsetjmp(recovery, 1) == 0) __asm__ volatile("int3");
    report("int3: SIGTRAP");

    // Without a handler, or with the signal blocked, a fault kills.
    child = fork();
    if (child == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile int *)16 = 1;
        _exit(0);
    }
    waitpid(child, &status, 0);
    printf("unhandled fault: killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    child = fork();
    if (child == 0) {
        sigset_t segv;
        sigemptyset(&segv);
        sigaddset(&segv, SIGSEGV);
        sigprocmask(SIG_BLOCK, &segv, NULL);
        *(volatile int *)16 = 1;
        _exit(0);
    }
    waitpid(child, &status, 0);
    printf("blocked fault: killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
