// Credentials and permissions: the set*id calls and their rules, capabilities (capget,
// capset, PR_SET_KEEPCAPS, the bounding set), and what a process that dropped root may and
// may not do to files and processes: permission bits, search permission, the sticky bit,
// chmod and chown, access(2), kill(2), and a set-user-ID program. Prints only what native
// Linux prints too (it must start as root).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/auxv.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long long effective_caps(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return ~0ull;
    return data[0].effective | (unsigned long long)data[1].effective << 32;
}

static unsigned long long permitted_caps(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return ~0ull;
    return data[0].permitted | (unsigned long long)data[1].permitted << 32;
}

static int has(unsigned long long set, int cap) { return (set >> cap) & 1; }

static int result(int value) { return value == -1 ? -errno : value; }

static char dir[64];

static void path(char *out, const char *name) { snprintf(out, 128, "%s/%s", dir, name); }

// Runs `body` in a child and waits for it, so that a change of ids stays there.
static void in_child(void (*body)(void)) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        body();
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
}

static void ids(void) {
    uid_t r, e, s;
    // Root moves its effective uid and back: the saved uid keeps it, capabilities follow.
    int a = setresuid(-1, 1000, -1);
    getresuid(&r, &e, &s);
    int dropped = !has(effective_caps(), CAP_SETUID) && has(permitted_caps(), CAP_SETUID);
    int b = seteuid(0);
    int back = has(effective_caps(), CAP_SETUID);
    printf("seteuid: %d ids %u %u %u, effective caps dropped %d; back to 0: %d, restored %d\n", a, r, e, s, dropped, b, back);

    int fs = setfsuid(1000), was = setfsuid(0);
    printf("setfsuid: old %d then %d\n", fs, was);

    // setreuid: the saved uid follows the effective one when the real changes.
    int c = setreuid(1000, 1001);
    getresuid(&r, &e, &s);
    int d = result(setuid(0));
    int f = result(setuid(1000));
    uid_t r2, e2, s2;
    getresuid(&r2, &e2, &s2);
    printf("setreuid: %d ids %u %u %u, caps %d; setuid(0) %d, setuid(1000) %d ids %u %u %u\n", c, r, e, s, effective_caps() != 0, d, f, r2,
           e2, s2);
}

static void keepcaps(void) {
    int a = prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), got = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
    setgroups(0, NULL);
    setresgid(1000, 1000, 1000);
    setresuid(1000, 1000, 1000);
    printf("keepcaps: %d %d, permitted kept %d, effective empty %d, bad %d\n", a, got, has(permitted_caps(), CAP_SETUID),
           effective_caps() == 0, result(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0)));
}

static void capabilities(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    syscall(SYS_capget, &header, data);
    data[0].effective &= ~(1u << CAP_NET_RAW);
    int a = syscall(SYS_capset, &header, data);
    int still = has(effective_caps(), CAP_NET_RAW);
    data[0].permitted &= ~(1u << CAP_CHOWN);
    data[0].effective &= ~(1u << CAP_CHOWN);
    int b = syscall(SYS_capset, &header, data);
    data[0].permitted |= 1u << CAP_CHOWN;
    int c = result(syscall(SYS_capset, &header, data));
    struct __user_cap_header_struct bad = {0x12345678, 0};
    int d = result(syscall(SYS_capget, &bad, data));
    printf("capset: drop effective %d (gone %d), drop permitted %d, raise again %d; bad version %d, corrected 0x%x\n", a, !still, b, c,
           d, bad.version);
    int bset = prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0), none = result(prctl(PR_CAPBSET_READ, 99, 0, 0, 0));
    printf("bounding: read %d, past the last %d; no_new_privs %d", bset, none, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    int set = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    printf(" set %d now %d, bad %d\n", set, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), result(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)));
}

static void unprivileged(void) {
    char file[128], shut[128], sub[128], mine[128], exe[128], created[128];
    path(created, "locked/new");
    path(file, "root-file");
    path(shut, "closed");
    path(sub, "closed/inside");
    path(mine, "mine");
    path(exe, "no-exec");
    int groups = setgroups(0, NULL);
    int g = setgid(1000), u = setuid(1000);
    printf("dropped: %d %d %d, uid %d euid %d gid %d, caps empty %d, groups %d\n", groups, g, u, getuid(), geteuid(), getgid(),
           effective_caps() == 0, getgroups(0, NULL));
    printf("files: read %d, write %d, truncate %d, search a closed directory %d, access W %d R %d, create in a root directory %d\n",
           result(open(file, O_RDONLY)) >= 0, result(open(file, O_WRONLY)), result(truncate(file, 0)), result(open(sub, O_RDONLY)),
           result(access(file, W_OK)), result(access(file, R_OK)), result(open(created, O_CREAT | O_WRONLY, 0644)));
    int fd = open(mine, O_CREAT | O_WRONLY, 02755);
    struct stat st;
    fstat(fd, &st);
    printf("own file: created %d, owner %u:%u, mode %o; chmod %d, chgrp to own group %d, chown to root %d, chmod of root's %d, "
           "utimes of root's %d\n",
           fd >= 0, st.st_uid, st.st_gid, st.st_mode & 07777, result(chmod(mine, 0600)), result(chown(mine, -1, 1000)),
           result(chown(mine, 0, -1)), result(chmod(file, 0666)), result(utimensat(AT_FDCWD, file, NULL, 0)));
    printf("sticky: unlink root's %d, rename root's %d, unlink own %d; exec without x %d; setuid(0) %d; kill root %d, kill self %d\n",
           result(unlink(file)), result(rename(file, mine)), result(unlink(mine)), result(execl(exe, exe, (char *)NULL)),
           result(setuid(0)), result(kill(getppid(), 0)), result(kill(getpid(), 0)));

    // O_PATH opens nothing: no reading, no truncation.
    struct stat before, after;
    stat(file, &before);
    int path_fd = open(file, O_PATH | O_RDWR | O_TRUNC);
    char byte;
    ssize_t got = read(path_fd, &byte, 1);
    int e1 = errno;
    stat(file, &after);
    struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    int locked = result(fcntl(path_fd, F_SETLK, &lock)), flocked = result(flock(path_fd, LOCK_SH)), moded = result(fchmod(path_fd, 0600));
    struct pollfd polled = {path_fd, POLLIN, 0};
    poll(&polled, 1, 0);
    printf("o_path locks: fcntl %d, flock %d, fchmod %d, poll revents %#x\n", locked, flocked, moded, polled.revents);
    // A name in a directory the caller cannot search is EACCES, not ENOENT or EEXIST.
    char hidden[128], missing[128];
    path(hidden, "closed/inside");
    path(missing, "closed/missing");
    // Times other than both "now" need the owner, even with UTIME_OMIT.
    struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    printf("o_path: opened %d, read %zd errno %d, size kept %d; unsearchable: unlink %d, mkdir %d; utimensat now+omit %d\n",
           path_fd >= 0, got, e1, before.st_size == after.st_size, result(unlink(missing)), result(mkdir(hidden, 0755)),
           result(utimensat(AT_FDCWD, file, now_omit, 0)));

    // AF_UNIX: binding needs write permission on the directory, connecting on the socket file.
    char socket_path[128], locked_socket[128];
    path(socket_path, "root-socket");
    path(locked_socket, "locked/mine");
    struct sockaddr_un address = {AF_UNIX};
    strcpy(address.sun_path, locked_socket);
    int s1 = socket(AF_UNIX, SOCK_STREAM, 0);
    int bound = result(bind(s1, (struct sockaddr *)&address, sizeof address));
    strcpy(address.sun_path, socket_path);
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    int connected = result(connect(s2, (struct sockaddr *)&address, sizeof address));
    // A write by the owner (without CAP_FSETID) clears set-user-ID.
    char setid[128];
    path(setid, "setid");
    int own = open(setid, O_CREAT | O_WRONLY, 0644);
    fchmod(own, 04755);
    write(own, "x", 1);
    fstat(own, &after);
    printf("unix: bind in a root directory %d, connect to root's socket %d; write clears set-user-ID %d\n", bound, connected,
           (after.st_mode & 07777) == 0755);
    unlink(setid);
}

static void set_user_id(void) {
    char program[128];
    path(program, "suid");
    setgroups(0, NULL);
    setgid(1000);
    setuid(1000);
    execl(program, program, "report", (char *)NULL);
    printf("exec failed %d\n", errno);
}

// With no_new_privs, a set-user-ID program runs as the caller.
static void no_new_privs(void) {
    char program[128];
    path(program, "suid");
    setgroups(0, NULL);
    setgid(1000);
    setuid(1000);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    execl(program, program, "no_new_privs", (char *)NULL);
    printf("exec failed %d\n", errno);
}

int main(int argc, char **argv) {
    if (argc > 1) {  // run as a set-user-ID program, or as the user a bundle names ("user")
        uid_t r, e, s;
        getresuid(&r, &e, &s);
        printf("%s: ids %u %u %u, caps %d, secure %lu", argv[1], r, e, s, has(effective_caps(), CAP_SETUID), getauxval(AT_SECURE));
        if (strcmp(argv[1], "user") == 0) {
            gid_t groups[8];
            int count = getgroups(8, groups);
            mode_t mask = umask(0);
            printf(", gid %u, groups %d:", getgid(), count);
            for (int i = 0; i < count; i++) printf(" %u", groups[i]);
            char host[65] = {0};
            gethostname(host, 64);
            printf(", umask %03o, write /tmp %d, effective %llx permitted %llx, no_new_privs %d, host %s", mask, access("/tmp", W_OK),
                   effective_caps(), permitted_caps(), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), host);
        }
        printf("\n");
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    strcpy(dir, "/tmp/credentials-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    chmod(dir, 01777);
    char file[128], shut[128], sub[128], exe[128], program[128];
    path(file, "root-file");
    path(shut, "closed");
    path(sub, "closed/inside");
    path(exe, "no-exec");
    path(program, "suid");
    close(open(file, O_CREAT | O_WRONLY, 0644));
    mkdir(shut, 0700);
    char locked[128];
    path(locked, "locked");
    mkdir(locked, 0755);
    close(open(sub, O_CREAT | O_WRONLY, 0644));
    close(open(exe, O_CREAT | O_WRONLY, 0644));
    // A set-user-ID copy of this program.
    int in = open("/proc/self/exe", O_RDONLY), out = open(program, O_CREAT | O_WRONLY, 0755);
    char buffer[65536];
    for (ssize_t n; (n = read(in, buffer, sizeof buffer)) > 0;) write(out, buffer, n);
    close(in);
    close(out);
    chmod(program, 04755);
    char socket_path[128];
    path(socket_path, "root-socket");
    struct sockaddr_un address = {AF_UNIX};
    strcpy(address.sun_path, socket_path);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(listener, (struct sockaddr *)&address, sizeof address);
    chmod(socket_path, 0755);
    listen(listener, 1);

    printf("root: ids %d %d, caps setuid %d kill %d\n", getuid(), geteuid(), has(effective_caps(), CAP_SETUID), has(effective_caps(), CAP_KILL));
    in_child(ids);
    in_child(keepcaps);
    in_child(capabilities);
    in_child(unprivileged);
    in_child(set_user_id);
    in_child(no_new_privs);

    unlink(program);
    unlink(socket_path);
    unlink(exe);
    unlink(sub);
    rmdir(shut);
    rmdir(locked);
    unlink(file);
    char mine[128];
    path(mine, "mine");
    unlink(mine);
    rmdir(dir);
    return 0;
}
