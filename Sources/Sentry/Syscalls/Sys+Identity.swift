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

    /// Implements Linux getgroups(2): the program runs with no supplementary groups.
    static func getgroups(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard Int32(truncatingIfNeeded: arguments[0]) >= 0 else { throw .EINVAL }
        return .value(0)
    }

    /// Implements Linux getresuid(2) and getresgid(2): real, effective and saved ids, all root.
    static func getresuid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        for address in [arguments[0], arguments[1], arguments[2]] { try task.mm.copyOut([0, 0, 0, 0], to: address) }
        return .value(0)
    }
}
