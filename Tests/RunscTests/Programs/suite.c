// The C test suite of the Sentry: each step prints what it saw. Built with `gcc -static`,
// run natively and under `runsc run`; the two outputs must match. Threads have their own
// program, threads.c.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_usr1(int signal, siginfo_t *info, void *context) {
    (void)context;
    handled = signal + (info->si_signo == signal ? 1000 : 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("exec: child runs with argument %s\n", argv[2]);
        return 5;
    }
    setvbuf(stdout, NULL, _IONBF, 0);

    // fork and wait
    pid_t child = fork();
    if (child == 0) _exit(42);
    int status = 0;
    waitpid(child, &status, 0);
    printf("fork: child exited %d, exited normally %d\n", WEXITSTATUS(status), WIFEXITED(status));

    // a pipe between two processes
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); return 1; }
    child = fork();
    if (child == 0) {
        close(fds[0]);
        const char *message = "through the pipe";
        write(fds[1], message, strlen(message));
        _exit(0);
    }
    close(fds[1]);
    char buffer[64] = {0};
    ssize_t n = read(fds[0], buffer, sizeof buffer - 1);
    waitpid(child, NULL, 0);
    printf("pipe: read %zd bytes: %s; then end of file: %zd\n", n, buffer, read(fds[0], buffer, 1));

    // a signal handler
    struct sigaction action = {0};
    action.sa_sigaction = on_usr1;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    printf("signal: handler saw %d\n", (int)handled);

    // a child killed by a signal
    child = fork();
    if (child == 0) { pause(); _exit(0); }
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    printf("kill: child signaled %d by %d\n", WIFSIGNALED(status), WTERMSIG(status));

    // mmap, mprotect, munmap
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page + 4096, "mapped");
    int protected = mprotect(page, 8192, PROT_READ);
    printf("mmap: %s, mprotect %d", page + 4096, protected);
    printf(", munmap %d\n", munmap(page, 8192));

    // brk
    void *before = sbrk(0);
    sbrk(65536);
    void *after = sbrk(0);
    memset(before, 7, 65536);
    printf("brk: grew by %ld\n", (long)((char *)after - (char *)before));

    // mremap: grow (moving), shrink, and madvise(MADV_DONTNEED) zeroing private memory
    char *region = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(region, "kept across mremap");
    int in_place = mremap(region, 4096, 2 * 4096, 0) == MAP_FAILED ? errno : 0;
    char *moved = mremap(region, 4096, 3 * 4096, MREMAP_MAYMOVE);
    moved[3 * 4096 - 1] = 1;
    int old_gone = msync(region, 4096, 0) == 0 ? 0 : errno;
    int second_kept = msync(region + 4096, 4096, 0);
    printf("mremap: %s, in place errno %d, moved %d, old page errno %d, next page %d", moved, in_place, moved != region, old_gone,
           second_kept);
    printf(", shrunk %d\n", mremap(moved, 3 * 4096, 4096, 0) == moved);
    int advised = madvise(moved, 4096, MADV_DONTNEED);
    printf("madvise: %d, then reads %d, bad advice errno %d\n", advised, moved[0], madvise(moved, 4096, 999) == 0 ? 0 : errno);

    // select on a pipe: writable at once, readable once written, timeout with nothing ready
    if (pipe(fds) != 0) { perror("pipe"); return 1; }
    fd_set readable, writable;
    FD_ZERO(&readable); FD_ZERO(&writable);
    FD_SET(fds[0], &readable); FD_SET(fds[1], &writable);
    struct timeval wait_for = {0, 20000};
    int selected = select(fds[1] + 1, &readable, &writable, NULL, &wait_for);
    printf("select: %d ready, read %d, write %d", selected, FD_ISSET(fds[0], &readable) != 0, FD_ISSET(fds[1], &writable) != 0);
    write(fds[1], "x", 1);
    FD_ZERO(&readable); FD_SET(fds[0], &readable);
    wait_for.tv_usec = 0;
    printf(", after a write %d", select(fds[0] + 1, &readable, NULL, NULL, &wait_for));
    // A descriptor this program closed itself: a high number such as 99 may be inherited open.
    int closed_fd = dup(fds[0]);
    close(closed_fd);
    FD_ZERO(&readable); FD_SET(closed_fd, &readable);
    printf(", closed fd errno %d", select(closed_fd + 1, &readable, NULL, NULL, &wait_for) == -1 ? errno : 0);
    struct timeval forever = {0x7fffffffffffffffL, 999999};
    FD_ZERO(&writable); FD_SET(fds[1], &writable);
    printf(", with a timeout of forever %d\n", select(fds[1] + 1, NULL, &writable, NULL, &forever));
    close(fds[0]); close(fds[1]);

    // waitid: WNOWAIT leaves the child waitable, then it is reaped
    child = fork();
    if (child == 0) _exit(9);
    siginfo_t info = {0};
    waitid(P_PID, child, &info, WEXITED | WNOWAIT);
    printf("waitid: peeked signo %d code %d status %d pid-matches %d", info.si_signo, info.si_code, info.si_status, info.si_pid == child);
    memset(&info, 0, sizeof info);
    waitid(P_ALL, 0, &info, WEXITED);
    int reaped_status = info.si_status;
    int again = waitid(P_ALL, 0, &info, WEXITED) == 0 ? 0 : errno;
    printf(", reaped status %d, then errno %d\n", reaped_status, again);

    // file I/O in /tmp
    char path[64];
    snprintf(path, sizeof path, "/tmp/suite-%d", (int)(getpid() % 7));
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    write(fd, "hello file", 10);
    lseek(fd, 6, SEEK_SET);
    memset(buffer, 0, sizeof buffer);
    read(fd, buffer, 10);
    struct stat st;
    fstat(fd, &st);
    close(fd);
    printf("file: read back %s, size %lld, mode %o, unlink %d\n", buffer, (long long)st.st_size, st.st_mode & 0777, unlink(path));
    int reopened = open(path, O_RDONLY);
    printf("file: open after unlink %d errno %d\n", reopened, errno);

    // rename: not into its own subtree, a directory not over a file nor a file over a directory
    char dir[64], sub[80], inside[96], plain[80];
    snprintf(dir, sizeof dir, "/tmp/suite-dir-%d", (int)(getpid() % 7));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(inside, sizeof inside, "%s/sub/moved", dir);
    snprintf(plain, sizeof plain, "%s-file", dir);
    mkdir(dir, 0700);
    mkdir(sub, 0700);
    close(open(plain, O_CREAT | O_WRONLY, 0600));
    int into_itself = rename(dir, inside) == 0 ? 0 : errno;
    int dir_over_file = rename(dir, plain) == 0 ? 0 : errno;
    int file_over_dir = rename(plain, sub) == 0 ? 0 : errno;
    printf("rename: into itself errno %d, directory over file errno %d, file over directory errno %d", into_itself, dir_over_file,
           file_over_dir);
    int cleaned = rmdir(sub) + rmdir(dir) + unlink(plain);
    printf(", cleanup %d\n", cleaned);

    // many short-lived children: their memory is reused, not exhausted
    int failed = 0;
    for (int i = 0; i < 600; i++) {
        pid_t quick = fork();
        if (quick == 0) _exit(i & 0x7f);
        if (quick < 0 || waitpid(quick, &status, 0) != quick || WEXITSTATUS(status) != (i & 0x7f)) failed++;
    }
    printf("forks: 600 children, %d failed\n", failed);

    // exec
    child = fork();
    if (child == 0) {
        char *args[] = {argv[0], "exec-child", "from-exec", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    waitpid(child, &status, 0);
    printf("exec: child exited %d\n", WEXITSTATUS(status));

    // posix_spawn: glibc clones with CLONE_VM | CLONE_VFORK onto a stack of its own
    char *spawn_args[] = {argv[0], "exec-child", "from-spawn", NULL};
    pid_t spawned = 0;
    int spawn_error = posix_spawn(&spawned, "/proc/self/exe", NULL, NULL, spawn_args, NULL);
    waitpid(spawned, &status, 0);
    printf("spawn: error %d, child exited %d\n", spawn_error, WEXITSTATUS(status));
    printf("auxv: platform %s, page size %lu\n", (const char *)getauxval(AT_PLATFORM), getauxval(AT_PAGESZ));
    return 0;
}
