// POSIX timers and timerfds: periodic and one-shot timers, their signals (si_code, si_value,
// a thread target, SIGEV_THREAD callbacks, overruns while blocked), absolute times, timerfd
// reads, poll and epoll, and the errors Linux gives. Prints only what native Linux prints too.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_ns(int64_t amount) {
    int64_t end = now_ns(CLOCK_MONOTONIC) + amount;
    for (int64_t left; (left = end - now_ns(CLOCK_MONOTONIC)) > 0;) {
        struct timespec t = {left / 1000000000, left % 1000000000};
        nanosleep(&t, NULL);
    }
}

static volatile int signals, expirations, right_code, right_value, handled_by;
static void on_timer(int signo, siginfo_t *info, void *context) {
    (void)signo, (void)context;
    signals++;
    expirations += 1 + info->si_overrun;
    right_code += info->si_code == SI_TIMER;
    right_value += info->si_value.sival_int == 42;
    handled_by = (int)syscall(SYS_gettid);
}

static struct itimerspec spec(int64_t value, int64_t interval) {
    struct itimerspec s = {{interval / 1000000000, interval % 1000000000}, {value / 1000000000, value % 1000000000}};
    return s;
}

static volatile int target_ready, target_stop, target_tid;
static void *target_thread(void *arg) {
    (void)arg;
    target_tid = (int)syscall(SYS_gettid);
    target_ready = 1;
    while (!target_stop) sleep_ns(1000000);
    return NULL;
}

static volatile int callbacks;
static void callback(union sigval value) { callbacks += value.sival_int; }

static void posix_timers(void) {
    struct sigaction action = {0};
    action.sa_sigaction = on_timer;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN, &action, NULL);

    // A periodic timer: about one signal per 10 ms, each SI_TIMER with the value given.
    struct sigevent event = {0};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGRTMIN;
    event.sigev_value.sival_int = 42;
    timer_t timer;
    int created = timer_create(CLOCK_MONOTONIC, &event, &timer);
    struct itimerspec period = spec(10000000, 10000000), current, old;
    int64_t armed = now_ns(CLOCK_MONOTONIC);
    timer_settime(timer, 0, &period, NULL);
    sleep_ns(105000000);
    timer_gettime(timer, &current);
    struct itimerspec off = spec(0, 0);
    timer_settime(timer, 0, &off, &old);
    int64_t due = (now_ns(CLOCK_MONOTONIC) - armed) / 10000000;
    int seen = signals;
    // Each signal stands for one expiration and its overrun: together, one per 10 ms.
    printf("periodic: created %d, signals and overruns one per 10 ms %d, codes %d values %d; armed: left <= 10 ms %d, "
           "interval 10 ms %d; old setting had the interval %d\n",
           created, seen >= 3 && expirations >= due - 2 && expirations <= due + 1, right_code == seen, right_value == seen,
           current.it_value.tv_sec == 0 && current.it_value.tv_nsec > 0 && current.it_value.tv_nsec <= 10000000,
           current.it_interval.tv_nsec == 10000000, old.it_interval.tv_nsec == 10000000);
    timer_gettime(timer, &current);
    sleep_ns(30000000);
    printf("disarmed: value 0 %d, no signal since %d\n", current.it_value.tv_sec == 0 && current.it_value.tv_nsec == 0, signals == seen);

    // Blocked, the signal stays pending once and the expirations after it are its overrun.
    // A signal queued before the timer is set again is dropped (Linux 6.13 and later).
    sigset_t set, saved;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, &saved);
    struct itimerspec fast = spec(5000000, 5000000), slow = spec(1000000000, 1000000000);
    armed = now_ns(CLOCK_MONOTONIC);
    timer_settime(timer, 0, &fast, NULL);
    sleep_ns(100000000);
    due = (now_ns(CLOCK_MONOTONIC) - armed) / 5000000;
    seen = signals;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    int overrun = timer_getoverrun(timer);
    int delivered = signals - seen;
    sigprocmask(SIG_BLOCK, &set, &saved);
    timer_settime(timer, 0, &fast, NULL);
    sleep_ns(20000000);
    timer_settime(timer, 0, &slow, NULL);
    seen = signals;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    timer_settime(timer, 0, &off, NULL);
    printf("overrun: signals 1..2 %d, overrun one per 5 ms %d; stale signal dropped %d\n", delivered >= 1 && delivered <= 2,
           overrun + 1 >= due - 2 && overrun + 1 <= due + 1, signals == seen);

    // An absolute time on the realtime clock: the signal comes no earlier.
    sigprocmask(SIG_BLOCK, &set, &saved);
    timer_t wall;
    timer_create(CLOCK_REALTIME, &event, &wall);
    int64_t start = now_ns(CLOCK_REALTIME);
    struct itimerspec at = spec(start + 50000000, 0);
    timer_settime(wall, TIMER_ABSTIME, &at, NULL);
    siginfo_t info;
    struct timespec limit = {2, 0};
    int waited = sigtimedwait(&set, &info, &limit);
    printf("absolute: got it %d, not early %d, code SI_TIMER %d\n", waited == SIGRTMIN, now_ns(CLOCK_REALTIME) - start >= 50000000,
           info.si_code == SI_TIMER);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    timer_delete(wall);
    timer_delete(timer);

    // SIGEV_NONE runs without a signal; SIGEV_THREAD_ID sends to one thread.
    struct sigevent none = {0};
    none.sigev_notify = SIGEV_NONE;
    timer_t quiet;
    timer_create(CLOCK_MONOTONIC, &none, &quiet);
    struct itimerspec long_one = spec(1000000000, 0);
    timer_settime(quiet, 0, &long_one, NULL);
    sleep_ns(20000000);
    timer_gettime(quiet, &current);
    printf("none: counting down %d\n", current.it_value.tv_sec == 0 && current.it_value.tv_nsec < 990000000 && current.it_value.tv_nsec > 0);
    timer_delete(quiet);

    pthread_t thread;
    pthread_create(&thread, NULL, target_thread, NULL);
    while (!target_ready) sleep_ns(1000000);
    struct sigevent directed = {0};
    directed.sigev_notify = SIGEV_THREAD_ID;
    directed.sigev_signo = SIGRTMIN;
    directed.sigev_value.sival_int = 42;
    directed._sigev_un._tid = target_tid;
    timer_t aimed;
    timer_create(CLOCK_MONOTONIC, &directed, &aimed);
    handled_by = 0;
    struct itimerspec soon = spec(10000000, 0);
    timer_settime(aimed, 0, &soon, NULL);
    for (int i = 0; i < 200 && handled_by == 0; i++) sleep_ns(5000000);
    printf("thread id: handled by the target %d\n", handled_by == target_tid);
    target_stop = 1;
    pthread_join(thread, NULL);
    timer_delete(aimed);

    // SIGEV_THREAD: the C library runs the callback in a thread of its own.
    struct sigevent threaded = {0};
    threaded.sigev_notify = SIGEV_THREAD;
    threaded.sigev_notify_function = callback;
    threaded.sigev_value.sival_int = 1;
    timer_t called;
    timer_create(CLOCK_MONOTONIC, &threaded, &called);
    timer_settime(called, 0, &soon, NULL);
    for (int i = 0; i < 200 && callbacks == 0; i++) sleep_ns(5000000);
    printf("thread: callback ran %d\n", callbacks == 1);
    timer_delete(called);

    // A forked child has none of its parent's timers.
    timer_t kept;
    timer_create(CLOCK_MONOTONIC, &none, &kept);
    pid_t child = fork();
    if (child == 0) _exit(timer_gettime(kept, &current) == -1 && errno == EINVAL ? 0 : 1);
    int status;
    waitpid(child, &status, 0);
    printf("fork: the child has no timers %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    // Errors.
    timer_t unused;
    struct sigevent bad = {0};
    int r1 = timer_create(99, NULL, &unused), e1 = errno;
    bad.sigev_notify = 99;
    int r2 = timer_create(CLOCK_MONOTONIC, &bad, &unused), e2 = errno;
    bad.sigev_notify = SIGEV_SIGNAL;
    bad.sigev_signo = 0;
    int r3 = timer_create(CLOCK_MONOTONIC, &bad, &unused), e3 = errno;
    struct itimerspec malformed = {{0, 0}, {0, 1000000000}};
    int r4 = timer_settime(kept, 0, &malformed, NULL), e4 = errno;
    timer_delete(kept);
    int r5 = timer_delete(kept), e5 = errno;
    printf("errors: clock %d/%d, notify %d/%d, signal %d/%d, nsec %d/%d, deleted %d/%d\n", r1, e1, r2, e2, r3, e3, r4, e4, r5, e5);
}

static void timerfds(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    uint64_t count = 0;
    struct itimerspec period = spec(20000000, 20000000), current;
    timerfd_settime(fd, 0, &period, NULL);
    int64_t start = now_ns(CLOCK_MONOTONIC);
    ssize_t got = read(fd, &count, sizeof count);
    printf("timerfd: first read %zd count 1 %d after >= 20 ms %d;", got, count == 1, now_ns(CLOCK_MONOTONIC) - start >= 20000000);
    int64_t read_at = now_ns(CLOCK_MONOTONIC);
    sleep_ns(105000000);
    read(fd, &count, sizeof count);
    int64_t due = (now_ns(CLOCK_MONOTONIC) - read_at) / 20000000;
    printf(" later count one per 20 ms %d;", (int64_t)count >= due - 1 && (int64_t)count <= due + 1);
    timerfd_gettime(fd, &current);
    printf(" interval 20 ms %d\n", current.it_interval.tv_nsec == 20000000);

    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    struct pollfd poller = {fd, POLLIN, 0};
    int none = poll(&poller, 1, 0);
    int ready = poll(&poller, 1, 1000);
    printf("poll: none at first %d, then ready %d revents 0x%x;", none, ready, poller.revents);
    int epoll = epoll_create1(0);
    struct epoll_event wanted = {EPOLLIN, {.u32 = 7}}, happened;
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &wanted);
    read(fd, &count, sizeof count);
    int woke = epoll_wait(epoll, &happened, 1, 1000);
    printf(" epoll %d data %u\n", woke, happened.data.u32);

    struct itimerspec off = spec(0, 0), old;
    timerfd_settime(fd, 0, &off, &old);
    errno = 0;
    ssize_t drained = read(fd, &count, sizeof count);
    int e1 = errno;
    char small[4];
    ssize_t short_read = read(fd, small, sizeof small);
    int e2 = errno;
    ssize_t written = write(fd, &count, sizeof count);
    int e3 = errno;
    printf("disarm: old interval 20 ms %d, read %zd errno %d, short read %zd errno %d, write %zd errno %d\n",
           old.it_interval.tv_nsec == 20000000, drained, e1, short_read, e2, written, e3);

    // An absolute time on the realtime clock, in a blocking read.
    fcntl(fd, F_SETFL, flags);
    int real = timerfd_create(CLOCK_REALTIME, 0);
    int64_t begin = now_ns(CLOCK_REALTIME);
    struct itimerspec at = spec(begin + 30000000, 0);
    timerfd_settime(real, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &at, NULL);
    read(real, &count, sizeof count);
    printf("absolute: count %llu not early %d\n", (unsigned long long)count, now_ns(CLOCK_REALTIME) - begin >= 30000000);

    int pipes[2];
    pipe(pipes);
    int r1 = timerfd_create(99, 0), e4 = errno;
    int r2 = timerfd_create(CLOCK_MONOTONIC, 0x1), e5 = errno;
    int r3 = timerfd_settime(pipes[0], 0, &period, NULL), e6 = errno;
    int r4 = timerfd_settime(fd, 0x8, &period, NULL), e7 = errno;
    int r5 = timerfd_gettime(99, &current), e8 = errno;
    printf("errors: clock %d/%d, flags %d/%d, not a timerfd %d/%d, settime flags %d/%d, bad fd %d/%d\n", r1, e4, r2, e5, r3, e6, r4, e7,
           r5, e8);
    close(fd);
    close(real);
}

// signalfd: blocked signals read as records, poll and epoll readiness, a blocking read woken
// by a signal from another process, a timer's signal with its value, and the errors.
static void signalfds(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    struct signalfd_siginfo records[2];
    ssize_t empty = read(fd, records, sizeof records);
    int e1 = errno;
    struct pollfd poller = {fd, POLLIN, 0};
    int before = poll(&poller, 1, 0);
    kill(getpid(), SIGUSR1);
    int after = poll(&poller, 1, 0);
    ssize_t got = read(fd, records, sizeof records);
    printf("signalfd: empty %zd errno %d; poll %d then %d; read %zd signo %u code %d pid ok %d\n", empty, e1, before, after, got,
           records[0].ssi_signo, records[0].ssi_code, records[0].ssi_pid == (uint32_t)getpid());

    struct sigevent event = {0};
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGRTMIN;
    event.sigev_value.sival_int = 42;
    timer_t timer;
    timer_create(CLOCK_MONOTONIC, &event, &timer);
    struct itimerspec soon = spec(5000000, 0);
    timer_settime(timer, 0, &soon, NULL);
    int epoll = epoll_create1(0);
    struct epoll_event wanted = {EPOLLIN, {.u32 = 9}}, happened;
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &wanted);
    int woke = epoll_wait(epoll, &happened, 1, 2000);
    got = read(fd, records, sizeof records);
    printf("timer: epoll %d, read %zd code SI_TIMER %d int %d\n", woke, got, records[0].ssi_code == SI_TIMER, records[0].ssi_int);
    timer_delete(timer);

    // sigqueue: the value travels; a forged kernel code to another process is refused.
    union sigval value = {.sival_int = 7};
    int queued = sigqueue(getpid(), SIGRTMIN, value);
    got = read(fd, records, sizeof records);
    printf("sigqueue: %d, read %zd code SI_QUEUE %d int %d pid ok %d\n", queued, got, records[0].ssi_code == SI_QUEUE, records[0].ssi_int,
           records[0].ssi_pid == (uint32_t)getpid());

    // A blocking read in a child, woken by its parent's signal.
    pid_t child = fork();
    if (child == 0) {
        int blocking = signalfd(-1, &set, 0);
        struct signalfd_siginfo record;
        ssize_t n = read(blocking, &record, sizeof record);
        _exit(n == sizeof record ? (int)record.ssi_signo : 100);
    }
    sleep_ns(50000000);
    kill(child, SIGUSR1);
    siginfo_t forged = {0};
    forged.si_signo = SIGUSR1;
    forged.si_code = SI_USER;
    int refused = syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &forged), e0 = errno;
    kill(child, SIGUSR1);
    int status;
    waitpid(child, &status, 0);
    printf("blocking: the child read signal %d; forged code %d/%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1, refused, e0);

    int pipes[2];
    pipe(pipes);
    sigset_t other;
    sigemptyset(&other);
    sigaddset(&other, SIGUSR2);
    int same = signalfd(fd, &other, 0);
    int r1 = signalfd(pipes[0], &set, 0), e2 = errno;
    int r2 = syscall(SYS_signalfd4, -1, &set, 4, 0), e3 = errno;
    int r3 = signalfd(-1, &set, 0x1), e4 = errno;
    char small[16];
    ssize_t r4 = read(fd, small, sizeof small);
    int e5 = errno;
    printf("errors: new mask keeps the fd %d, not a signalfd %d/%d, size %d/%d, flags %d/%d, short read %zd/%d\n", same == fd, r1, e2, r2,
           e3, r3, e4, r4, e5);
    close(fd);
    close(epoll);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    posix_timers();
    timerfds();
    signalfds();
    return 0;
}
