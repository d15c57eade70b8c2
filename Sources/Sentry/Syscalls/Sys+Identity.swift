import LinuxABI

extension Syscalls {
    /// Implements Linux getpid(2): pids count from 1 (init) in the sandbox's pid namespace.
    static func getpid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.pid))
    }

    /// Implements Linux gettid(2): the first thread's tid is the process's pid.
    static func gettid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.tid))
    }
}

extension Syscalls {
    /// Implements Linux getuid(2), geteuid(2), getgid(2) and getegid(2): the sandbox's
    /// first process runs as root (uid and gid 0) until the OCI process user is applied.
    static func getuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome { .value(0) }

    /// Implements Linux getppid(2): init's parent is outside the sandbox, so 0.
    static func getppid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(task.parentPID))
    }
}
