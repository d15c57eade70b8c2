// Scheduling, system information and file calls a program meets early: sched_yield,
// affinity, getcpu, policies, nice values, sysinfo, clock_getres, preadv/pwritev, sendfile,
// close_range, posix_fadvise, sync/syncfs, sigpending, get_robust_list, membarrier, creat,
// getgroups, getresuid, eventfd, statfs/fstatfs. Built with `gcc -static`, run natively and under `runsc run`; the
// outputs must match (only what both hosts share is printed).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/sendfile.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;
static void on_usr1(int signal) { (void)signal; usr1++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    int got = sched_getaffinity(0, sizeof set, &set);
    int cpus = CPU_COUNT(&set);
    long small = syscall(SYS_sched_getaffinity, 0, 4, &set) == -1 ? errno : 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    int set_one = sched_setaffinity(0, sizeof one, &one);
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    int now_one = CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set);
    cpu_set_t none;
    CPU_ZERO(&none);
    int set_none = sched_setaffinity(0, sizeof none, &none) == -1 ? errno : 0;
    int cpu = sched_getcpu();
    printf("affinity: %d, %d cpus, small buffer errno %ld, one cpu %d %d, none errno %d; getcpu in range %d\n", got, cpus, small,
           set_one, now_one, set_none, cpu >= 0 && cpu < cpus);

    int policy = sched_getscheduler(0);
    struct sched_param param = {.sched_priority = -1};
    sched_getparam(0, &param);
    int bad_policy = sched_get_priority_max(77) == -1 ? errno : 0;
    printf("sched: yield %d, policy %d priority %d, fifo %d..%d, other %d..%d, bad policy errno %d\n", sched_yield(), policy,
           param.sched_priority, sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
           sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER), bad_policy);

    errno = 0;
    int before = getpriority(PRIO_PROCESS, 0);
    int raised = setpriority(PRIO_PROCESS, 0, before + 5);
    int after = getpriority(PRIO_PROCESS, 0);
    int nobody = setpriority(PRIO_PROCESS, 999999, 1) == -1 ? errno : 0;
    int bad_which = getpriority(7, 0) == -1 ? errno : 0;
    printf("nice: raised %d by %d, nobody errno %d, bad which errno %d\n", raised, after - before, nobody, bad_which);

    struct sysinfo info;
    int sys = sysinfo(&info);
    struct timespec resolution, coarse;
    clock_getres(CLOCK_MONOTONIC, &resolution);
    clock_getres(CLOCK_MONOTONIC_COARSE, &coarse);
    int bad_clock = clock_getres(99, &resolution) == -1 ? errno : 0;
    printf("sysinfo %d: procs %d, memory %d, unit %d; resolution %ld ns, coarse at least 1 ms %d, bad clock errno %d\n", sys,
           info.procs > 0, info.totalram > 0, info.mem_unit >= 1, resolution.tv_nsec, coarse.tv_nsec >= 1000000, bad_clock);

    char path[] = "/tmp/misc-XXXXXX";
    int file = mkstemp(path);
    struct iovec out[2] = {{"abc", 3}, {"defg", 4}};
    ssize_t written = pwritev(file, out, 2, 3);
    char first[5] = {0}, second[6] = {0};
    struct iovec in[2] = {{first, 4}, {second, 5}};
    ssize_t read_back = preadv(file, in, 2, 0);
    off_t position = lseek(file, 0, SEEK_CUR);
    printf("preadv: wrote %zd, read %zd \"%.3s|%s\", position %ld\n", written, read_back, first + 3, second, (long)position);

    int pipes[2];
    pipe(pipes);
    off_t from = 4;
    ssize_t sent = sendfile(pipes[1], file, &from, 100);
    char piped[16] = {0};
    ssize_t got_piped = read(pipes[0], piped, sizeof piped - 1);
    lseek(file, 8, SEEK_SET);
    ssize_t from_position = sendfile(pipes[1], file, NULL, 100);
    char rest[16] = {0};
    read(pipes[0], rest, sizeof rest - 1);
    printf("sendfile: %zd \"%s\" (%zd), offset now %ld; from the position %zd \"%s\"\n", sent, piped, got_piped, (long)from,
           from_position, rest);

    int advice = posix_fadvise(file, 0, 0, POSIX_FADV_SEQUENTIAL);
    int pipe_advice = posix_fadvise(pipes[0], 0, 0, POSIX_FADV_SEQUENTIAL);
    int bad_advice = posix_fadvise(file, 0, 0, 99);
    sync();
    printf("fadvise: %d, pipe %d, bad advice %d; syncfs %d\n", advice, pipe_advice, bad_advice, syncfs(file));

    int marked = syscall(SYS_close_range, pipes[0], pipes[1], CLOSE_RANGE_CLOEXEC);
    int cloexec = fcntl(pipes[0], F_GETFD) & FD_CLOEXEC;
    int reversed = syscall(SYS_close_range, 9, 3, 0) == -1 ? errno : 0;
    int closed = syscall(SYS_close_range, pipes[0], pipes[1], 0);
    int gone = fcntl(pipes[1], F_GETFD) == -1 ? errno : 0;
    printf("close_range: cloexec %d %d, reversed errno %d, closed %d then errno %d\n", marked, cloexec != 0, reversed, closed, gone);

    sigset_t block, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    sigpending(&pending);
    int is_pending = sigismember(&pending, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    sigpending(&pending);
    printf("sigpending: %d, delivered on unblock %d, then pending %d\n", is_pending, usr1, sigismember(&pending, SIGUSR1));

    void *head = NULL;
    size_t length = 0;
    long robust = syscall(SYS_get_robust_list, 0, &head, &length);
    long barrier = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    long bad_barrier = syscall(SYS_membarrier, 77, 0, 0) == -1 ? errno : 0;
    printf("robust list: %ld set %d length %zu; membarrier query ok %d, bad command errno %ld\n", robust, head != NULL, length,
           barrier >= 0, bad_barrier);

    unlink(path);
    int created = creat(path, 0600);
    write(created, "x", 1);
    struct stat status;
    fstat(created, &status);
    int flags = fcntl(created, F_GETFL) & O_ACCMODE;
    gid_t groups[4];
    uid_t ruid = 1, euid = 1, suid = 1;
    getresuid(&ruid, &euid, &suid);
    printf("creat: size %ld write-only %d; groups %d; resuid %d %d %d\n", (long)status.st_size, flags == O_WRONLY, getgroups(4, groups),
           ruid, euid, suid);
    unlink(path);

    int counter = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t value = 0;
    ssize_t first_read = read(counter, &value, 8);
    uint64_t first_value = value;
    int empty = read(counter, &value, 8) == -1 ? errno : 0;
    struct pollfd watch = {counter, POLLIN | POLLOUT, 0};
    poll(&watch, 1, 0);
    int before_write = watch.revents;
    uint64_t two = 2, five = 5, all = UINT64_MAX, huge = UINT64_MAX - 1;
    write(counter, &two, 8);
    write(counter, &five, 8);
    poll(&watch, 1, 0);
    int after_write = watch.revents;
    read(counter, &value, 8);
    uint64_t summed = value;
    int bad_value = write(counter, &all, 8) == -1 ? errno : 0;
    int short_read = read(counter, &value, 4) == -1 ? errno : 0;
    write(counter, &two, 8);
    int overflow = write(counter, &huge, 8) == -1 ? errno : 0;
    struct stat counter_status;
    fstat(counter, &counter_status);
    printf("eventfd: read %zd value %llu, empty errno %d, poll %#x then %#x, sum %llu, all ones errno %d, short read errno %d, overflow errno %d, mode %o\n",
           first_read, (unsigned long long)first_value, empty, before_write, after_write, (unsigned long long)summed, bad_value, short_read,
           overflow, counter_status.st_mode);
    int semaphore = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t one_a = 0, one_b = 0;
    read(semaphore, &one_a, 8);
    read(semaphore, &one_b, 8);
    int drained = read(semaphore, &value, 8) == -1 ? errno : 0;
    int bad_flags = eventfd(0, 0x100) == -1 ? errno : 0;
    printf("semaphore: %llu %llu then errno %d; bad flags errno %d\n", (unsigned long long)one_a, (unsigned long long)one_b, drained, bad_flags);

    struct statfs proc_fs, pipe_fs, socket_fs;
    int proc_ok = statfs("/proc", &proc_fs);
    int fifo[2];
    pipe(fifo);
    fstatfs(fifo[0], &pipe_fs);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    fstatfs(sock, &socket_fs);
    int missing_fs = statfs("/no/such/place", &proc_fs) == -1 ? errno : 0;
    printf("statfs: proc %d %#lx name length %ld, pipe %#lx, socket %#lx, missing errno %d\n", proc_ok, (long)proc_fs.f_type,
           (long)proc_fs.f_namelen, (long)pipe_fs.f_type, (long)socket_fs.f_type, missing_fs);

    // mincore: untouched anonymous pages are not in memory, touched ones are.
    unsigned char *region = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    region[4096] = 1;
    unsigned char pages[4];
    int in_memory = mincore(region, 4 * 4096 - 100, pages);
    int unaligned = mincore(region + 1, 4096, pages) == -1 ? errno : 0;
    munmap(region + 2 * 4096, 4096);
    int hole = mincore(region, 4 * 4096, pages) == -1 ? errno : 0;
    printf("mincore: %d pages %d%d, unaligned errno %d, unmapped errno %d\n", in_memory, pages[0], pages[1], unaligned, hole);

    // getdents, the old form: the names and types of a directory.
    mkdir("/tmp/old-dents", 0755);
    close(open("/tmp/old-dents/file", O_CREAT | O_WRONLY, 0644));
    mkdir("/tmp/old-dents/sub", 0755);
    int directory = open("/tmp/old-dents", O_RDONLY | O_DIRECTORY);
    char listing[1024];
    long tiny = syscall(SYS_getdents, directory, listing, 8);
    long listed = syscall(SYS_getdents, directory, listing, sizeof listing);
    int files = 0, dirs = 0, named = 0;
    for (long at = 0; at < listed;) {
        unsigned short length = *(unsigned short *)(listing + at + 16);
        char *name = listing + at + 18;
        char type = listing[at + length - 1];
        if (strcmp(name, "file") == 0) files += type == DT_REG;
        if (strcmp(name, "sub") == 0) dirs += type == DT_DIR;
        named++;
        at += length;
    }
    printf("getdents: entries %d, file regular %d, sub a directory %d, a small buffer errno %d\n", named, files, dirs, tiny == -1 ? errno : 0);
    unlink("/tmp/old-dents/file");
    rmdir("/tmp/old-dents/sub");
    rmdir("/tmp/old-dents");

    int persona = personality(0xffffffff);
    int previous = personality(ADDR_NO_RANDOMIZE);
    int current = personality(0xffffffff);
    personality(PER_LINUX);
    printf("personality: %#x, set returns %#x, now %#x\n", persona, previous, current);

    // fallocate: growing, keeping the size, punching a hole; its errors.
    int falloc_fd = open("/tmp/falloc", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(falloc_fd, "abcdefgh", 8);
    int grown = fallocate(falloc_fd, 0, 4, 12);
    struct stat st;
    fstat(falloc_fd, &st);
    long after_grow = st.st_size;
    int kept = fallocate(falloc_fd, FALLOC_FL_KEEP_SIZE, 0, 100);
    fstat(falloc_fd, &st);
    long after_keep = st.st_size;
    int punched = fallocate(falloc_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3);
    char contents[8];
    pread(falloc_fd, contents, 8, 0);
    int bad_mode = fallocate(falloc_fd, FALLOC_FL_PUNCH_HOLE, 0, 1) == -1 ? errno : 0;
    int bad_length = fallocate(falloc_fd, 0, 0, 0) == -1 ? errno : 0;
    int reader = open("/tmp/falloc", O_RDONLY);
    int not_writable = fallocate(reader, 0, 0, 1) == -1 ? errno : 0;
    int not_file = fallocate(fifo[1], 0, 0, 1) == -1 ? errno : 0;
    printf("fallocate: %d size %ld, keep %d size %ld, punch %d \"%c%c%c%c%c%c\", errors %d %d %d %d\n", grown, after_grow, kept, after_keep,
           punched, contents[0], contents[1], contents[2] ? contents[2] : '0', contents[3] ? contents[3] : '0', contents[4] ? contents[4] : '0',
           contents[5], bad_mode, bad_length, not_writable, not_file);

    // preadv2 and pwritev2: at an offset, at the falloc_fd position (-1), RWF_APPEND, bad flags.
    char head2[3], rest2[3];
    struct iovec pieces[2] = {{head2, 3}, {rest2, 3}};
    lseek(falloc_fd, 0, SEEK_SET);
    ssize_t at_offset = preadv2(falloc_fd, pieces, 2, 5, 0);
    ssize_t at_position = preadv2(falloc_fd, pieces, 2, -1, 0);
    off_t moved = lseek(falloc_fd, 0, SEEK_CUR);
    struct iovec tail = {"XY", 2};
    ssize_t appended = pwritev2(falloc_fd, &tail, 1, 16, RWF_DSYNC);
    fstat(falloc_fd, &st);
    int bad_rwf = preadv2(falloc_fd, pieces, 2, 0, 0x1000) == -1 ? errno : 0;
    printf("preadv2: %zd then %zd moved to %ld; pwritev2 at the end %zd size %ld; bad flags errno %d\n", at_offset, at_position, (long)moved, appended,
           (long)st.st_size, bad_rwf);
    close(reader);
    close(falloc_fd);
    unlink("/tmp/falloc");

    // epoll_pwait2: a timespec timeout.
    int epoll = epoll_create1(0);
    struct epoll_event event = {EPOLLIN, {.u32 = 1}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fifo[0], &event);
    struct timespec short_wait = {0, 20000000};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int none_ready = syscall(SYS_epoll_pwait2, epoll, &event, 1, &short_wait, NULL, 8);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    write(fifo[1], "x", 1);
    int one_ready = syscall(SYS_epoll_pwait2, epoll, &event, 1, NULL, NULL, 8);
    struct timespec malformed = {0, 2000000000};
    int bad_time = syscall(SYS_epoll_pwait2, epoll, &event, 1, &malformed, NULL, 8) == -1 ? errno : 0;
    long waited = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    printf("epoll_pwait2: %d after >= 20 ms %d, then %d, bad timespec errno %d\n", none_ready, waited >= 20000000, one_ready, bad_time);

    // MAP_SHARED|MAP_ANONYMOUS: a forked child's writes are the parent's, unlike a private
    // mapping's; MADV_DONTNEED keeps shared contents; /proc/self/maps marks it shared.
    char *shared = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *private_copy = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 'A';
    private_copy[0] = 'a';
    pid_t sharer = fork();
    if (sharer == 0) {
        shared[4096] = 'B';
        shared[0]++;
        private_copy[0] = 'z';
        munmap(shared, 2 * 4096);
        _exit(0);
    }
    int child_status;
    waitpid(sharer, &child_status, 0);
    madvise(shared, 2 * 4096, MADV_DONTNEED);
    char line[256];
    int shared_marked = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    char wanted[32];
    snprintf(wanted, sizeof wanted, "%lx-", (unsigned long)shared);
    while (maps && fgets(line, sizeof line, maps)) {
        if (strncmp(line, wanted, strlen(wanted)) == 0) shared_marked = strstr(line, "rw-s") != NULL && strstr(line, "/dev/zero (deleted)") != NULL;
    }
    if (maps) fclose(maps);
    // Scheduling policies: kept and reported; the errors; SCHED_RESET_ON_FORK; no real-time
    // policy for an unprivileged user.
    struct sched_param policy_param = {0};
    int batch = sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &policy_param);
    int got_policy = sched_getscheduler(0);
    pid_t forked = fork();
    if (forked == 0) _exit(sched_getscheduler(0) == SCHED_BATCH ? 0 : 1);
    int forked_status;
    waitpid(forked, &forked_status, 0);
    int child_batch = WIFEXITED(forked_status) && WEXITSTATUS(forked_status) == 0;
    int idle = sched_setscheduler(0, SCHED_IDLE, &policy_param);
    int idle_policy = sched_getscheduler(0);
    policy_param.sched_priority = 5;
    int other_priority = sched_setscheduler(0, SCHED_OTHER, &policy_param) == -1 ? errno : 0;
    policy_param.sched_priority = 0;
    int fifo_zero = sched_setscheduler(0, SCHED_FIFO, &policy_param) == -1 ? errno : 0;
    int unknown_policy = sched_setscheduler(0, 99, &policy_param) == -1 ? errno : 0;
    int negative_pid = sched_setscheduler(-1, SCHED_OTHER, &policy_param) == -1 ? errno : 0;
    int no_param = syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL) == -1 ? errno : 0;
    int back = sched_setscheduler(0, SCHED_OTHER, &policy_param);
    forked = fork();
    if (forked == 0) {
        setuid(1000);
        struct sched_param rt = {10};
        _exit(sched_setscheduler(0, SCHED_FIFO, &rt) == -1 && errno == EPERM ? 0 : 1);
    }
    waitpid(forked, &forked_status, 0);
    printf("scheduler: batch %d policy %#x, child batch %d; idle %d policy %d; errors %d %d %d %d %d; back %d; unprivileged FIFO refused %d\n",
           batch, got_policy, child_batch, idle, idle_policy, other_priority, fifo_zero, unknown_policy, negative_pid, no_param,
           back, WIFEXITED(forked_status) && WEXITSTATUS(forked_status) == 0);

    printf("shared anonymous: parent sees %c%c, private stays %c, after DONTNEED %c, maps marks it %d\n", shared[0], shared[4096],
           private_copy[0], shared[4096], shared_marked);
    return 0;
}
