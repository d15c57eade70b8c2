import LinuxABI

extension Syscalls {
    /// Implements Linux exit(2): the calling thread ends (its CLONE_CHILD_CLEARTID word is
    /// cleared and woken); the last thread to end ends the process with the low 8 bits of its
    /// status.
    static func exit(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .exitThread(Int32(truncatingIfNeeded: arguments[0]))
    }

    /// Implements Linux exit_group(2).
    static func exitGroup(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .exitGroup(Int32(truncatingIfNeeded: arguments[0]))
    }
}
