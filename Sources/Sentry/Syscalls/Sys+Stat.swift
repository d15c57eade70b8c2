import LinuxABI

extension Syscalls {
    /// Copies `stat` to the program as x86-64 `struct stat` (144 bytes).
    static func copyOut(_ stat: LinuxStat, _ task: Task, to address: UInt64) throws(LinuxErrno) {
        try task.mm.copyOut(withUnsafeBytes(of: stat) { Array($0) }, to: address)
    }

    /// Implements Linux fstat(2).
    static func fstat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        try copyOut(try file.stat(), task, to: arguments[1])
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
            try copyOut(try file.stat(), task, to: arguments[2])
            return .value(0)
        }
        let dentry = try task.resolve(
            directoryFD: directoryFD, pathAddress: arguments[1], followFinal: flags & AtFlags.symlinkNoFollow == 0)
        try copyOut(try dentry.inode.stat(), task, to: arguments[2])
        return .value(0)
    }
}

extension Syscalls {
    /// The major and minor numbers of a `dev_t` (the kernel's new_encode_dev layout).
    static func deviceNumbers(_ device: UInt64) -> (major: UInt32, minor: UInt32) {
        (UInt32(truncatingIfNeeded: (device >> 8) & 0xfff | (device >> 32) & ~0xfff),
         UInt32(truncatingIfNeeded: device & 0xff | (device >> 12) & ~0xff))
    }

    /// Implements Linux statx(2): the basic stats (the fields `struct stat` has), whatever
    /// `mask` asks; the birth time and mount id are not reported (not in the returned mask).
    static func statx(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[2])
        let syncFlags: Int32 = 0x6000  // AT_STATX_SYNC_TYPE
        guard flags & ~(AtFlags.emptyPath | AtFlags.symlinkNoFollow | 0x800 | syncFlags) == 0, flags & syncFlags != syncFlags,
            arguments[3] & 0x8000_0000 == 0  // STATX__RESERVED
        else { throw .EINVAL }
        let directoryFD = fd(arguments[0])
        let stat: LinuxStat
        if flags & AtFlags.emptyPath != 0, try task.mm.copyIn(from: arguments[1], count: 1) == [0] {
            stat = try task.fds.get(directoryFD).stat()
        } else {
            let dentry = try task.resolve(
                directoryFD: directoryFD, pathAddress: arguments[1], followFinal: flags & AtFlags.symlinkNoFollow == 0)
            stat = try dentry.inode.stat()
        }
        var statx = LinuxStatx()
        statx.mask = LinuxStatx.basicStats
        statx.blksize = UInt32(truncatingIfNeeded: stat.blksize)
        statx.nlink = UInt32(truncatingIfNeeded: stat.nlink)
        statx.uid = stat.uid
        statx.gid = stat.gid
        statx.mode = UInt16(truncatingIfNeeded: stat.mode)
        statx.ino = stat.ino
        statx.size = UInt64(bitPattern: stat.size)
        statx.blocks = UInt64(bitPattern: stat.blocks)
        statx.atime = LinuxStatxTimestamp(seconds: stat.atime.seconds, nanoseconds: UInt32(stat.atime.nanoseconds))
        statx.mtime = LinuxStatxTimestamp(seconds: stat.mtime.seconds, nanoseconds: UInt32(stat.mtime.nanoseconds))
        statx.ctime = LinuxStatxTimestamp(seconds: stat.ctime.seconds, nanoseconds: UInt32(stat.ctime.nanoseconds))
        (statx.rdevMajor, statx.rdevMinor) = deviceNumbers(stat.rdev)
        (statx.devMajor, statx.devMinor) = deviceNumbers(stat.dev)
        try task.mm.copyOut(withUnsafeBytes(of: statx) { Array($0) }, to: arguments[4])
        return .value(0)
    }

    /// Copies `statistics` out as `struct statfs` (120 bytes).
    static func copyOut(_ statistics: LinuxStatfs, _ task: Task, to address: UInt64) throws(LinuxErrno) {
        var value = statistics
        let bytes = withUnsafeBytes(of: &value) { Array($0) }
        try task.mm.copyOut(bytes, to: address)
    }

    /// Implements Linux statfs(2): the statistics of the file system `path` is on.
    static func statfs(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let dentry = try task.resolve(directoryFD: AtFlags.currentDirectory, pathAddress: arguments[0], followFinal: true)
        try copyOut(try dentry.inode.fileSystemStatistics(), task, to: arguments[1])
        return .value(0)
    }

    /// Implements Linux fstatfs(2): the file system of the fd's file; a pipe, a socket or
    /// another file without a name is on pipefs, sockfs or the anonymous-inode file system.
    static func fstatfs(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        let statistics: LinuxStatfs
        if let dentry = file.dentry {
            statistics = try dentry.inode.fileSystemStatistics()
        } else {
            let status = try file.operations.stat()
            let type: Int64 =
                switch status.mode & FileMode.typeMask {
                case FileMode.fifo: FileSystemMagic.pipe
                case FileMode.socket: FileSystemMagic.socket
                default: FileSystemMagic.anonymousInode
                }
            statistics = FileSystemMagic.empty(type: type, device: status.dev)
        }
        try copyOut(statistics, task, to: arguments[1])
        return .value(0)
    }
}
