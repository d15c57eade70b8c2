import HostSys
import LinuxABI

/// The futex wait queues of a sandbox (futex(2)), keyed by where the futex word lives in the
/// memory file (the Sentry's address of it), so a futex in memory shared between processes
/// is one queue for all of them, and a private copy after fork is another.
///
/// Locks: `monitor` guards the queues. A wait checks the word and queues itself under it, and
/// every wake takes it, so no wake-up is lost between the check and the sleep.
final class Futexes: @unchecked Sendable {
    final class Waiter {
        let bitset: UInt32
        var woken = false
        init(bitset: UInt32) { self.bitset = bitset }
    }

    private let monitor = Monitor()
    private var queues: [Int: [Waiter]] = [:]

    /// Sleeps while the word at `key` (read by `load` under the lock) equals `expected`, until a
    /// matching wake, `deadline` or a signal. EAGAIN if the word differed, ETIMEDOUT at the
    /// deadline, ERESTARTSYS (untimed) or EINTR (timed) for a signal.
    func wait(key: Int, load: () throws(LinuxErrno) -> UInt32, expected: UInt32, bitset: UInt32, deadline: UInt64?)
        throws(LinuxErrno)
    {
        let result: Result<Void, LinuxErrno> = monitor.locked {
            let loaded = Result { () throws(LinuxErrno) in try load() }
            guard case .success(let value) = loaded else { return loaded.map { _ in () } }
            guard value == expected else { return .failure(.EAGAIN) }
            let waiter = Waiter(bitset: bitset)
            queues[key, default: []].append(waiter)
            while !waiter.woken {
                switch Task.sleep(on: monitor, deadline: deadline) {
                case .woken: continue
                case .timedOut where !waiter.woken:
                    queues[key]?.removeAll { $0 === waiter }
                    return .failure(.ETIMEDOUT)
                case .interrupted where !waiter.woken:
                    // Linux restarts an untimed wait after a handler with SA_RESTART; a timed
                    // one (whose restart would need the time left) fails with EINTR.
                    queues[key]?.removeAll { $0 === waiter }
                    return .failure(deadline == nil ? .ERESTARTSYS : .EINTR)
                default: continue
                }
            }
            return .success(())
        }
        try result.get()
    }

    /// Wakes up to `count` waiters of `key` whose bitset meets `bitset`; returns how many.
    func wake(key: Int, count: Int, bitset: UInt32 = FutexOp.bitsetMatchAny) -> Int {
        monitor.locked {
            var woken = 0
            var remaining: [Waiter] = []
            for waiter in queues[key] ?? [] {
                if woken < count && waiter.bitset & bitset != 0 {
                    waiter.woken = true
                    woken += 1
                } else {
                    remaining.append(waiter)
                }
            }
            queues[key] = remaining.isEmpty ? nil : remaining
            if woken > 0 { monitor.broadcast() }
            return woken
        }
    }

    /// Wakes up to `count` waiters of `key` and moves up to `requeue` of the rest to `target`
    /// (FUTEX_REQUEUE); `check` runs first under the lock (FUTEX_CMP_REQUEUE's comparison).
    func requeue(key: Int, target: Int, count: Int, requeue: Int, check: () throws(LinuxErrno) -> Void) throws(LinuxErrno) -> Int {
        let result: Result<Int, LinuxErrno> = monitor.locked {
            if case .failure(let error) = Result(catching: { () throws(LinuxErrno) in try check() }) { return .failure(error) }
            var waiters = queues[key] ?? []
            let woken = min(count, waiters.count)
            for waiter in waiters.prefix(woken) { waiter.woken = true }
            waiters.removeFirst(woken)
            let moved = min(requeue, waiters.count)
            if target == key {
                // Requeued onto the same word: they stay where they are, in order.
                queues[key] = waiters.isEmpty ? nil : waiters
            } else {
                let movedWaiters = waiters.prefix(moved)
                waiters.removeFirst(moved)
                queues[key] = waiters.isEmpty ? nil : waiters
                queues[target, default: []] += movedWaiters
            }
            if woken > 0 { monitor.broadcast() }
            return .success(woken + moved)
        }
        return try result.get()
    }
}
