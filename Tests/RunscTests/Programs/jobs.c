// Job control: SIGSTOP and SIGTSTP stop a process (it makes no progress), SIGCONT continues
// it, the parent sees both through SIGCHLD (CLD_STOPPED, CLD_CONTINUED), wait4 with
// WUNTRACED and WCONTINUED, and waitid with WSTOPPED; SIGKILL ends a stopped process; a
// handled SIGTSTP does not stop. The child has a second thread that blocks every signal:
// a stop stops it too. Built with `gcc -static`, run natively and under
// `runsc run`; the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopped_reports, continued_reports, tstp_caught;
static void on_child(int signal, siginfo_t *info, void *context) {
    (void)signal, (void)context;
    if (info->si_code == CLD_STOPPED) stopped_reports++;
    if (info->si_code == CLD_CONTINUED) continued_reports++;
}
static void on_tstp(int signal) { (void)signal; tstp_caught++; }

/// Bytes the child wrote to the pipe within `ms` milliseconds (a SIGCHLD cutting the sleep
/// short does not shorten the wait).
static int progress(int fd, int ms) {
    char buffer[4096];
    int total = 0;
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_nsec += (long)ms * 1000000;
    end.tv_sec += end.tv_nsec / 1000000000;
    end.tv_nsec %= 1000000000;
    do {
        usleep(1000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) total += n;
    return total;
}

static int writer_fd;
/// The child's second thread: blocks every signal and writes as the first does.
static void *writer(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (int i = 0; i < 3000; i++) {
        write(writer_fd, "y", 1);
        usleep(2000);
    }
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction action = {.sa_sigaction = on_child, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigaction(SIGCHLD, &action, NULL);
    int fds[2];
    pipe(fds);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);  // a group of its own, not orphaned, so that SIGTSTP stops it natively too
        signal(SIGTSTP, SIG_DFL);
        writer_fd = fds[1];
        pthread_t thread;
        pthread_create(&thread, NULL, writer, NULL);
        for (int i = 0; i < 3000; i++) {
            write(fds[1], "x", 1);
            usleep(2000);
        }
        _exit(0);
    }
    int running = progress(fds[0], 100) > 0;
    kill(child, SIGSTOP);
    int status = 0;
    pid_t got = waitpid(child, &status, WUNTRACED);
    int stopped_by = got == child && WIFSTOPPED(status) ? WSTOPSIG(status) : -1;
    progress(fds[0], 50);  // what was written before the stop took
    int still = progress(fds[0], 150);
    int nohang = waitpid(child, &status, WNOHANG | WUNTRACED);  // reported once
    kill(child, SIGCONT);
    got = waitpid(child, &status, WCONTINUED);
    int continued = got == child && WIFCONTINUED(status);
    int resumed = progress(fds[0], 100) > 0;
    printf("stop: running %d, stopped by %d, progress while stopped %d, reported again %d; continued %d, resumed %d\n", running,
           stopped_by, still, nohang, continued, resumed);

    kill(child, SIGTSTP);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int waited = waitid(P_PID, child, &info, WSTOPPED);
    printf("tstp: waitid %d code stopped %d status %d\n", waited, info.si_code == CLD_STOPPED, info.si_status);
    kill(child, SIGKILL);  // ends it stopped
    got = waitpid(child, &status, 0);
    for (int i = 0; i < 100 && (stopped_reports < 2 || continued_reports < 1); i++) usleep(10000);
    printf("kill while stopped: reaped %d by %d; SIGCHLD stopped %d continued %d\n", got == child,
           WIFSIGNALED(status) ? WTERMSIG(status) : -1, stopped_reports, continued_reports);

    // A handled SIGTSTP runs its handler and does not stop.
    signal(SIGTSTP, on_tstp);
    raise(SIGTSTP);
    printf("handled tstp: caught %d, still running\n", tstp_caught);
    return 0;
}
