import LinuxABI
import Netstack

extension Syscalls {
    /// fcntl(2) commands.
    static let fDupFD: UInt64 = 0, fGetFD: UInt64 = 1, fSetFD: UInt64 = 2, fGetFL: UInt64 = 3, fSetFL: UInt64 = 4
    static let fDupFDCloseOnExec: UInt64 = 1030
    /// The status flags F_SETFL may change (O_APPEND, O_NONBLOCK; O_ASYNC, O_DIRECT and
    /// O_NOATIME are not supported yet and are ignored as Linux ignores unknown ones).
    static let settableStatusFlags = OpenFlags([.append, .nonBlocking])

    static func fd(_ value: UInt64) -> Int32 { Int32(truncatingIfNeeded: value) }

    /// Implements Linux close(2).
    static func close(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try task.fds.remove(fd(arguments[0]))  // which drops the process's record locks on the file
        return .value(0)
    }

    /// Implements Linux dup(2).
    static func dup(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        return .value(Int64(try task.fds.add(file)))
    }

    /// Implements Linux dup2(2): dup2(fd, fd) checks fd and returns it.
    static func dup2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (old, new) = (fd(arguments[0]), fd(arguments[1]))
        let file = try task.fds.get(old)
        if old == new { return .value(Int64(new)) }
        try task.fds.set(new, file, closeOnExec: false)
        return .value(Int64(new))
    }

    /// Implements Linux dup3(2): like dup2 with O_CLOEXEC, and EINVAL when the fds are equal.
    static func dup3(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (old, new, flags) = (fd(arguments[0]), fd(arguments[1]), Int32(truncatingIfNeeded: arguments[2]))
        guard old != new, flags & ~OpenFlags.closeOnExec.rawValue == 0 else { throw .EINVAL }
        let file = try task.fds.get(old)
        try task.fds.set(new, file, closeOnExec: flags != 0)
        return .value(Int64(new))
    }

    /// Implements Linux fcntl(2) F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL and
    /// F_SETFL. Locks, leases, notifications and pipe sizes are ENOSYS until they land.
    static func fcntl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let descriptor = fd(arguments[0])
        let file = try task.fds.get(descriptor)
        switch arguments[1] {
        case fDupFD, fDupFDCloseOnExec:
            let minimum = Int32(truncatingIfNeeded: arguments[2])
            guard minimum >= 0, minimum < task.fds.limit else { throw .EINVAL }
            return .value(Int64(try task.fds.add(file, minimum: minimum, closeOnExec: arguments[1] == fDupFDCloseOnExec)))
        case fGetFD:
            return .value(try task.fds.closeOnExec(descriptor) ? 1 : 0)
        case fSetFD:
            try task.fds.setCloseOnExec(descriptor, arguments[2] & 1 != 0)
            return .value(0)
        case fGetFL:
            return .value(Int64(file.flags.rawValue))
        case fSetFL:
            guard !file.isPathOnly else { throw .EBADF }
            let requested = OpenFlags(rawValue: Int32(truncatingIfNeeded: arguments[2])).intersection(settableStatusFlags)
            file.flags = file.flags.subtracting(settableStatusFlags).union(requested)
            return .value(0)
        case fGetLock, fSetLock, fSetLockWait, fOFDGetLock, fOFDSetLock, fOFDSetLockWait:
            guard !file.isPathOnly else { throw .EBADF }  // O_PATH allows only the fd flags and dup
            return try recordLock(task, file, command: arguments[1], at: arguments[2])
        default:
            throw .ENOSYS
        }
    }

    /// fcntl(2) record-lock commands: F_GETLK, F_SETLK, F_SETLKW, and their open file
    /// description forms.
    static let fGetLock: UInt64 = 5, fSetLock: UInt64 = 6, fSetLockWait: UInt64 = 7
    static let fOFDGetLock: UInt64 = 36, fOFDSetLock: UInt64 = 37, fOFDSetLockWait: UInt64 = 38
    /// struct flock's l_type values.
    static let readLock: Int16 = 0, writeLock: Int16 = 1, unlockLock: Int16 = 2

    /// Implements the record-lock commands of fcntl(2) with the `struct flock` at `address`
    /// (32 bytes: type, whence, start, length, pid): the range from SEEK_SET, SEEK_CUR or
    /// SEEK_END, a length of 0 meaning to the end and beyond, a negative one the bytes before
    /// the start (EINVAL for a range before 0); a read lock needs the fd open for reading and
    /// a write lock for writing (EBADF). The OFD forms take l_pid 0 (EINVAL else) and report
    /// -1 for a description's lock.
    static func recordLock(_ task: Task, _ file: FileDescription, command: UInt64, at address: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        let raw = try task.mm.copyIn(from: address, count: 32)
        let type = Int16(bitPattern: UInt16(raw[0]) | UInt16(raw[1]) << 8)
        let whence = Int16(bitPattern: UInt16(raw[2]) | UInt16(raw[3]) << 8)
        let start = Int64(bitPattern: word(Array(raw[8..<16])))
        let length = Int64(bitPattern: word(Array(raw[16..<24])))
        let pid = Int32(bitPattern: UInt32(raw[24]) | UInt32(raw[25]) << 8 | UInt32(raw[26]) << 16 | UInt32(raw[27]) << 24)
        let byDescription = command >= fOFDGetLock
        guard [readLock, writeLock, unlockLock].contains(type) else { throw .EINVAL }
        if byDescription && pid != 0 { throw .EINVAL }
        let base: Int64
        switch whence {
        case 0: base = 0
        case 1: base = try file.operations.seek(offset: 0, whence: 1)
        case 2: base = try file.stat().size
        default: throw .EINVAL
        }
        let (origin, overflow) = base.addingReportingOverflow(start)
        guard !overflow else { throw .EOVERFLOW }
        var from = origin
        var to: Int64? = nil
        if length > 0 {
            // The last byte must be an offset (EOVERFLOW past Int64.max); ending at the
            // largest offset is to the end.
            let (last, beyond) = origin.addingReportingOverflow(length - 1)
            guard !beyond else { throw .EOVERFLOW }
            to = last == Int64.max ? nil : last + 1
        } else if length < 0 {
            let (begin, below) = origin.addingReportingOverflow(length)
            guard !below else { throw .EINVAL }
            (from, to) = (begin, origin)
        }
        guard from >= 0 else { throw .EINVAL }
        guard let key = file.lockKey else { throw .EBADF }
        let owner: RecordLocks.Owner = byDescription ? .description(ObjectIdentifier(file)) : .process(task.pid)
        let range = (start: UInt64(from), end: to.map { UInt64($0) })
        switch command {
        case fGetLock, fOFDGetLock:
            guard type != unlockLock else { throw .EINVAL }
            var answer = raw
            if let held = RecordLocks.shared.conflict(key, start: range.start, end: range.end, write: type == writeLock, owner: owner) {
                answer.replaceSubrange(0..<2, with: bytes(UInt64(UInt16(bitPattern: held.write ? writeLock : readLock))).prefix(2))
                answer.replaceSubrange(2..<4, with: [0, 0])  // SEEK_SET
                answer.replaceSubrange(8..<16, with: bytes(held.start))
                answer.replaceSubrange(16..<24, with: bytes(held.end.map { $0 - held.start } ?? 0))
                answer.replaceSubrange(24..<28, with: bytes(UInt64(UInt32(bitPattern: held.pid))).prefix(4))
            } else {
                answer.replaceSubrange(0..<2, with: bytes(UInt64(UInt16(bitPattern: unlockLock))).prefix(2))
            }
            try task.mm.copyOut(answer, to: address)
        default:
            if type == readLock && !file.isReadable { throw .EBADF }
            if type == writeLock && !file.isWritable { throw .EBADF }
            try RecordLocks.shared.set(
                key, start: range.start, end: range.end, write: type == writeLock, unlock: type == unlockLock, owner: owner,
                pid: byDescription ? -1 : task.pid, wait: command == fSetLockWait || command == fOFDSetLockWait)
        }
        return .value(0)
    }

    /// Implements Linux ioctl(2) by passing the request to the open file (terminal requests on
    /// a file that is not a terminal are ENOTTY); on a socket, the interface requests first.
    static func ioctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        // Every socket answers the interface ioctls (netdevice(7)), whatever its family.
        let mode = (try? file.operations.stat())?.mode ?? 0
        if mode & FileMode.typeMask == FileMode.socket,
            let answered = try InterfaceRequests.answer(
                arguments[1], argument: arguments[2], mm: task.mm, listing: { () throws(LinuxErrno) in try task.sandbox.network().interfaces() })
        {
            return .value(answered)
        }
        return .value(try file.operations.ioctl(request: arguments[1], argument: arguments[2], mm: task.mm))
    }
}

extension Syscalls {
    /// Implements Linux pipe(2).
    static func pipe(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makePipe(task, fds: arguments[0], flags: 0)
    }

    /// Implements Linux pipe2(2) with O_CLOEXEC and O_NONBLOCK (reads and writes that would
    /// wait fail with EAGAIN; F_SETFL can change it later); O_DIRECT is EINVAL.
    static func pipe2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try makePipe(task, fds: arguments[0], flags: Int32(truncatingIfNeeded: arguments[1]))
    }

    private static func makePipe(_ task: Task, fds address: UInt64, flags: Int32) throws(LinuxErrno) -> SyscallOutcome {
        guard flags & ~(OpenFlags.closeOnExec.rawValue | OpenFlags.nonBlocking.rawValue) == 0 else { throw .EINVAL }
        let pipe = Pipe(inode: task.sandbox.newPipeInode())
        let status = OpenFlags(rawValue: flags & OpenFlags.nonBlocking.rawValue)
        let closeOnExec = flags & OpenFlags.closeOnExec.rawValue != 0
        let reader = try task.fds.add(FileDescription(PipeEnd(pipe, reader: true), flags: status), closeOnExec: closeOnExec)
        let writer: Int32
        do {
            writer = try task.fds.add(FileDescription(PipeEnd(pipe, reader: false), flags: status.union(.writeOnly)), closeOnExec: closeOnExec)
        } catch {
            try? task.fds.remove(reader)
            throw error
        }
        do {
            try task.mm.copyOut(bytes(UInt64(UInt32(bitPattern: reader)) | UInt64(UInt32(bitPattern: writer)) << 32), to: address)
        } catch {
            try? task.fds.remove(reader)
            try? task.fds.remove(writer)
            throw error
        }
        return .value(0)
    }

    /// close_range(2) flags.
    static let closeRangeUnshare: UInt64 = 2, closeRangeCloseOnExec: UInt64 = 4

    /// Implements Linux close_range(2): closes the open fds from `first` to `last` (or marks
    /// them close-on-exec with CLOSE_RANGE_CLOEXEC); CLOSE_RANGE_UNSHARE changes nothing, as
    /// the table is the process's own. EINVAL for `first` above `last` or an unknown flag.
    static func closeRange(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (first, last, flags) = (UInt32(truncatingIfNeeded: arguments[0]), UInt32(truncatingIfNeeded: arguments[1]), arguments[2])
        guard first <= last, flags & ~(closeRangeUnshare | closeRangeCloseOnExec) == 0 else { throw .EINVAL }
        for fd in task.fds.descriptors where fd >= 0 && UInt32(fd) >= first && UInt32(fd) <= last {
            if flags & closeRangeCloseOnExec != 0 {
                try? task.fds.setCloseOnExec(fd, true)
            } else {
                try? task.fds.remove(fd)
            }
        }
        return .value(0)
    }

    /// Implements Linux fadvise64(2): advice about a file's use, which the Sentry takes and has
    /// no use for. EBADF for a closed fd, ESPIPE for a pipe or FIFO, EINVAL for an unknown
    /// advice or a negative length.
    static func fadvise64(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.getOpened(fd(arguments[0]))
        if (try file.operations.stat()).mode & FileMode.typeMask == FileMode.fifo { throw .ESPIPE }
        guard arguments[3] <= 5, Int64(bitPattern: arguments[2]) >= 0 else { throw .EINVAL }
        return .value(0)
    }

    /// Implements Linux sync(2): nothing waits to be written (the overlay and tmpfs live in
    /// memory, the gofer serves the tree read-only).
    static func sync(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        .value(0)
    }

    /// Implements Linux syncfs(2), as sync for the file system of an open fd (EBADF else).
    static func syncfs(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        _ = try task.fds.getOpened(fd(arguments[0]))
        return .value(0)
    }

    /// eventfd2(2) flags: EFD_SEMAPHORE (EFD_NONBLOCK and EFD_CLOEXEC are O_NONBLOCK and O_CLOEXEC).
    static let eventSemaphore: Int32 = 1

    /// Implements Linux eventfd(2): eventfd2 without flags.
    static func eventfd(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try eventfd2(task, SyscallArguments(values: (arguments[0], 0, 0, 0, 0, 0)))
    }

    /// Implements Linux eventfd2(2): a new eventfd counting from `initval`; EINVAL for an
    /// unknown flag.
    static func eventfd2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[1])
        let known = eventSemaphore | OpenFlags.nonBlocking.rawValue | OpenFlags.closeOnExec.rawValue
        guard flags & ~known == 0 else { throw .EINVAL }
        let counter = EventFD(initial: UInt64(UInt32(truncatingIfNeeded: arguments[0])), semaphore: flags & eventSemaphore != 0, inode: task.sandbox.newPipeInode())
        let status: OpenFlags = flags & OpenFlags.nonBlocking.rawValue != 0 ? [.readWrite, .nonBlocking] : .readWrite
        return .value(Int64(try task.fds.add(FileDescription(counter, flags: status), closeOnExec: flags & OpenFlags.closeOnExec.rawValue != 0)))
    }

    /// Implements Linux flock(2): LOCK_SH, LOCK_EX (with LOCK_NB: EWOULDBLOCK instead of
    /// waiting) and LOCK_UN on the open file description's file (`FileLocks`); EINVAL for
    /// another operation.
    static func flock(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.getOpened(fd(arguments[0]))
        let operation = Int32(truncatingIfNeeded: arguments[1])
        let status = try file.stat()  // by name: an overlay file keeps its inode through copy-up
        let key = FileLocks.Key(device: status.dev, inode: status.ino)
        let owner = ObjectIdentifier(file)
        switch operation & ~FileLocks.lockNonBlocking {
        case FileLocks.lockUnlock:
            FileLocks.shared.unlock(key, owner: owner)
        case FileLocks.lockShared, FileLocks.lockExclusive:
            try FileLocks.shared.lock(
                key, owner: owner, exclusive: operation & FileLocks.lockExclusive != 0, nonBlocking: operation & FileLocks.lockNonBlocking != 0)
        default:
            throw .EINVAL
        }
        return .value(0)
    }
}
