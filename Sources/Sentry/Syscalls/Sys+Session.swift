import LinuxABI

/// Process groups and sessions (credentials(7)): setpgid, getpgid, getpgrp, setsid and
/// getsid over the sandbox's process table, where a child starts in its parent's group and
/// session and init leads its own. kill(2) and wait4(2) use the groups (Sys+Signal,
/// Sys+Process). There is no job control yet: no controlling terminal's foreground group,
/// and stop signals are dropped.
extension Syscalls {
    /// Implements Linux setpgid(2): `pid` 0 is the caller, `pgid` 0 is `pid`; EINVAL for a
    /// negative group (checked first, as Linux does), ESRCH for a negative pid, and
    /// `Sandbox.setProcessGroup`'s checks.
    static func setpgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (pid, group) = (Int32(truncatingIfNeeded: arguments[0]), Int32(truncatingIfNeeded: arguments[1]))
        let target = pid == 0 ? task.pid : pid
        let newGroup = group == 0 ? target : group
        guard newGroup >= 0 else { throw .EINVAL }
        guard target > 0 else { throw .ESRCH }
        try task.sandbox.setProcessGroup(target, to: newGroup, caller: task.pid)
        return .value(0)
    }

    /// Implements Linux getpgid(2) (`pid` 0: the caller); ESRCH for no such process.
    static func getpgid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let pid = Int32(truncatingIfNeeded: arguments[0])
        guard pid >= 0 else { throw .ESRCH }
        return .value(Int64(try task.sandbox.processGroup(of: pid == 0 ? task.pid : pid).group))
    }

    /// Implements Linux getpgrp(2): the caller's process group.
    static func getpgrp(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(try task.sandbox.processGroup(of: task.pid).group))
    }

    /// Implements Linux setsid(2): the caller leads a new session and process group (EPERM if
    /// it leads a process group already); returns the new session's id.
    static func setsid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(Int64(try task.sandbox.newSession(task.pid)))
    }

    /// Implements Linux getsid(2) (`pid` 0: the caller); ESRCH for no such process.
    static func getsid(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let pid = Int32(truncatingIfNeeded: arguments[0])
        guard pid >= 0 else { throw .ESRCH }
        return .value(Int64(try task.sandbox.processGroup(of: pid == 0 ? task.pid : pid).session))
    }
}
