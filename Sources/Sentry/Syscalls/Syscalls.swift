import LinuxABI

/// A syscall handler: Linux semantics, errors as `LinuxErrno` (returned to the program as
/// -errno).
typealias SyscallHandler = @Sendable (Task, SyscallArguments) throws(LinuxErrno) -> SyscallOutcome

/// The handlers, by number, and their rows in the table (`SyscallTable.amd64`).
enum Syscalls {
    static let implemented: [(Sysno, SyscallSupport, SyscallHandler)] = [
        (.read, .supported, read),
        (.write, .supported, write),
        (.pread64, .supported, pread64),
        (.pwrite64, .supported, pwrite64),
        (.readv, .supported, readv),
        (.writev, .supported, writev),
        (.lseek, .supported, lseek),
        (.close, .supported, close),
        (.dup, .supported, dup),
        (.dup2, .supported, dup2),
        (.dup3, .supported, dup3),
        (.fcntl, .partial(note: "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL; others ENOSYS"), fcntl),
        (.ioctl, .partial(note: "passed to the open file: terminal requests are ENOTTY until ttys land"), ioctl),
        (.fstat, .supported, fstat),
        (.newfstatat, .supported, newfstatat),
        (.stat, .supported, stat),
        (.lstat, .supported, lstat),
        (.open, .partial(note: "the root is read-only until the overlay lands: O_CREAT and writes are EROFS"), open),
        (.openat, .partial(note: "the root is read-only until the overlay lands: O_CREAT and writes are EROFS"), openat),
        (.getdents64, .partial(note: "lseek on a directory rewinds only"), getdents64),
        (.readlink, .supported, readlink),
        (.readlinkat, .supported, readlinkat),
        (.access, .partial(note: "checks as root; W_OK is EROFS on the read-only root"), access),
        (.faccessat, .partial(note: "checks as root; W_OK is EROFS on the read-only root"), faccessat),
        (.faccessat2, .partial(note: "checks as root; W_OK is EROFS on the read-only root"), faccessat),
        (.getcwd, .supported, getcwd),
        (.chdir, .supported, chdir),
        (.fchdir, .supported, fchdir),
        (.exit, .partial(note: "single-threaded programs: ends the thread group"), exit),
        (.exit_group, .supported, exitGroup),
        (.getpid, .supported, getpid),
        (.getppid, .supported, getppid),
        (.gettid, .partial(note: "single-threaded programs: the thread id is the pid"), gettid),
        (.getuid, .partial(note: "root until the OCI process user is applied"), getuid),
        (.geteuid, .partial(note: "root until the OCI process user is applied"), getuid),
        (.getgid, .partial(note: "root until the OCI process user is applied"), getuid),
        (.getegid, .partial(note: "root until the OCI process user is applied"), getuid),
        (.brk, .supported, brk),
        (.mmap, .partial(note: "anonymous mappings only, until the VFS lands"), mmap),
        (.munmap, .supported, munmap),
        (.mprotect, .supported, mprotect),
        (.arch_prctl, .supported, archPrctl),
        (.set_tid_address, .partial(note: "the address is recorded; clearing it at exit comes with threads"), setTIDAddress),
        (.set_robust_list, .partial(note: "recorded; robust futexes come with futexes"), setRobustList),
        (.prctl, .partial(note: "PR_SET_NAME and PR_GET_NAME only; other options are EINVAL"), prctl),
        (.prlimit64, .partial(note: "the calling process only"), prlimit64),
        (.getrlimit, .supported, getrlimit),
        (.setrlimit, .supported, setrlimit),
        (.uname, .supported, uname),
        (.getrandom, .supported, getrandom),
    ]

    static let handlers: [Sysno: SyscallHandler] = Dictionary(uniqueKeysWithValues: implemented.map { ($0.0, $0.2) })
}
