import LinuxABI

extension Syscalls {
    /// open(2) flags the Sentry accepts. O_CREAT works where the file system allows it (tmpfs);
    /// the gofer's root is read-only until the overlay lands (EROFS).
    static let knownOpenFlags: Int32 = 0o3 | 0o100 | 0o200 | 0o400 | 0o1000 | 0o2000 | 0o4000 | 0o10000 | 0o20000
        | 0o40000 | 0o100000 | 0o200000 | 0o400000 | 0o1000000 | 0o2000000 | 0o10000000 | 0o20000000

    /// Implements Linux open(2).
    static func open(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try openAt(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], flags: arguments[1], mode: arguments[2])
    }

    /// Implements Linux creat(2): open with O_CREAT|O_WRONLY|O_TRUNC.
    static func creat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try openAt(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], flags: 0o1101, mode: arguments[1])
    }

    /// Implements Linux openat(2): resolves the path (following a final symlink unless
    /// O_NOFOLLOW, which then gives ELOOP), checks O_DIRECTORY, and opens the file.
    static func openat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try openAt(task, directoryFD: fd(arguments[0]), path: arguments[1], flags: arguments[2], mode: arguments[3])
    }

    /// O_PATH: a descriptor for the name only, opened without permission checks.
    static let openPath: Int32 = 0o10000000

    private static func openAt(_ task: Task, directoryFD: Int32, path: UInt64, flags raw: UInt64, mode: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        let flags = OpenFlags(rawValue: Int32(truncatingIfNeeded: raw) & knownOpenFlags)
        if flags.rawValue & 0o20000000 != 0 { throw .EOPNOTSUPP }  // O_TMPFILE
        let dentry: Dentry
        var created = false
        let pathOnly = flags.rawValue & openPath != 0
        if flags.contains(.create) && !pathOnly {
            switch Result(catching: { () throws(LinuxErrno) in
                try task.resolve(directoryFD: directoryFD, pathAddress: path, followFinal: !flags.contains(.noFollow))
            }) {
            case .success(let existing):
                if flags.contains(.exclusive) { throw .EEXIST }
                dentry = existing
            case .failure(.ENOENT):
                let (parent, name) = try task.resolveParent(directoryFD: directoryFD, pathAddress: path)
                try task.requireMayChange(parent)
                let inode = try parent.inode.create(name, mode: UInt32(truncatingIfNeeded: mode) & ~task.umask)
                dentry = Dentry(inode: inode, name: name, parent: parent)
                created = true
            case .failure(let error):
                throw error
            }
        } else {
            dentry = try task.resolve(directoryFD: directoryFD, pathAddress: path, followFinal: !flags.contains(.noFollow))
        }
        let status = try dentry.inode.stat()
        let type = status.mode & FileMode.typeMask
        if flags.contains(.noFollow) && type == FileMode.symlink && !pathOnly { throw .ELOOP }
        if flags.contains(.directory) && type != FileMode.directory { throw .ENOTDIR }
        if type == FileMode.directory && flags.rawValue & OpenFlags.accessModeMask != 0 && !pathOnly { throw .EISDIR }
        if !created && !pathOnly {
            // may_open: the access the mode asks for, and writing for O_TRUNC.
            var access: Access = []
            switch flags.rawValue & OpenFlags.accessModeMask {
            case OpenFlags.writeOnly.rawValue: access = .write
            case OpenFlags.readWrite.rawValue: access = [.read, .write]
            default: access = .read
            }
            if flags.contains(.truncate) { access.insert(.write) }
            try task.requirePermission(access, to: dentry.inode, status: status)
        }
        if pathOnly {
            // Only the name: no access mode, no O_TRUNC, nothing opened (Linux keeps O_PATH,
            // O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC of the flags).
            let file = FileDescription(PathOnlyFile(dentry.inode), flags: flags.intersection([.directory, .noFollow]), dentry: dentry)
            return .value(Int64(try task.fds.add(file, closeOnExec: flags.contains(.closeOnExec))))
        }
        let operations = try dentry.inode.open(flags: flags)
        let statusFlags = flags.intersection([.writeOnly, .readWrite, .append, .nonBlocking, .directory, .noFollow])
        let file = FileDescription(operations, flags: statusFlags, dentry: dentry)
        return .value(Int64(try task.fds.add(file, closeOnExec: flags.contains(.closeOnExec))))
    }

    /// Implements Linux getdents64(2).
    static func getdents64(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        let records = try file.operations.readDirectory(maximumBytes: Int(min(UInt64(UInt32(truncatingIfNeeded: arguments[2])), UInt64(Int32.max))))
        try task.mm.copyOut(records, to: arguments[1])
        return .value(Int64(records.count))
    }

    /// Implements Linux getdents(2), the older form: getdents64's entries as `struct
    /// linux_dirent` (the type in the record's last byte, after the name's NUL). A record of
    /// either form has the same length for the same name, so a buffer holds as many.
    static func getdents(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        let records = try file.operations.readDirectory(maximumBytes: Int(min(UInt64(UInt32(truncatingIfNeeded: arguments[2])), UInt64(Int32.max))))
        var converted = [UInt8](repeating: 0, count: records.count)
        var offset = 0
        while offset + 19 <= records.count {
            let length = Int(records[offset + 16]) | Int(records[offset + 17]) << 8
            guard length >= 20, offset + length <= records.count else { break }
            let type = records[offset + 18]
            let name = records[(offset + 19)..<(offset + length)].prefix { $0 != 0 }
            converted.replaceSubrange(offset..<(offset + 18), with: records[offset..<(offset + 18)])  // ino, off, reclen
            converted.replaceSubrange((offset + 18)..<(offset + 18 + name.count), with: name)
            converted[offset + length - 1] = type
            offset += length
        }
        try task.mm.copyOut(Array(converted[0..<offset]), to: arguments[1])
        return .value(Int64(offset))
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

    /// Implements Linux faccessat(2), which has no flags argument.
    static func faccessat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try access(task, directoryFD: fd(arguments[0]), path: arguments[1], mode: arguments[2], flags: 0)
    }

    /// Implements Linux faccessat2(2): AT_EACCESS, AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH.
    static func faccessat2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try access(task, directoryFD: fd(arguments[0]), path: arguments[1], mode: arguments[2], flags: arguments[3])
    }

    /// The checks of access(2): with the real ids (the effective ones with AT_EACCESS), read,
    /// write and execute permission as `Credentials.mayAccess` gives them (EACCES); W_OK is
    /// EROFS on the read-only root without an overlay.
    private static func access(_ task: Task, directoryFD: Int32, path: UInt64, mode: UInt64, flags: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        guard mode & ~7 == 0 else { throw .EINVAL }
        let allowed = UInt64(AtFlags.symlinkNoFollow | AtFlags.emptyPath | 0x200)  // 0x200: AT_EACCESS
        guard flags & ~allowed == 0 else { throw .EINVAL }
        // The whole lookup runs with the checking ids, as Linux's access_override_creds.
        let credentials = flags & 0x200 != 0 ? task.group.credentials : task.group.credentials.forAccessCheck
        task.credentialOverride = credentials
        defer { task.credentialOverride = nil }
        let dentry = try task.resolve(
            directoryFD: directoryFD, pathAddress: path, followFinal: flags & UInt64(AtFlags.symlinkNoFollow) == 0,
            allowEmpty: flags & UInt64(AtFlags.emptyPath) != 0)
        let stat = try dentry.inode.stat()
        if mode & 2 != 0 && dentry.inode.isOnReadOnlyFileSystem { throw .EROFS }
        try credentials.require(Access(rawValue: UInt32(mode)), to: stat)
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
        let status = try dentry.inode.stat()
        guard status.mode & FileMode.typeMask == FileMode.directory else { throw .ENOTDIR }
        try task.group.credentials.require(.execute, to: status)
        task.cwd = dentry
        return .value(0)
    }

    /// Implements Linux fchdir(2).
    static func fchdir(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        guard let dentry = file.dentry else { throw .ENOTDIR }
        let status = try dentry.inode.stat()
        guard status.mode & FileMode.typeMask == FileMode.directory else { throw .ENOTDIR }
        try task.group.credentials.require(.execute, to: status)
        task.cwd = dentry
        return .value(0)
    }
}

extension Syscalls {
    /// Implements Linux mkdir(2).
    static func mkdir(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeDirectory(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], mode: arguments[1])
    }

    /// Implements Linux mkdirat(2).
    static func mkdirat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeDirectory(task, directoryFD: fd(arguments[0]), path: arguments[1], mode: arguments[2])
    }

    private static func makeDirectory(_ task: Task, directoryFD: Int32, path: UInt64, mode: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        let (parent, name) = try task.resolveParent(directoryFD: directoryFD, pathAddress: path)
        if task.exists(name, in: parent) { throw .EEXIST }
        try task.requireMayChange(parent)
        try parent.inode.makeDirectory(name, mode: UInt32(truncatingIfNeeded: mode) & 0o7777 & ~task.umask)
        return .value(0)
    }

    /// Implements Linux unlink(2).
    static func unlink(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try remove(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], directory: false)
    }

    /// Implements Linux rmdir(2).
    static func rmdir(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try remove(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], directory: true)
    }

    /// Implements Linux unlinkat(2) (AT_REMOVEDIR removes a directory).
    static func unlinkat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[2])
        guard flags & ~AtFlags.removeDirectory == 0 else { throw .EINVAL }
        return try remove(task, directoryFD: fd(arguments[0]), path: arguments[1], directory: flags != 0)
    }

    private static func remove(_ task: Task, directoryFD: Int32, path: UInt64, directory: Bool) throws(LinuxErrno) -> SyscallOutcome {
        let (parent, name) = try task.resolveParent(directoryFD: directoryFD, pathAddress: path)
        try task.requireMayDelete(name, from: parent)
        try parent.inode.remove(name, directory: directory)
        return .value(0)
    }

    /// Implements Linux rename(2).
    static func rename(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try rename(task, AtFlags.currentDirectory, arguments[0], AtFlags.currentDirectory, arguments[1], flags: 0)
    }

    /// Implements Linux renameat(2).
    static func renameat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try rename(task, fd(arguments[0]), arguments[1], fd(arguments[2]), arguments[3], flags: 0)
    }

    /// Implements Linux renameat2(2) without flags (RENAME_NOREPLACE and RENAME_EXCHANGE are
    /// EINVAL until tmpfs supports them).
    static func renameat2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try rename(task, fd(arguments[0]), arguments[1], fd(arguments[2]), arguments[3], flags: arguments[4])
    }

    private static func rename(_ task: Task, _ oldFD: Int32, _ oldPath: UInt64, _ newFD: Int32, _ newPath: UInt64, flags: UInt64)
        throws(LinuxErrno) -> SyscallOutcome
    {
        guard flags == 0 else { throw .EINVAL }
        let (oldParent, oldName) = try task.resolveParent(directoryFD: oldFD, pathAddress: oldPath)
        let (newParent, newName) = try task.resolveParent(directoryFD: newFD, pathAddress: newPath)
        // A directory cannot move into itself or below itself (EINVAL, as Linux): that would
        // cut it off from the tree and make a cycle.
        let moving = try oldParent.inode.lookup(oldName)
        // may_delete of the old name, may_create (or may_delete of a name replaced) of the
        // new, and a directory moving to another parent must be writable (its ".." changes).
        try task.requireMayDelete(oldName, from: oldParent)
        if task.exists(newName, in: newParent) { try task.requireMayDelete(newName, from: newParent) } else { try task.requireMayChange(newParent) }
        let movingStatus = try moving.stat()
        if movingStatus.mode & FileMode.typeMask == FileMode.directory && newParent.inode !== oldParent.inode {
            try task.group.credentials.require(.write, to: movingStatus)
        }
        var ancestor = newParent
        while true {
            if ancestor.inode === moving { throw .EINVAL }
            if ancestor.isRoot { break }
            ancestor = ancestor.parent
        }
        try oldParent.inode.rename(oldName, to: newParent.inode, as: newName)
        return .value(0)
    }

    /// Implements Linux symlink(2).
    static func symlink(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeSymlink(task, target: arguments[0], directoryFD: AtFlags.currentDirectory, path: arguments[1])
    }

    /// Implements Linux symlinkat(2).
    static func symlinkat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeSymlink(task, target: arguments[0], directoryFD: fd(arguments[1]), path: arguments[2])
    }

    /// Implements Linux mknod(2) and mknodat(2): a regular file (S_IFREG or no type), a FIFO
    /// or a socket file, with the mode less the umask; device files are EPERM (the sandbox
    /// has no CAP_MKNOD, as a container by default), a directory too (as Linux's may_mknod);
    /// another type is EINVAL.
    static func mknod(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeNode(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], mode: UInt32(truncatingIfNeeded: arguments[1]))
    }

    static func mknodat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeNode(task, directoryFD: fd(arguments[0]), path: arguments[1], mode: UInt32(truncatingIfNeeded: arguments[2]))
    }

    private static func makeNode(_ task: Task, directoryFD: Int32, path: UInt64, mode: UInt32) throws(LinuxErrno) -> SyscallOutcome {
        let type = mode & FileMode.typeMask
        let permissions = mode & 0o7777 & ~task.umask
        switch type {
        case 0, FileMode.regular, FileMode.fifo, FileMode.socket: break
        case FileMode.character, FileMode.block, FileMode.directory: throw .EPERM  // Linux's may_mknod
        default: throw .EINVAL
        }
        let (parent, name) = try task.resolveParent(directoryFD: directoryFD, pathAddress: path)
        if task.exists(name, in: parent) { throw .EEXIST }
        try task.requireMayChange(parent)
        switch type {
        case FileMode.fifo: try parent.inode.makeFifo(name, mode: permissions)
        case FileMode.socket: try parent.inode.makeSocket(name, mode: permissions)
        default: _ = try parent.inode.create(name, mode: permissions)
        }
        return .value(0)
    }

    /// Implements Linux link(2): a new name for an existing file (not following a final
    /// symlink of the old path, as Linux's link does).
    static func link(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeLink(task, oldDirectoryFD: AtFlags.currentDirectory, oldPath: arguments[0], newDirectoryFD: AtFlags.currentDirectory, newPath: arguments[1], flags: 0)
    }

    /// Implements Linux linkat(2): AT_SYMLINK_FOLLOW follows a final symlink of the old path,
    /// AT_EMPTY_PATH links the file `olddirfd` names; EINVAL for other flags.
    static func linkat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makeLink(
            task, oldDirectoryFD: fd(arguments[0]), oldPath: arguments[1], newDirectoryFD: fd(arguments[2]), newPath: arguments[3],
            flags: Int32(truncatingIfNeeded: arguments[4]))
    }

    static let atSymlinkFollow: Int32 = 0x400

    private static func makeLink(
        _ task: Task, oldDirectoryFD: Int32, oldPath: UInt64, newDirectoryFD: Int32, newPath: UInt64, flags: Int32
    ) throws(LinuxErrno) -> SyscallOutcome {
        guard flags & ~(atSymlinkFollow | AtFlags.emptyPath) == 0 else { throw .EINVAL }
        let target = try attributeTarget(
            task, directoryFD: oldDirectoryFD, path: oldPath, follow: flags & atSymlinkFollow != 0, emptyPath: flags & AtFlags.emptyPath != 0)
        // (A directory is EPERM from `Inode.link`, after the new path's errors, as on Linux.)
        let (parent, name) = try task.resolveParent(directoryFD: newDirectoryFD, pathAddress: newPath)
        if task.exists(name, in: parent) { throw .EEXIST }
        try task.requireMayChange(parent)
        try parent.inode.link(target, as: name)
        return .value(0)
    }

    private static func makeSymlink(_ task: Task, target: UInt64, directoryFD: Int32, path: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        let destination = try task.path(at: target)
        guard !destination.isEmpty else { throw .ENOENT }
        let (parent, name) = try task.resolveParent(directoryFD: directoryFD, pathAddress: path)
        if task.exists(name, in: parent) { throw .EEXIST }
        try task.requireMayChange(parent)
        try parent.inode.makeSymlink(name, target: destination)
        return .value(0)
    }

    /// fallocate(2) modes: FALLOC_FL_KEEP_SIZE and FALLOC_FL_PUNCH_HOLE (with KEEP_SIZE).
    static let fallocKeepSize: UInt64 = 1, fallocPunchHole: UInt64 = 2

    /// Implements Linux fallocate(2) as tmpfs answers it: mode 0 grows the file to cover the
    /// range (zeros); KEEP_SIZE allocates nothing more (the Sentry's files take memory as they
    /// are written) and keeps the size; PUNCH_HOLE|KEEP_SIZE zeroes the range within the
    /// file. Other modes are EOPNOTSUPP, a negative offset or a length not positive EINVAL,
    /// an fd not open for writing EBADF, a pipe or socket ESPIPE, a directory EISDIR, another
    /// file ENODEV, a range past the largest offset EFBIG; the read-only root is EROFS.
    static func fallocate(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (mode, offset, length) = (arguments[1] & 0xffff_ffff, Int64(bitPattern: arguments[2]), Int64(bitPattern: arguments[3]))
        guard offset >= 0, length > 0 else { throw .EINVAL }
        guard mode & ~(fallocKeepSize | fallocPunchHole) == 0, mode & fallocPunchHole == 0 || mode & fallocKeepSize != 0 else {
            throw .EOPNOTSUPP
        }
        let file = try writable(task, arguments[0])
        guard let dentry = file.dentry else { throw file.operations is PipeEnd ? .ESPIPE : .ENODEV }
        let status = try file.stat()
        switch status.mode & FileMode.typeMask {
        case FileMode.regular: break
        case FileMode.directory: throw .EISDIR
        case FileMode.fifo: throw .ESPIPE
        default: throw .ENODEV
        }
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow else { throw .EFBIG }
        if dentry.inode.isOnReadOnlyFileSystem { throw .EROFS }
        if mode & fallocPunchHole != 0 {
            // Zeros over what the file holds of the range now (never past its end: the size stays).
            var position = offset
            while case let size = try file.stat().size, position < min(end, size) {
                let chunk = Int(min(min(end, size) - position, 1 << 20))
                let written = try file.operations.write([UInt8](repeating: 0, count: chunk), at: position)
                guard written > 0 else { break }
                position += Int64(written)
            }
        } else if mode & fallocKeepSize == 0 && end > status.size {
            try dentry.inode.truncate(to: end)
        }
        return .value(0)
    }

    /// Implements Linux ftruncate(2).
    static func ftruncate(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try writable(task, arguments[0])
        guard let dentry = file.dentry else { throw .EINVAL }
        try dentry.inode.truncate(to: Int64(bitPattern: arguments[1]))
        return .value(0)
    }

    /// Implements Linux truncate(2).
    static func truncate(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let dentry = try task.resolve(directoryFD: AtFlags.currentDirectory, pathAddress: arguments[0], followFinal: true)
        let status = try dentry.inode.stat()
        if status.mode & FileMode.typeMask == FileMode.directory { throw .EISDIR }
        try task.requirePermission(.write, to: dentry.inode, status: status)
        try dentry.inode.truncate(to: Int64(bitPattern: arguments[1]))
        return .value(0)
    }

    /// Implements Linux fsync(2) and fdatasync(2): tmpfs and the read-only root have nothing
    /// to flush; the fd must be open.
    static func fsync(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        _ = try task.fds.getOpened(fd(arguments[0]))
        return .value(0)
    }

    /// Implements Linux umask(2).
    static func umask(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let old = task.umask
        task.umask = UInt32(truncatingIfNeeded: arguments[0]) & 0o777
        return .value(Int64(old))
    }
}
