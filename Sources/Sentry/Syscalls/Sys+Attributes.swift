import LinuxABI

/// A file's mode, owner and times (chmod(2), chown(2), utimensat(2) and their older forms),
/// through `Inode.setAttributes`: tmpfs and the overlay's upper layer keep them (a lower file
/// is copied up first); the read-only root without an overlay is EROFS.
extension Syscalls {
    /// The file `directoryFD`/`path` names, following a final symlink unless `follow` is
    /// false; with AT_EMPTY_PATH and an empty path, or a NULL path where utimensat allows one
    /// (`nullPathIsFile`), the file `directoryFD` itself. A file without a name (a pipe, a
    /// socket) is EINVAL; another NULL path is EFAULT.
    static func attributeTarget(
        _ task: Task, directoryFD: Int32, path: UInt64, follow: Bool, emptyPath: Bool = false, nullPathIsFile: Bool = false
    ) throws(LinuxErrno) -> any Inode {
        if path == 0 && (!nullPathIsFile || directoryFD == AtFlags.currentDirectory) { throw .EFAULT }
        var isEmpty = path == 0
        if !isEmpty && emptyPath { isEmpty = try task.mm.copyIn(from: path, count: 1) == [0] }
        if isEmpty {
            // The file the fd names; with AT_FDCWD, the current directory.
            if directoryFD == AtFlags.currentDirectory, let cwd = task.cwd { return cwd.inode }
            guard let dentry = try task.fds.get(directoryFD).dentry else { throw .EINVAL }
            return dentry.inode
        }
        return try task.resolve(directoryFD: directoryFD, pathAddress: path, followFinal: follow).inode
    }

    /// Applies `change` to `inode` if the caller may, as Linux's setattr_prepare: the owner
    /// (or CAP_FOWNER) may change the mode and set times, and set-group-ID goes from a mode
    /// whose group the caller is not in (without CAP_FSETID); only CAP_CHOWN changes the
    /// owner, and the owner may change the group to one of its own; setting both times to
    /// now needs only write permission (any other times need the owner: UTIME_NOW with
    /// UTIME_OMIT too). EPERM (EACCES for the times' write check) otherwise; EROFS first on
    /// the read-only root.
    static func changeAttributes(_ task: Task, _ inode: any Inode, _ change: AttributeChange) throws(LinuxErrno) {
        if inode.isOnReadOnlyFileSystem { throw .EROFS }
        let credentials = task.group.credentials
        let status = try inode.stat()
        var change = change
        let owner = credentials.ownsOrMayOverride(status)
        if let uid = change.uid, !credentials.has(Capability.chown), !(uid == status.uid && status.uid == credentials.fileSystemUID) {
            throw .EPERM
        }
        if let gid = change.gid, !credentials.has(Capability.chown),
            !(status.uid == credentials.fileSystemUID && (gid == status.gid || credentials.inGroup(gid)))
        {
            throw .EPERM
        }
        if var mode = change.mode {
            guard owner else { throw .EPERM }
            if !credentials.inGroup(change.gid ?? status.gid) && !credentials.has(Capability.fsetid) { mode &= ~FileMode.setGID }
            change.mode = mode
        }
        if change.accessTime != nil || change.modificationTime != nil {
            var touch = true  // both now: Linux's ATTR_TOUCH
            for time in [change.accessTime, change.modificationTime] {
                if case .now? = time { continue }
                touch = false
            }
            if !owner {
                guard touch else { throw .EPERM }
                try credentials.require(.write, to: status)
            }
        }
        try inode.setAttributes(change)
    }

    /// Implements Linux chmod(2).
    static func chmod(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let inode = try attributeTarget(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], follow: true)
        try changeAttributes(task, inode, AttributeChange(mode: UInt32(truncatingIfNeeded: arguments[1])))
        return .value(0)
    }

    /// Implements Linux fchmod(2).
    static func fchmod(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard let dentry = try task.fds.getOpened(fd(arguments[0])).dentry else { throw .EINVAL }
        try changeAttributes(task, dentry.inode, AttributeChange(mode: UInt32(truncatingIfNeeded: arguments[1])))
        return .value(0)
    }

    /// Implements Linux fchmodat(2) (which has no flags; glibc answers AT_SYMLINK_NOFOLLOW itself).
    static func fchmodat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let inode = try attributeTarget(task, directoryFD: fd(arguments[0]), path: arguments[1], follow: true)
        try changeAttributes(task, inode, AttributeChange(mode: UInt32(truncatingIfNeeded: arguments[2])))
        return .value(0)
    }

    /// An owner argument of chown: -1 leaves it.
    static func owner(_ value: UInt64) -> UInt32? {
        let id = UInt32(truncatingIfNeeded: value)
        return id == UInt32.max ? nil : id
    }

    /// Implements Linux chown(2) and lchown(2) (`follow` false).
    static func chown(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try changeOwner(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], uid: arguments[1], gid: arguments[2], follow: true)
    }

    static func lchown(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try changeOwner(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], uid: arguments[1], gid: arguments[2], follow: false)
    }

    /// Implements Linux fchown(2).
    static func fchown(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard let dentry = try task.fds.getOpened(fd(arguments[0])).dentry else { throw .EINVAL }
        try changeAttributes(task, dentry.inode, .owner(uid: owner(arguments[1]), gid: owner(arguments[2])))
        return .value(0)
    }

    /// Implements Linux fchownat(2): AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH; EINVAL for others.
    static func fchownat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[4])
        guard flags & ~(AtFlags.symlinkNoFollow | AtFlags.emptyPath) == 0 else { throw .EINVAL }
        return try changeOwner(
            task, directoryFD: fd(arguments[0]), path: arguments[1], uid: arguments[2], gid: arguments[3],
            follow: flags & AtFlags.symlinkNoFollow == 0, emptyPath: flags & AtFlags.emptyPath != 0)
    }

    private static func changeOwner(
        _ task: Task, directoryFD: Int32, path: UInt64, uid: UInt64, gid: UInt64, follow: Bool, emptyPath: Bool = false
    ) throws(LinuxErrno) -> SyscallOutcome {
        let inode = try attributeTarget(task, directoryFD: directoryFD, path: path, follow: follow, emptyPath: emptyPath)
        try changeAttributes(task, inode, .owner(uid: owner(uid), gid: owner(gid)))
        return .value(0)
    }

    /// utimensat(2)'s special nanosecond values.
    static let utimeNow: Int64 = 0x3fff_ffff, utimeOmit: Int64 = 0x3fff_fffe

    /// One time of utimensat: now, omitted (nil), or the given one (EINVAL for nanoseconds
    /// out of range).
    static func utimeTime(_ time: LinuxTimespec) throws(LinuxErrno) -> AttributeChange.Time? {
        switch time.nanoseconds {
        case utimeNow: return .now
        case utimeOmit: return nil
        case 0..<1_000_000_000: return .at(time)
        default: throw .EINVAL
        }
    }

    /// Implements Linux utimensat(2): the access and modification times from `times` (NULL:
    /// both now; UTIME_NOW, UTIME_OMIT); a NULL path changes the file `dirfd` itself;
    /// AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH; EINVAL for other flags.
    static func utimensat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[3])
        guard flags & ~(AtFlags.symlinkNoFollow | AtFlags.emptyPath) == 0 else { throw .EINVAL }
        // A NULL path changes the fd's own file, and takes no flags.
        if arguments[1] == 0 && flags != 0 { throw .EINVAL }
        var change = AttributeChange(accessTime: .now, modificationTime: .now)
        if arguments[2] != 0 {
            let raw = try task.mm.copyIn(from: arguments[2], count: 32)
            func time(_ at: Int) -> LinuxTimespec {
                LinuxTimespec(seconds: Int64(bitPattern: word(Array(raw[at..<(at + 8)]))), nanoseconds: Int64(bitPattern: word(Array(raw[(at + 8)..<(at + 16)]))))
            }
            change.accessTime = try utimeTime(time(0))
            change.modificationTime = try utimeTime(time(16))
            // Both omitted: nothing to do, and Linux does not even look at the path.
            if change.accessTime == nil && change.modificationTime == nil { return .value(0) }
        }
        let inode = try attributeTarget(
            task, directoryFD: fd(arguments[0]), path: arguments[1], follow: flags & AtFlags.symlinkNoFollow == 0,
            emptyPath: flags & AtFlags.emptyPath != 0, nullPathIsFile: true)
        try changeAttributes(task, inode, change)
        return .value(0)
    }

    /// Implements Linux utimes(2) and futimesat(2): times as two timevals (NULL: now).
    static func utimes(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try changeTimes(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], timevals: arguments[1])
    }

    static func futimesat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try changeTimes(task, directoryFD: fd(arguments[0]), path: arguments[1], timevals: arguments[2], nullPathIsFile: true)
    }

    /// Implements Linux utime(2): times as a utimbuf of two seconds counts (NULL: now).
    static func utime(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var change = AttributeChange(accessTime: .now, modificationTime: .now)
        if arguments[1] != 0 {
            let raw = try task.mm.copyIn(from: arguments[1], count: 16)
            change.accessTime = .at(LinuxTimespec(seconds: Int64(bitPattern: word(Array(raw[0..<8]))), nanoseconds: 0))
            change.modificationTime = .at(LinuxTimespec(seconds: Int64(bitPattern: word(Array(raw[8..<16]))), nanoseconds: 0))
        }
        try changeAttributes(task, attributeTarget(task, directoryFD: AtFlags.currentDirectory, path: arguments[0], follow: true), change)
        return .value(0)
    }

    private static func changeTimes(
        _ task: Task, directoryFD: Int32, path: UInt64, timevals: UInt64, nullPathIsFile: Bool = false
    ) throws(LinuxErrno) -> SyscallOutcome {
        var change = AttributeChange(accessTime: .now, modificationTime: .now)
        if timevals != 0 {
            let raw = try task.mm.copyIn(from: timevals, count: 32)
            func time(_ at: Int) throws(LinuxErrno) -> AttributeChange.Time {
                let (seconds, microseconds) = (Int64(bitPattern: word(Array(raw[at..<(at + 8)]))), Int64(bitPattern: word(Array(raw[(at + 8)..<(at + 16)]))))
                guard (0..<1_000_000).contains(microseconds) else { throw .EINVAL }
                return .at(LinuxTimespec(seconds: seconds, nanoseconds: microseconds * 1000))
            }
            change.accessTime = try time(0)
            change.modificationTime = try time(16)
        }
        try changeAttributes(task, attributeTarget(task, directoryFD: directoryFD, path: path, follow: true, nullPathIsFile: nullPathIsFile), change)
        return .value(0)
    }
}
