// CPU time: the CPU-time clocks (the caller's, a child's, another thread's), getrusage,
// times, and wait4's rusage. Prints only relations that hold natively too: time spent
// computing shows up, time spent asleep does not.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }
static int64_t tv_ns(struct timeval t) { return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_usec * 1000; }

static int64_t clock_ns(clockid_t clock) {
    struct timespec t;
    if (clock_gettime(clock, &t) != 0) return -errno;
    return ns(t);
}

// Computes until the process has used `amount` nanoseconds of CPU time (bounded by 10 s of
// wall time), so other load on the machine does not shorten it.
static volatile uint64_t sink;
static void burn(int64_t amount) {
    int64_t start = clock_ns(CLOCK_PROCESS_CPUTIME_ID), wall = clock_ns(CLOCK_MONOTONIC);
    while (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - start < amount && clock_ns(CLOCK_MONOTONIC) - wall < 10000000000LL) {
        for (int i = 0; i < 1000000; i++) sink += i;
    }
}

static int64_t cpu(struct rusage usage) { return tv_ns(usage.ru_utime) + tv_ns(usage.ru_stime); }

static volatile int spinning = 1;
static void *spinner(void *arg) {
    (void)arg;
    while (spinning) sink++;
    return NULL;
}

static volatile int profs, virts, cpu_timer_fired;
static volatile int64_t cpu_at_prof, cpu_at_timer;
static void on_prof(int signo) { (void)signo; if (profs++ == 0) cpu_at_prof = clock_ns(CLOCK_PROCESS_CPUTIME_ID); }
static void on_virt(int signo) { (void)signo; virts++; }
static void on_cpu_timer(int signo) { (void)signo; cpu_timer_fired++; cpu_at_timer = clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

// Computes until `flag` is set or 2 s of CPU time pass.
static void burn_until(volatile int *flag) {
    int64_t start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (!*flag && clock_ns(CLOCK_PROCESS_CPUTIME_ID) - start < 2000000000LL) {
        for (int i = 0; i < 1000000; i++) sink += i;
    }
}

static void *burner(void *arg) {
    (void)arg;
    while (spinning) sink++;
    return NULL;
}

// Timers on CPU time: ITIMER_PROF and ITIMER_VIRTUAL, a POSIX timer on the process's CPU
// clock, and clock_nanosleep on it while another thread computes.
static void cpu_timers(void) {
    signal(SIGPROF, on_prof);
    signal(SIGVTALRM, on_virt);
    signal(SIGRTMIN + 1, on_cpu_timer);
    int64_t start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct itimerval prof = {{0, 0}, {0, 50000}}, left;
    setitimer(ITIMER_PROF, &prof, NULL);
    getitimer(ITIMER_PROF, &left);
    burn_until(&profs);
    // (Linux adds a tick, 4 ms at HZ 250, to a CPU itimer's first expiration; it samples
    // CPU time by ticks, so under load it may fire a little before the precise clock says.)
    printf("itimer prof: armed left 50..54 ms %d, fired %d, not before 40 ms of CPU %d\n",
           left.it_value.tv_sec == 0 && left.it_value.tv_usec > 50000 && left.it_value.tv_usec <= 54000, profs == 1,
           cpu_at_prof - start >= 40000000);

    struct itimerval virt = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_VIRTUAL, &virt, NULL);
    burn(200000000);
    setitimer(ITIMER_VIRTUAL, &off, NULL);
    int seen = virts;
    burn(50000000);
    // User time is sampled (Linux) or is time on the platform (the Sentry): only roughly 10.
    printf("itimer virtual: signals 2..15 %d, none after disarming %d\n", seen >= 2 && seen <= 15, virts == seen);

    struct sigevent event = {0};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGRTMIN + 1;
    timer_t timer;
    int created = timer_create(CLOCK_PROCESS_CPUTIME_ID, &event, &timer);
    int64_t armed = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct itimerspec soon = {{0, 0}, {0, 30000000}};
    timer_settime(timer, 0, &soon, NULL);
    burn_until(&cpu_timer_fired);
    timer_delete(timer);
    printf("cpu posix timer: created %d, fired %d, not before 30 ms of CPU %d\n", created, cpu_timer_fired, cpu_at_timer - armed >= 30000000);

    spinning = 1;
    pthread_t thread;
    pthread_create(&thread, NULL, burner, NULL);
    int64_t before = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec amount = {0, 50000000};
    int slept = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &amount, NULL);
    int64_t after = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    spinning = 0;
    pthread_join(thread, NULL);
    printf("cpu clock_nanosleep: %d, the clock advanced >= 50 ms %d\n", slept, after - before >= 50000000);
}

int main(void) {
    // The caller's clocks grow while it computes, by no more than the wall time, and the
    // thread's never passes the process's.
    int64_t wall0 = clock_ns(CLOCK_MONOTONIC), process0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    burn(200000000);
    int64_t thread1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), process1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    int64_t wall1 = clock_ns(CLOCK_MONOTONIC);
    printf("compute: process clock grew %d, within the wall time %d, thread <= process %d\n",
           process1 - process0 >= 100000000, process1 - process0 <= wall1 - wall0 + 20000000, thread1 <= process1);

    // Asleep, they stand still.
    struct timespec nap = {0, 200000000};
    nanosleep(&nap, NULL);
    printf("sleep: process clock grew under 50 ms %d\n", clock_ns(CLOCK_PROCESS_CPUTIME_ID) - process1 < 50000000);

    struct rusage self, thread, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_THREAD, &thread);
    getrusage(RUSAGE_CHILDREN, &children);
    int bad_who = getrusage(5, &self);
    printf("getrusage: self >= 150 ms %d, thread >= 150 ms %d, children 0 %d, bad who %d errno %d\n", cpu(self) >= 150000000,
           cpu(thread) >= 150000000, cpu(children) == 0, bad_who, errno);

    struct tms before;
    clock_t ticks0 = times(&before);
    printf("times: ticks >= 15 %d, children 0 %d\n", before.tms_utime + before.tms_stime >= 15, before.tms_cutime + before.tms_cstime == 0);

    // A child computes; its clock is readable by pid while it runs, and its time is the
    // parent's children's time once waited for.
    int go[2];
    pipe(go);
    pid_t child = fork();
    if (child == 0) {
        char byte;
        read(go[0], &byte, 1);
        burn(300000000);
        _exit(0);
    }
    clockid_t child_clock;
    int found = clock_getcpuclockid(child, &child_clock);
    int64_t child0 = clock_ns(child_clock);
    write(go[1], "x", 1);
    usleep(150000);
    int64_t child1 = clock_ns(child_clock);
    struct rusage waited;
    int status;
    wait4(child, &status, 0, &waited);
    getrusage(RUSAGE_CHILDREN, &children);
    struct tms after;
    clock_t ticks1 = times(&after);
    printf("child: clock found %d, grew while it ran %d; wait4 rusage >= 290 ms %d, children's >= 290 ms %d, "
           "children's ticks >= 28 %d, elapsed ticks >= 15 %d\n",
           found == 0, child1 > child0, cpu(waited) >= 290000000, cpu(children) >= 290000000,
           after.tms_cutime + after.tms_cstime >= 28, ticks1 - ticks0 >= 15);
    struct timespec t;
    int reaped = clock_gettime(child_clock, &t);
    printf("reaped child's clock: %d errno %d\n", reaped, errno);

    // Another thread's clock grows while it spins, and only the caller's process may read it.
    pthread_t other;
    pthread_create(&other, NULL, spinner, NULL);
    clockid_t other_clock;
    pthread_getcpuclockid(other, &other_clock);
    int64_t other0 = clock_ns(other_clock);
    usleep(200000);
    int64_t other1 = clock_ns(other_clock);
    spinning = 0;
    pthread_join(other, NULL);
    printf("thread: its clock grew >= 50 ms %d; process clock counts it %d\n", other1 - other0 >= 50000000,
           clock_ns(CLOCK_PROCESS_CPUTIME_ID) - process1 >= other1 - other0);

    // Resolutions and errors.
    struct timespec res;
    clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res);
    printf("getres: sched %ld ns;", res.tv_nsec);
    clockid_t bad = (clockid_t)((~0u << 3) | 3), seven = (clockid_t)((~0u << 3) | 7);
    int result = clock_gettime(bad, &t);
    printf(" clockfd %d errno %d;", result, errno);
    result = clock_gettime(seven, &t);
    printf(" measure 3 %d errno %d;", result, errno);
    errno = 0;
    printf(" nanosleep on the thread clock %d\n", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &nap, NULL));
    cpu_timers();
    return 0;
}
