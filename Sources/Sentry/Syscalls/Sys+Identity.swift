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
