import HostSys
import LinuxABI

extension Syscalls {
    /// Implements Linux poll(2): `struct pollfd` (fd i32, events i16, revents i16) entries;
    /// negative fds are skipped, closed fds get POLLNVAL. The files the Sentry has today are
    /// always ready or never will be, so a call with nothing ready sleeps out its timeout.
    static func poll(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timeout = Int64(Int32(truncatingIfNeeded: arguments[2]))
        return try poll(task, address: arguments[0], count: arguments[1], timeoutNanoseconds: timeout < 0 ? nil : timeout * 1_000_000)
    }

    /// Implements Linux ppoll(2); the signal mask argument takes effect once signal delivery lands.
    static func ppoll(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var timeout: Int64?
        if arguments[2] != 0 {
            let time = try readTimespec(task, arguments[2])
            timeout = time.seconds * 1_000_000_000 + time.nanoseconds
        }
        return try poll(task, address: arguments[0], count: arguments[1], timeoutNanoseconds: timeout)
    }

    private static func poll(_ task: Task, address: UInt64, count: UInt64, timeoutNanoseconds: Int64?) throws(LinuxErrno) -> SyscallOutcome {
        guard count <= UInt64(task.limits[ResourceLimits.openFiles]?.0 ?? 1024) else { throw .EINVAL }
        var entries = try task.mm.copyIn(from: address, count: Int(count) * 8)
        var ready = 0
        for index in 0..<Int(count) {
            let base = index * 8
            let fd = Int32(truncatingIfNeeded: word(Array(entries[base..<(base + 4)]) + [0, 0, 0, 0]))
            let events = PollEvents(rawValue: Int16(truncatingIfNeeded: UInt16(entries[base + 4]) | UInt16(entries[base + 5]) << 8))
            var revents: PollEvents = []
            if fd >= 0 {
                if let file = try? task.fds.get(fd) {
                    revents = file.operations.readiness(events)
                } else {
                    revents = .invalid
                }
            }
            entries[base + 6] = UInt8(truncatingIfNeeded: revents.rawValue)
            entries[base + 7] = UInt8(truncatingIfNeeded: revents.rawValue >> 8)
            if !revents.isEmpty { ready += 1 }
        }
        try task.mm.copyOut(entries, to: address)
        if ready == 0 {
            guard let timeoutNanoseconds else { throw .ENOSYS }  // would wait forever: needs wake-ups, which come with pipes
            if timeoutNanoseconds > 0 { Clock.sleep(nanoseconds: UInt64(timeoutNanoseconds)) }
        }
        return .value(Int64(ready))
    }
}
