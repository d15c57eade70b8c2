import LinuxABI

extension Syscalls {
    /// Copies `stat` to the program as x86-64 `struct stat` (144 bytes).
    static func copyOut(_ stat: LinuxStat, _ task: Task, to address: UInt64) throws(LinuxErrno) {
        try task.mm.copyOut(withUnsafeBytes(of: stat) { Array($0) }, to: address)
    }

    /// Implements Linux fstat(2).
    static func fstat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        try copyOut(try file.operations.stat(), task, to: arguments[1])
        return .value(0)
    }

    /// Implements Linux newfstatat(2) for an empty path with AT_EMPTY_PATH (fstat of the fd).
    /// Path lookups are ENOSYS until the VFS lands.
    static func newfstatat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[3])
        guard flags & ~(AtFlags.emptyPath | AtFlags.symlinkNoFollow | 0x800) == 0 else { throw .EINVAL }  // 0x800: AT_NO_AUTOMOUNT
        let firstByte = try task.mm.copyIn(from: arguments[1], count: 1)
        guard firstByte == [0] else { throw .ENOSYS }
        guard flags & AtFlags.emptyPath != 0 else { throw .ENOENT }
        let file = try task.fds.get(fd(arguments[0]))
        try copyOut(try file.operations.stat(), task, to: arguments[2])
        return .value(0)
    }
}
