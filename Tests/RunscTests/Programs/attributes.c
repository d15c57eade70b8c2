// A file's mode, owner and times: chmod, fchmod, fchmodat, chown (set-user-ID cleared),
// lchown of a symlink, utimensat (NULL times, given times, UTIME_OMIT, UTIME_NOW, a NULL path
// for the fd itself, a bad nanosecond count), utimes, and the errors for a missing file.
// Built with `gcc -static`, run natively and under `runsc run` (in /tmp, a tmpfs in the
// sandbox); the outputs must match. Also hard links: link, linkat with and without
// AT_SYMLINK_FOLLOW, EEXIST, EPERM for a directory, the link count; FIFOs (mkfifo, opens
// that wait for the other end, O_NONBLOCK's ENXIO and EOF, mknod of a regular file).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static struct stat look(const char *path) {
    struct stat status;
    memset(&status, 0, sizeof status);
    lstat(path, &status);
    return status;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char directory[] = "/tmp/attributes-XXXXXX";
    mkdtemp(directory);
    char file[64], symbolic[64], missing[64];
    snprintf(file, sizeof file, "%s/file", directory);
    snprintf(symbolic, sizeof symbolic, "%s/link", directory);
    snprintf(missing, sizeof missing, "%s/missing", directory);

    int absent = utimensat(AT_FDCWD, missing, NULL, 0) == -1 ? errno : 0;
    int absent_chmod = chmod(missing, 0600) == -1 ? errno : 0;
    struct timespec both_omitted[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    int omitted = utimensat(AT_FDCWD, missing, both_omitted, 0);  // Linux does not look at the path
    int fd = open(file, O_CREAT | O_RDWR, 0644);
    int changed = chmod(file, 04751);
    struct stat after = look(file);
    fchmod(fd, 0640);
    struct stat by_fd = look(file);
    fchmodat(AT_FDCWD, file, 04755, 0);
    printf("chmod: absent errno %d %d (both omitted %d), chmod %d mode %o, fchmod %o, fchmodat %o\n", absent, absent_chmod, omitted, changed,
           after.st_mode & 07777,
           by_fd.st_mode & 07777, look(file).st_mode & 07777);

    int same = chown(file, -1, -1);
    struct stat unchanged = look(file);
    int owned = chown(file, 5, 6);
    struct stat now_owned = look(file);
    symlink("file", symbolic);
    int link_owned = lchown(symbolic, 7, 8);
    struct stat link_status = look(symbolic);
    printf("chown: %d mode kept %o, %d to %d:%d with set-user-ID cleared %o, lchown %d link %d:%d file still %d:%d\n", same,
           unchanged.st_mode & 07777, owned, now_owned.st_uid, now_owned.st_gid, now_owned.st_mode & 07777, link_owned, link_status.st_uid,
           link_status.st_gid, look(file).st_uid, look(file).st_gid);

    struct timespec times[2] = {{1000000000, 5}, {1100000000, 6}};
    int set = utimensat(AT_FDCWD, file, times, 0);
    struct stat timed = look(file);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
    utimensat(AT_FDCWD, file, omit, 0);
    struct stat half = look(file);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    int invalid = utimensat(AT_FDCWD, file, bad, 0) == -1 ? errno : 0;
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    int by_descriptor = futimens(fd, now);
    struct stat touched = look(file);
    struct timeval old_style[2] = {{1300000000, 7}, {1400000000, 8}};
    int utimed = utimes(file, old_style);
    struct stat classic = look(file);
    printf("times: %d atime %ld.%09ld mtime %ld.%09ld; omit keeps atime %d, mtime %ld; bad nanoseconds errno %d; futimens %d atime now %d mtime kept %d; utimes %d %ld.%09ld %ld.%09ld\n",
           set, (long)timed.st_atim.tv_sec, timed.st_atim.tv_nsec, (long)timed.st_mtim.tv_sec, timed.st_mtim.tv_nsec,
           half.st_atim.tv_sec == 1000000000, (long)half.st_mtim.tv_sec, invalid, by_descriptor, touched.st_atim.tv_sec > 1700000000,
           touched.st_mtim.tv_sec == 1200000000, utimed, (long)classic.st_atim.tv_sec, classic.st_atim.tv_nsec, (long)classic.st_mtim.tv_sec,
           classic.st_mtim.tv_nsec);
    char second[64], followed[64], plain[64];
    snprintf(second, sizeof second, "%s/second", directory);
    snprintf(followed, sizeof followed, "%s/followed", directory);
    snprintf(plain, sizeof plain, "%s/plain", directory);
    int linked = link(file, second);
    nlink_t count = look(file).st_nlink;
    int exists = link(file, second) == -1 ? errno : 0;
    int of_directory = link(directory, plain) == -1 ? errno : 0;
    int follow = linkat(AT_FDCWD, symbolic, AT_FDCWD, followed, AT_SYMLINK_FOLLOW);
    int no_follow = linkat(AT_FDCWD, symbolic, AT_FDCWD, plain, 0);
    int bad_flags = linkat(AT_FDCWD, file, AT_FDCWD, plain, 0x2) == -1 ? errno : 0;
    unlink(file);
    struct stat survivor = look(second);
    printf("link: %d count %lu, again errno %d, directory errno %d; linkat followed %d a file %d, not followed %d a symlink %d, bad flags errno %d; after unlink %lu links, %o\n",
           linked, (unsigned long)count, exists, of_directory, follow, S_ISREG(look(followed).st_mode), no_follow, S_ISLNK(look(plain).st_mode),
           bad_flags, (unsigned long)survivor.st_nlink, survivor.st_mode & 07777);
    char fifo[64], node[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", directory);
    snprintf(node, sizeof node, "%s/node", directory);
    int made = mkfifo(fifo, 0640);
    struct stat fifo_status = look(fifo);
    int lonely_writer = open(fifo, O_WRONLY | O_NONBLOCK) == -1 ? errno : 0;
    int lonely_reader = open(fifo, O_RDONLY | O_NONBLOCK);
    char byte;
    ssize_t at_end = read(lonely_reader, &byte, 1);  // no writer: end of file
    close(lonely_reader);
    pid_t writer = fork();
    if (writer == 0) {
        int out = open(fifo, O_WRONLY);  // waits for the reader
        write(out, "fifo!", 5);
        _exit(0);
    }
    int in = open(fifo, O_RDONLY);  // waits for the writer
    char got[8] = {0};
    ssize_t through = read(in, got, sizeof got - 1);
    int status;
    waitpid(writer, &status, 0);
    close(in);
    int regular = mknod(node, S_IFREG | 0600, 0);
    int directory_node = mknod(node, S_IFDIR | 0700, 0) == -1 ? errno : 0;
    printf("fifo: %d type fifo %d mode %o, lonely writer errno %d, lonely reader end %zd, through %zd \"%s\"; mknod regular %d %d, directory errno %d\n",
           made, S_ISFIFO(fifo_status.st_mode), fifo_status.st_mode & 0777, lonely_writer, at_end, through, got, regular, S_ISREG(look(node).st_mode),
           directory_node);
    unlink(fifo);
    unlink(node);
    close(fd);
    unlink(symbolic);
    unlink(second);
    unlink(followed);
    unlink(plain);
    rmdir(directory);
    return 0;
}
