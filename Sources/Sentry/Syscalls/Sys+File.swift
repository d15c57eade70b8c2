import LinuxABI

extension Syscalls {
    /// open(2) flags the Sentry accepts; O_CREAT and friends are EROFS on the read-only root
    /// until the overlay lands.
    static let knownOpenFlags: Int32 = 0o3 | 0o100 | 0o200 | 0o400 | 0o1000 | 0o2000 | 0o4000 | 0o10000 | 0o20000
        | 0o40000 | 0o100000 | 0o200000 | 0o400000 | 0o1000000 | 0o2000000 | 0o10000000 | 0o20000000

    /// Implements Linux open(2).
    static func open(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try openAt(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], flags: arguments[1], mode: arguments[2])
    }

    /// Implements Linux openat(2): resolves the path (following a final symlink unless
    /// O_NOFOLLOW, which then gives ELOOP), checks O_DIRECTORY, and opens the file.
    static func openat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try openAt(task, directoryFD: fd(arguments[0]), path: arguments[1], flags: arguments[2], mode: arguments[3])
    }

    private static func openAt(_ task: Task, directoryFD: Int32, path: UInt64, flags raw: UInt64, mode: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        let flags = OpenFlags(rawValue: Int32(truncatingIfNeeded: raw) & knownOpenFlags)
        if flags.contains(.create) || flags.rawValue & 0o20000000 != 0 { throw .EROFS }  // O_CREAT, O_TMPFILE
        let dentry = try task.resolve(directoryFD: directoryFD, pathAddress: path, followFinal: !flags.contains(.noFollow))
        let type = try dentry.inode.fileType()
        if flags.contains(.noFollow) && type == FileMode.symlink { throw .ELOOP }
        if flags.contains(.directory) && type != FileMode.directory { throw .ENOTDIR }
        if type == FileMode.directory && flags.rawValue & OpenFlags.accessModeMask != 0 { throw .EISDIR }
        let operations = try dentry.inode.open(flags: flags)
        let status = flags.intersection([.writeOnly, .readWrite, .append, .nonBlocking, .directory, .noFollow])
        let file = FileDescription(operations, flags: status, dentry: dentry)
        return .value(Int64(try task.fds.add(file, closeOnExec: flags.contains(.closeOnExec))))
    }

    /// Implements Linux getdents64(2).
    static func getdents64(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        let records = try file.operations.readDirectory(maximumBytes: Int(min(arguments[2], UInt64(Int32.max))))
        try task.mm.copyOut(records, to: arguments[1])
        return .value(Int64(records.count))
    }

    /// Implements Linux readlink(2).
    static func readlink(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try readLink(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], buffer: arguments[1], size: arguments[2])
    }

    /// Implements Linux readlinkat(2).
    static func readlinkat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try readLink(task, directoryFD: fd(arguments[0]), path: arguments[1], buffer: arguments[2], size: arguments[3])
    }

    /// Copies at most `size` bytes of the link's target, not NUL-terminated, as Linux does.
    private static func readLink(_ task: Task, directoryFD: Int32, path: UInt64, buffer: UInt64, size: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        guard Int64(bitPattern: size) > 0 else { throw .EINVAL }
        let dentry = try task.resolve(directoryFD: directoryFD, pathAddress: path, followFinal: false)
        let target = try dentry.inode.readLink()
        let count = min(target.count, Int(min(size, UInt64(Int32.max))))
        try task.mm.copyOut(Array(target[0..<count]), to: buffer)
        return .value(Int64(count))
    }

    /// Implements Linux access(2).
    static func access(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try access(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], mode: arguments[1], flags: 0)
    }

    /// Implements Linux faccessat(2) and faccessat2(2).
    static func faccessat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try access(task, directoryFD: fd(arguments[0]), path: arguments[1], mode: arguments[2], flags: arguments[3])
    }

    /// The checks of access(2) for the sandbox's root user: existence always; W_OK is EROFS on
    /// the read-only root; X_OK needs an execute bit on a non-directory.
    private static func access(_ task: Task, directoryFD: Int32, path: UInt64, mode: UInt64, flags: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        guard mode & ~7 == 0 else { throw .EINVAL }
        let allowed = UInt64(AtFlags.symlinkNoFollow | AtFlags.emptyPath | 0x200)  // 0x200: AT_EACCESS
        guard flags & ~allowed == 0 else { throw .EINVAL }
        let dentry = try task.resolve(
            directoryFD: directoryFD, pathAddress: path, followFinal: flags & UInt64(AtFlags.symlinkNoFollow) == 0,
            allowEmpty: flags & UInt64(AtFlags.emptyPath) != 0)
        let stat = try dentry.inode.stat()
        if mode & 2 != 0 { throw .EROFS }
        if mode & 1 != 0 && stat.mode & FileMode.typeMask != FileMode.directory && stat.mode & 0o111 == 0 { throw .EACCES }
        return .value(0)
    }

    /// Implements Linux getcwd(2): the working directory's path, NUL-terminated; ERANGE if it
    /// does not fit `size`.
    static func getcwd(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard let cwd = task.cwd else { throw .ENOSYS }
        let path = cwd.path + [0]
        guard UInt64(path.count) <= arguments[1] else { throw .ERANGE }
        try task.mm.copyOut(path, to: arguments[0])
        return .value(Int64(path.count))
    }

    /// Implements Linux chdir(2).
    static func chdir(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let dentry = try task.resolve(directoryFD: AtFlags.currentDirectory, pathAddress: arguments[0], followFinal: true)
        guard try dentry.inode.fileType() == FileMode.directory else { throw .ENOTDIR }
        task.cwd = dentry
        return .value(0)
    }

    /// Implements Linux fchdir(2).
    static func fchdir(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        guard let dentry = file.dentry, try dentry.inode.fileType() == FileMode.directory else { throw .ENOTDIR }
        task.cwd = dentry
        return .value(0)
    }
}
