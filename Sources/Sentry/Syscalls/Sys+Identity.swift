import LinuxABI

extension Syscalls {
    /// The pid of the sandbox's first process: its PID namespace starts at 1.
    static let initPID: Int64 = 1

    /// Implements Linux getpid(2): the first process of the sandbox is pid 1.
    static func getpid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(initPID)
    }

    /// Implements Linux gettid(2) for a single-threaded program (tid == pid).
    static func gettid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(initPID)
    }
}

extension Syscalls {
    /// Implements Linux getuid(2), geteuid(2), getgid(2) and getegid(2): the sandbox's
    /// first process runs as root (uid and gid 0) until the OCI process user is applied.
    static func getuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome { .value(0) }

    /// The pid of the first process's parent: none inside the sandbox.
    static func getppid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome { .value(0) }
}
