import LinuxABI

/// A syscall handler: Linux semantics, errors as `LinuxErrno` (returned to the program as
/// -errno).
typealias SyscallHandler = @Sendable (Task, SyscallArguments) throws(LinuxErrno) -> SyscallOutcome

/// The handlers, by number, and their rows in the table (`SyscallTable.amd64`).
enum Syscalls {
    static let implemented: [(Sysno, SyscallSupport, SyscallHandler)] = [
        (.write, .partial(note: "fds 1 and 2 only, until the fd table lands"), write),
        (.exit, .partial(note: "single-threaded programs: ends the thread group"), exit),
        (.exit_group, .supported, exitGroup),
        (.getpid, .supported, getpid),
        (.gettid, .partial(note: "single-threaded programs: the thread id is the pid"), gettid),
    ]

    static let handlers: [Sysno: SyscallHandler] = Dictionary(uniqueKeysWithValues: implemented.map { ($0.0, $0.2) })
}
