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

    /// Implements Linux stat(2).
    static func stat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let dentry = try task.resolve(directoryFD: AtFlags.currentDirectory, pathAddress: arguments[0], followFinal: true)
        try copyOut(try dentry.inode.stat(), task, to: arguments[1])
        return .value(0)
    }

    /// Implements Linux lstat(2).
    static func lstat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let dentry = try task.resolve(directoryFD: AtFlags.currentDirectory, pathAddress: arguments[0], followFinal: false)
        try copyOut(try dentry.inode.stat(), task, to: arguments[1])
        return .value(0)
    }

    /// Implements Linux newfstatat(2): AT_EMPTY_PATH stats the fd itself (which need not be in
    /// the tree: pipes, the sandbox's stdio); AT_SYMLINK_NOFOLLOW stats a final symlink.
    static func newfstatat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[3])
        guard flags & ~(AtFlags.emptyPath | AtFlags.symlinkNoFollow | 0x800) == 0 else { throw .EINVAL }  // 0x800: AT_NO_AUTOMOUNT
        let directoryFD = fd(arguments[0])
        if flags & AtFlags.emptyPath != 0, try task.mm.copyIn(from: arguments[1], count: 1) == [0] {
            let file = try task.fds.get(directoryFD)
            try copyOut(try file.operations.stat(), task, to: arguments[2])
            return .value(0)
        }
        let dentry = try task.resolve(
            directoryFD: directoryFD, pathAddress: arguments[1], followFinal: flags & AtFlags.symlinkNoFollow == 0)
        try copyOut(try dentry.inode.stat(), task, to: arguments[2])
        return .value(0)
    }
}
