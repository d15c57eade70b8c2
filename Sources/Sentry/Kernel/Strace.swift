import LinuxABI

/// `--strace`: one line per syscall, with its name, decoded arguments and result, as
/// strace(1) prints them ("[pid 1] openat(-100, "/etc/hostname", 0x0) = 3").
enum Strace {
    /// Which argument of a call is a path (a NUL-terminated string), shown as a string.
    static let pathArguments: [Sysno: [Int]] = [
        .open: [0], .openat: [1], .stat: [0], .lstat: [0], .newfstatat: [1], .statx: [1], .access: [0], .faccessat: [1],
        .faccessat2: [1], .readlink: [0], .readlinkat: [1], .execve: [0], .chdir: [0], .mkdir: [0], .mkdirat: [1],
        .unlink: [0], .unlinkat: [1], .rmdir: [0], .rename: [0, 1], .renameat: [1, 3], .renameat2: [1, 3],
        .symlink: [0, 1], .symlinkat: [0, 2], .truncate: [0],
    ]
    /// How many arguments each call takes (calls not listed show six).
    static let argumentCounts: [Sysno: Int] = [
        .read: 3, .write: 3, .open: 3, .openat: 4, .close: 1, .stat: 2, .fstat: 2, .lstat: 2, .newfstatat: 4, .mmap: 6,
        .mprotect: 3, .munmap: 2, .brk: 1, .getpid: 0, .getppid: 0, .gettid: 0, .getuid: 0, .geteuid: 0, .getgid: 0,
        .getegid: 0, .exit_group: 1, .exit: 1, .execve: 3, .wait4: 4, .kill: 2, .pipe2: 2, .dup2: 2, .dup3: 3, .fcntl: 3,
        .ioctl: 3, .getdents64: 3, .readlink: 3, .access: 2, .clone: 5, .fork: 0, .vfork: 0, .rt_sigaction: 4,
        .rt_sigprocmask: 4, .rt_sigreturn: 0, .arch_prctl: 2, .set_tid_address: 1, .uname: 1, .chdir: 1, .getcwd: 2,
        .unlink: 1, .mkdir: 2, .rename: 2, .lseek: 3, .pread64: 4, .pwrite64: 4, .readv: 3, .writev: 3, .futex: 6,
        .clock_gettime: 2, .nanosleep: 2, .statx: 5, .prlimit64: 4, .getrandom: 3, .poll: 3,
    ]

    static func line(_ task: Task, _ sysno: Sysno, _ arguments: SyscallArguments, _ outcome: SyscallOutcome) -> String {
        let count = argumentCounts[sysno] ?? 6
        let paths = pathArguments[sysno] ?? []
        let shown = (0..<count).map { index -> String in
            if paths.contains(index), let path = try? task.mm.copyInString(from: arguments[index], maximum: 256) {
                return "\"" + String(decoding: path, as: UTF8.self) + "\""
            }
            let value = Int64(bitPattern: arguments[index])
            if value >= -4096 && value < 65536 { return String(value) }
            // A negative int in a 64-bit register (AT_FDCWD): show it as the int it is.
            if arguments[index] >> 32 == 0, Int32(truncatingIfNeeded: arguments[index]) < 0, Int32(truncatingIfNeeded: arguments[index]) >= -4096 {
                return String(Int32(truncatingIfNeeded: arguments[index]))
            }
            return "0x" + String(arguments[index], radix: 16)
        }
        let result: String
        switch outcome {
        case .value(let value) where value < 0 && value >= -4095:
            result = "-1 \(LinuxErrno(Int32(-value)).description)"
        case .value(let value):
            result = value >= 0 && value < 65536 ? String(value) : "0x" + String(UInt64(bitPattern: value), radix: 16)
        case .exitThread(let code): result = "? (thread exited \(code))"
        case .exitGroup(let code): result = "? (exited \(code))"
        case .killed(let signal): result = "? (killed by \(signal))"
        case .replaced: result = "? (registers replaced)"
        }
        return "[pid \(task.tid)] \(sysno)(\(shown.joined(separator: ", "))) = \(result)"
    }
}
