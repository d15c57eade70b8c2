import HostSys
import LinuxABI
import Synchronization

extension Syscalls {
    /// Implements Linux epoll_create(2): `size` must be positive, and is otherwise unused.
    static func epollCreate(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        guard Int32(truncatingIfNeeded: arguments[0]) > 0 else { throw .EINVAL }
        return try epollCreate1(task, SyscallArguments(values: (0, 0, 0, 0, 0, 0)))
    }

    /// Implements Linux epoll_create1(2) with EPOLL_CLOEXEC.
    static func epollCreate1(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[0])
        guard flags & ~OpenFlags.closeOnExec.rawValue == 0 else { throw .EINVAL }
        let instance = EpollInstance(inode: task.sandbox.newPipeInode())
        let fd = try task.fds.add(FileDescription(instance, flags: .readWrite), closeOnExec: flags != 0)
        return .value(Int64(fd))
    }

    static let epollAdd: UInt64 = 1, epollDelete: UInt64 = 2, epollModify: UInt64 = 3

    /// Implements Linux epoll_ctl(2): EPOLL_CTL_ADD (EEXIST if watched), EPOLL_CTL_MOD and
    /// EPOLL_CTL_DEL (ENOENT if not). Regular files and directories cannot be watched (EPERM,
    /// as Linux: they are always ready); an epoll fd cannot watch itself (EINVAL), nor an
    /// instance that watches it, nor nest deeper than four levels (ELOOP).
    static func epollCtl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let epfd = fd(arguments[0])
        guard let instance = try task.fds.get(epfd).operations as? EpollInstance else { throw .EINVAL }
        let (operation, target) = (arguments[1], fd(arguments[2]))
        let file = try task.fds.get(target)
        guard target != epfd, file.operations !== instance else { throw .EINVAL }
        if operation == epollAdd, let nested = file.operations as? EpollInstance, nested.reaches(instance) { throw .ELOOP }
        let type = try file.operations.stat().mode & FileMode.typeMask
        if type == FileMode.regular || type == FileMode.directory { throw .EPERM }
        var events: UInt32 = 0
        var data: UInt64 = 0
        if operation != epollDelete {
            // struct epoll_event is packed on x86-64: u32 events, u64 data (12 bytes).
            let bytes = try task.mm.copyIn(from: arguments[3], count: 12)
            events = UInt32(truncatingIfNeeded: word(Array(bytes[0..<4]) + [0, 0, 0, 0]))
            data = word(Array(bytes[4..<12]))
        }
        let result: LinuxErrno? = instance.entries.withLock { list in
            // An entry whose file has closed is gone (Linux drops it with the file).
            if list[target]?.file == nil { list[target] = nil }
            switch operation {
            case epollAdd:
                guard list[target] == nil else { return .EEXIST }
                list[target] = EpollInstance.Entry(file: file, events: events, data: data)
            case epollModify:
                guard list[target] != nil else { return .ENOENT }
                list[target] = EpollInstance.Entry(file: file, events: events, data: data)
            case epollDelete:
                guard list.removeValue(forKey: target) != nil else { return .ENOENT }
            default:
                return .EINVAL
            }
            return nil
        }
        if let result { throw result }
        Readiness.changed()  // a waiter on this instance looks again
        return .value(0)
    }

    /// Implements Linux epoll_wait(2): waits (timeout in ms, negative: forever) until entries
    /// are ready and writes up to `maxevents` packed `struct epoll_event`s.
    static func epollWait(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timeout = Int64(Int32(truncatingIfNeeded: arguments[3]))
        return try epollWait(task, arguments, timeoutNanoseconds: timeout < 0 ? nil : timeout * 1_000_000)
    }

    /// Implements Linux epoll_pwait(2): epoll_wait with the blocked mask at `sigmask` while
    /// it waits.
    static func epollPwait(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timeout = Int64(Int32(truncatingIfNeeded: arguments[3]))
        return try withTemporaryMask(task, at: arguments[4], size: arguments[5]) { () throws(LinuxErrno) in
            try epollWait(task, arguments, timeoutNanoseconds: timeout < 0 ? nil : timeout * 1_000_000)
        }
    }

    /// Implements Linux epoll_pwait2(2): epoll_pwait with a timespec timeout (NULL: none);
    /// EINVAL for a malformed timespec.
    static func epollPwait2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var timeout: Int64?
        if arguments[3] != 0 { timeout = try readTimespec(task, arguments[3]).totalNanoseconds }
        return try withTemporaryMask(task, at: arguments[4], size: arguments[5]) { () throws(LinuxErrno) in
            try epollWait(task, arguments, timeoutNanoseconds: timeout)
        }
    }

    private static func epollWait(_ task: Task, _ arguments: SyscallArguments, timeoutNanoseconds: Int64?) throws(LinuxErrno) -> SyscallOutcome {
        guard let instance = try task.fds.get(fd(arguments[0])).operations as? EpollInstance else { throw .EINVAL }
        let maximum = Int(Int32(truncatingIfNeeded: arguments[2]))
        guard maximum > 0, maximum <= 0x7fff_ffff / 12 else { throw .EINVAL }
        var events: [(UInt32, UInt64)] = []
        do {
            _ = try waitUntilReady(task, timeoutNanoseconds: timeoutNanoseconds) { () throws(LinuxErrno) in
                events = instance.collect(maximum: maximum, consume: true)
                return events.count
            }
        } catch .ERESTARTNOHAND {
            throw .EINTR  // epoll_wait is never restarted after a handler (signal(7))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.count * 12)
        for (mask, data) in events {
            bytes += withUnsafeBytes(of: mask.littleEndian) { Array($0) }
            bytes += withUnsafeBytes(of: data.littleEndian) { Array($0) }
        }
        if !bytes.isEmpty { try task.mm.copyOut(bytes, to: arguments[1]) }
        return .value(Int64(events.count))
    }
}
