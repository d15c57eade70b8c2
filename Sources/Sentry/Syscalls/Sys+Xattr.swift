import LinuxABI

extension Syscalls {
    /// Implements Linux getxattr(2), lgetxattr(2), listxattr(2) and llistxattr(2) for file
    /// systems without extended attributes (the gofer does not serve them yet): the path is
    /// resolved as usual, then EOPNOTSUPP, as Linux answers for such a file system.
    static func pathXattr(followFinal: Bool) -> SyscallHandler {
        { (task, arguments) throws(LinuxErrno) in
            _ = try task.resolve(directoryFD: AtFlags.currentDirectory, pathAddress: arguments[0], followFinal: followFinal)
            throw .EOPNOTSUPP
        }
    }

    /// Implements Linux fgetxattr(2) and flistxattr(2) likewise.
    static func fdXattr(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        _ = try task.fds.get(fd(arguments[0]))
        throw .EOPNOTSUPP
    }
}
