import HostSys
import LinuxABI

extension Syscalls {
    /// Implements Linux poll(2): `struct pollfd` (fd i32, events i16, revents i16) entries;
    /// negative fds are skipped, closed fds get POLLNVAL. With nothing ready it sleeps until a
    /// file is, the timeout passes (negative: never) or a signal arrives (EINTR).
    static func poll(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let timeout = Int64(Int32(truncatingIfNeeded: arguments[2]))
        return try poll(task, address: arguments[0], count: arguments[1], timeoutNanoseconds: timeout < 0 ? nil : timeout * 1_000_000)
    }

    /// Implements Linux ppoll(2): poll with a timespec timeout and, while it waits, the
    /// blocked mask at `sigmask` (if not NULL).
    static func ppoll(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var timeout: Int64?
        if arguments[2] != 0 {
            let time = try readTimespec(task, arguments[2])
            timeout = time.totalNanoseconds
        }
        return try withTemporaryMask(task, at: arguments[3], size: arguments[4]) { () throws(LinuxErrno) in
            try poll(task, address: arguments[0], count: arguments[1], timeoutNanoseconds: timeout)
        }
    }

    /// Runs `body` with the blocked mask at `address` (NULL: the mask as it is), as ppoll(2)
    /// and pselect6(2) do. If a signal interrupts it, the call fails with EINTR and the signal
    /// is delivered with the caller's mask saved in its frame, so the handler returns to it;
    /// otherwise the caller's mask comes back at once.
    static func withTemporaryMask(
        _ task: Task, at address: UInt64, size: UInt64, _ body: () throws(LinuxErrno) -> SyscallOutcome
    ) throws(LinuxErrno) -> SyscallOutcome {
        guard address != 0 else { return try body() }
        guard size == sigsetSize else { throw .EINVAL }
        let old = task.signals.blocked
        task.signals.blocked = word(try task.mm.copyIn(from: address, count: 8)) & ~SignalState.unblockable
        do {
            let outcome = try body()
            task.signals.blocked = old
            return outcome
        } catch .ERESTARTNOHAND {
            task.registers.rax = UInt64(bitPattern: -Int64(LinuxErrno.EINTR.rawValue))
            if let outcome = task.deliverPendingSignal(savedMask: old) { return outcome }
            // No handler ran (a stop and continue, an ignored signal): the call restarts.
            task.signals.blocked = old
            throw .ERESTARTNOHAND
        } catch {
            task.signals.blocked = old
            throw error
        }
    }

    private static func poll(_ task: Task, address: UInt64, count: UInt64, timeoutNanoseconds: Int64?) throws(LinuxErrno) -> SyscallOutcome {
        guard count <= UInt64(task.limits[ResourceLimits.openFiles]?.0 ?? 1024) else { throw .EINVAL }
        var entries = try task.mm.copyIn(from: address, count: Int(count) * 8)
        let ready = try waitUntilReady(task, timeoutNanoseconds: timeoutNanoseconds) { () throws(LinuxErrno) in
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
            return ready
        }
        try task.mm.copyOut(entries, to: address)
        return .value(Int64(ready))
    }
}

extension Syscalls {
    /// What select(2) reports in each of its three sets, as Linux maps poll events to them.
    static let selectRead: PollEvents = [.input, .hangUp, .error]
    static let selectWrite: PollEvents = [.output, .error]
    static let selectExcept: PollEvents = [.priority]

    /// Implements Linux select(2) with a `struct timeval` timeout, on the readiness poll(2)
    /// uses (it sleeps as poll does). On a timeout the timeval is set to zero, as Linux leaves
    /// the time not slept.
    static func select(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var timeout: Int64?
        if arguments[4] != 0 {
            let raw = try task.mm.copyIn(from: arguments[4], count: 16)
            let seconds = Int64(bitPattern: word(Array(raw[0..<8]))), micros = Int64(bitPattern: word(Array(raw[8..<16])))
            guard seconds >= 0, (0..<1_000_000).contains(micros) else { throw .EINVAL }
            timeout = LinuxTimespec(seconds: seconds, nanoseconds: micros * 1000).totalNanoseconds
        }
        return try select(task, arguments, timeoutNanoseconds: timeout)
    }

    /// Implements Linux pselect6(2): select with a `struct timespec` timeout and, while it
    /// waits, the mask its sixth argument points at ({const sigset_t *, size_t}; either NULL
    /// leaves the mask alone).
    static func pselect6(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var timeout: Int64?
        if arguments[4] != 0 {
            let time = try readTimespec(task, arguments[4])
            timeout = time.totalNanoseconds
        }
        var (mask, size): (UInt64, UInt64) = (0, 0)
        if arguments[5] != 0 {
            let raw = try task.mm.copyIn(from: arguments[5], count: 16)
            (mask, size) = (word(Array(raw[0..<8])), word(Array(raw[8..<16])))
        }
        return try withTemporaryMask(task, at: mask, size: size) { () throws(LinuxErrno) in
            try select(task, arguments, timeoutNanoseconds: timeout)
        }
    }

    private static func select(_ task: Task, _ arguments: SyscallArguments, timeoutNanoseconds: Int64?) throws(LinuxErrno) -> SyscallOutcome {
        let requested = Int64(Int32(truncatingIfNeeded: arguments[0]))
        guard requested >= 0 else { throw .EINVAL }
        let count = Int(min(requested, Int64(task.limits[ResourceLimits.openFiles]?.0 ?? 1024), 1 << 20))
        let setBytes = (count + 63) / 64 * 8
        let kinds = [selectRead, selectWrite, selectExcept]
        var sets: [[UInt8]?] = []
        for index in 1...3 {
            sets.append(arguments[index] == 0 ? nil : try task.mm.copyIn(from: arguments[index], count: setBytes))
        }
        var results = sets.map { $0.map { [UInt8](repeating: 0, count: $0.count) } }
        let ready = try waitUntilReady(task, timeoutNanoseconds: timeoutNanoseconds) { () throws(LinuxErrno) in
            var ready = 0
            results = sets.map { $0.map { [UInt8](repeating: 0, count: $0.count) } }
            for fd in 0..<count {
                let (byte, bit) = (fd / 8, UInt8(1) << (fd % 8))
                let asked = (0..<3).filter { sets[$0].map { $0[byte] & bit != 0 } ?? false }
                guard !asked.isEmpty else { continue }
                let file = try task.fds.get(Int32(fd))
                let revents = file.operations.readiness(asked.reduce(PollEvents()) { $0.union(kinds[$1]) })
                for kind in asked where !revents.isDisjoint(with: kinds[kind]) {
                    results[kind]![byte] |= bit
                    ready += 1
                }
            }
            return ready
        }
        for index in 0..<3 {
            if let result = results[index] { try task.mm.copyOut(result, to: arguments[index + 1]) }
        }
        if ready == 0, arguments[4] != 0 { try task.mm.copyOut([UInt8](repeating: 0, count: 16), to: arguments[4]) }
        return .value(Int64(ready))
    }
}

extension Syscalls {
    /// Runs `scan` (which counts the ready files) until a file is ready, the timeout passes
    /// (nil: never; 0: scan once) or a signal arrives (ERESTARTNOHAND: EINTR once a handler
    /// ran). Between scans it sleeps until a file announces a change (`Readiness`), and at most
    /// 20 ms, so that files that cannot announce (host streams) are seen too.
    static func waitUntilReady(
        _ task: Task, timeoutNanoseconds: Int64?, scan: () throws(LinuxErrno) -> Int
    ) throws(LinuxErrno) -> Int {
        let end = timeoutNanoseconds.map { deadline(after: $0) }
        while true {
            let seen = Readiness.current()
            let ready = try scan()
            if ready > 0 { return ready }
            let now = Clock.monotonicNanoseconds()
            if let end, now >= end { return 0 }
            if Readiness.wait(after: seen, until: min(end ?? .max, now + 20_000_000)) == .interrupted { throw .ERESTARTNOHAND }
        }
    }
}
