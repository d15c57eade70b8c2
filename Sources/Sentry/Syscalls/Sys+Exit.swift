import LinuxABI

extension Syscalls {
    /// Implements Linux exit(2) for a single-threaded program: the thread group ends with the
    /// low 8 bits of the status.
    static func exit(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .exitGroup(Int32(truncatingIfNeeded: arguments[0]))
    }

    /// Implements Linux exit_group(2).
    static func exitGroup(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .exitGroup(Int32(truncatingIfNeeded: arguments[0]))
    }
}
